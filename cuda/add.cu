// add: mo_add (residual connections) and mo_add_position (the BERT embedding sum before its LayerNorm:
// word + position + token-type-0 embeddings; Devlin et al. 2019, section 3.2).
// Shape legend: add y/a/b [n] (y may alias a or b); add_position y/x [B,T,D], pos [>= T, D], type [D],
// lengths[B] in [1, T]; y = (x + pos[t]) + type for t < len, 0 at padding.
// Elementwise, grid-stride; float4 loads and stores when every pointer is 16-byte aligned (and D % 4 == 0
// for add_position), scalar otherwise. No __restrict__ on y, x, a, b: y may alias an input.
#include <stdint.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

inline bool aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

__global__ void add_kernel(float* y, const float* a, const float* b, int64_t n) {
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) y[i] = a[i] + b[i];
}

// n4 = n / 4 float4 groups; the scalar tail (n % 4) is handled by the first threads.
__global__ void add_kernel4(float* y, const float* a, const float* b, int64_t n) {
    const int64_t n4 = n >> 2;
    float4* y4 = reinterpret_cast<float4*>(y);
    const float4* a4 = reinterpret_cast<const float4*>(a);
    const float4* b4 = reinterpret_cast<const float4*>(b);
    for (int64_t i = cu::global_thread(); i < n4; i += cu::global_threads()) {
        const float4 u = a4[i], v = b4[i];
        y4[i] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
    }
    const int64_t i = (n4 << 2) + cu::global_thread();
    if (i < n) y[i] = a[i] + b[i];
}

__global__ void add_position_kernel(float* y, const float* x, const float* __restrict__ pos,
                                    const float* __restrict__ type, const int32_t* __restrict__ lengths, int64_t B,
                                    int64_t T, int64_t D) {
    const int64_t total = B * T * D;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / D, d = i - row * D;  // row = b*T + t
        const int64_t b = row / T, t = row - b * T;
        y[i] = t < cu::seq_len(lengths, b, T) ? (x[i] + pos[t * D + d]) + type[d] : 0.0f;
    }
}

// D % 4 == 0 and all pointers 16-byte aligned: one thread per float4 of a row.
__global__ void add_position_kernel4(float* y, const float* x, const float* __restrict__ pos,
                                     const float* __restrict__ type, const int32_t* __restrict__ lengths, int64_t B,
                                     int64_t T, int64_t D) {
    const int64_t D4 = D >> 2, total = B * T * D4;
    float4* y4 = reinterpret_cast<float4*>(y);
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const float4* p4 = reinterpret_cast<const float4*>(pos);
    const float4* e4 = reinterpret_cast<const float4*>(type);
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / D4, d = i - row * D4;
        const int64_t b = row / T, t = row - b * T;
        float4 r = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (t < cu::seq_len(lengths, b, T)) {
            const float4 u = x4[i], p = p4[t * D4 + d], e = e4[d];
            r = make_float4((u.x + p.x) + e.x, (u.y + p.y) + e.y, (u.z + p.z) + e.z, (u.w + p.w) + e.w);
        }
        y4[i] = r;
    }
}

}  // namespace

int cuda_add(void* stream, float* y, const float* a, const float* b, int64_t n) {
    if (n <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    if (aligned16(y) && aligned16(a) && aligned16(b) && n >= 4) {
        // The tail needs n % 4 <= 3 threads: every grid has at least one block of kBlock threads.
        add_kernel4<<<cu::grid_for(n >> 2), cu::kBlock, 0, s>>>(y, a, b, n);
    } else {
        add_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(y, a, b, n);
    }
    return cu::launch_status();
}

int cuda_add_position(void* stream, float* y, const float* x, const float* pos, const float* type,
                      const int32_t* lengths, int64_t B, int64_t T, int64_t D) {
    const int64_t total = B * T * D;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    if (D % 4 == 0 && aligned16(y) && aligned16(x) && aligned16(pos) && aligned16(type)) {
        add_position_kernel4<<<cu::grid_for(total >> 2), cu::kBlock, 0, s>>>(y, x, pos, type, lengths, B, T, D);
    } else {
        add_position_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(y, x, pos, type, lengths, B, T, D);
    }
    return cu::launch_status();
}

}  // namespace mo
