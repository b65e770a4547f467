// The Resume button of a "stopped" notification, clicked after the run has moved on. VS Code cannot close a
// notification, so the button must read the run as it is now rather than trust what was true when it was shown.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resumeFromNotification } from '../../src/extension/runFiles';
import type { StatusFile } from '../../src/shared/records';
import { RUN_FILES, writeJsonAtomic } from '../../src/shared/runDir';
import { tempRunsDir, writeSyntheticRunDir } from '../webview/runDirs';

describe('extension: Resume from an earlier notification', () => {
  let runsDir: string;
  let runDir: string;

  /** The run as the engine leaves it: its status, and a checkpoint when it wrote one. */
  function setRun(status: StatusFile['status'], options: { checkpoint?: boolean; pid?: number } = {}): void {
    const file = path.join(runDir, RUN_FILES.status);
    const current = JSON.parse(fs.readFileSync(file, 'utf8')) as StatusFile;
    writeJsonAtomic(file, { ...current, status, pid: options.pid ?? current.pid });
    const checkpoints = path.join(runDir, RUN_FILES.checkpoints);
    fs.rmSync(checkpoints, { recursive: true, force: true });
    if (options.checkpoint) {
      fs.mkdirSync(path.join(checkpoints, 'epoch-1'), { recursive: true });
      fs.writeFileSync(path.join(checkpoints, 'epoch-1', 'state.json'), '{}');
    }
  }

  beforeEach(() => {
    runsDir = tempRunsDir();
    runDir = writeSyntheticRunDir(runsDir, { runId: 'fashion-stopped' });
  });
  afterEach(() => fs.rmSync(runsDir, { recursive: true, force: true }));

  it('resumes a run that is still stopped with a checkpoint', () => {
    setRun('stopped', { checkpoint: true });
    assert.deepEqual(resumeFromNotification(runDir, 'fashion', undefined), { resume: true });
    // Another run being active is not this button's business: Resume then refuses with its own message.
    assert.deepEqual(resumeFromNotification(runDir, 'fashion', path.join(runsDir, 'other-run')), { resume: true });
  });

  it('says the run is running again when this window resumed it meanwhile', () => {
    setRun('running', { checkpoint: true, pid: process.pid });
    const decision = resumeFromNotification(runDir + path.sep, 'fashion', runDir);
    assert.deepEqual(decision, {
      resume: false,
      runExists: true,
      message: '"fashion" is already running again: it was resumed after it stopped. There is nothing to resume.',
    });
  });

  it('says the run completed when it was resumed and finished meanwhile', () => {
    setRun('completed', { checkpoint: true });
    const decision = resumeFromNotification(runDir, 'fashion', undefined);
    assert.equal(decision.resume, false);
    assert.match(!decision.resume ? decision.message : '', /^"fashion" has since been resumed and completed\. There is nothing to resume\.$/);
  });

  it('says another window is running it', () => {
    setRun('running', { checkpoint: true, pid: process.pid });
    const decision = resumeFromNotification(runDir, 'fashion', undefined);
    assert.match(!decision.resume ? decision.message : '', new RegExp(`is running in another window \\(engine pid ${process.pid}\\)`));
  });

  it('says why when the checkpoint or the whole run folder is gone', () => {
    setRun('stopped', { checkpoint: false });
    assert.deepEqual(resumeFromNotification(runDir, 'fashion', undefined), {
      resume: false,
      runExists: true,
      message: '"fashion" has no checkpoint to resume from any more. Start a new run instead.',
    });
    fs.rmSync(runDir, { recursive: true });
    assert.deepEqual(resumeFromNotification(runDir, 'fashion', undefined), {
      resume: false,
      runExists: false,
      message: `"fashion" cannot be resumed: its run folder ${runDir} is gone.`,
    });
  });
});
