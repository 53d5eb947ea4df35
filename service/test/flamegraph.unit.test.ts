import {
  categoryOf,
  foldStacks,
  formatFolded,
  frameName,
  layoutFrames,
  topSelf,
} from '../tools/flamegraph.js';
import type { CpuProfile } from '../src/diagnostics/profiler.js';

const frame = (id: number, functionName: string, url = '', children?: number[]) => ({
  id,
  callFrame: { functionName, scriptId: '1', url, lineNumber: url ? 3 : -1, columnNumber: 0 },
  ...(children ? { children } : {}),
});

/** (root) -> handler -> { findSeatMap -> stringify, (garbage collector) }, and (idle). */
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 5]),
    frame(2, 'handler', 'file:///app/service/src/catalog/routes.ts', [3, 6]),
    frame(3, 'findSeatMap', 'file:///app/service/src/catalog/queries.ts', [4]),
    frame(4, 'stringify'),
    frame(5, '(idle)'),
    frame(6, '', 'file:///app/node_modules/pg/lib/client.js'),
  ],
  startTime: 0,
  endTime: 7000,
  samples: [4, 4, 3, 5, 5, 2, 6],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('folding a .cpuprofile', () => {
  test.each([
    [
      { functionName: 'findSeatMap', url: 'file:///app/service/src/catalog/queries.ts' },
      'findSeatMap service/src/catalog/queries.ts',
    ],
    [{ functionName: '', url: 'file:///elsewhere/x.js' }, '(anonymous) /elsewhere/x.js'],
    [{ functionName: 'emit', url: 'node:events' }, 'emit node:events'],
    [{ functionName: '(garbage collector)', url: '' }, '(garbage collector)'],
    [{ functionName: 'a;b', url: '' }, 'a,b'],
  ])('names %j as %s', (callFrame, name) => {
    expect(frameName({ scriptId: '1', lineNumber: 0, columnNumber: 0, ...callFrame }, '/app')).toBe(name);
  });

  test('counts each sample under its stack, root first, without (root)', () => {
    const stacks = foldStacks(profile, '/app');
    expect(Object.fromEntries(stacks)).toEqual({
      'handler service/src/catalog/routes.ts;findSeatMap service/src/catalog/queries.ts;stringify': 2,
      'handler service/src/catalog/routes.ts;findSeatMap service/src/catalog/queries.ts': 1,
      'handler service/src/catalog/routes.ts': 1,
      'handler service/src/catalog/routes.ts;(anonymous) node_modules/pg/lib/client.js': 1,
      '(idle)': 2,
    });
    expect(formatFolded(stacks).split('\n')[0]).toBe('(idle) 2');
  });

  test('falls back to hitCount when the profile has no samples array', () => {
    const nodes = profile.nodes.map((node) => ({ ...node, hitCount: node.id === 4 ? 3 : 0 }));
    expect(Object.fromEntries(foldStacks({ ...profile, nodes, samples: undefined }, '/app'))).toEqual({
      'handler service/src/catalog/routes.ts;findSeatMap service/src/catalog/queries.ts;stringify': 3,
    });
  });
});

describe('categories and layout', () => {
  test.each([
    ['findSeatMap service/src/catalog/queries.ts', 'service'],
    ['parseRow node_modules/pg/lib/result.js', 'dependency'],
    ['emit node:events', 'node'],
    ['(garbage collector)', 'v8'],
    ['writev', 'v8'],
  ])('%s is %s', (name, category) => expect(categoryOf(name)).toBe(category));

  test('merges common prefixes and places children by name, left to right', () => {
    const { frames, total } = layoutFrames(
      new Map([
        ['main;b', 2],
        ['main;a;x', 3],
        ['main', 1],
        ['other', 4],
      ]),
    );
    expect(total).toBe(10);
    expect(frames).toEqual([
      { name: 'main', depth: 0, start: 0, samples: 6 },
      { name: 'a', depth: 1, start: 0, samples: 3 },
      { name: 'x', depth: 2, start: 0, samples: 3 },
      { name: 'b', depth: 1, start: 3, samples: 2 },
      { name: 'other', depth: 0, start: 6, samples: 4 },
    ]);
  });

  test('ranks frames by self samples', () => {
    expect(
      topSelf(
        new Map([
          ['a;b', 2],
          ['c;b', 2],
          ['a', 3],
        ]),
        2,
      ),
    ).toEqual([
      { frame: 'b', samples: 4 },
      { frame: 'a', samples: 3 },
    ]);
  });
});
