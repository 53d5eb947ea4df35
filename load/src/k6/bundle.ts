/**
 * A k6 script (TypeScript, as k6 runs it) bundled with esbuild into one ES module for the VU workers:
 * `k6`, `k6/http` and `k6/execution` resolve to this layer's modules. Any other k6 module, a remote
 * module (jslib) or a Node module fails the bundle with its name, and so does a named import the layer
 * does not export (esbuild's "No matching export").
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';

const LAYER = dirname(fileURLToPath(import.meta.url));

/** The k6 modules the layer implements, and where. */
export const K6_MODULES: Record<string, string> = {
  k6: join(LAYER, 'modules/k6.ts'),
  'k6/http': join(LAYER, 'modules/http.ts'),
  'k6/execution': join(LAYER, 'modules/execution.ts'),
};

/** The bundle failed: a message per problem, naming the module or export. */
export class ScriptBundleError extends Error {}

const insideLayer = (file: string) => !relative(LAYER, file).startsWith('..');

/** Resolves the script's imports: k6 modules to the layer, relative files as usual, nothing else. */
const k6Modules: Plugin = {
  name: 'k6-modules',
  setup(build) {
    build.onResolve({ filter: /.*/ }, ({ path, importer, kind }) => {
      if (kind === 'entry-point' || insideLayer(importer) || importer === '<stdin>') return undefined;
      if (K6_MODULES[path]) return { path: K6_MODULES[path] };
      if (path.startsWith('.')) return undefined;
      const what = path === 'k6' || path.startsWith('k6/') ? 'the k6 module' : 'the module';
      return {
        errors: [
          { text: `the k6 compatibility layer does not support ${what} "${path}" (see load/README.md)` },
        ],
      };
    });
  },
};

/** esbuild names the layer's files; a user reads k6 module names. */
function describe(message: Message): string {
  let text = message.text;
  for (const [name, file] of Object.entries(K6_MODULES))
    text = text.replaceAll(`"${relative(process.cwd(), file)}"`, `"${name}"`);
  const at = message.location ? `${message.location.file}:${message.location.line}: ` : '';
  return `${at}${text}`;
}

/** The worker's entry: the globals first, then the script's init code, then the VU's message loop. */
function entry(script: string): string {
  return [
    `import ${JSON.stringify(join(LAYER, 'vu-context.ts'))};`,
    `import * as script from ${JSON.stringify(resolve(script))};`,
    `import { serve } from ${JSON.stringify(join(LAYER, 'vu-worker.ts'))};`,
    'serve(script);',
  ].join('\n');
}

/** The bundled module's source, for a `data:` URL worker. */
export async function bundleScript(script: string): Promise<string> {
  try {
    const result = await build({
      stdin: { contents: entry(script), resolveDir: LAYER, sourcefile: 'vu-entry.js', loader: 'js' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      // `import * as k6 from 'k6'` then `k6.nope`: an error, not an undefined at run time.
      logOverride: { 'import-is-undefined': 'error' },
      plugins: [k6Modules],
    });
    return result.outputFiles[0]!.text;
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors) throw error;
    throw new ScriptBundleError(errors.map(describe).join('\n'));
  }
}
