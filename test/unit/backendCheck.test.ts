// A named backend that cannot load is found before the run starts (src/shared/backendCheck.ts).
import { strict as assert } from 'node:assert';
import { applyEdits } from 'jsonc-parser';
import { backendProblem, backendProblemMessage, needsBackendCheck, needsGpuEngine, useAutoBackendEdits } from '../../src/shared/backendCheck';
import type { BackendSurveyEntry } from '../../src/shared/records';

// The survey of a machine without a GPU, as `distill backends --json` printed it here (fixes shortened).
const survey: BackendSurveyEntry[] = [
  { name: 'tensorflow-gpu', available: false, detail: 'package @tensorflow/tfjs-node-gpu is not installed', fix: 'Run "Distill: Install GPU Engine"…' },
  {
    name: 'webgpu',
    available: false,
    detail: 'no WebGPU adapter was found (no Vulkan, Metal or D3D12 GPU, or its driver is missing)',
    fix: 'Install or update the GPU driver…',
  },
  { name: 'tensorflow', available: false, detail: 'package @tensorflow/tfjs-node is not installed', fix: 'Install @tensorflow/tfjs-node…' },
  { name: 'wasm', available: true, detail: 'wasm (SIMD, 1 thread)' },
  { name: 'cpu', available: true, detail: 'cpu' },
];

describe('backend check before a run', () => {
  it('only backends that may be missing are surveyed', () => {
    assert.deepEqual((['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const).filter(needsBackendCheck), [
      'tensorflow-gpu',
      'webgpu',
      'tensorflow',
    ]);
  });

  it('an unavailable backend is a problem, with what auto uses instead; an available one is not', () => {
    assert.deepEqual(backendProblem(survey, 'webgpu'), { backend: 'webgpu', detail: survey[1].detail, autoUses: 'wasm' });
    assert.equal(backendProblem(survey, 'wasm'), undefined);
    const withGpu = survey.map((e) => (e.name === 'webgpu' ? { ...e, available: true, detail: 'webgpu (NVIDIA …)' } : e));
    assert.equal(backendProblem(withGpu, 'webgpu'), undefined);
  });

  it('a software WebGPU adapter, skipped by auto only, loads when named: no problem', () => {
    const software = survey.map((e) => (e.name === 'webgpu' ? { ...e, detail: 'only a software WebGPU adapter was found (SwiftShader)', byName: true } : e));
    assert.equal(backendProblem(software, 'webgpu'), undefined);
  });

  it('the message says where the backend was set, why it cannot run, what auto would use, and that the GPU engine installs', () => {
    const problem = backendProblem(survey, 'webgpu')!;
    assert.equal(
      backendProblemMessage(problem, { configName: 'fashion.distill.json', setting: false }),
      'Distill: fashion.distill.json sets engine.backend to "webgpu", but it cannot run on this machine: no WebGPU adapter was found (no Vulkan, Metal or D3D12 GPU, or its driver is missing). The run did not start. "auto" would use wasm. Install GPU Engine installs it (the GPU still needs its driver).',
    );
    const native = backendProblemMessage(backendProblem(survey, 'tensorflow')!, { configName: 'x.distill.json', setting: true });
    assert.match(native, /^Distill: The setting "distill\.engine\.backend" is "tensorflow", but/);
    assert.doesNotMatch(native, /Install GPU Engine/, 'the GPU engine does not install the native CPU backend');
  });

  it('a run that failed on its GPU backend (a resume: the check before a start does not see its config) offers the GPU engine', () => {
    assert.equal(
      needsGpuEngine('engine.backend is "webgpu", but it cannot be used here: no WebGPU adapter was found (…). Install or update the GPU driver'),
      true,
    );
    assert.equal(needsGpuEngine('engine.backend is "tensorflow", but it cannot be used here: package @tensorflow/tfjs-node is not installed.'), false);
    assert.equal(needsGpuEngine(undefined), false);
  });

  it('"Use auto" edits only the value, keeping comments and formatting', () => {
    const text = '{\n  // my run\n  "name": "x",\n  "engine": { "backend": "webgpu" } // GPU please\n}\n';
    assert.equal(applyEdits(text, useAutoBackendEdits(text)), '{\n  // my run\n  "name": "x",\n  "engine": { "backend": "auto" } // GPU please\n}\n');
  });
});
