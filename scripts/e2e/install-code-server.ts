// Installs code-server (a real VS Code 1.100 workbench and Node extension host) into a cache folder outside the
// project's node_modules, so `npm ci` stays lean and repeated e2e runs reuse the install.
//
// Usage: npx tsx scripts/e2e/install-code-server.ts        (prints the code-server entry path on the last line)
//        DISTILL_E2E_CACHE=/some/dir npx tsx scripts/e2e/install-code-server.ts
//
// The recipe is the one that works on these machines (no network but the npm and Debian registries):
//  - code-server 4.100.x is the last line that accepts Node 20;
//  - `npm_config_yes=true`, or node-pty's postinstall `npx node-gyp` is refused;
//  - Debian's libkrb5-dev, for the kerberos native module;
//  - @vscode/ripgrep's postinstall downloads rg from GitHub unless the asset is already in its tmp cache, so we seed
//    that cache with Debian's rg (package ripgrep).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
/** Pinned by code-server's lib/vscode/npm-shrinkwrap.json; the seeded cache folder is named after it. */
const VSCODE_RIPGREP_VERSION = '1.15.11';
/** The asset @vscode/ripgrep 1.15.11 looks for on x64 Linux (its postinstall's VERSION and target). */
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const REQUIRED_NODE_MAJOR = 20;
const DEBIAN_PACKAGES = ['libkrb5-dev', 'ripgrep'];
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const HEARTBEAT_MS = 20_000;

export interface CodeServerInstall {
  /** Folder holding node_modules/code-server. */
  readonly root: string;
  /** The JS entry to run with the current Node: `node <entry> [args]`. */
  readonly entry: string;
  readonly version: string;
}

/** What the marker file records; an install without it (or with other values) is redone from scratch. */
interface InstallMarker {
  readonly codeServer: string;
  readonly nodeMajor: number;
  readonly seconds: number;
}

/** Where installs are cached: $DISTILL_E2E_CACHE, else $XDG_CACHE_HOME/distill-e2e, else ~/.cache/distill-e2e.
 *  Outside the repo on purpose, so a fresh clone (as CI makes) still finds the previous install. */
export function defaultCacheDir(): string {
  if (process.env.DISTILL_E2E_CACHE) return path.resolve(process.env.DISTILL_E2E_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'distill-e2e');
}

function log(message: string): void {
  process.stderr.write(`[code-server install] ${message}\n`);
}

function checkPrerequisites(): void {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor !== REQUIRED_NODE_MAJOR) {
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} needs Node ${REQUIRED_NODE_MAJOR}, but this is Node ${process.versions.node}. ` +
        `Run the e2e tests with Node ${REQUIRED_NODE_MAJOR} (newer code-server lines need Node 22+, and bump CODE_SERVER_VERSION).`,
    );
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`The e2e install recipe seeds ripgrep for x64 Linux only; this is ${process.platform}/${process.arch}.`);
  }
  const missing = DEBIAN_PACKAGES.filter((pkg) => spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(
      `Debian package(s) ${missing.join(', ')} missing: libkrb5-dev builds code-server's kerberos module and ripgrep ` +
        `provides the rg that replaces a GitHub download. Fix: apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`,
    );
  }
}

/** Puts Debian's rg where @vscode/ripgrep's postinstall looks before downloading, as a tar.gz with rg at the top. */
function seedRipgrepCache(tmpDir: string): void {
  const cacheDir = path.join(tmpDir, `vscode-ripgrep-cache-${VSCODE_RIPGREP_VERSION}`);
  const asset = path.join(cacheDir, RIPGREP_ASSET);
  if (fs.existsSync(asset)) return;
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(tmpDir, 'rg-'));
  fs.copyFileSync('/usr/bin/rg', path.join(staging, 'rg'));
  fs.chmodSync(path.join(staging, 'rg'), 0o755);
  const tar = spawnSync('tar', ['czf', asset, '-C', staging, 'rg'], { encoding: 'utf8' });
  fs.rmSync(staging, { recursive: true, force: true });
  if (tar.status !== 0) throw new Error(`Could not pack /usr/bin/rg into ${asset}: ${tar.stderr}`);
  log(`seeded ${asset} with Debian's rg`);
}

