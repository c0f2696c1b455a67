#!/usr/bin/env bash
# gpu-bench: on the GPU machine (no JDK: uses the runtime and jars bench/gpu-prepare.sh put in .gpu/),
# benchmark one explanation call on a MiniLM-shaped classifier with JMH: 128-piece texts, 200 steps,
# 4 samples, at batch 1, 8 and 64, for each matrix-product precision. Writes JMH's JSON, then a Markdown
# table of per-step latency (median and range over the measured calls) and explanations per second.
#
# Usage: bench/gpu-bench.sh OUT_DIR
# Environment overrides: BATCHES=1,8,64 PRECISIONS=TF32,BF16,FP32 LENGTH=128 STEPS=200 SAMPLES=4 ITERATIONS=5
#   MASKOPT_BACKEND=cuda (default here; cpu runs the same on the CPU, to check the script itself)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:?usage: bench/gpu-bench.sh OUT_DIR}")
mkdir -p "$OUT"
JAVA="$ROOT/.gpu/jre/bin/java"
[ -x "$JAVA" ] || { echo "no $JAVA: run bench/gpu-prepare.sh on a machine with a JDK first" >&2; exit 2; }
export MASKOPT_BACKEND=${MASKOPT_BACKEND:-cuda}
export MASKOPT_REQUIRE_GPU=$([ "$MASKOPT_BACKEND" = cuda ] && echo true || echo false)
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi") \
    | tee "$OUT/device.txt"
"$JAVA" --enable-native-access=ALL-UNNAMED -cp "$ROOT/.gpu/lib/*" org.openjdk.jmh.Main MiniLmBenchmark \
    -p batch="${BATCHES:-1,8,64}" -p precision="${PRECISIONS:-TF32,BF16,FP32}" -p length="${LENGTH:-128}" \
    -p steps="${STEPS:-200}" -p samples="${SAMPLES:-4}" -wi 1 -i "${ITERATIONS:-5}" \
    -rf json -rff "$OUT/minilm.json" | tee "$OUT/jmh.log"
python3 "$ROOT/bench/jmh_table.py" "$OUT/minilm.json" "$(head -1 "$OUT/device.txt")" | tee "$OUT/minilm.md"
