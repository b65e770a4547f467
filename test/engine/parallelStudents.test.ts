/**
 * Both cores for one run: with compare.baseline, the scratch student trains in a second engine process beside the
 * KD student (DISTILL_PARALLEL_STUDENTS=1 forces it, =0 forbids it). The results must be those of training one
 * after the other: the same records, bit for bit, and the same summary; only the order of the lines interleaves.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeCores } from '../../src/engine/parallelStudents';
import type { EngineToHost } from '../../src/shared/protocol';
import type { MetricsRecord, SoftLabelRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { tempDir } from './helpers';
import { CLI } from './sweepCli';

function run(config: string, runsDir: string, parallel: '0' | '1'): Promise<{ code: number | null; messages: EngineToHost[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', config, '--runs-dir', runsDir, '--json'], {
      env: { ...process.env, DISTILL_PARALLEL_STUDENTS: parallel },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      resolve({
        code,
        messages: out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as EngineToHost),
      }),
    );
  });
}

/** Timing fields differ between any two runs; everything else must not. */
const untimed = (r: MetricsRecord) => (r.kind === 'epoch' ? { ...r, seconds: 0 } : r);
const byStudent = (records: MetricsRecord[], student: string) => records.filter((r) => r.student === student).map(untimed);
/**
 * The reports without `gzipBytes`: the saved model.json files have the same length but may differ in the names tfjs
 * gives layers (a counter per process), which moves their gzip size by a byte; the weights are compared byte for byte.
 */
const noGzip = <T extends object | undefined>(r: T) => (r ? { ...r, gzipBytes: undefined } : r);
const report = (s: Summary) => ({ teacher: s.teacher, student: noGzip(s.student), baseline: noGzip(s.baseline), testSamples: s.testSamples });

describe('compare.baseline: the scratch student in a second process', function () {
  this.timeout(600_000);

  it('gives the same records and summary as training the students one after the other', async () => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first (npm test does).`);
    const dir = tempDir('distill-parallel-');
    const config = path.join(dir, 'p.distill.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        name: 'p',
        seed: 11,
        data: fashionMnistData({ train: 1500, test: 400 }),
        teacher: { preset: 'mlp', hidden: [64], train: { epochs: 1, batchSize: 64 } },
        student: { preset: 'mlp', hidden: [16], dropout: 0.2 },
        distillation: { temperature: 4, alpha: 0.8 },
        training: { epochs: 2, batchSize: 32 },
        compare: { baseline: true },
        evaluation: { probeSize: 8, latency: false },
        engine: { backend: 'wasm' },
      }),
    );
    const seq = await run(config, path.join(dir, 'seq'), '0');
    const par = await run(config, path.join(dir, 'par'), '1');
    assert.equal(seq.code, 0);
    assert.equal(par.code, 0);
    const logs = (r: typeof par) => r.messages.filter((m) => m.type === 'log').map((m) => (m as { message: string }).message);
    assert.ok(
      logs(par).some((l) => l.startsWith('The KD and scratch students train at once, in two processes')),
      logs(par).join('\n'),
    );
    assert.ok(logs(seq).some((l) => l.startsWith('The KD and scratch students train one after the other')));

    const runDir = (r: typeof par) => (r.messages.find((m) => m.type === 'started') as { runDir: string }).runDir;
    const [a, b] = [runDir(seq), runDir(par)];
    const ma = readJsonLines<MetricsRecord>(path.join(a, 'metrics.jsonl'));
    const mb = readJsonLines<MetricsRecord>(path.join(b, 'metrics.jsonl'));
    for (const student of ['kd', 'baseline']) assert.deepEqual(byStudent(mb, student), byStudent(ma, student), `${student} records`);
    // Only the first run trains the preset teacher (the second finds it cached), so its teacher records are not compared.
    const students = (m: MetricsRecord[]) => m.filter((r) => r.student !== 'teacher').length;
    assert.equal(students(mb), students(ma));
    const soft = (d: string) =>
      readJsonLines<SoftLabelRecord>(path.join(d, 'softlabels.jsonl')).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    assert.deepEqual(soft(b), soft(a));
    assert.deepEqual(report(readJson<Summary>(path.join(b, 'summary.json'))!), report(readJson<Summary>(path.join(a, 'summary.json'))!));
    for (const model of ['student', 'baseline'])
      assert.deepEqual(fs.readFileSync(path.join(b, model, 'weights.bin')), fs.readFileSync(path.join(a, model, 'weights.bin')), `${model} weights`);
  });
});

describe('freeCores: what other processes leave idle now', function () {
  this.timeout(30_000);

  it('counts a core that another process keeps busy as taken', async () => {
    // A child that spins for 3 s: over the 0.3 s look it takes a whole core (or, on a loaded machine, less, while the
    // load takes the rest), so at most cores − 0.5 are free whatever else runs.
    const spinner = spawn(process.execPath, ['-e', 'const end = Date.now() + 3000; while (Date.now() < end);'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const free = await freeCores();
      assert.ok(free <= os.availableParallelism() - 0.5, `${free.toFixed(2)} of ${os.availableParallelism()} cores free beside a spinning process`);
    } finally {
      spinner.kill();
    }
  });
});
