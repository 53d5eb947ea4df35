/**
 * A `.cpuprofile` -> folded stacks (the interchange format of flamegraph.pl, inferno and
 * speedscope) -> an SVG flamegraph drawn by Vega. Folding and layout are pure functions; Vega
 * only draws the rectangles and fits the labels.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { View, parse, type Spec } from 'vega';
import type { CpuProfile } from '../src/diagnostics/profiler.js';

/** Stack (frames root first, joined by `;`) -> samples whose innermost frame it ends in. */
export type FoldedStacks = Map<string, number>;

/** V8's pseudo-frame for "waiting for the event loop": not drawn, its share goes in the subtitle. */
export const IDLE = '(idle)';

type ProfileNode = CpuProfile['nodes'][number];

/**
 * `findSeatMap service/src/catalog/queries.ts`: a name, and where it lives relative to `root`.
 * No line numbers: tsx emits each module on one line, so they would all read 1.
 */
export function frameName(callFrame: ProfileNode['callFrame'], root: string): string {
  const name = callFrame.functionName || '(anonymous)';
  if (!callFrame.url) return name.replaceAll(';', ',');
  const file = callFrame.url.startsWith('file://') ? new URL(callFrame.url).pathname : callFrame.url;
  const shown = path.isAbsolute(file) && file.startsWith(root + path.sep) ? path.relative(root, file) : file;
  return `${name} ${shown}`.replaceAll(';', ',');
}

/** Counts each sample once under the stack it was taken in; V8's own `(root)` frame is left out. */
export function foldStacks(profile: CpuProfile, root: string): FoldedStacks {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const selfSamples = new Map<number, number>();
  if (profile.samples) {
    for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) if (node.hitCount) selfSamples.set(node.id, node.hitCount);
  }

  const stacks: FoldedStacks = new Map();
  for (const [id, samples] of selfSamples) {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const node = byId.get(at)!;
      if (parentOf.has(at)) frames.push(frameName(node.callFrame, root));
    }
    if (frames.length === 0) continue;
    const stack = frames.reverse().join(';');
    stacks.set(stack, (stacks.get(stack) ?? 0) + samples);
  }
  return stacks;
}

/** One `stack count` line per stack, sorted: what `flamegraph.pl` and `inferno-flamegraph` read. */
export function formatFolded(stacks: FoldedStacks): string {
  return [...stacks]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([stack, n]) => `${stack} ${n}\n`)
    .join('');
}

export type Category = 'service' | 'dependency' | 'node' | 'v8';

/** Whose code a frame is: ours, a package's, Node's, or V8's native and pseudo-frames. */
export function categoryOf(frame: string): Category {
  const location = frame.match(/ (\S+)$/)?.[1] ?? '';
  if (location.startsWith('node:')) return 'node';
  if (location.includes('node_modules/')) return 'dependency';
  // Native frames have no location; `(garbage collector)` only looks like it has one.
  return location.includes('/') ? 'service' : 'v8';
}

export interface Frame {
  name: string;
  depth: number;
  /** Samples before this frame on its row, and in it (itself and everything it called). */
  start: number;
  samples: number;
}

/**
 * The classic flamegraph layout: a frame's width is its samples, its children sit on it sorted
 * by name, so the same call path always merges into one box.
 */
export function layoutFrames(stacks: FoldedStacks): { frames: Frame[]; total: number } {
  interface Tree {
    samples: number;
    children: Map<string, Tree>;
  }
  const root: Tree = { samples: 0, children: new Map() };
  for (const [stack, samples] of stacks) {
    root.samples += samples;
    let at = root;
    for (const name of stack.split(';')) {
      let child = at.children.get(name);
      if (!child) at.children.set(name, (child = { samples: 0, children: new Map() }));
      child.samples += samples;
      at = child;
    }
  }
  const frames: Frame[] = [];
  const place = (tree: Tree, depth: number, start: number) => {
    let offset = start;
    for (const name of [...tree.children.keys()].sort()) {
      const child = tree.children.get(name)!;
      frames.push({ name, depth, start: offset, samples: child.samples });
      place(child, depth + 1, offset);
      offset += child.samples;
    }
  };
  place(root, 0, 0);
  return { frames, total: root.samples };
}

/** The frames with the most samples of their own (self time), most first. */
export function topSelf(stacks: FoldedStacks, count: number): { frame: string; samples: number }[] {
  const self = new Map<string, number>();
  for (const [stack, samples] of stacks) {
    const frame = stack.slice(stack.lastIndexOf(';') + 1);
    self.set(frame, (self.get(frame) ?? 0) + samples);
  }
  return [...self]
    .map(([frame, samples]) => ({ frame, samples }))
    .sort((a, b) => b.samples - a.samples || (a.frame < b.frame ? -1 : 1))
    .slice(0, count);
}

const ROW = 17;
const TOP = 52;
/** Narrower frames are left out: unreadable, and they would make the file huge. */
const MIN_FRAME_PX = 0.5;
const PALETTE: Record<Category, [hue: number, label: string]> = {
  service: [14, 'service code'],
  dependency: [45, 'node_modules'],
  node: [100, 'Node.js internals'],
  v8: [210, 'V8 / native'],
};

