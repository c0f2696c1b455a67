// pool: mo_pool_forward and mo_pool_backward, the sequence pooling in front of the classifier head:
// the mean over real tokens (MO_POOL_MEAN) or the first token, [CLS] (MO_POOL_FIRST; Devlin et al. 2019,
// section 3). Shape legend: x/dx [B,T,D]; y/dy [B,D]; lengths[B] in [1, T].
// Forward: one thread per (b,d), t in increasing order (coalesced over d). Backward: one thread per
// element of dx; dy / len at t < len (mean), dy at t = 0 (first), 0 elsewhere.
#include "common.cuh"
#include "maskopt.h"
#include "ops.h"

namespace mo {

namespace {

__global__ void pool_forward_kernel(float* __restrict__ y, const float* __restrict__ x,
                                    const int32_t* __restrict__ lengths, int64_t B, int64_t T, int64_t D, int mode) {
    const int64_t total = B * D;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t b = i / D, d = i - b * D;
        const float* xb = x + b * T * D + d;
        if (mode == MO_POOL_FIRST) {
            y[i] = xb[0];
            continue;
        }
        const int64_t len = cu::seq_len(lengths, b, T);
        float acc = 0.0f;
        for (int64_t t = 0; t < len; ++t) acc += xb[t * D];
        y[i] = len > 0 ? acc / (float)len : 0.0f;
    }
}

__global__ void pool_backward_kernel(float* __restrict__ dx, const float* __restrict__ dy,
                                     const int32_t* __restrict__ lengths, int64_t B, int64_t T, int64_t D, int mode) {
    const int64_t total = B * T * D;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / D, d = i - row * D;  // row = b*T + t
        const int64_t b = row / T, t = row - b * T;
        const int64_t len = cu::seq_len(lengths, b, T);
        float v = 0.0f;
        if (mode == MO_POOL_FIRST) {
            if (t == 0 && len > 0) v = dy[b * D + d];
        } else if (t < len) {
            v = dy[b * D + d] / (float)len;
        }
        dx[i] = v;
    }
}

}  // namespace

int cuda_pool_forward(void* stream, float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T, int64_t D,
                      int mode) {
    if (B * D <= 0 || T <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    pool_forward_kernel<<<cu::grid_for(B * D), cu::kBlock, 0, s>>>(y, x, lengths, B, T, D, mode);
    return cu::launch_status();
}

int cuda_pool_backward(void* stream, float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T,
                       int64_t D, int mode) {
    const int64_t total = B * T * D;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    pool_backward_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(dx, dy, lengths, B, T, D, mode);
    return cu::launch_status();
}

}  // namespace mo
