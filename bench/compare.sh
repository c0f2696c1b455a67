#!/usr/bin/env bash
# compare: maskopt against the plain PyTorch reference (bench/torch_reference.py) on the same models, inputs,
# settings, machine and thread counts, in one go. Prints one Markdown report: the machine and versions, the
# agreement check (identical gate noise: same losses, gates and rationales), then one table of wall times per
# explanation call (median, range, number of calls) and the ratio maskopt / PyTorch (below 1: maskopt is faster).
#
# The two implementations run interleaved: for each case and round, one maskopt process and one PyTorch process
# (alternating which goes first), each with WARMUP unmeasured calls and RUNS measured ones; a machine whose load
# changes during the run affects both about equally. Threads: for T in THREADS, maskopt gets MASKOPT_THREADS=T,
# PyTorch torch.set_num_threads(T) with OPENBLAS_NUM_THREADS=T, OMP_NUM_THREADS=T (and OMP_WAIT_POLICY=PASSIVE for
# T > 1). Cases ending in -bf16: maskopt's BF16 matrix products against PyTorch's CPU autocast to bfloat16.
#
# Usage: bench/compare.sh [--smoke] [--out FILE]
#   --smoke      seconds: tiny cases, 1 round, 1 call (keeps the script working; the test suite runs it)
#   --out FILE   also write the report to FILE
# Environment: THREADS="1 2" ROUNDS=3 RUNS=2 WARMUP=1 CASES="cnn-b1-short ..." (default: all the export wrote)
#   WORK=DIR (reuse an export there; default: a new temporary directory)
#   JAVA=java  MASKOPT_CP=<classpath> (default bench/target/benchmarks.jar; the GPU script passes .gpu/lib/*)
#   PYTHON=/usr/bin/python3 (PyTorch side skipped, with a note, when it cannot import torch)
#   MASKOPT_BACKEND=cpu (default; cuda on a GPU machine: the PyTorch side then runs on CUDA too)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMOKE=0
OUTFILE=
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --out) OUTFILE=$(realpath -m "$2"); shift ;;
        *) echo "usage: bench/compare.sh [--smoke] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
JAVA=${JAVA:-java}
CP=${MASKOPT_CP:-$ROOT/bench/target/benchmarks.jar}
PYTHON=${PYTHON:-/usr/bin/python3}
export MASKOPT_BACKEND=${MASKOPT_BACKEND:-cpu}
if [ "$SMOKE" = 1 ]; then
    THREADS=${THREADS:-1} ROUNDS=${ROUNDS:-1} RUNS=${RUNS:-1} WARMUP=${WARMUP:-0}
else
    THREADS=${THREADS:-1 2} ROUNDS=${ROUNDS:-3} RUNS=${RUNS:-2} WARMUP=${WARMUP:-1}
fi
WORK=${WORK:-$(mktemp -d /tmp/maskopt-compare.XXXXXX)}
mkdir -p "$WORK"
SBS=("$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" dev.maskopt.bench.SideBySide)
REPORT="$WORK/report.md"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"

if [ ! -f "$WORK/cases.json" ]; then
    "${SBS[@]}" export "$WORK" $([ "$SMOKE" = 1 ] && echo --smoke) >&2
fi
TORCH=0
TORCH_VERSION="not available"
if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    TORCH=1
    TORCH_VERSION=$("$PYTHON" -c "import torch; print(torch.__version__)")
fi
REF=("$PYTHON" "$ROOT/bench/torch_reference.py")
if [ "$MASKOPT_BACKEND" = cuda ]; then REF+=(--device cuda); fi
ALL_CASES=$("$PYTHON" -c "import json,sys; print(' '.join(c['name'] for c in json.load(open(sys.argv[1]))['cases'] \
if not c['agreement']))" "$WORK/cases.json" 2>/dev/null || sed -n 's/.*"name": "\([^"]*\)".*"agreement": false.*/\1/p' "$WORK/cases.json")
CASES=${CASES:-$ALL_CASES}

{
    echo "## maskopt vs PyTorch: mask optimization, $(date -u +%Y-%m-%d) ($([ "$SMOKE" = 1 ] && echo smoke || echo full))"
    echo
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores), $(uname -sr)"
    if [ "$MASKOPT_BACKEND" = cuda ]; then
        echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo '?')"
    fi
    echo "- CPU features: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16|amx_tile)$' | tr '\n' ' ')"
    echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- maskopt: $("$JAVA" -cp "$CP" dev.maskopt.cli.Main info 2>/dev/null | head -1 | sed 's/^build: *//'), backend $MASKOPT_BACKEND, $("$JAVA" -version 2>&1 | head -1)"
    echo "- PyTorch: $TORCH_VERSION ($PYTHON), BLAS: $(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p' || echo '?')"
    echo "- threads: $THREADS; rounds $ROUNDS x ($WARMUP warm-up + $RUNS measured calls) per implementation, interleaved"
    echo "- settings: every case at ExplainerConfig's defaults (hard concrete, lr 0.1, Adam, sparsity 10) except the"
    echo "  steps and samples in the table; -bf16 cases: BF16 matrix products on both sides (maskopt AVX512-BF16,"
    echo "  PyTorch autocast); MiniLM weights: $(sed -n 's/.*"minilm_weights": "\([^"]*\)".*/\1/p' "$WORK/cases.json")"
    echo
    if [ "$TORCH" = 1 ]; then
        echo "### Agreement (identical Philox gate noise in both; max absolute differences)"
        echo
        "${SBS[@]}" agree "$WORK" >&2
        MASKOPT_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "${REF[@]}" agree "$WORK" || echo "(rationales differ)"
        echo
    else
        echo "PyTorch side skipped: $PYTHON cannot import torch. Only maskopt's times are measured."
        echo
    fi
} | tee "$REPORT"

for t in $THREADS; do
    # More than one thread: libtorch's OpenMP threads must not spin against OpenBLAS's own pool (toolchain.md,
    # "thread clash"), so the reference gets OMP_WAIT_POLICY=PASSIVE, its fast setting.
    WAIT=$([ "$t" -gt 1 ] && echo OMP_WAIT_POLICY=PASSIVE || true)
    for c in $CASES; do
        for r in $(seq 1 "$ROUNDS"); do
            maskopt() { MASKOPT_THREADS=$t "${SBS[@]}" time "$WORK" "$c" "$RUNS" "$WARMUP" >> "$RESULTS"; }
            pytorch() {
                [ "$TORCH" = 1 ] || return 0
                env $WAIT OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "${REF[@]}" time "$WORK" "$c" "$RUNS" "$WARMUP" \
                    --threads "$t" >> "$RESULTS"
            }
            if [ $((r % 2)) = 1 ]; then maskopt; pytorch; else pytorch; maskopt; fi
            echo "threads $t, $c, round $r/$ROUNDS done" >&2
        done
    done
done

{
    echo "### Wall time per explanation call (batch of 'texts' explained together)"
    echo
    "${SBS[@]}" table "$WORK" "$RESULTS"
    echo
    echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- raw times: $RESULTS"
} | tee -a "$REPORT"
[ -z "$OUTFILE" ] || cp "$REPORT" "$OUTFILE"