/** A stable shade per name, so one function keeps its colour from graph to graph. */
function colour(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const [hue] = PALETTE[categoryOf(name)];
  return `hsl(${hue + (hash % 16)}, ${50 + (hash % 20)}%, ${64 + ((hash >> 5) % 12)}%)`;
}

export interface RenderOptions {
  title: string;
  /** Shown under the title, before the sample counts. */
  subtitle?: string;
  width?: number;
}

/** The SVG flamegraph of `stacks`, root at the bottom; idle samples are counted, not drawn. */
export async function renderFlamegraph(stacks: FoldedStacks, options: RenderOptions): Promise<string> {
  const width = options.width ?? 1200;
  const idle = stacks.get(IDLE) ?? 0;
  const busy = new Map([...stacks].filter(([stack]) => stack !== IDLE));
  const { frames, total } = layoutFrames(busy);
  const all = total + idle;
  const pxPerSample = total > 0 ? width / total : 0;
  const drawn = frames.filter((frame) => frame.samples * pxPerSample >= MIN_FRAME_PX);
  const depth = Math.max(1, ...drawn.map((frame) => frame.depth + 1));
  const height = TOP + depth * ROW + 4;
  const percent = (n: number) => `${((100 * n) / Math.max(1, all)).toFixed(1)}%`;
  const values = drawn.map((frame) => ({
    x: frame.start * pxPerSample,
    x2: (frame.start + frame.samples) * pxPerSample,
    y: height - (frame.depth + 1) * ROW,
    name: frame.name,
    label: frame.samples * pxPerSample > 24 ? frame.name : '',
    fill: colour(frame.name),
    description: `${frame.name}: ${frame.samples} samples (${percent(frame.samples)})`,
  }));
  const counts = `${all} samples: busy ${total} (${percent(total)}), idle ${idle} (${percent(idle)}, not drawn)`;
  const legend = Object.values(PALETTE).map(([hue, label]) => ({ label, fill: `hsl(${hue + 8}, 70%, 68%)` }));
  const spec: Spec = {
    width,
    height,
    padding: 4,
    background: 'white',
    data: [
      { name: 'frames', values },
      { name: 'labels', source: 'frames', transform: [{ type: 'filter', expr: 'datum.label' }] },
      {
        name: 'legend',
        values: legend.map((entry, i) => ({ ...entry, x: width - (legend.length - i) * 150 })),
      },
    ],
    marks: [
      {
        type: 'text',
        encode: {
          enter: {
            x: { value: 0 },
            y: { value: 16 },
            text: { value: options.title },
            fontSize: { value: 16 },
            fontWeight: { value: 'bold' },
          },
        },
      },
      {
        type: 'text',
        encode: {
          enter: {
            x: { value: 0 },
            y: { value: 36 },
            text: { value: [options.subtitle, counts].filter(Boolean).join(' · ') },
            fontSize: { value: 11 },
            fill: { value: '#444' },
          },
        },
      },
      {
        type: 'rect',
        from: { data: 'legend' },
        encode: {
          enter: {
            x: { field: 'x' },
            y: { value: 6 },
            width: { value: 12 },
            height: { value: 12 },
            fill: { field: 'fill' },
          },
        },
      },
      {
        type: 'text',
        from: { data: 'legend' },
        encode: {
          enter: {
            x: { field: 'x', offset: 16 },
            y: { value: 16 },
            text: { field: 'label' },
            fontSize: { value: 11 },
          },
        },
      },
      {
        type: 'rect',
        from: { data: 'frames' },
        encode: {
          enter: {
            x: { field: 'x' },
            x2: { field: 'x2' },
            y: { field: 'y' },
            height: { value: ROW - 1 },
            fill: { field: 'fill' },
            stroke: { value: 'white' },
            strokeWidth: { value: 0.5 },
            description: { field: 'description' },
          },
        },
      },
      {
        type: 'text',
        from: { data: 'labels' },
        encode: {
          enter: {
            x: { field: 'x', offset: 3 },
            y: { field: 'y', offset: ROW / 2 },
            baseline: { value: 'middle' },
            text: { field: 'label' },
            limit: { signal: 'datum.x2 - datum.x - 6' },
            fontSize: { value: 11 },
            font: { value: 'Verdana, sans-serif' },
          },
        },
      },
    ],
  };
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes `svgPath` and the folded stacks beside it (`.folded`); returns what to print: the
 * files and the frames with the most self time.
 */
export async function writeFlamegraph(
  profile: CpuProfile,
  svgPath: string,
  options: RenderOptions,
): Promise<string> {
  const stacks = foldStacks(profile, process.cwd());
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const subtitle = [options.subtitle, `${seconds.toFixed(1)} s profiled`].filter(Boolean).join(' · ');
  const foldedPath = svgPath.replace(/(\.svg)?$/, '.folded');
  await writeFile(svgPath, await renderFlamegraph(stacks, { ...options, subtitle }));
  await writeFile(foldedPath, formatFolded(stacks));
  const all = [...stacks.values()].reduce((sum, n) => sum + n, 0);
  const rows = topSelf(stacks, 12).map(
    ({ frame, samples }) =>
      `${String(samples).padStart(7)} ${((100 * samples) / all).toFixed(1).padStart(5)}%  ${frame}`,
  );
  return [
    `flamegraph: ${svgPath}`,
    `folded stacks: ${foldedPath}`,
    'most self time (samples, share):',
    ...rows,
  ].join('\n');
}
