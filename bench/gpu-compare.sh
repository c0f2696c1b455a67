#!/usr/bin/env bash
# gpu-compare: the whole GPU performance run, unattended, on a GPU machine without a JDK (the Java runtime and jars
# come from bench/gpu-prepare.sh, run beforehand on a machine with a JDK: carry .gpu/ over). Needs nvidia-smi,
# cmake + nvcc (for the kernel benchmark) and a Python with a CUDA build of PyTorch.
#   1. kernels: builds maskopt_bench with CMake/nvcc and runs it on CUDA (GB/s against the device-to-device copy,
#      GFLOP/s against the FP32/TF32/BF16 matrix product), then on the CPU;
#   2. side by side: exports the comparison's models and GPU-sized cases (200 steps, 4 samples; batch 1 at 16, 128
#      and 512 pieces, batch 64) and runs bench/compare.sh with MASKOPT_BACKEND=cuda and PyTorch on CUDA (eager,
#      FP32: TF32 off on both sides); MiniLM has its real shape but random weights here (the 90 MB model artifact
#      is not carried), which does not change times; the agreement check runs on the same weights in both;
#   3. the MiniLM JMH benchmark (bench/gpu-bench.sh: batch 1/8/64, each matmul precision).
# Everything lands in OUT_DIR: kernels-cuda.md, compare-gpu.md (the table of ratios), minilm.md, logs.
#
# Usage: bench/gpu-compare.sh OUT_DIR
# Environment: PYTHON=python3 CUDA_ARCHS=90 ROUNDS=3 RUNS=3 WARMUP=1 SKIP_KERNELS=0 SKIP_JMH=0
#   SMOKE=1 (tiny cases: checks the script itself in a minute) MASKOPT_BACKEND=cuda (cpu: the same run on the CPU)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:?usage: bench/gpu-compare.sh OUT_DIR}")
mkdir -p "$OUT"
JAVA="$ROOT/.gpu/jre/bin/java"
[ -x "$JAVA" ] || { echo "no $JAVA: run bench/gpu-prepare.sh on a machine with a JDK first" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
status=0
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi") \
    | tee "$OUT/device.txt"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" \
    | tee "$OUT/torch.txt" || { echo "PyTorch is missing: $PYTHON cannot import torch" >&2; status=1; }

if [ "${SKIP_KERNELS:-0}" != 1 ]; then
    BUILD="$ROOT/build/bench-gpu"
    if cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMASKOPT_CUDA=ON \
            -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" > "$OUT/cmake.log" 2>&1 \
        && cmake --build "$BUILD" --parallel --target maskopt_bench >> "$OUT/cmake.log" 2>&1; then
        SMOKE_ARG=$([ "${SMOKE:-0}" = 1 ] && echo --smoke)
        "$BUILD/maskopt_bench" --backend cuda $SMOKE_ARG > "$OUT/kernels-cuda.md" 2> "$OUT/kernels-cuda.log" || status=1
        "$BUILD/maskopt_bench" --backend cpu $SMOKE_ARG > "$OUT/kernels-cpu.md" 2> "$OUT/kernels-cpu.log" || status=1
        cat "$OUT/kernels-cuda.md"
    else
        echo "building maskopt_bench failed: see $OUT/cmake.log" >&2
        status=1
    fi
fi

export MASKOPT_BACKEND=${MASKOPT_BACKEND:-cuda}
export MASKOPT_REQUIRE_GPU=$([ "$MASKOPT_BACKEND" = cuda ] && echo true || echo false)
WORK="$OUT/work"
mkdir -p "$WORK"
SIZE=$([ "${SMOKE:-0}" = 1 ] && echo --smoke || echo --gpu)
"$JAVA" --enable-native-access=ALL-UNNAMED -cp "$ROOT/.gpu/lib/*" dev.maskopt.bench.SideBySide export "$WORK" $SIZE \
    --random-minilm > "$OUT/export.log" 2>&1 || { echo "export failed: see $OUT/export.log" >&2; exit 1; }
JAVA="$JAVA" MASKOPT_CP="$ROOT/.gpu/lib/*" PYTHON="$PYTHON" WORK="$WORK" THREADS=1 ROUNDS=${ROUNDS:-3} \
    RUNS=${RUNS:-3} WARMUP=${WARMUP:-1} "$ROOT/bench/compare.sh" --out "$OUT/compare-gpu.md" \
    $([ "${SMOKE:-0}" = 1 ] && echo --smoke) 2> "$OUT/compare.log" || status=1

if [ "${SKIP_JMH:-0}" != 1 ]; then
    if [ "${SMOKE:-0}" = 1 ]; then export BATCHES=1 PRECISIONS=FP32 LENGTH=16 STEPS=2 SAMPLES=1 ITERATIONS=1; fi
    "$ROOT/bench/gpu-bench.sh" "$OUT/jmh" > "$OUT/jmh.log" 2>&1 || status=1
fi
echo "results in $OUT (exit $status)"
exit $status
