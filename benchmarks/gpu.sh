#!/usr/bin/env bash
# The whole GPU measurement in one short script (under 8 minutes) on a CUDA machine:
# installs onnxruntime-gpu (+ tensorrt when the registry has it) and ultralytics into a venv,
# logs GPU utilisation with nvidia-smi in the background, and runs benchmarks/gpu_streams.py:
# streams x FPS for gatewatch on CUDA (fp32 and fp16, I/O binding) and TensorRT (fp16, engine
# cache), with Ultralytics' ObjectCounter on the same fp32 file beside them.
#
#   benchmarks/gpu.sh                 # results in $OUT/gpu.md if $OUT is set, else benchmarks/results/gpu.md
#   STREAMS="1 2" SITE_STREAMS="2,4" SECONDS_PER_RUN=10 benchmarks/gpu.sh    # shorter
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS="${OUT:-benchmarks/results}"
STREAMS="${STREAMS:-1 4 8}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
VENV="${GPU_VENV:-.venv-gpu}"
mkdir -p "$RESULTS"
deadline=$((SECONDS + 450))  # leave time to write the results inside 8 minutes

command -v nvidia-smi >/dev/null || { echo "gpu.sh: no nvidia-smi: not a CUDA machine" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$RESULTS/gpu_device.txt"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q -e . onnxruntime-gpu ultralytics onnx
"$PY" -m pip uninstall -q -y onnxruntime 2>/dev/null || true  # the CPU wheel would shadow the GPU one
"$PY" -m pip install -q --force-reinstall --no-deps onnxruntime-gpu
TRT=0
if "$PY" -m pip install -q tensorrt 2>/dev/null; then TRT=1; fi
"$PY" -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" \
  | tee "$RESULTS/gpu_providers.txt"

export GATEWATCH_CACHE_DIR="${GATEWATCH_CACHE_DIR:-$PWD/.cache/gatewatch}"
ENGINES="cuda-fp32 cuda-fp16 ultralytics"
if [ "$TRT" = 1 ] && grep -q TensorrtExecutionProvider "$RESULTS/gpu_providers.txt"; then
  ENGINES="cuda-fp32 cuda-fp16 trt-fp16 ultralytics"
fi

GPU_LOG="$RESULTS/gpu_util.csv"
TZ=UTC nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 >"$GPU_LOG" &
SMI=$!
trap 'kill "$SMI" 2>/dev/null || true' EXIT

# shellcheck disable=SC2086  # word splitting of the lists is meant
timeout $((deadline - SECONDS)) "$PY" benchmarks/gpu_streams.py --engines $ENGINES --streams $STREAMS \
  --seconds "$SECONDS_PER_RUN" --gpu-log "$GPU_LOG" --out "$RESULTS/gpu.md"
# Batched multi-camera inference: one gatewatch process, N cameras through the site runner, frames of
# the cameras batched into one call on the batch-dynamic copy of the same weights (providers "auto":
# CUDA here); each camera paced at 15 FPS, so the figure is how many 15-FPS cameras this GPU box holds.
SITE_STREAMS="${SITE_STREAMS:-4,8,16}"
if [ $((deadline - SECONDS)) -gt 90 ]; then
  timeout $((deadline - SECONDS)) "$PY" benchmarks/streams.py --engines gatewatch --model fp32-batch \
    --streams "$SITE_STREAMS" --seconds "$SECONDS_PER_RUN" --out "$RESULTS/gpu_site.md" || true
else
  echo "gpu.sh: no time left for the batched site run" >&2
fi
echo "gpu.sh: results in $RESULTS/gpu.md and $RESULTS/gpu_site.md"
