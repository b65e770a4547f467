/** The `distill` CLI as a user runs it: the built bundle, real exit codes, real output. Needs `npm run build`. */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineToHost } from '../../src/shared/protocol';
import type { StatusFile } from '../../src/shared/records';
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

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });

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
    const messages = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EngineToHost);
    assert.equal(messages[0].type, 'started');
    const finished = messages[messages.length - 1];
    assert.equal(finished.type, 'finished');
    assert.ok(finished.type === 'finished' && finished.status === 'completed' && finished.summary);
    assert.ok(messages.some((m) => m.type === 'epoch'));
  });

  it('prints the summary table without --json', () => {
    const dir = tempDir();
    const r = cli(['run', writeConfig(dir, { compare: { baseline: true } })]);
    assert.equal(r.status, 0, r.stderr);
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
});
