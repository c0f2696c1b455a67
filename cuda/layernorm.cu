// layernorm: mo_layernorm_forward and mo_layernorm_backward (Ba, Kiros and Hinton 2016; the post-LN of
// BERT). Forward: mean, population variance var = mean((x - mean)^2) (two passes: accurate for eps = 1e-12),
// rstd = 1 / sqrt(var + eps), y = (x - mean) rstd gamma + beta. Backward (gamma, beta constant):
// g = dy gamma, xhat = (x - mean) rstd, dx = rstd (g - mean(g) - xhat mean(g xhat)).
// Shape legend: x/y/dx/dy [R,D]; gamma/beta [D]; mean/rstd [R].
// One warp per row; sums are warp butterflies (deterministic). For D <= 1024 a row (forward: x; backward:
// g) is held in registers (V = ceil(D / 32) values per lane, rounded up to 4, 8, 16 or 32; at most 128
// registers, no spills); wider rows are re-read from memory.
#include <math.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

// V values per lane (d = lane + 32 k, k < V) held in registers; requires D <= 32 V.
template <int V>
__global__ void __launch_bounds__(cu::kBlock, 2) ln_forward_cached(float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                                  const float* __restrict__ x, const float* __restrict__ gamma,
                                  const float* __restrict__ beta, int64_t R, int D, float eps) {
    const int lane = cu::lane_id();
    const float inv_d = 1.0f / (float)D;
    for (int64_t r = cu::global_warp(); r < R; r += cu::global_warps()) {
        const float* xr = x + r * D;
        float v[V];
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < V; ++k) {
            const int d = lane + k * cu::kWarp;
            v[k] = d < D ? xr[d] : 0.0f;
            s += v[k];
        }
        const float mu = cu::warp_sum(s) * inv_d;
        float q = 0.0f;
#pragma unroll
        for (int k = 0; k < V; ++k) {
            const int d = lane + k * cu::kWarp;
            const float c = v[k] - mu;
            if (d < D) q += c * c;
        }
        const float var = cu::warp_sum(q) * inv_d;
        const float rs = 1.0f / sqrtf(var + eps);
        float* yr = y + r * D;
#pragma unroll
        for (int k = 0; k < V; ++k) {
            const int d = lane + k * cu::kWarp;
            if (d < D) yr[d] = (v[k] - mu) * rs * gamma[d] + beta[d];
        }
        if (lane == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

__global__ void ln_forward_any(float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                               const float* __restrict__ x, const float* __restrict__ gamma,
                               const float* __restrict__ beta, int64_t R, int64_t D, float eps) {
    const int lane = cu::lane_id();
    const float inv_d = 1.0f / (float)D;
    for (int64_t r = cu::global_warp(); r < R; r += cu::global_warps()) {
        const float* xr = x + r * D;
        float s = 0.0f;
        for (int64_t d = lane; d < D; d += cu::kWarp) s += xr[d];
        const float mu = cu::warp_sum(s) * inv_d;
        float q = 0.0f;
        for (int64_t d = lane; d < D; d += cu::kWarp) {
            const float c = xr[d] - mu;
            q += c * c;
        }
        const float var = cu::warp_sum(q) * inv_d;
        const float rs = 1.0f / sqrtf(var + eps);
        float* yr = y + r * D;
        for (int64_t d = lane; d < D; d += cu::kWarp) yr[d] = (xr[d] - mu) * rs * gamma[d] + beta[d];
        if (lane == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

template <int V>
__global__ void __launch_bounds__(cu::kBlock, 2) ln_backward_cached(float* __restrict__ dx, const float* __restrict__ dy, const float* __restrict__ x,
                                   const float* __restrict__ mean, const float* __restrict__ rstd,
                                   const float* __restrict__ gamma, int64_t R, int D) {
    const int lane = cu::lane_id();
    const float inv_d = 1.0f / (float)D;
    for (int64_t r = cu::global_warp(); r < R; r += cu::global_warps()) {
        const float* xr = x + r * D;
        const float* gr = dy + r * D;
        const float mu = mean[r], rs = rstd[r];
        float g[V];  // g is held; xhat is recomputed from x in the second pass (an L1 hit), which keeps
                     // V = 32 under 128 registers without spills
        float sg = 0.0f, sgx = 0.0f;
#pragma unroll
        for (int k = 0; k < V; ++k) {
            const int d = lane + k * cu::kWarp;
            g[k] = 0.0f;
            if (d < D) {
                g[k] = gr[d] * gamma[d];
                sgx += g[k] * ((xr[d] - mu) * rs);
            }
            sg += g[k];
        }
        const float mg = cu::warp_sum(sg) * inv_d;
        const float mgx = cu::warp_sum(sgx) * inv_d;
        float* o = dx + r * D;
#pragma unroll
        for (int k = 0; k < V; ++k) {
            const int d = lane + k * cu::kWarp;
            if (d < D) o[d] = rs * (g[k] - mg - ((xr[d] - mu) * rs) * mgx);
        }
    }
}

__global__ void ln_backward_any(float* __restrict__ dx, const float* __restrict__ dy, const float* __restrict__ x,
                                const float* __restrict__ mean, const float* __restrict__ rstd,
                                const float* __restrict__ gamma, int64_t R, int64_t D) {
    const int lane = cu::lane_id();
    const float inv_d = 1.0f / (float)D;
    for (int64_t r = cu::global_warp(); r < R; r += cu::global_warps()) {
        const float* xr = x + r * D;
        const float* gr = dy + r * D;
        const float mu = mean[r], rs = rstd[r];
        float sg = 0.0f, sgx = 0.0f;
        for (int64_t d = lane; d < D; d += cu::kWarp) {
            const float g = gr[d] * gamma[d];
            sg += g;
            sgx += g * ((xr[d] - mu) * rs);
        }
        const float mg = cu::warp_sum(sg) * inv_d;
        const float mgx = cu::warp_sum(sgx) * inv_d;
        float* o = dx + r * D;
        for (int64_t d = lane; d < D; d += cu::kWarp) {
            const float g = gr[d] * gamma[d];
            const float xh = (xr[d] - mu) * rs;
            o[d] = rs * (g - mg - xh * mgx);
        }
    }
}

constexpr int kWarpsPerBlock = cu::kBlock / cu::kWarp;

}  // namespace

int cuda_layernorm_forward(void* stream, float* y, float* mean, float* rstd, const float* x, const float* gamma,
                           const float* beta, int64_t R, int64_t D, float eps) {
    if (R <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const unsigned grid = cu::grid_for(R, kWarpsPerBlock);
    const int d = (int)(D <= 1024 ? D : 0);
    if (D <= 128)
        ln_forward_cached<4><<<grid, cu::kBlock, 0, s>>>(y, mean, rstd, x, gamma, beta, R, d, eps);
    else if (D <= 256)
        ln_forward_cached<8><<<grid, cu::kBlock, 0, s>>>(y, mean, rstd, x, gamma, beta, R, d, eps);
    else if (D <= 512)
        ln_forward_cached<16><<<grid, cu::kBlock, 0, s>>>(y, mean, rstd, x, gamma, beta, R, d, eps);
    else if (D <= 1024)
        ln_forward_cached<32><<<grid, cu::kBlock, 0, s>>>(y, mean, rstd, x, gamma, beta, R, d, eps);
    else
        ln_forward_any<<<grid, cu::kBlock, 0, s>>>(y, mean, rstd, x, gamma, beta, R, D, eps);
    return cu::launch_status();
}

int cuda_layernorm_backward(void* stream, float* dx, const float* dy, const float* x, const float* mean,
                            const float* rstd, const float* gamma, int64_t R, int64_t D) {
    if (R <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const unsigned grid = cu::grid_for(R, kWarpsPerBlock);
    const int d = (int)(D <= 1024 ? D : 0);
    if (D <= 128)
        ln_backward_cached<4><<<grid, cu::kBlock, 0, s>>>(dx, dy, x, mean, rstd, gamma, R, d);
    else if (D <= 256)
        ln_backward_cached<8><<<grid, cu::kBlock, 0, s>>>(dx, dy, x, mean, rstd, gamma, R, d);
    else if (D <= 512)
        ln_backward_cached<16><<<grid, cu::kBlock, 0, s>>>(dx, dy, x, mean, rstd, gamma, R, d);
    else if (D <= 1024)
        ln_backward_cached<32><<<grid, cu::kBlock, 0, s>>>(dx, dy, x, mean, rstd, gamma, R, d);
    else
        ln_backward_any<<<grid, cu::kBlock, 0, s>>>(dx, dy, x, mean, rstd, gamma, R, D);
    return cu::launch_status();
}

}  // namespace mo
