#!/usr/bin/env bash
# The GPU check of issue 7, in one command. Run it ON the device machine, from the repository root, with .device/
# (made by scripts/device/pack.sh) carried along; scripts/device/README.md has the exact `run` call.
#
#   scripts/device/gpu-check.sh            the real check: needs nvidia-smi and an NVIDIA GPU
#   scripts/device/gpu-check.sh --dry-run  a rehearsal on a machine without a GPU: same steps, small sizes, nothing
#                                          unpacked into /; webgpu runs on SwiftShader where Debian's chromium is
#                                          installed (its Vulkan ICD), else the CPU backends only
#
# Steps: unpack node and dawn.node; list the GPU; put the Vulkan loader in place and find the NVIDIA ICD; ask Dawn for
# an adapter; run the bench (webgpu, tensorflow-gpu when installed, wasm; PyTorch on CUDA; an epoch of real
# Fashion-MNIST on each backend); run a real teacher → student distillation on webgpu through the CLI; print the
# ratios. Logs and results go to $OUT (the device tool brings it back), or /tmp/distill-gpu-check-out without it.
# Each step has its own time limit, so the whole check ends within about 7 minutes even when one step hangs.
set -uo pipefail

DRY_RUN=0
case "${1:-}" in
  --dry-run) DRY_RUN=1 ;;
  '') ;;
  *) echo "usage: scripts/device/gpu-check.sh [--dry-run]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../.."
