/**
 * The same kind of sweep through Redis (BullMQ): a private redis-server, the coordinator (`distill sweep --queue`)
 * and two workers (`distill worker --no-shared`, each in its own folder, so results can only come back through
 * Redis). One worker is killed with SIGKILL mid-trial once its first checkpoint is in Redis; the other resumes that
 * trial from there. Every trial is recorded once; a student file the workers lack fails only its trials, naming
 * the file and the host.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MetricsRecord } from '../../src/shared/records';
import { readJsonLines } from '../../src/shared/runDir';
import { listSweeps, readResults } from '../../src/shared/sweepDir';
import type { SweepEvent } from '../../src/sweep/coordinator';
import { startRedis, type RedisServer } from '../support/redisServer';
import { tempDir } from './helpers';
import { CLI, sweep, worker, writeBaseConfig } from './sweepCli';

describe('distill sweep --queue redis:// with distill worker', function () {
  this.timeout(600_000);
  let dir: string;
  let redis: RedisServer;
  const workers: ReturnType<typeof worker>[] = [];
  before(async () => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first (npm test does).`);
    dir = tempDir('distill-sweep-redis-');
    redis = await startRedis();
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('survives a worker killed with kill -9 mid-trial, and records every trial once', async () => {
    const missingStudent = path.join(dir, 'elsewhere', 'student', 'model.json');
    const epochs = 12;
    writeBaseConfig(dir, { epochs, batchSize: 8 });
    fs.writeFileSync(
      path.join(dir, 'q.sweep.json'),
      JSON.stringify({
        name: 'q',
        base: 'base.distill.json',
        grid: { student: [{ preset: 'mlp', hidden: [16] }, { model: missingStudent }], 'distillation.temperature': [2, 8] },
      }),
    );
    const common = ['--queue', redis.url, '--concurrency', '1', '--no-shared', '--lock-ms', '3000'];
    const coordinator = sweep(['q.sweep.json', '--queue', redis.url], dir);

    // Worker A is killed once its trial has a checkpoint in Redis before its last epoch; B then takes that trial
    // over. The worker copies checkpoints on a 1 s poll, so which epoch's copy comes first depends on the machine's
    // speed (an epoch here takes 0.2-1 s, by machine): any epoch before the last will do. Twelve leave room on a fast
    // machine; with five, 4 runs in 10 saw no copy before the last epoch there.
    let killedTrial: string | undefined;
    const a = worker([...common, '--work-dir', path.join(dir, 'worker-a')], dir, (line) => {
      const m = /(\S+): checkpoint copied to Redis \(epoch (\d+) done\)/.exec(line);
      if (m && Number(m[2]) < epochs && !killedTrial) {
        killedTrial = m[1];
        a.child.kill('SIGKILL');
      }
    });
    workers.push(a);
    await new Promise((r) => setTimeout(r, 1500));
    const b = worker([...common, '--work-dir', path.join(dir, 'worker-b')], dir);
    workers.push(b);

    const { code, events, stderr } = await coordinator;
    assert.ok(killedTrial, `worker A was killed mid-trial: ${a.lines.join('\n')}`);
    assert.equal(code, 1, `some trials fail (the missing student), the rest complete: ${stderr}`);

    const [{ dir: sweepDir, state }] = listSweeps(path.join(dir, 'sweeps'));
    assert.equal(state.status, 'completed');
    const lines = fs.readFileSync(path.join(sweepDir, 'results.jsonl'), 'utf8').trim().split('\n');
    const results = readResults(sweepDir);
    assert.equal(lines.length, 6, '4 trials and 2 baselines (one per student), one line each');
    assert.equal(results.length, 6);

    const failed = results.filter((r) => r.status === 'failed');
    assert.deepEqual(
      failed.map((r) => r.params.student),
      [{ model: missingStudent }, { model: missingStudent }, { model: missingStudent }],
    );
    for (const f of failed) {
      assert.ok(f.reason?.includes(missingStudent), f.reason);
      assert.ok(f.reason?.includes(`on host ${os.hostname()}`), f.reason);
    }

    // The killed trial finished on B, from A's checkpoint, and its history holds each epoch once.
    const killed = results.find((r) => r.trial === killedTrial)!;
    assert.equal(killed.status, 'completed');
    const finishedEvent = events.find((e): e is Extract<SweepEvent, { type: 'trialFinished' }> => e.type === 'trialFinished' && e.id === killedTrial)!;
    assert.ok(finishedEvent.outcome.resumed, 'resumed from the checkpoint copied through Redis');
    assert.ok(
      b.lines.some((l) => l.includes(`${killedTrial}: resuming from its checkpoint`)),
      b.lines.join('\n'),
    );
    for (const r of results.filter((x) => x.status === 'completed')) {
      const runDir = path.join(sweepDir, r.runDir);
      assert.ok(fs.existsSync(path.join(runDir, 'summary.json')), `${r.trial}: summary came back`);
      assert.ok(fs.existsSync(path.join(runDir, 'student', 'model.json')), `${r.trial}: the final student came back`);
      const recorded = readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl'))
        .filter((m) => m.kind === 'epoch')
        .map((m) => m.epoch);
      assert.deepEqual(
        recorded,
        Array.from({ length: epochs }, (_, i) => i + 1),
        `${r.trial}: epoch records`,
      );
    }
  });
});
