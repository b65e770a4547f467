/**
 * Sweeps across machines through Redis with BullMQ. `distill sweep <file> --queue redis://host:6379` enqueues the
 * trials (RedisExecutor); `distill worker --queue redis://host:6379` on any number of machines runs them
 * (runWorker), each in an engine child process, exactly as the local pool does.
 *
 * - Without a shared file system a worker runs the trial in its own work folder and returns the run directory's
 *   files (summary, metrics.jsonl with the epoch records, the final student) as the job's result; the coordinator
 *   writes them into the sweep. When the sweep's folder exists on the worker (a shared file system), the worker
 *   runs in it directly and returns only the summary.
 * - After each checkpoint a worker copies the run directory (checkpoints included) into Redis. A worker that dies
 *   (kill -9, a machine lost) stops renewing its job's lock; BullMQ's stalled-job check hands the job to another
 *   worker, which resumes from that copy (or from the shared run directory), else starts over.
 * - The coordinator records each trial once (results.jsonl), whatever the retries.
 * - A preset teacher is trained once by the coordinator (its logits are cached there), and its files travel
 *   through Redis to the workers, which compute its logits once each into their own cache. Data files and teacher
 *   model files must exist on the workers at the same paths; a worker that lacks one fails that trial, naming the
 *   file and the host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import IORedis from 'ioredis';
import { THREADS_ENV, type DistillConfig } from '../shared/config';
import { referencedFiles } from '../shared/configDiagnostics';
import { errorMessage } from '../shared/errors';
import type { Summary } from '../shared/records';
import { RUN_FILES } from '../shared/runDir';
import { sha256 } from '../shared/sweepPlan';
import { LocalExecutor, runTrialHere, type Executor, type TeacherOutcome, type TrialOutcome, type TrialTask } from './executor';
import { defaultEnginePath, EnginePool, engineNodeFlags, threadsPerProcess, type EngineTask } from './engineTask';

export const QUEUE_NAME = 'distill-trials';
/** Stalls a trial may survive (worker lost, Ctrl-C of a worker) before BullMQ fails it. */
const MAX_STALLED = 5;

interface TrialJobData {
  sweepId: string;
  trialId: string;
  config: DistillConfig;
  /** The run directory on the coordinator's machine; used as is when it exists on the worker. */
  runDir: string;
  /** Redis key of the preset teacher's files, when the teacher is one. */
  teacherFiles?: string;
}

interface TrialJobResult {
  host: string;
  status: TrialOutcome['status'];
  reason?: string;
  summary?: Summary;
  resumed: boolean;
  /** The run directory's files (base64, by relative path), when the worker did not run in the sweep's folder. */
  files?: Record<string, string>;
}

/** The URL without a password, for logs and sweep.json. */
export const safeUrl = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');

export function connect(url: string): IORedis {
  if (!/^rediss?:\/\//.test(url)) throw new Error(`--queue must be a redis:// or rediss:// URL (got ${JSON.stringify(url)})`);
  // BullMQ's workers need maxRetriesPerRequest: null (blocking commands must not time out).
  return new IORedis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

const snapshotKey = (sweepId: string, trialId: string) => `distill:snapshot:${sweepId}:${trialId}`;
const stopKey = (sweepId: string) => `distill:stop:${sweepId}`;
const jobId = (sweepId: string, trialId: string) => `${sweepId}__${trialId}`;

/** Every file under `dir`, base64 by relative path; `skip` filters top-level entries. */
export function packDir(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const e of fs.readdirSync(path.join(dir, at), { withFileTypes: true })) {
      const rel = at ? `${at}/${e.name}` : e.name;
      if (skip(rel) || e.name.endsWith('.tmp') || e.name.endsWith('.writing')) continue;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) out[rel] = fs.readFileSync(path.join(dir, rel)).toString('base64');
    }
  };
  if (fs.existsSync(dir)) walk('');
  return out;
}

export function unpackDir(dir: string, files: Record<string, string>): void {
  for (const [rel, b64] of Object.entries(files)) {
    if (rel.split('/').includes('..') || path.isAbsolute(rel)) continue;
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(b64, 'base64'));
  }
}

/** The coordinator's side: trials become BullMQ jobs; their results come back through Redis. */
export class RedisExecutor implements Executor {
  readonly concurrency = Infinity;
  readonly description: string;
  private readonly redis: IORedis;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly progress = new Map<string, (f: number) => void>();
  private readonly pending = new Map<string, () => void>();
  private readonly local: LocalExecutor;
  private stopped = false;
  private cleared = new Set<string>();

  constructor(url: string, enginePath = defaultEnginePath()) {
    this.description = `Redis queue ${safeUrl(url)} (run \`distill worker --queue ${safeUrl(url)}\` on each machine)`;
    this.redis = connect(url);
    this.queue = new Queue(QUEUE_NAME, { connection: this.redis });
    this.events = new QueueEvents(QUEUE_NAME, { connection: connect(url) });
    this.events.on('progress', ({ jobId: id, data }) => {
      if (typeof data === 'number') this.progress.get(id)?.(data);
    });
    this.local = new LocalExecutor(1, enginePath);
  }