DEV=$(pwd)/.device
OUT_DIR=${OUT:-/tmp/distill-gpu-check-out}
WORK=/tmp/distill-gpu-check
mkdir -p "$OUT_DIR" "$WORK"
exec > >(tee "$OUT_DIR/gpu-check.log") 2>&1
START=$SECONDS
step() { printf '\n=== %s (%ss) ===\n' "$*" $((SECONDS - START)); }
fail() { printf 'gpu-check: %s\n' "$*"; exit 2; }
decompress() { # xz, or Python's lzma where the image lacks xz
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

[ -f "$DEV/MANIFEST.txt" ] || fail ".device/ is missing or incomplete: run scripts/device/pack.sh on the development machine and carry .device (see scripts/device/README.md)."
step "carried"
cat "$DEV/MANIFEST.txt"

step "node"
NODE=$WORK/node
[ -x "$NODE" ] || { decompress "$DEV/node.xz" "$NODE.tmp" && chmod +x "$NODE.tmp" && mv "$NODE.tmp" "$NODE"; } || fail "could not unpack .device/node.xz"
"$NODE" --version || fail "the carried node does not run here ($(uname -m))"
# The optional packages with dawn.node unpacked, outside .device/: a dry run here must leave it as packed, or
# the next carry would hold dawn.node twice.
rm -rf "$WORK/node_modules" && cp -r "$DEV/node_modules" "$WORK/node_modules" || fail "could not copy .device/node_modules"
DAWN=$WORK/node_modules/webgpu/dist/linux-x64/dawn.node
decompress "$DAWN.xz" "$DAWN" && rm "$DAWN.xz" || fail "could not unpack dawn.node"
export DISTILL_OPTIONAL_MODULES=$WORK/node_modules

step "GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,temperature.gpu --format=csv
elif [ $DRY_RUN = 1 ]; then
  echo "no nvidia-smi: a dry run goes on with the CPU backends"
else
  fail "nvidia-smi not found: this machine has no NVIDIA GPU. This script is for the device machine (scripts/device/README.md); rehearse it elsewhere with --dry-run."
fi

step "Vulkan"
if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "the system has a Vulkan loader"
elif [ $DRY_RUN = 1 ]; then
  # Never into / on a development machine: a private root and LD_LIBRARY_PATH instead.
  for f in "$DEV"/debs/*.deb; do dpkg -x "$f" "$WORK/vk-root"; done
  export LD_LIBRARY_PATH=$WORK/vk-root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "loader unpacked into $WORK/vk-root (dry run)"
else
  # As the device README says: these packages unpack safely into /, then ldconfig.
  for f in "$DEV"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "loader unpacked into / from $(ls "$DEV"/debs | tr '\n' ' ')"
fi
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then
    # VK_DRIVER_FILES for loaders since 1.3.207, VK_ICD_FILENAMES for older ones.
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
    echo "NVIDIA Vulkan ICD: $icd"
    cat "$icd"
    break
  fi
done
if [ -z "${VK_DRIVER_FILES:-}" ] && [ $DRY_RUN = 1 ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  # A rehearsal of the webgpu steps on the CPU: SwiftShader, the software Vulkan driver chromium ships.
  export VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  echo "dry run: SwiftShader ($VK_DRIVER_FILES)"
fi
[ -n "${VK_DRIVER_FILES:-}" ] || echo "no NVIDIA Vulkan ICD file found: Dawn may find no adapter"

step "WebGPU adapter"
# Dawn prints why it finds none (e.g. the Vulkan loader missing) on stderr.
timeout -k 5 30 "$NODE" -e "
  const { create } = require(process.env.DISTILL_OPTIONAL_MODULES + '/webgpu');
  create([]).requestAdapter({ powerPreference: 'high-performance' }).then((a) => {
    // GPUAdapterInfo's fields are getters, which a spread would not copy.
    const info = a && Object.fromEntries(['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter'].map((k) => [k, a.info?.[k]]));
    console.log(info ? 'adapter: ' + JSON.stringify(info) : 'adapter: none');
  });
" 2>&1 | tee "$OUT_DIR/adapter.txt"

step "bench"
bench_args=(--backends webgpu,tensorflow-gpu,wasm --torch-device cuda --seconds 4 --cases kd-train,kd-composed,ce-train,teacher-infer,torch,epoch)
# SwiftShader trains cnn-small at a few samples/s: the rehearsal keeps its batches and its cases small.
[ $DRY_RUN = 1 ] && bench_args=(--backends webgpu,tensorflow-gpu,wasm --torch-device cpu --quick --batch 16 --cases kd-train,kd-composed,teacher-infer,torch)
echo "node .device/dist/bench.js ${bench_args[*]}"
timeout -k 10 210 "$NODE" "$DEV/dist/bench.js" "${bench_args[@]}" --torch-script "$DEV/torch_kd_student.py" --fashion-mnist "$DEV/fashion-mnist" >"$OUT_DIR/bench.txt"
bench_status=$?
cat "$OUT_DIR/bench.txt"
[ $bench_status = 0 ] || echo "bench exited with $bench_status$( ([ $bench_status = 124 ] || [ $bench_status = 137 ]) && echo ' (its 210 s were up)')"

step "distillation"
# A real one: a cnn-medium teacher trained on the carried Fashion-MNIST rows, then cnn-small distilled from it,
# beside the same student from scratch; every readback on the way is async, as webgpu in Node needs.
# Batch 256 as in scripts/device/README.md's wasm reference figures, so that the accuracies compare.
backend=webgpu teacher_epochs=2 epochs=2 max_rows='' teacher_preset=cnn-medium student_preset='"preset": "cnn-small"'
[ $DRY_RUN = 1 ] && teacher_epochs=1 epochs=1 max_rows=', "maxSamples": { "train": 1500, "test": 500 }' teacher_preset=mlp student_preset='"preset": "mlp", "hidden": [32]'
[ $DRY_RUN = 1 ] && [ -z "${VK_DRIVER_FILES:-}" ] && backend=wasm
rm -rf "$WORK/runs" "$WORK/cache"
cat >"$WORK/gpu-check.distill.json" <<EOF
{
  "name": "gpu-check",
  "seed": 1,
  "data": {
    "format": "idx",
    "train": { "images": "$DEV/fashion-mnist/train-images-idx3-ubyte.gz", "labels": "$DEV/fashion-mnist/train-labels-idx1-ubyte.gz" },
    "test": { "images": "$DEV/fashion-mnist/t10k-images-idx3-ubyte.gz", "labels": "$DEV/fashion-mnist/t10k-labels-idx1-ubyte.gz" },
    "validationSplit": 0.1$max_rows
  },
  "teacher": { "preset": "$teacher_preset", "train": { "epochs": $teacher_epochs, "batchSize": 256, "learningRate": 0.001 } },
  "student": { $student_preset },
  "distillation": { "temperature": 4, "alpha": 0.7 },
  "training": { "epochs": $epochs, "batchSize": 256, "learningRate": 0.001 },
  "compare": { "baseline": true },
  "engine": { "backend": "$backend" },
  "output": { "runsDir": "$WORK/runs", "cacheDir": "$WORK/cache" }
}
EOF
distill_started=$SECONDS
timeout -k 10 200 "$NODE" "$DEV/dist/cli.js" run "$WORK/gpu-check.distill.json" 2>&1 | tee "$OUT_DIR/distill.txt"
distill_status=${PIPESTATUS[0]}
distill_seconds=$((SECONDS - distill_started))
summary=$(ls "$WORK"/runs/*/summary.json 2>/dev/null | head -1)
[ -n "$summary" ] && cp "$summary" "$OUT_DIR/distill-summary.json"
[ $distill_status = 0 ] || echo "the distillation exited with $distill_status$( ([ $distill_status = 124 ] || [ $distill_status = 137 ]) && echo ' (its 200 s were up)')"