function readMarker(file: string): InstallMarker | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as InstallMarker;
  } catch {
    return undefined;
  }
}

/** Runs npm with its output going to a log file; prints a heartbeat so a long native build is visibly alive. */
function runNpmInstall(cwd: string, env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  // --foreground-scripts puts the postinstall's native builds into the log, which is what a failure needs.
  const args = ['install', '--unsafe-perm', '--foreground-scripts', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`];
  log(`npm ${args.join(' ')}  (in ${cwd}; full log: ${logFile})`);
  const out = fs.openSync(logFile, 'w');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env, stdio: ['ignore', out, out] });
    const lastLine = (): string => {
      const text = fs.readFileSync(logFile, 'utf8').trimEnd();
      return text.slice(text.lastIndexOf('\n') + 1).slice(0, 160);
    };
    const heartbeat = setInterval(() => log(`… ${Math.round((Date.now() - started) / 1000)} s: ${lastLine()}`), HEARTBEAT_MS);
    const timeout = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`npm install of code-server did not finish within ${INSTALL_TIMEOUT_MS / 60_000} min; see ${logFile}`));
    }, INSTALL_TIMEOUT_MS);
    child.on('error', (err) => reject(new Error(`Could not start npm: ${err.message}`)));
    child.on('exit', (code, signal) => {
      clearInterval(heartbeat);
      clearTimeout(timeout);
      fs.closeSync(out);
      if (code === 0) resolve();
      else {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
        reject(new Error(`npm install of code-server failed (${signal ?? `exit ${code}`}); last lines of ${logFile}:\n${tail}`));
      }
    });
  });
}

/** Installs code-server once into `cacheDir` and returns where it is; a complete install is reused as is. */
export async function ensureCodeServer(cacheDir: string = defaultCacheDir()): Promise<CodeServerInstall> {
  const root = path.join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
  const entry = path.join(root, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const markerFile = path.join(root, 'install-complete.json');
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const marker = readMarker(markerFile);
  if (marker && marker.codeServer === CODE_SERVER_VERSION && marker.nodeMajor === nodeMajor && fs.existsSync(entry)) {
    log(`using cached code-server ${CODE_SERVER_VERSION} in ${root}`);
    return { root, entry, version: CODE_SERVER_VERSION };
  }

  checkPrerequisites();
  const started = Date.now();
  // An install without its marker was interrupted or built for another Node: start over rather than patch it up.
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'distill-e2e-code-server', private: true }, null, 2));
  // A private TMPDIR makes the ripgrep seed independent of the caller's $TMPDIR and keeps build litter in the cache.
  const tmpDir = path.join(cacheDir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  seedRipgrepCache(tmpDir);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: tmpDir,
    npm_config_yes: 'true',
    npm_config_update_notifier: 'false',
    npm_config_progress: 'false',
  };
  log(`installing code-server ${CODE_SERVER_VERSION} into ${root} (first time only; native modules build on this machine)`);
  await runNpmInstall(root, env, path.join(cacheDir, `install-${CODE_SERVER_VERSION}.log`));

  if (!fs.existsSync(entry)) throw new Error(`npm install finished but ${entry} is missing; see the install log in ${cacheDir}`);
  const rg = path.join(root, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  if (!fs.existsSync(rg)) {
    throw new Error(`code-server installed without ${rg}: @vscode/ripgrep's version changed from ${VSCODE_RIPGREP_VERSION}? Update VSCODE_RIPGREP_VERSION.`);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const done: InstallMarker = { codeServer: CODE_SERVER_VERSION, nodeMajor, seconds };
  fs.writeFileSync(markerFile, JSON.stringify(done, null, 2));
  log(`installed code-server ${CODE_SERVER_VERSION} in ${seconds} s`);
  return { root, entry, version: CODE_SERVER_VERSION };
}

if (require.main === module) {
  ensureCodeServer().then(
    (install) => process.stdout.write(`${install.entry}\n`),
    (err: unknown) => {
      process.stderr.write(`[code-server install] ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
