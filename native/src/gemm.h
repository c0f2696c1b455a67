// gemm: the single-precision matrix product behind cpu_matmul and the attention twins (matmul.cpp).
// No methods.md section: a blocked, packed, register-tiled SGEMM after Goto & van de Geijn (2008) and the
// BLIS design (Van Zee & van de Geijn 2015).
// Shapes: c [M,N] with row stride ldc; a is M x K and b is K x N, each given as a strided view, so a
// transposed operand is the same memory with its two strides swapped.
//
// Every element is c[i,j] = ((accumulate ? c[i,j] : 0) + sum_k a[i,k] b[k,j]) + bias[j], the sum one chain of
// fused multiply-adds in increasing k (separate multiply and add on CPUs without FMA). The chain does not
// depend on the blocking or on the thread that runs a tile, so results are identical for any thread count,
// and identical between the AVX-512 and AVX2 kernels.
#ifndef MASKOPT_GEMM_H
#define MASKOPT_GEMM_H

#include <stdint.h>

namespace mo {

// Element (i, j) of a strided view is p[i rs + j cs].
struct View {
    const float* p;
    int64_t rs, cs;
};

// c = (accumulate ? c : 0) + a b + bias (bias [N] may be NULL). parallel: split the output tiles over the
// parallel.h pool (else run on the calling thread, e.g. from inside a parallel_for). c must not overlap a or b.
void gemm(float* c, int64_t ldc, View a, View b, const float* bias, int64_t M, int64_t N, int64_t K, bool accumulate,
          bool parallel);

}  // namespace mo

#endif
