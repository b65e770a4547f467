/** The `distill` CLI as a user runs it: the built bundle, real exit codes, real output. Needs `npm run build`. */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineToHost } from '../../src/shared/protocol';
import type { BackendSurveyEntry, StatusFile } from '../../src/shared/records';
import { readJson } from '../../src/shared/runDir';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { tempDir } from './helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function writeConfig(dir: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'exp.distill.json');
  const config = {
    name: 'cli-test',
    data: fashionMnistData({ train: 1500, test: 300 }),
    teacher: { preset: 'mlp', hidden: [64], train: { epochs: 1 } },
    student: { preset: 'mlp', hidden: [8] },
    training: { epochs: 1, batchSize: 64 },
    evaluation: { latency: false },
    ...overrides,
  };
  fs.writeFileSync(file, `// written by cli.test.ts\n${JSON.stringify(config, null, 2)}\n`);
  return file;
}

const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env });

/** This process's environment without a folder of optional backends, so the survey sees only what is bundled. */
function envWithout(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env[name];
  return env;
}

describe('distill CLI', function () {
  this.timeout(300_000);
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  });

  it('exits 2 for a bad config value, naming the JSON path, the range and the value', () => {
    const dir = tempDir();
    const r = cli(['run', writeConfig(dir, { distillation: { alpha: 1.5 } })]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /distillation\.alpha must be between 0 and 1 \(got 1\.5\)/);
    assert.ok(!fs.existsSync(path.join(dir, 'runs')), 'nothing is written for a rejected config');
  });

  it('exits 2 for malformed JSON, with line and column', () => {
    const dir = tempDir();
    const file = path.join(dir, 'broken.distill.json');
    fs.writeFileSync(file, '{\n  "name": "x",\n  "seed": 1,,\n}\n');
    const r = cli(['run', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /broken\.distill\.json:3:\d+: invalid JSON at line 3/);
  });

  it('exits 2 for bad usage', () => {
    assert.equal(cli(['run']).status, 2);
    assert.equal(cli(['frobnicate']).status, 2);
    assert.equal(cli(['run', 'x.json', '--backend', 'tpu']).status, 2);
  });

  it('runs to completion (exit 0) and streams typed engine messages with --json', () => {
    const dir = tempDir();
    const r = cli(['run', writeConfig(dir), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const messages = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EngineToHost);
    assert.equal(messages[0].type, 'started');
    const finished = messages[messages.length - 1];
    assert.equal(finished.type, 'finished');
    assert.ok(finished.type === 'finished' && finished.status === 'completed' && finished.summary);
    assert.ok(messages.some((m) => m.type === 'epoch'));
  });

  it('prints the summary table without --json', () => {
    const dir = tempDir();
    // Without XDG_RUNTIME_DIR, as root on CI: the first line is still Distill's own, not Dawn's or Vulkan's.
    const r = cli(['run', writeConfig(dir, { compare: { baseline: true } })], envWithout('XDG_RUNTIME_DIR'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr.split('\n')[0], /^Run cli-test-\S+ → /, r.stderr.slice(0, 500));
    assert.doesNotMatch(r.stderr, /XDG_RUNTIME_DIR|Warning:|vkCreateInstance/);
    assert.match(r.stdout, /Teacher\s+\d+\.\d+%/);
    assert.match(r.stdout, /Scratch student\s+\d+\.\d+%/);
    assert.match(r.stdout, /KD student\s+\d+\.\d+%/);
  });

  it('exits 1 for a runtime failure and marks the run failed with the reason', () => {
    const dir = tempDir();
    const file = writeConfig(dir, { teacher: { model: 'missing/model.json' } });
    const r = cli(['run', file]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /missing\/model\.json/);
    const [runId] = fs.readdirSync(path.join(dir, 'runs'));
    const status = readJson<StatusFile>(path.join(dir, 'runs', runId, 'status.json'))!;
    assert.equal(status.status, 'failed');
    assert.match(status.reason!, /missing\/model\.json/);
    // One printed line per failure: not "error: …" and then "Run failed: …".
    assert.equal(r.stderr.split('\n').filter((l) => l.includes('missing/model.json')).length, 1, r.stderr);
    assert.match(r.stderr, /^Run failed: .*missing\/model\.json/m);
    assert.doesNotMatch(r.stderr, /^error: /m);

    // The run failed before its first checkpoint: resume says so, and what to do, not a missing checkpoint path.
    const resumed = cli(['resume', path.join(dir, 'runs', runId)]);
    assert.equal(resumed.status, 2, resumed.stderr);
    assert.match(
      resumed.stderr,
      /^distill: Run \S+ failed before its first checkpoint \(.*missing\/model\.json.*\), so there is nothing to resume\. Fix the cause and start the run again/,
    );
    assert.doesNotMatch(resumed.stderr, /checkpoints[/\\]initial/);
    assert.equal(readJson<StatusFile>(path.join(dir, 'runs', runId, 'status.json'))!.status, 'failed', 'the run stays failed');
  });

  it('Ctrl-C stops at a step boundary with a checkpoint (exit 130), and `resume` completes it', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { training: { epochs: 3, batchSize: 16 } });
    const child = spawn(process.execPath, [CLI, 'run', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"type":"epoch"/.test(out) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    assert.equal(code, 130, out.slice(-500));
    const [runId] = fs.readdirSync(path.join(dir, 'runs'));
    const runDir = path.join(dir, 'runs', runId);
    assert.equal(readJson<StatusFile>(path.join(runDir, 'status.json'))!.status, 'stopped');
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'kd', 'state.json')));
    const resumed = cli(['resume', runDir]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(readJson<StatusFile>(path.join(runDir, 'status.json'))!.status, 'completed');
    assert.ok(fs.existsSync(path.join(runDir, 'summary.json')));
  });

  it("takes the backend's batch size where the config names none, and records it in the run's config.json", () => {
    const dir = tempDir();
    const file = writeConfig(dir, { training: { epochs: 1 } });
    for (const [backend, expected] of [
      ['wasm', 128],
      ['webgpu', 512],
    ] as const) {
      // webgpu here is SwiftShader (test/support/softwareGpu.ts), which only an explicit request takes.
      const r = cli(['run', file, '--backend', backend, '--runs-dir', path.join(dir, backend)]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`training\\.batchSize and teacher\\.train\\.batchSize not set: ${expected}, the default on ${backend}\\.`));
      const [runId] = fs.readdirSync(path.join(dir, backend));
      const saved = readJson<{ training: { batchSize: number }; teacher: { train: { batchSize: number } } }>(path.join(dir, backend, runId, 'config.json'))!;
      assert.equal(saved.training.batchSize, expected);
      assert.equal(saved.teacher.train.batchSize, expected);
    }
  });

  it('`backends --json` lists every rung of the ladder and whether it loads here', () => {
    const r = cli(['backends', '--json'], envWithout('DISTILL_OPTIONAL_MODULES'));
    assert.equal(r.status, 0, r.stderr);
    const survey = JSON.parse(r.stdout) as BackendSurveyEntry[];
    assert.deepEqual(
      survey.map((e) => e.name),
      ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'],
    );
    const byName = Object.fromEntries(survey.map((e) => [e.name, e]));
    assert.equal(byName.wasm.available, true);
    assert.match(byName.wasm.detail, /^wasm \(SIMD, \d+ threads?\)$/);
    assert.equal(byName.cpu.available, true);
    assert.equal(byName['tensorflow-gpu'].available, false);
    assert.match(byName['tensorflow-gpu'].detail, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(byName['tensorflow-gpu'].fix!, /npm install --prefix/);
    // SwiftShader (test/support/softwareGpu.ts): skipped by auto, but a config naming webgpu gets it, so the
    // extension's check before a run (shared/backendCheck.ts) lets such a run start.
    if (/software WebGPU adapter/.test(byName.webgpu.detail)) assert.equal(byName.webgpu.byName, true);
    assert.equal(byName['tensorflow-gpu'].byName, undefined);
  });

  it('`backends` prints the same as a table, with the fix under an unavailable backend', () => {
    const r = cli(['backends'], envWithout('DISTILL_OPTIONAL_MODULES'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^tensorflow-gpu {2}unavailable {2}package @tensorflow\/tfjs-node-gpu is not installed\n {29}fix: Run "Distill: Install GPU Engine" in VS Code \(or `distill install-gpu tensorflow-gpu`\)/,
    );
    // The tests' adapter is SwiftShader (test/support/softwareGpu.ts), which `auto` declines, saying so.
    assert.match(r.stdout, /^webgpu {10}unavailable {2}only a software WebGPU adapter was found \(google swiftshader/m);
    assert.match(r.stdout, /^wasm {12}available {4}wasm \(SIMD/m);
    assert.match(r.stdout, /^cpu {13}available {4}cpu \(pure JavaScript/m);
  });

  it("probes WebGPU quietly: Dawn's and the Vulkan loader's lines reach --verbose, not the terminal", () => {
    // What a GPU-less machine with libvulkan1 looks like: no usable driver, and no XDG_RUNTIME_DIR (root, CI).
    for (const drivers of ['/nonexistent/icd.json', process.env.VK_DRIVER_FILES ?? '/nonexistent/icd.json']) {
      const env = envWithout('XDG_RUNTIME_DIR', { VK_DRIVER_FILES: drivers });
      delete env.DISTILL_OPTIONAL_MODULES;
      const quiet = cli(['backends'], env);
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.equal(quiet.stderr, '', `nothing on stderr with VK_DRIVER_FILES=${drivers}`);
      assert.match(quiet.stdout, /^tensorflow-gpu /, "the first line is Distill's own");
      assert.doesNotMatch(quiet.stdout, /Warning|XDG_RUNTIME_DIR|printed while probing/);
      const verbose = cli(['backends', '--verbose'], env);
      assert.equal(verbose.stderr, '');
      // SwiftShader itself is quiet; a missing driver makes the Vulkan loader talk.
      if (drivers.startsWith('/nonexistent'))
        assert.match(verbose.stdout, /printed while probing:\n\s+[\s\S]*(vkCreateInstance|XDG_RUNTIME_DIR|Vulkan)/, verbose.stdout);
    }
  });

  it('`install-gpu` exits 1 naming the registry it cannot reach, and writes nothing', () => {
    const dir = tempDir();
    const target = path.join(dir, 'gpu-engine');
    const r = cli(['install-gpu', 'webgpu', '--dir', target], {
      ...process.env,
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_cache: path.join(dir, 'npm-cache'),
      npm_config_fetch_retries: '0',
      npm_config_update_notifier: 'false',
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /distill: npm could not reach the registry http:\/\/127\.0\.0\.1:9 \(connect ECONNREFUSED 127\.0\.0\.1:9\)\. .*`npm config get registry`/,
    );
    assert.equal(r.stdout, '', 'no export line after a failure');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('gpu-engine')),
      [],
      'neither the folder nor a staging folder is left',
    );
  });

  it('`install-gpu` exits 2 for an unknown target', () => {
    const r = cli(['install-gpu', 'cuda12']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'cuda12' is invalid for argument 'target'\. Allowed choices are webgpu, tensorflow-gpu/);
  });
});
