/** The engine child process (dist/engine.js) when its parent goes away mid-run, as when VS Code is closed. */
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineToHost, HostToEngine } from '../../src/shared/protocol';
import type { StatusFile } from '../../src/shared/records';
import { readJson, readRun } from '../../src/shared/runDir';
import { smallConfig, tempDir } from './helpers';

const ENGINE = path.join(__dirname, '..', '..', 'dist', 'engine.js');

describe('engine child process', function () {
  this.timeout(300_000);

  it('checkpoints and ends as interrupted when the IPC channel to its parent closes, and can be resumed', async () => {
    assert.ok(fs.existsSync(ENGINE), `${ENGINE} is missing: run \`npm run build\` first (npm test does).`);
    const dir = tempDir();
    const config = smallConfig(dir, { training: { epochs: 3, batchSize: 16 } });
    const runDir = path.join(config.output.runsDir, 'parent-gone');
    const child = fork(ENGINE, [], { silent: true });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.on('message', (m: EngineToHost) => {
      // The parent "goes away" once the first epoch is done: the child sees its IPC channel close.
      if (m.type === 'epoch' && m.record.student === 'kd' && child.connected) child.disconnect();
    });
    child.send({ type: 'start', config, runDir } satisfies HostToEngine);
    assert.equal(await exited, 0);

    const status = readJson<StatusFile>(path.join(runDir, 'status.json'))!;
    assert.equal(status.status, 'interrupted');
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'kd', 'state.json')), 'a checkpoint was written before exiting');
    assert.equal(readRun(runDir)!.status, 'interrupted');

    const resumed = fork(ENGINE, [], { silent: true });
    const finished = new Promise<EngineToHost>((resolve) => resumed.on('message', (m: EngineToHost) => m.type === 'finished' && resolve(m)));
    resumed.send({ type: 'resume', runDir } satisfies HostToEngine);
    const done = await finished;
    assert.ok(done.type === 'finished' && done.status === 'completed', JSON.stringify(done));
  });
});
