// objectives: mo_objective (MaRC-style sufficiency + comprehensiveness, methods.md section 2),
// mo_cross_entropy and mo_softmax. Log-sum-exp with max subtraction throughout.
// Shape legend: logits/d_logits [2,S,N,C] index ((h*S + s)*N + n)*C + c, h = 0 keep, h = 1 drop;
// target [N]; loss [N,2] = (sufficiency, comprehensiveness); cross-entropy logits/d_logits/probs [B,C],
// labels [B], loss [B]. A class index outside [0, C) yields NaN for its row (the caller validates).
#include <math.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

constexpr int kObjWarps = cu::kBlock / cu::kWarp;

// LSE = max + logsum, kept apart so that x - LSE is formed as (x - max) - logsum: x - max is exact or
// nearly so, and logsum is small, which keeps float results close to a double-precision reference.
struct RowStats {
    float max, logsum;
};

// Log-sum-exp of x[0..C) over the classes c != skip (skip = -1: all classes), by one warp.
__device__ __forceinline__ RowStats warp_lse(const float* __restrict__ x, int64_t C, int64_t skip) {
    const int lane = cu::lane_id();
    float m = -INFINITY;
    for (int64_t c = lane; c < C; c += cu::kWarp)
        if (c != skip) m = fmaxf(m, x[c]);
    m = cu::warp_max(m);
    float sum = 0.0f;
    for (int64_t c = lane; c < C; c += cu::kWarp)
        if (c != skip) sum += expf(x[c] - m);
    sum = cu::warp_sum(sum);
    RowStats r;
    r.max = m;
    r.logsum = logf(sum);
    return r;
}

// log softmax = x - LSE over the set the stats were taken on.
__device__ __forceinline__ float log_softmax(float x, const RowStats& st) { return (x - st.max) - st.logsum; }

