/** Shared fixtures for engine tests: small real Fashion-MNIST configs in a temp folder. */
import * as path from 'node:path';
import type { DistillConfig } from '../../src/shared/config';
import { parseConfigText } from '../../src/shared/configFile';
import type { EngineToHost } from '../../src/shared/protocol';
import { newRunId } from '../../src/shared/runDir';
import { DistillEngine } from '../../src/engine/engine';
import { FASHION_CLASS_NAMES, fashionMnistData } from '../fixtures/fashionMnist';

export { FASHION_DIR as FASHION } from '../fixtures/fashionMnist';

export { tempDir } from '../support/tempDirs';

/** A small real-data experiment: MLP teacher and student so it runs in seconds on any backend. */
export function smallConfig(dir: string, overrides: Record<string, unknown> = {}): DistillConfig {
  const raw = {
    name: 'test',
    seed: 7,
    data: fashionMnistData({ train: 3000, test: 1000 }, { classNames: FASHION_CLASS_NAMES }),
    teacher: { preset: 'mlp', hidden: [256], train: { epochs: 4, batchSize: 64 } },
    student: { preset: 'mlp', hidden: [16] },
    distillation: { temperature: 4, alpha: 0.9 },
    training: { epochs: 2, batchSize: 64, learningRate: 0.003 },
    evaluation: { probeSize: 20, latency: false },
    engine: { backend: 'wasm' },
    output: { runsDir: path.join(dir, 'runs'), cacheDir: path.join(dir, 'cache') },
    ...overrides,
  };
  return parseConfigText(JSON.stringify(raw), path.join(dir, 'test.distill.json'));
}

export interface RunResult {
  messages: EngineToHost[];
  finished: Extract<EngineToHost, { type: 'finished' }>;
  runDir: string;
}

export async function runEngine(config: DistillConfig, hook?: (engine: DistillEngine, m: EngineToHost) => void): Promise<RunResult> {
  const runDir = path.join(config.output.runsDir, newRunId(config.name));
  const messages: EngineToHost[] = [];
  const engine: DistillEngine = new DistillEngine((m) => {
    messages.push(m);
    hook?.(engine, m);
  });
  const finished = await engine.start(config, runDir);
  return { messages, finished, runDir };
}

export async function resumeEngine(runDir: string, hook?: (engine: DistillEngine, m: EngineToHost) => void): Promise<RunResult> {
  const messages: EngineToHost[] = [];
  const engine: DistillEngine = new DistillEngine((m) => {
    messages.push(m);
    hook?.(engine, m);
  });
  const finished = await engine.resume(runDir);
  return { messages, finished, runDir };
}
