/**
 * Modules that take real time to evaluate, loaded on first use so that activation stays fast: TypeBox builds the
 * config schema when `shared/config` loads, and ajv comes with `shared/validate` (together ~60–90 ms of the
 * bundle's load time). esbuild turns these `require`s into lazily initialised modules inside the one bundle; every
 * other import of them in `src/extension` must stay `import type`.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loading is what `require` is for here */
export const configModule = (): typeof import('../shared/config') => require('../shared/config');
export const configFileModule = (): typeof import('../shared/configFile') => require('../shared/configFile');
export const configDiagnosticsModule = (): typeof import('../shared/configDiagnostics') => require('../shared/configDiagnostics');
export const sweepDiagnosticsModule = (): typeof import('./sweepDiagnostics') => require('./sweepDiagnostics');
