/**
 * Gives the tests a WebGPU adapter on any machine: SwiftShader, the software Vulkan driver Debian's chromium ships.
 *
 * Loaded by mocha before any test file (.mocharc.json `require`), because the Vulkan loader reads VK_DRIVER_FILES
 * when Dawn creates its instance. Forcing the one driver also keeps a machine with a real GPU on the same,
 * deterministic adapter as CI. Without chromium or libvulkan1, Dawn finds no adapter and the WebGPU tests say so.
 */
import * as fs from 'node:fs';
import { tempDir } from './tempDirs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

if (fs.existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_DRIVER_FILES = SWIFTSHADER_ICD;
  // The Vulkan loader warns on every instance without it; the tests' engine children inherit both. A folder of
  // the run's own: chromium writes dconf/ into it, which would otherwise stay behind in the temp dir.
  process.env.XDG_RUNTIME_DIR ??= tempDir('distill-xdg-');
}
