#!/usr/bin/env bash
# gpu-check: on a machine with an NVIDIA GPU (nvcc, cmake; ninja optional; no JDK needed), build maskopt
# with the CUDA backend, run CTest, run the CPU-vs-CUDA parity test directly, then under compute-sanitizer
# (memcheck, racecheck, synccheck, initcheck; skipped if compute-sanitizer is missing). The parity test also
# captures the optimization loop in a CUDA graph and checks replays against eager runs bit for bit. With
# JAVA_TESTS=1 (needs a JDK 17+ and the Maven dependencies already in ~/.m2: it runs offline) the Java test
# suite runs too; on a GPU machine it exercises the explainer's graph path (capture, replay, recapture).
# Everything is teed to a log. Exit status is non-zero if any step fails (a parity "skipped: no usable GPU"
# counts as a failure here: this script exists to exercise the GPU).
#
# Usage: scripts/gpu-check.sh [LOG]            (LOG defaults to gpu-check.log in the current directory)
# Environment overrides:
#   CUDA_ARCHS=90          CMAKE_CUDA_ARCHITECTURES (e.g. "80;90", or "native" with CMake >= 3.24)
#   BUILD_DIR=build-gpu    build directory (relative to the repository root)
#   BUILD_TYPE=Release     CMAKE_BUILD_TYPE
#   CMAKE_EXTRA_ARGS=      extra arguments for the configure step (word-split)
#   SANITIZE=1             0 skips the compute-sanitizer runs
#   JAVA_TESTS=0           1 also runs the Java tests (offline Maven, CUDA build, GPU required)
set -u -o pipefail

LOG=$(realpath -m "${1:-gpu-check.log}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CUDA_ARCHS=${CUDA_ARCHS:-90}
BUILD_DIR=${BUILD_DIR:-build-gpu}
BUILD_TYPE=${BUILD_TYPE:-Release}
SANITIZE=${SANITIZE:-1}
JAVA_TESTS=${JAVA_TESTS:-0}

# step NAME CMD...: runs CMD and logs "<== [NAME] ok" or "<== [NAME] FAILED" (the verdict is read back from
# the log at the end, since main runs in a pipeline subshell); returns CMD's status.
step() {
    local name=$1
    shift
    echo
    echo "==> [$name] $*"
    local t0=$SECONDS
    "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "<== [$name] FAILED (exit $rc, $((SECONDS - t0)) s)"
    else
        echo "<== [$name] ok ($((SECONDS - t0)) s)"
    fi
    return $rc
}

# The parity executable: 0 = all checks passed, 77 = skipped (no usable GPU): a failure on this machine.
run_parity() {
    "$@"
    local rc=$?
    if [ $rc -eq 77 ]; then
        echo "parity was skipped (exit 77): no usable GPU was found"
        return 77
    fi
    return $rc
}

find_sanitizer() {
    local c
    for c in "$(command -v compute-sanitizer 2>/dev/null)" \
             "$(dirname "$(command -v nvcc 2>/dev/null || echo /nonexistent/nvcc)")/compute-sanitizer" \
             /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

main() {
    echo "maskopt gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
    echo "repository: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
    echo "log: $LOG"
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi -L
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
    else
        echo "nvidia-smi: not found"
    fi

    # nvcc is often installed without being on PATH.
    if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
        export PATH=/usr/local/cuda/bin:$PATH
    fi
    command -v nvcc >/dev/null 2>&1 && nvcc --version | tail -n 2 || echo "nvcc: not found"
    cmake --version | head -n 1

    local generator=()
    command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
    local build="$ROOT/$BUILD_DIR"
    local extra=()
    # shellcheck disable=SC2206
    [ -n "${CMAKE_EXTRA_ARGS:-}" ] && extra=(${CMAKE_EXTRA_ARGS})

    step configure cmake -S "$ROOT" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
        -DMASKOPT_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS" "${extra[@]}" || return 1
    step build cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 4)" || return 1

    step ctest ctest --test-dir "$build" --output-on-failure
    local parity="$build/maskopt_parity"
    step parity run_parity "$parity"

    if [ "$SANITIZE" = "0" ]; then
        echo
        echo "compute-sanitizer runs skipped (SANITIZE=0)"
    elif sanitizer=$(find_sanitizer); then
        echo
        echo "compute-sanitizer: $sanitizer ($("$sanitizer" --version 2>/dev/null | tail -n 1))"
        local tool
        for tool in memcheck racecheck synccheck initcheck; do
            local opts=(--tool "$tool" --error-exitcode 1)
            [ "$tool" = memcheck ] && opts+=(--leak-check full)
            step "sanitizer-$tool" run_parity "$sanitizer" "${opts[@]}" "$parity"
        done
    else
        echo
        echo "compute-sanitizer not found: sanitizer runs skipped"
    fi

    if [ "$JAVA_TESTS" = "1" ]; then
        step java-tests "$ROOT/mvnw" -o -B -ntp -f "$ROOT/pom.xml" -pl java -am test -Dmaskopt.cuda=ON \
            "-Dmaskopt.buildDir=$ROOT/$BUILD_DIR-java" -Dmaskopt.requireGpu=true -Dsurefire.failIfNoSpecifiedTests=false
    fi
    return 0
}

main 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
# `failures` lived in the piped subshell; recover the verdict from the log.
failed=$(grep -o '^<== \[[^]]*\] FAILED' "$LOG" | sed 's/^<== \[\(.*\)\] FAILED/\1/' | tr '\n' ' ')
{
    echo
    echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    if [ -n "$failed" ] || [ "$status" -ne 0 ]; then
        echo "gpu-check: FAILED: ${failed:-setup}"
    else
        echo "gpu-check: all steps passed"
    fi
} | tee -a "$LOG"
[ -z "$failed" ] && [ "$status" -eq 0 ]
