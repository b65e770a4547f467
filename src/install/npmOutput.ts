/**
 * Reading npm's output: a progress message per line, and one clear message for a failed install, naming what failed
 * and the fix. Pure, so that each case is tested on npm's real text.
 */

/** A short progress message for one line of npm's output (with --loglevel=http --foreground-scripts), if it says one. */
export function npmLineProgress(line: string): string | undefined {
  const fetch = /^npm http (?:fetch GET \d{3}|cache) (?:\S+@)?(https?:\/\/\S+|file:\S+)/.exec(line);
  if (fetch) {
    const url = fetch[1];
    const tarball = /\/((?:@[^/]+\/)?[^/]+)\/-\/[^/]+?-(\d[^/]*)\.tgz$/.exec(url);
    if (tarball) return `Downloading ${tarball[1]} ${tarball[2]}`;
    if (url.startsWith('file:')) return undefined;
    try {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      return name ? `Resolving ${name}` : undefined;
    } catch {
      return undefined;
    }
  }
  // The header npm prints before a package's install script when scripts run in the foreground.
  const script = /^> ((?:@[^/\s]+\/)?[^@\s]+)@(\S+) (preinstall|install|postinstall)$/.exec(line);
  if (script) {
    const downloadsLibtensorflow = /^@tensorflow\/tfjs-node(-gpu)?$/.test(script[1]);
    return `Running the ${script[3]} script of ${script[1]}${downloadsLibtensorflow ? ' (it downloads libtensorflow, about 400 MB)' : ''}`;
  }
  return undefined;
}

/** npm's own noise in an error report: the debug-log pointer, stack frames, the error object's fields. */
const NOISE = [
  /^A complete log of this run can be found in/,
  /^\s*at /,
  /^(code|errno|syscall|path|command|type|requiredBy|address|port|hostname)\b/,
  /^\s*(code|errno|syscall|address|port|hostname|type|requiredBy): /,
  /^[{}]$/,
  /^\s*throw er;/,
  /^\s*\^\s*$/,
  /^node:events:\d+/,
  /^Node\.js v\d/,
  /^Emitted 'error' event/,
  /^command failed$/,
];

/** npm's error lines without their prefix and the noise: what a person needs to read. */
export function meaningfulNpmErrorLines(lines: readonly string[], max = 6): string[] {
  const kept = lines
    .filter((l) => l.startsWith('npm error') || l.startsWith('npm ERR!'))
    .map((l) => l.replace(/^npm (error|ERR!)\s?/, '').trimEnd())
    .filter((l) => l.trim() && !NOISE.some((re) => re.test(l.trim())));
  return kept.slice(-max);
}

/** The output of an install script that failed in the foreground: the lines after its `> pkg@version install` header. */
function scriptOutput(lines: readonly string[], pkg: string): string[] {
  let start = -1;
  lines.forEach((l, i) => {
    if (l.startsWith(`> ${pkg}@`) && /(preinstall|install|postinstall)$/.test(l)) start = i;
  });
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith('npm ')) break;
    if (l.startsWith('> ') || !l.trim() || NOISE.some((re) => re.test(l.trim()))) continue;
    out.push(l.trimEnd());
  }
  return out;
}

const NETWORK_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH'];

/**
 * One message for a failed `npm install`, naming what failed and the fix, from npm's output (both streams, in order).
 * Pure, so each case is tested on npm's real text.
 */
export function explainNpmFailure(lines: readonly string[], exitCode: number | null, signal: NodeJS.Signals | null = null): string {
  const text = lines.join('\n');
  const failedPath = /^npm (?:error|ERR!) path (.*)$/m.exec(text)?.[1]?.trim();
  const failedPackage = failedPath ? /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)$/.exec(failedPath)?.[1]?.replace(/\\/g, '/') : undefined;
  const how = signal ? `npm was killed (${signal})` : `npm exited with code ${exitCode}`;

  // tfjs-node(-gpu) fetches libtensorflow from Google's storage in its install script, outside the npm registry.
  const libtensorflowUrl = /https:\/\/storage\.googleapis\.com\/\S*libtensorflow\S*/.exec(text)?.[0];
  const tfjsNodeFailed = !!failedPackage && /^@tensorflow\/tfjs-node(-gpu)?$/.test(failedPackage);
  if ((tfjsNodeFailed && /storage\.googleapis\.com|libtensorflow/.test(text)) || (libtensorflowUrl && /Downloading libtensorflow/.test(text))) {
    const pkg = failedPackage ?? '@tensorflow/tfjs-node-gpu';
    const cause =
      /Error: (getaddrinfo \w+ \S+|connect \w+ \S+|\w+ (?:ETIMEDOUT|ECONNRESET)[^\n]*|[^\n]*(?:ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EAI_AGAIN|certificate)[^\n]*)/.exec(
        text,
      )?.[1];
    const detail = cause ?? [...scriptOutput(lines, pkg), ...meaningfulNpmErrorLines(lines, 3)].slice(-3).join(' | ');
    return (
      `${pkg} came from the npm registry, but its install script could not download libtensorflow (about 400 MB) from ` +
      `${libtensorflowUrl ?? 'storage.googleapis.com'}${detail ? `: ${detail}` : ''}. That download happens during npm install and needs ` +
      `storage.googleapis.com to be reachable (directly or through the proxy in npm config / HTTPS_PROXY), not only the npm registry. ` +
      `Allow it and install again, or install the WebGPU engine instead: it needs no such download. (${how}.)`
    );
  }

  // The registry (or its proxy) cannot be reached.
  const network = /request to (\S+) failed, reason: (.*)/.exec(text);
  const networkCode = NETWORK_CODES.find((c) => new RegExp(`\\b${c}\\b`).test(text));
  if (network || (networkCode && /^npm (?:error|ERR!) (?:code|errno) /m.test(text) && !failedPackage)) {
    let registry = 'the npm registry';
    if (network) {
      try {
        registry = new URL(network[1]).origin;
      } catch {
        // Keep the generic name.
      }
    }
    const reason = network?.[2]?.trim() ?? networkCode;
    return (
      `npm could not reach the registry ${registry} (${reason}). Check the network connection and any proxy ` +
      `(npm config get proxy, npm config get https-proxy), and that \`npm config get registry\` names a registry this machine can reach. (${how}.)`
    );
  }

  const code = /^npm (?:error|ERR!) code (\S+)/m.exec(text)?.[1];
  if (code === 'ETARGET' || code === 'E404') {
    const what = meaningfulNpmErrorLines(lines, 2)[0]?.replace(/^(notarget|404)\s+/, '') ?? code;
    return `npm cannot find a package or version: ${what} Check \`npm config get registry\`: it must be the npm registry or a mirror of it. (${how}.)`;
  }
  if (code === 'ENOSPC') return `The disk is full: npm could not write the packages. Free some space and install again. (${how}.)`;
  if (code === 'EACCES' || code === 'EPERM') {
    return `npm was not allowed to write a file: ${meaningfulNpmErrorLines(lines, 3).join(' ')} Check the permissions of the folder and of npm's cache (npm config get cache). (${how}.)`;
  }

  if (failedPackage) {
    const output = scriptOutput(lines, failedPackage);
    const detail = (output.length ? output : meaningfulNpmErrorLines(lines)).slice(-4).join(' | ');
    return `The install script of ${failedPackage} failed${detail ? `: ${detail}` : ''}. (${how}.)`;
  }
  const detail = meaningfulNpmErrorLines(lines).join(' | ');
  return `npm install failed${detail ? `: ${detail}` : ''}. The full output is in the log. (${how}.)`;
}
