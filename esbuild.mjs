// One build script for every bundle: node bundles for the extension host, the engine child, the CLI and the
// benchmark; a browser bundle for the dashboard webview. `--watch` rebuilds on change, `--production` minifies.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info', legalComments: 'none' };

/** The wasm backend loads its .wasm files at run time from next to the bundle (see engine/backends). */
const copyWasm = {
  name: 'copy-wasm',
  setup(build) {
    build.onEnd(() => {
      const from = path.join('node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
      fs.mkdirSync('dist', { recursive: true });
      for (const f of fs.readdirSync(from).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(from, f), path.join('dist', f));
    });
  },
};

const node = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir: 'dist',
  // jsonc-parser's default entry is a UMD bundle whose dynamic requires esbuild cannot follow; its ESM build bundles.
  mainFields: ['module', 'main'],
  // Optional backends are resolved at run time from the user's machine, never bundled.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', 'onnxruntime-node'],
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts' } },
  // The sweep benchmark forks dist/engine.js like `distill sweep`; it loads no tfjs itself.
  { ...node, entryPoints: { sweepBench: 'src/sweep/bench.ts' } },
  // The shebang makes dist/cli.js the package's `distill` bin; Node ignores it in the others. trainWorker is a
  // training thread (engine.threads > 1), started by the other three.
  {
    ...node,
    entryPoints: {
      engine: 'src/engine/main.ts',
      cli: 'src/engine/cli.ts',
      bench: 'src/engine/bench/bench.ts',
      trainWorker: 'src/engine/train/parallelWorker.ts',
    },
    plugins: [copyWasm],
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: { webview: 'src/webview/main.ts' },
    outdir: 'dist',
    loader: { '.css': 'css' },
  },
]
  .map((b) => ({ ...b, entryPoints: Object.fromEntries(Object.entries(b.entryPoints).filter(([, f]) => fs.existsSync(f))) }))
  .filter((b) => Object.keys(b.entryPoints).length);

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
