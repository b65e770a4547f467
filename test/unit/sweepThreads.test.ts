// Each engine child of a local sweep gets DISTILL_THREADS = max(1, floor(cores / concurrency)), at most MAX_THREADS.
// The child here is a stand-in engine script (not our engine) that reports the variable it was started with.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_THREADS } from '../../src/shared/config';
import { threadsPerProcess } from '../../src/sweep/engineTask';
import { LocalExecutor } from '../../src/sweep/executor';
import { removeTempDir, tempDir } from '../support/tempDirs';

describe('sweep engine threads', () => {
  it('divides the cores among the processes, at least one each', () => {
    assert.equal(threadsPerProcess(16, 4), 4);
    assert.equal(threadsPerProcess(16, 3), 5);
    assert.equal(threadsPerProcess(2, 2), 1);
    assert.equal(threadsPerProcess(2, 8), 1);
    assert.equal(threadsPerProcess(1, 1), 1);
    assert.equal(threadsPerProcess(8, 0), 8);
    // Never more than engine.threads accepts, or the engine would refuse the variable.
    assert.equal(threadsPerProcess(256, 1), MAX_THREADS);
  });

  let dir: string;
  beforeEach(() => (dir = tempDir('distill-sweep-threads-')));
  afterEach(() => removeTempDir(dir));

  for (const [cores, concurrency, expected] of [
    [8, 2, '4'],
    [2, 3, '1'],
  ] as const) {
    it(`a trial child of a ${concurrency}-process executor on ${cores} cores sees DISTILL_THREADS=${expected}`, async () => {
      const engine = path.join(dir, 'fake-engine.js');
      fs.writeFileSync(
        engine,
        `process.on('message', () => { process.send({ type: 'finished', status: 'completed', summary: { threads: process.env.DISTILL_THREADS } }, () => process.exit(0)); });`,
      );
      const executor = new LocalExecutor(concurrency, engine, cores);
      const outcome = await executor.runTrial({ sweepId: 's', id: 'p00-r0', config: {} as never, runDir: path.join(dir, 'trial') }, () => undefined);
      await executor.close();
      assert.equal(outcome.status, 'completed');
      assert.equal((outcome.summary as unknown as { threads: string }).threads, expected);
    });
  }
});
