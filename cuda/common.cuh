// common: launch helpers shared by every CUDA file of maskopt (no op of its own; methods.md: none).
// Grid sizing, grid-stride index helpers, and deterministic warp/block reductions
// (fixed shapes and orders only: no atomics on floats anywhere in cuda/, so every run gives the same bits).
// Shape legend (used by the op files): S samples, N sequences, T max length, D embedding width,
// C classes, B batch rows, P gate parameters per position, lengths[N] in [1, T].
#ifndef MASKOPT_CUDA_COMMON_CUH
#define MASKOPT_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

namespace mo {
namespace cu {

constexpr int kBlock = 256;         // default threads per block (8 warps)
constexpr int kWarp = 32;
constexpr int64_t kMaxGrid = 1 << 20;  // cap on blocks for grid-stride kernels (well under 2^31 - 1)

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// Blocks for `work` independent items handled `per_block` at a time, at least 1, at most kMaxGrid;
// kernels loop (grid-stride) over whatever the capped grid does not cover.
inline unsigned grid_for(int64_t work, int64_t per_block = kBlock) {
    if (work <= 0) return 1;
    int64_t g = (work + per_block - 1) / per_block;
    if (g > kMaxGrid) g = kMaxGrid;
    return (unsigned)g;
}

// Resolves a launcher's stream: 0 or a cudaError_t. The context's device is already current (dispatch
// calls cuda_set_device before every launcher). Usage:
//   cudaStream_t s; if (int e = cu::begin_launch(stream, &s)) return e;
inline int begin_launch(void* stream, cudaStream_t* s) {
    *s = as_stream(stream);
    return 0;
}

// The status of the launch just queued (clears the runtime's last non-sticky error).
inline int launch_status() { return (int)cudaGetLastError(); }

// ---- grid-stride helpers ----
__device__ __forceinline__ int64_t global_thread() {
    return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t global_threads() { return (int64_t)gridDim.x * blockDim.x; }
// Warp-granular: one warp per item.
__device__ __forceinline__ int64_t global_warp() {
    return ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / kWarp;
}
__device__ __forceinline__ int64_t global_warps() { return (int64_t)gridDim.x * blockDim.x / kWarp; }
__device__ __forceinline__ int lane_id() { return threadIdx.x & (kWarp - 1); }

// lengths[n] clamped to [0, T]: valid data is in [1, T] (the caller's check); the clamp only keeps a bad
// length from reading or writing out of bounds.
__device__ __forceinline__ int64_t seq_len(const int32_t* __restrict__ lengths, int64_t n, int64_t T) {
    int64_t len = lengths[n];
    return len < 0 ? 0 : (len > T ? T : len);
}

// ---- deterministic reductions ----
// Butterfly (xor) reductions: every lane ends with the same bits (a + b == b + a exactly at each level).
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ unsigned long long warp_sum_u64(unsigned long long v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over a block of BLOCK threads (a multiple of 32, at most 1024); the result is valid in every thread.
// Fixed order: warp butterflies, then warp 0 reduces the per-warp sums. Every thread must call it.
template <int BLOCK>
__device__ __forceinline__ float block_sum(float v) {
    static_assert(BLOCK % kWarp == 0 && BLOCK <= 1024, "block size");
    constexpr int W = BLOCK / kWarp;
    __shared__ float partial[W];
    __shared__ float total;
    v = warp_sum(v);
    const int lane = lane_id(), warp = threadIdx.x / kWarp;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float x = lane < W ? partial[lane] : 0.0f;
        x = warp_sum(x);
        if (lane == 0) total = x;
    }
    __syncthreads();
    float r = total;
    __syncthreads();  // the shared slots may be reused by the next call
    return r;
}

}  // namespace cu
}  // namespace mo

#endif