  /** Here, once: the coordinator has the data the plan names; the teacher's files then go to the workers. */
  prepareTeacher(config: DistillConfig): Promise<TeacherOutcome | undefined> {
    return this.local.prepareTeacher(config);
  }

  async runTrial(task: TrialTask, onProgress: (fraction: number) => void): Promise<TrialOutcome> {
    if (this.stopped) return { status: 'stopped', host: os.hostname(), resumed: false };
    await this.events.waitUntilReady();
    if (!this.cleared.has(task.sweepId)) {
      await this.redis.del(stopKey(task.sweepId));
      this.cleared.add(task.sweepId);
    }
    fs.mkdirSync(path.dirname(task.runDir), { recursive: true });
    const data: TrialJobData = {
      sweepId: task.sweepId,
      trialId: task.id,
      config: task.config,
      runDir: task.runDir,
      teacherFiles: await this.shareTeacher(task.config),
    };
    const id = jobId(task.sweepId, task.id);
    // A job left from an earlier session: attach to it while it runs; a stopped or failed one is queued afresh.
    let job = await this.queue.getJob(id);
    if (job) {
      const state = await job.getState();
      const result = job.returnvalue as TrialJobResult | undefined;
      if (state === 'failed' || (state === 'completed' && result?.status !== 'completed')) {
        await job.remove().catch(() => undefined);
        job = undefined;
      }
    }
    job ??= await this.queue.add('trial', data, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
    this.progress.set(id, onProgress);
    try {
      const result = await new Promise<TrialJobResult>((resolve, reject) => {
        this.pending.set(id, () => resolve({ host: os.hostname(), status: 'stopped', resumed: false }));
        job!.waitUntilFinished(this.events).then(resolve, reject);
      });
      if (result.files) {
        fs.rmSync(task.runDir, { recursive: true, force: true });
        unpackDir(task.runDir, result.files);
      }
      if (result.status === 'completed' || result.status === 'failed') await this.redis.del(snapshotKey(task.sweepId, task.id));
      return { status: result.status, reason: result.reason, summary: result.summary, host: result.host, resumed: result.resumed };
    } catch (e) {
      // A job BullMQ failed (its processor threw, or it stalled too often).
      return { status: 'failed', reason: errorMessage(e), host: '?', resumed: false };
    } finally {
      this.progress.delete(id);
      this.pending.delete(id);
    }
  }

  /** A preset teacher trained here: its files into Redis once, for workers without this machine's cache. */
  private async shareTeacher(config: DistillConfig): Promise<string | undefined> {
    if (!('model' in config.teacher)) return undefined;
    const dir = path.dirname(config.teacher.model);
    if (!dir.startsWith(path.join(config.output.cacheDir, 'teachers'))) return undefined;
    const key = `distill:files:${sha256(dir)}`;
    if (!(await this.redis.exists(key))) await this.redis.hset(key, packDir(dir));
    return key;
  }

  stop(): void {
    this.stopped = true;
    this.local.stop();
    const sweeps = new Set([...this.progress.keys()].map((id) => id.split('__')[0]));
    for (const s of sweeps) void this.redis.set(stopKey(s), '1', 'EX', 24 * 3600);
    // Waiting jobs are taken back; the running ones stop at a step boundary on their workers.
    for (const [id, resolveStopped] of this.pending) {
      void this.queue.getJob(id).then(async (job) => {
        if (job && (await job.getState()) === 'waiting') {
          await job.remove().catch(() => undefined);
          resolveStopped();
        }
      });
    }
  }

  async close(): Promise<void> {
    await this.local.close();
    await this.events.close();
    await this.queue.close();
    this.redis.disconnect();
  }
}

export interface WorkerOptions {
  url: string;
  concurrency: number;
  /** Where trials run when the sweep's folder is not on this machine, and where teacher files are kept. */
  workDir: string;
  /** Always run in workDir and return the files, even when the sweep's folder is reachable. */
  noShared?: boolean;
  /** How long a lost worker holds its trial before it is retried elsewhere (BullMQ's lock), in ms. */
  lockMs?: number;
  enginePath?: string;
  log(line: string): void;
}

/** `distill worker`: runs trials from the queue until stopped (Ctrl-C: checkpoint, and let others continue them). */
export async function runWorker(opts: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const host = os.hostname();
  const redis = connect(opts.url);
  // As the local executor: engines kept from trial to trial, the worker's cores divided among its trials at once.
  const threads = threadsPerProcess(os.availableParallelism(), opts.concurrency);
  const pool = new EnginePool(opts.enginePath ?? defaultEnginePath(), { [THREADS_ENV]: String(threads) }, engineNodeFlags(threads));
  const running = new Set<EngineTask>();
  let closing = false;

  const processor = async (job: Job<TrialJobData>): Promise<TrialJobResult> => {
    const d = job.data;
    const shared = !opts.noShared && fs.existsSync(path.dirname(d.runDir));
    const runDir = shared ? d.runDir : path.join(opts.workDir, 'runs', d.sweepId, d.trialId);
    const config = structuredClone(d.config);
    if (!fs.existsSync(config.output.cacheDir) && !canCreate(config.output.cacheDir)) config.output.cacheDir = path.join(opts.workDir, 'cache');
    if (d.teacherFiles && 'model' in config.teacher && !fs.existsSync(config.teacher.model)) {
      const dir = path.join(opts.workDir, 'teachers', d.teacherFiles.replace(/^distill:files:/, '').slice(0, 24));
      if (!fs.existsSync(path.join(dir, 'model.json'))) unpackDir(dir, await redis.hgetall(d.teacherFiles));
      config.teacher = { model: path.join(dir, 'model.json') };
    }
    const missing = referencedFiles(config).filter((r) => !fs.existsSync(r.file));
    if (missing.length) {
      const reason = missing.map((m) => `the ${m.what} file ${m.file} does not exist on host ${host}`).join('; ');
      opts.log(`${d.trialId}: failed: ${reason}`);
      return { host, status: 'failed', reason: `${reason}. Put it at that path on every worker, or use a shared file system.`, resumed: false };
    }
    // Resume from the copy in Redis when this machine has no run directory for the trial.
    if (!fs.existsSync(path.join(runDir, RUN_FILES.status))) {
      const snapshot = await redis.hgetall(snapshotKey(d.sweepId, d.trialId));
      if (Object.keys(snapshot).length) {
        unpackDir(runDir, snapshot);
        opts.log(`${d.trialId}: resuming from its checkpoint (copied through Redis)`);
      }
    }
    opts.log(`${d.trialId}: started${shared ? ' (in the shared sweep folder)' : ''}`);
    let lastCheckpoint = '';
    let lastProgress = 0;
    const poll = setInterval(() => {
      void (async () => {
        if (await redis.get(stopKey(d.sweepId))) for (const t of mine) t.stop();
        const stateFile = path.join(runDir, RUN_FILES.checkpoints, 'kd', 'state.json');
        const stamp = fs.existsSync(stateFile) ? fs.readFileSync(stateFile, 'utf8') : '';
        if (stamp && stamp !== lastCheckpoint) {
          // A checkpoint being swapped in can make this read fail; the next poll tries again.
          const files = packDir(runDir, (rel) => rel === RUN_FILES.student || rel === RUN_FILES.baseline);
          lastCheckpoint = stamp;
          await redis
            .multi()
            .del(snapshotKey(d.sweepId, d.trialId))
            .hset(snapshotKey(d.sweepId, d.trialId), files)
            .expire(snapshotKey(d.sweepId, d.trialId), 7 * 24 * 3600)
            .exec();
          opts.log(`${d.trialId}: checkpoint copied to Redis (epoch ${(JSON.parse(stamp) as { position: { epoch: number } }).position.epoch} done)`);
        }
      })().catch(() => undefined);
    }, 1000);
    const mine = new Set<EngineTask>();
    try {
      const outcome = await runTrialHere(
        { sweepId: d.sweepId, id: d.trialId, config, runDir },
        (message, hooks) => pool.start(message, hooks),
        (f) => {
          if (Date.now() - lastProgress > 500) {
            lastProgress = Date.now();
            void job.updateProgress(f).catch(() => undefined);
          }
        },
        (line) => opts.log(line),
        async (t) => {
          running.add(t);
          mine.add(t);
          if (closing) t.stop();
          try {
            return await t.done;
          } finally {
            running.delete(t);
            mine.delete(t);
          }
        },
        () => false,
      );
      if (closing) {
        // This worker is leaving: the trial stays active, its lock lapses, and another worker resumes it.
        opts.log(`${d.trialId}: checkpointed; another worker continues it`);
        await new Promise(() => undefined);
      }
      const reason = outcome.status === 'failed' && outcome.reason ? `${outcome.reason} (on host ${host})` : outcome.reason;
      opts.log(`${d.trialId}: ${outcome.status}${reason ? `: ${reason}` : ''}`);
      const files = !shared && outcome.status === 'completed' ? packDir(runDir, (rel) => rel === RUN_FILES.checkpoints) : undefined;
      return { host, status: outcome.status, reason, summary: outcome.summary, resumed: outcome.resumed, files };
    } finally {
      clearInterval(poll);
    }
  };

  const worker = new Worker<TrialJobData, TrialJobResult>(QUEUE_NAME, processor, {
    connection: connect(opts.url),
    concurrency: opts.concurrency,
    maxStalledCount: MAX_STALLED,
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: opts.lockMs ?? 30_000,
  });
  worker.on('error', (e) => opts.log(`queue error: ${errorMessage(e)}`));
  await worker.waitUntilReady();
  opts.log(`Worker on ${host}: ${opts.concurrency} trial${opts.concurrency === 1 ? '' : 's'} at once from ${safeUrl(opts.url)} (queue ${QUEUE_NAME})`);
  return {
    close: async () => {
      closing = true;
      for (const t of running) t.stop();
      await Promise.all([...running].map((t) => t.done));
      // Give the last checkpoint copies a moment to reach Redis.
      await new Promise((r) => setTimeout(r, 1200));
      await worker.close(true);
      pool.close();
      redis.disconnect();
    },
  };
}

function canCreate(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}