step "results"
"$NODE" - "$OUT_DIR" "$distill_seconds" <<'EOF' | tee "$OUT_DIR/results.txt"
// The figures issue 7 asks for, from the bench's JSON lines and the distillation's summary.
const fs = require('node:fs');
const [out, distillSeconds] = process.argv.slice(2);
const read = (f) => (fs.existsSync(`${out}/${f}`) ? fs.readFileSync(`${out}/${f}`, 'utf8') : '');
const lines = read('bench.txt').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const ratios = lines.find((l) => l.case === 'ratios');
const rate = (c, model, backend, engine = 'distill') => lines.find((m) => m.case === c && m.model === model && m.backend === backend && m.engine === engine)?.samplesPerSec;
const show = (v) => (v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));
console.log(read('adapter.txt').trim().split('\n').filter((l) => l.startsWith('adapter')).join('\n') || 'adapter: not probed');
for (const s of ratios?.skipped ?? []) console.log(`skipped ${[s.case, s.model, s.backend].filter(Boolean).join(' ')}: ${s.reason.split('. ')[0]}`);
const torch = lines.find((m) => m.engine === 'torch');
const torchName = torch ? `PyTorch ${torch.version} ${torch.backend}` : 'PyTorch';
console.log(`\nsamples/s (batch ${lines[0]?.batch ?? '?'})       webgpu   tensorflow-gpu   wasm   ${torchName}`);
for (const [c, model] of [['kd-train', 'cnn-small'], ['kd-composed', 'cnn-small'], ['ce-train', 'cnn-small'], ['kd-train', 'mlp'], ['kd-composed', 'mlp'], ['teacher-infer', 'cnn-large']]) {
  const torchRate = torch ? rate(c, model, torch.backend, 'torch') : undefined;
  console.log(`  ${`${c} ${model}`.padEnd(26)} ${show(rate(c, model, 'webgpu')).padStart(8)} ${show(rate(c, model, 'tensorflow-gpu')).padStart(16)} ${show(rate(c, model, 'wasm')).padStart(6)}   ${show(torchRate)}`);
}
console.log('\nratios (ours ÷ PyTorch on CUDA, the same GPU; targets: kd-train ≥ 0.25, teacher-infer ≥ 0.5)');
console.log(`  kd-train cnn-small:       ${JSON.stringify(ratios?.kdGpuOverTorchCuda ?? {})}`);
console.log(`  teacher-infer cnn-large:  ${JSON.stringify(ratios?.teacherInferGpuOverTorchCuda ?? {})}`);
console.log(`  KD overhead (CE ÷ KD):    ${JSON.stringify(ratios?.kdOverheadBy ?? {})}`);
console.log(`  fused ÷ composed KD loss: ${JSON.stringify(ratios?.fusedKdSpeedup ?? {})}`);
const kernels = lines.filter((m) => m.kernelsPerStep !== undefined).map((m) => `${m.case} ${m.model} ${m.backend}: ${m.kernelsPerStep}`);
if (kernels.length) console.log(`  kernels per training step: ${kernels.join('; ')}`);
for (const e of lines.filter((m) => m.case === 'epoch')) {
  console.log(`epoch on ${e.backend}: ${e.trainRows} rows in ${e.seconds} s (load ${e.loadSeconds}, train ${e.trainSeconds}, eval ${e.evalSeconds}), ${e.samplesPerSec} samples/s, test accuracy ${(100 * e.testAccuracy).toFixed(1)} %`);
}
const summary = read('distill-summary.json') && JSON.parse(read('distill-summary.json'));
if (summary) {
  const pct = (r) => (r ? `${(100 * r.accuracy).toFixed(2)} %` : 'n/a');
  console.log(`distillation on ${summary.backend.name} (${summary.backend.reason}): ${distillSeconds} s; test accuracy teacher ${pct(summary.teacher)}, scratch student ${pct(summary.baseline)}, KD student ${pct(summary.student)}`);
} else {
  console.log('distillation: no summary (see distill.txt)');
}
EOF
echo "total $((SECONDS - START)) s; logs in $OUT_DIR"
[ $bench_status = 0 ] && [ $distill_status = 0 ]