// One block per sequence n; warp w handles sample s = s0 + w of each chunk of kObjWarps samples (its keep
// row and its drop row), then thread 0 adds the chunk's row losses in increasing s (deterministic).
__global__ void __launch_bounds__(cu::kBlock)
    objective_kernel(float* __restrict__ loss, float* __restrict__ d_logits, const float* __restrict__ logits,
                     const int32_t* __restrict__ target, int64_t S, int64_t N, int64_t C, float w_suff,
                     float w_comp) {
    __shared__ float row_suff[kObjWarps], row_comp[kObjWarps];
    const int lane = cu::lane_id(), warp = threadIdx.x / cu::kWarp;
    const float fS = (float)S;
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {  // uniform per block
        const int64_t y = target[n];
        const bool valid = y >= 0 && y < C;
        float acc_suff = 0.0f, acc_comp = 0.0f;  // meaningful in thread 0 only
        for (int64_t s0 = 0; s0 < S; s0 += kObjWarps) {
            const int64_t s = s0 + warp;
            if (s < S) {
                const int64_t keep_off = (s * N + n) * C, drop_off = ((S + s) * N + n) * C;
                const float* xk = logits + keep_off;
                const float* xd = logits + drop_off;
                float* gk = d_logits + keep_off;
                float* gd = d_logits + drop_off;
                float suff = NAN, comp = NAN;
                if (valid) {
                    // keep row: suff = -(x_y - LSE_all); d = w_suff (softmax - onehot) / S
                    const RowStats k = warp_lse(xk, C, -1);
                    suff = -log_softmax(xk[y], k);
                    for (int64_t c = lane; c < C; c += cu::kWarp) {
                        const float p = expf(log_softmax(xk[c], k));
                        gk[c] = w_suff * (p - (c == y ? 1.0f : 0.0f)) / fS;
                    }
                    // drop row: comp = -(LSE_{c!=y} - LSE_all); d = w_comp (softmax_all - q) / S,
                    // q = softmax over c != y (q_y = 0)
                    const RowStats a = warp_lse(xd, C, -1);
                    const RowStats e = warp_lse(xd, C, y);
                    comp = (a.max - e.max) + (a.logsum - e.logsum);
                    for (int64_t c = lane; c < C; c += cu::kWarp) {
                        const float p = expf(log_softmax(xd[c], a));
                        const float q = c == y ? 0.0f : expf(log_softmax(xd[c], e));
                        gd[c] = w_comp * (p - q) / fS;
                    }
                } else {
                    for (int64_t c = lane; c < C; c += cu::kWarp) {
                        gk[c] = NAN;
                        gd[c] = NAN;
                    }
                }
                if (lane == 0) {
                    row_suff[warp] = suff;
                    row_comp[warp] = comp;
                }
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                const int64_t m = S - s0 < kObjWarps ? S - s0 : kObjWarps;
                for (int64_t w = 0; w < m; ++w) {
                    acc_suff += row_suff[w];
                    acc_comp += row_comp[w];
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            loss[2 * n] = acc_suff / fS;
            loss[2 * n + 1] = acc_comp / fS;
        }
    }
}

// One warp per row: loss[b] = LSE - x_y; d_logits = scale (softmax - onehot).
__global__ void cross_entropy_kernel(float* __restrict__ loss, float* __restrict__ d_logits,
                                     const float* __restrict__ logits, const int32_t* __restrict__ labels, int64_t B,
                                     int64_t C, float scale) {
    const int lane = cu::lane_id();
    for (int64_t b = cu::global_warp(); b < B; b += cu::global_warps()) {
        const float* x = logits + b * C;
        float* g = d_logits + b * C;
        const int64_t y = labels[b];
        if (y < 0 || y >= C) {
            for (int64_t c = lane; c < C; c += cu::kWarp) g[c] = NAN;
            if (lane == 0) loss[b] = NAN;
            continue;
        }
        const RowStats k = warp_lse(x, C, -1);
        for (int64_t c = lane; c < C; c += cu::kWarp) {
            const float p = expf(log_softmax(x[c], k));
            g[c] = scale * (p - (c == y ? 1.0f : 0.0f));
        }
        if (lane == 0) loss[b] = -log_softmax(x[y], k);
    }
}

// One warp per row: probs = exp(x - LSE).
__global__ void softmax_kernel(float* __restrict__ probs, const float* __restrict__ logits, int64_t B, int64_t C) {
    const int lane = cu::lane_id();
    for (int64_t b = cu::global_warp(); b < B; b += cu::global_warps()) {
        const float* x = logits + b * C;
        const RowStats k = warp_lse(x, C, -1);
        for (int64_t c = lane; c < C; c += cu::kWarp) probs[b * C + c] = expf(log_softmax(x[c], k));
    }
}

constexpr int kWarpsPerBlock = cu::kBlock / cu::kWarp;

}  // namespace

int cuda_objective(void* stream, float* loss, float* d_logits, const float* logits, const int32_t* target, int64_t S,
                   int64_t N, int64_t C, float w_suff, float w_comp) {
    if (S <= 0 || N <= 0 || C <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    objective_kernel<<<cu::grid_for(N, 1), cu::kBlock, 0, s>>>(loss, d_logits, logits, target, S, N, C, w_suff,
                                                               w_comp);
    return cu::launch_status();
}

int cuda_cross_entropy(void* stream, float* loss, float* d_logits, const float* logits, const int32_t* labels,
                       int64_t B, int64_t C, float scale) {
    if (B <= 0 || C <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    cross_entropy_kernel<<<cu::grid_for(B, kWarpsPerBlock), cu::kBlock, 0, s>>>(loss, d_logits, logits, labels, B, C,
                                                                                 scale);
    return cu::launch_status();
}

int cuda_softmax(void* stream, float* probs, const float* logits, int64_t B, int64_t C) {
    if (B <= 0 || C <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    softmax_kernel<<<cu::grid_for(B, kWarpsPerBlock), cu::kBlock, 0, s>>>(probs, logits, B, C);
    return cu::launch_status();
}

}  // namespace mo
