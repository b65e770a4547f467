#!/usr/bin/env bash
# Prepares .device/, the one folder the GPU check (issue 7) carries to the device machine, which has no Node.js and
# reaches no package registry. Run it HERE, on the development machine, from anywhere in the repository:
#
#   scripts/device/pack.sh
#
# .device/ gets: this machine's node binary (xz), the built bundles, the optional WebGPU packages reduced to what
# linux-x64 needs (webgpu's dawn.node, xz; @tensorflow/tfjs-backend-webgpu and the tfjs-core it requires), the Vulkan
# loader .debs, a slice of Fashion-MNIST and the PyTorch peer script. It must stay under the device tool's 64 MiB
# limit together with the repository's own files; the script checks and prints the exact size.
#
# Environment: TRAIN_ROWS (Fashion-MNIST training rows carried, default 24000), WEBGPU_VERSION (default 0.6.2),
# TFJS_VERSION (default 4.22.0, must match the bundled tfjs-core), PACK_CACHE (where the npm install and node.xz
# are kept between runs, default /tmp/distill-device-pack).
set -euo pipefail

TRAIN_ROWS=${TRAIN_ROWS:-24000}
WEBGPU_VERSION=${WEBGPU_VERSION:-0.6.2}
TFJS_VERSION=${TFJS_VERSION:-4.22.0}
PACK_CACHE=${PACK_CACHE:-/tmp/distill-device-pack}
FASHION_MNIST=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
LIMIT_BYTES=$((64 * 1024 * 1024))
DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DEV=$ROOT/.device
say() { printf '· %s\n' "$*" >&2; }
die() { printf 'pack.sh: %s\n' "$*" >&2; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "this machine is $(uname -m); the device machine is x86-64, so its node binary must come from an x86-64 machine."
git check-ignore -q .device/MANIFEST.txt || die ".device/ is not ignored by git: add it to .gitignore (or .git/info/exclude), or it travels twice."
command -v xz >/dev/null || die "xz is not installed (apt-get install xz-utils)."
TORCH_SCRIPT=$(cd .. && pwd)/shared/bench/torch_kd_student.py
[ -f "$TORCH_SCRIPT" ] || die "the PyTorch peer script $TORCH_SCRIPT is missing."
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$FASHION_MNIST/$f" ] || die "Fashion-MNIST file $FASHION_MNIST/$f is missing; set FASHION_MNIST to the folder that has the four .gz files."
done

say "building the bundles (npm run build)…"
npm run --silent build >/dev/null

rm -rf "$DEV"
mkdir -p "$DEV"/dist "$DEV"/debs "$DEV"/fashion-mnist "$PACK_CACHE"

# node: xz -6 takes about a minute on two cores, so it is cached per node version.
NODE_XZ=$PACK_CACHE/node-$(node --version)-linux-x64.xz
if [ ! -s "$NODE_XZ" ]; then
  say "compressing $(command -v node) ($(node --version))…"
  xz -T0 -6 -c "$(command -v node)" >"$NODE_XZ.tmp" && mv "$NODE_XZ.tmp" "$NODE_XZ"
fi
cp "$NODE_XZ" "$DEV/node.xz"

# The bench and the CLI (the real distillation), with the wasm binaries the wasm backend loads from beside them.
cp dist/bench.js dist/cli.js dist/*.wasm "$DEV/dist/"

# The optional WebGPU packages, installed outside the repository (never into its node_modules).
MODULES=$PACK_CACHE/modules-webgpu-$WEBGPU_VERSION-tfjs-$TFJS_VERSION
if [ ! -f "$MODULES/node_modules/webgpu/dist/linux-x64/dawn.node" ] || [ ! -f "$MODULES/node_modules/@tensorflow/tfjs-core/package.json" ]; then
  say "installing webgpu@$WEBGPU_VERSION and @tensorflow/tfjs-backend-webgpu@$TFJS_VERSION into $MODULES…"
  rm -rf "$MODULES" && mkdir -p "$MODULES"
  # --ignore-scripts: webgpu's only install script clears a macOS quarantine flag.
  npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$MODULES" "webgpu@$WEBGPU_VERSION" "@tensorflow/tfjs-backend-webgpu@$TFJS_VERSION" >&2
fi
from=$MODULES/node_modules
to=$DEV/node_modules
core_version=$(node -p "require('$from/@tensorflow/tfjs-core/package.json').version")
[ "$core_version" = "$TFJS_VERSION" ] || die "npm installed @tensorflow/tfjs-core $core_version beside the webgpu backend, not $TFJS_VERSION."
# Only what `require` reaches on linux-x64: each package's package.json and its node entry. tfjs-core's node entry
# needs nothing else (seedrandom is inlined; node-fetch is loaded only for fetch, which the engine never uses).
mkdir -p "$to/webgpu/dist/linux-x64" "$to/@tensorflow/tfjs-backend-webgpu/dist" "$to/@tensorflow/tfjs-core/dist"
cp "$from/webgpu/package.json" "$from/webgpu/index.js" "$from/webgpu/LICENSE.md" "$to/webgpu/"
xz -T0 -6 -c "$from/webgpu/dist/linux-x64/dawn.node" >"$to/webgpu/dist/linux-x64/dawn.node.xz"
cp "$from/@tensorflow/tfjs-backend-webgpu/package.json" "$to/@tensorflow/tfjs-backend-webgpu/"
cp "$from/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js" "$to/@tensorflow/tfjs-backend-webgpu/dist/"
cp "$from/@tensorflow/tfjs-core/package.json" "$to/@tensorflow/tfjs-core/"
cp "$from/@tensorflow/tfjs-core/dist/tf-core.node.js" "$to/@tensorflow/tfjs-core/dist/"

# Check the reduced copy is complete: the backend must load and register 'webgpu' in the engine that tfjs-core keeps
# on globalThis, which the bundled tfjs-core shares. A stand-in navigator.gpu makes it register without a GPU.
node -e "
  globalThis.navigator = { gpu: { requestAdapter: async () => null } };
  require('$to/@tensorflow/tfjs-backend-webgpu');
  process.exit(globalThis._tfengine?.registryFactory?.webgpu ? 0 : 1);
" 2>/dev/null || die "the reduced node_modules in $to is incomplete: @tensorflow/tfjs-backend-webgpu does not load from it."

# The Vulkan loader and GL vendor-neutral libraries the device README names (the NVIDIA driver brings the ICD).
say "downloading the Vulkan loader packages (${DEBS[*]})…"
APT_LISTS=$PACK_CACHE/apt-lists-amd64
mkdir -p "$APT_LISTS/partial"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$APT_LISTS" -oDebug::NoLocking=1)
if ! ls "$APT_LISTS"/*_Packages >/dev/null 2>&1; then apt-get "${apt_opts[@]}" update >/dev/null; fi
(cd "$DEV/debs" && apt-get "${apt_opts[@]}" download "${DEBS[@]}" >/dev/null 2>&1) || die "apt-get download ${DEBS[*]} failed; run: apt-get ${apt_opts[*]} update"

# Fashion-MNIST: the whole test split, and the first TRAIN_ROWS training rows (the full training images, 26 MB of
# gzip, would not fit beside node).
say "slicing Fashion-MNIST: the first $TRAIN_ROWS training rows, all 10000 test rows…"
cp "$FASHION_MNIST"/t10k-images-idx3-ubyte.gz "$FASHION_MNIST"/t10k-labels-idx1-ubyte.gz "$DEV/fashion-mnist/"
node - "$FASHION_MNIST" "$DEV/fashion-mnist" "$TRAIN_ROWS" <<'EOF'
// IDX: a big-endian header (magic, count, then the other dimensions), then the rows. Keep the first `rows` rows.
const fs = require('node:fs');
const zlib = require('node:zlib');
const [from, to, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
for (const [file, headerBytes] of [['train-images-idx3-ubyte.gz', 16], ['train-labels-idx1-ubyte.gz', 8]]) {
  const raw = zlib.gunzipSync(fs.readFileSync(`${from}/${file}`));
  const count = raw.readUInt32BE(4);
  if (!(rows >= 1 && rows <= count)) throw new Error(`TRAIN_ROWS must be between 1 and ${count}, got ${rowsText}`);
  const rowBytes = (raw.length - headerBytes) / count;
  const header = Buffer.from(raw.subarray(0, headerBytes));
  header.writeUInt32BE(rows, 4);
  const sliced = Buffer.concat([header, raw.subarray(headerBytes, headerBytes + rows * rowBytes)]);
  fs.writeFileSync(`${to}/${file}`, zlib.gzipSync(sliced, { level: 9 }));
}
EOF

cp "$TORCH_SCRIPT" "$DEV/torch_kd_student.py"

commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src scripts package.json 2>/dev/null || echo '+uncommitted')
{
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) from $commit"
  echo "node $(node --version)"
  echo "webgpu $(node -p "require('$from/webgpu/package.json').version")"
  echo "@tensorflow/tfjs-backend-webgpu $(node -p "require('$from/@tensorflow/tfjs-backend-webgpu/package.json').version")"
  echo "@tensorflow/tfjs-core $core_version"
  echo "fashion-mnist train rows $TRAIN_ROWS, test rows 10000"
  echo "debs: $(cd "$DEV/debs" && ls | tr '\n' ' ')"
} >"$DEV/MANIFEST.txt"

# What travels: the repository's tracked and untracked-but-not-ignored files, and the carried .device/.
tree_bytes=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
carry_bytes=$(find "$DEV" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
total=$((tree_bytes + carry_bytes))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "carry .device: $carry_bytes bytes ($(mib "$carry_bytes")); repository files: $tree_bytes bytes ($(mib "$tree_bytes")); total $total bytes ($(mib "$total")) of the $(mib $LIMIT_BYTES) limit" | tee -a "$DEV/MANIFEST.txt"
(cd "$DEV" && find . -type f -printf '%10s  %p\n' | sort -k2) >&2
[ "$total" -le "$LIMIT_BYTES" ] || die "what travels is $total bytes, over the device tool's $LIMIT_BYTES; lower TRAIN_ROWS."
say "done. Rehearse the device run here with: scripts/device/gpu-check.sh --dry-run"
