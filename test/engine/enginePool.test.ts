/**
 * A sweep's pool of engine children (src/sweep/engineTask.ts, ENGINE_REUSE_ENV): one child runs trial after trial,
 * and each gives what a child of its own gives, so results do not depend on which process ran a trial.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelReport, Summary } from '../../src/shared/records';
import { EnginePool, startEngineTask, type EngineTask } from '../../src/sweep/engineTask';
import { smallConfig, tempDir } from './helpers';

const ENGINE = path.join(__dirname, '..', '..', 'dist', 'engine.js');

/** What a trial learnt and scored; not its timings or file sizes (model.json's layer names count per process). */
const learnt = (r: ModelReport) => ({
  accuracy: r.accuracy,
  macroF1: r.macroF1,
  klToTeacher: r.klToTeacher,
  agreement: r.agreement,
  ece: r.ece,
  confusion: r.confusion,
});
const outcome = (s: Summary | undefined) => (s ? { student: learnt(s.student), teacher: learnt(s.teacher) } : undefined);

async function finish(task: EngineTask) {
  const { finished } = await task.done;
  assert.equal(finished.status, 'completed', finished.reason);
  return finished.summary;
}

const until = (what: string, done: () => boolean, timeoutMs = 60_000) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (done()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else return;
      clearInterval(poll);
    }, 20);
  });

const processGone = (pid: number) => () => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe('engine pool (children kept from trial to trial)', function () {
  this.timeout(300_000);

  it('runs trials one after another in one child, each as a child of its own runs it, and ends its idle child on close', async () => {
    assert.ok(fs.existsSync(ENGINE), `${ENGINE} is missing: run \`npm run build\` first (npm test does).`);
    const dir = tempDir();
    const trial = (temperature: number, seed: number) =>
      smallConfig(dir, { seed, distillation: { temperature, alpha: 0.9 }, data: { ...smallConfig(dir).data, maxSamples: { train: 1500, test: 500 } } });
    const a = trial(2, 3);
    const b = trial(6, 4);
    // The teacher first, as a sweep does, so that every trial below reads it from the cache.
    assert.equal((await startEngineTask(ENGINE, { type: 'teacher', config: a }).done).finished.status, 'completed');

    const alone = [
      await finish(startEngineTask(ENGINE, { type: 'start', config: a, runDir: path.join(dir, 'alone-a') })),
      await finish(startEngineTask(ENGINE, { type: 'start', config: b, runDir: path.join(dir, 'alone-b') })),
    ];

    const pool = new EnginePool(ENGINE);
    const first = pool.start({ type: 'start', config: a, runDir: path.join(dir, 'pool-a') });
    const kept = [await finish(first)];
    // The child goes back to the pool once it says it is idle, just after `finished`.
    await until('the child to be idle', () => pool.idleCount === 1);
    const second = pool.start({ type: 'start', config: b, runDir: path.join(dir, 'pool-b') });
    // The first task is over: its stop no longer reaches the child, which now runs the second.
    first.stop();
    first.kill();
    kept.push(await finish(second));
    assert.equal(second.pid, first.pid, 'the second trial ran in the first one’s child');
    assert.deepEqual(kept.map(outcome), alone.map(outcome));
    assert.notDeepEqual(outcome(kept[0]), outcome(kept[1]), 'the two trials differ, so the comparison can fail');

    // A kept child that dies is not handed out again.
    await until('the child to be idle', () => pool.idleCount === 1);
    process.kill(second.pid!, 'SIGKILL');
    await until('the pool to see its child gone', () => pool.idleCount === 0);
    const third = pool.start({ type: 'start', config: a, runDir: path.join(dir, 'pool-a2') });
    assert.deepEqual(outcome(await finish(third)), outcome(alone[0]));
    assert.notEqual(third.pid, second.pid);

    await until('the child to be idle', () => pool.idleCount === 1);
    pool.close();
    await until('the idle child to exit on close', processGone(third.pid!));
  });

  it('starts children ahead of the first task; the task after a teacher runs in the child that prepared it', async () => {
    const dir = tempDir();
    const config = smallConfig(dir, { seed: 3, data: { ...smallConfig(dir).data, maxSamples: { train: 1500, test: 500 } } });
    const pool = new EnginePool(ENGINE);
    pool.prestart(2);
    assert.equal(pool.idleCount, 2);
    const teacher = pool.start({ type: 'teacher', config });
    assert.equal(pool.idleCount, 1, 'the teacher took one of the children started ahead');
    assert.equal((await teacher.done).finished.status, 'completed');
    await until('the teacher’s child to be idle', () => pool.idleCount === 2);
    pool.prestart(2);
    assert.equal(pool.idleCount, 2, 'no child beyond the two asked for');
    const trial = pool.start({ type: 'start', config, runDir: path.join(dir, 'run') });
    assert.equal(trial.pid, teacher.pid, 'the trial went to the child that has the data loaded');
    await finish(trial);
    await until('the child to be idle', () => pool.idleCount === 2);
    pool.close();
    await until('the trial’s child to exit on close', processGone(trial.pid!));
  });

  it('reads the data ahead with loadData, so that the next trial in that child does not read it again', async () => {
    const dir = tempDir();
    const config = smallConfig(dir, { seed: 5, data: { ...smallConfig(dir).data, maxSamples: { train: 1500, test: 500 } } });
    assert.equal((await startEngineTask(ENGINE, { type: 'teacher', config }).done).finished.status, 'completed');
    const readAgain = (logs: string[]) => !logs.some((m) => m.includes('(kept from the previous run in this engine; the files are unchanged)'));
    const trialLogs = async (pool: EnginePool, name: string) => {
      const logs: string[] = [];
      const task = pool.start({ type: 'start', config, runDir: path.join(dir, name) }, { onMessage: (m) => m.type === 'log' && logs.push(m.message) });
      await finish(task);
      return { logs, pid: task.pid };
    };

    const cold = new EnginePool(ENGINE);
    assert.ok(readAgain((await trialLogs(cold, 'cold')).logs), 'a fresh child reads the data in its first trial');
    cold.close();

    const warm = new EnginePool(ENGINE);
    const loading = warm.start({ type: 'loadData', config });
    assert.equal((await loading.done).finished.status, 'completed');
    await until('the child to be idle', () => warm.idleCount === 1);
    const trial = await trialLogs(warm, 'warm');
    assert.equal(trial.pid, loading.pid);
    assert.ok(!readAgain(trial.logs), `the trial after loadData found the data read: ${trial.logs.join(' | ')}`);
    await until('the child to be idle', () => warm.idleCount === 1);
    warm.close();
    await until('the child to exit on close', processGone(trial.pid!));
  });
});
