// cnn: mo_cnn_forward, mo_cnn_backward_input, mo_cnn_backward_params, the 1-D CNN text classifier
// (Kim 2014, CNN-static: embeddings are inputs; the model the mask methods of methods.md sections 1-3
// explain). Shape legend: x/dx [B,T,D]; lengths [B] in [1, T]; widths (host) [K], each 1..16, K <= 8;
// F filters per width; params flat: for each k: W_k [F, w_k, D], b_k [F]; then fc_W [C, K F], fc_b [C];
// feat/argmax [B, K F]; logits/d_logits [B,C]. Window p of row b covers rows p..p+w-1, p in
// [0, max(L - w + 1, 1)); rows >= L read as 0; argmax = first maximizing p.
// Every output element is written by exactly one thread, sums run in a fixed order (no atomics).
#include <math.h>

#include "common.cuh"
#include "maskopt.h"
#include "ops.h"

namespace mo {

namespace {

// Sizes and parameter offsets, computed on the host and passed by value.
struct CnnLayout {
    int64_t K, F, C, D, T, B, KF;
    int widths[MO_CNN_MAX_WIDTHS];
    int64_t off_w[MO_CNN_MAX_WIDTHS];  // W_k [F, w_k, D]
    int64_t off_b[MO_CNN_MAX_WIDTHS];  // b_k [F]
    int64_t off_fc_w, off_fc_b;        // fc_W [C, K F], fc_b [C]
    int wmax;
};

inline bool make_layout(CnnLayout* g, const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T,
                        int64_t D) {
    if (widths == nullptr || K < 1 || K > MO_CNN_MAX_WIDTHS) return false;
    g->K = K;
    g->F = F;
    g->C = C;
    g->D = D;
    g->T = T;
    g->B = B;
    g->KF = K * F;
    g->wmax = 0;
    int64_t off = 0;
    for (int k = 0; k < MO_CNN_MAX_WIDTHS; ++k) {
        g->widths[k] = 0;
        g->off_w[k] = 0;
        g->off_b[k] = 0;
    }
    for (int64_t k = 0; k < K; ++k) {
        const int w = widths[k];
        if (w < 1) return false;
        g->widths[k] = w;
        if (w > g->wmax) g->wmax = w;
        g->off_w[k] = off;
        off += F * w * D;
        g->off_b[k] = off;
        off += F;
    }
    g->off_fc_w = off;
    off += C * K * F;
    g->off_fc_b = off;
    return true;
}

constexpr int kConvBlock = 128;  // 4 warps: windows are spread over the warps
constexpr int kConvWarps = kConvBlock / cu::kWarp;

// feat[b, kF+f] = relu(max_p conv), argmax = first maximizing p. One block per (b, k, f); warp w takes
// windows p = w, w + 4, ... in increasing order (strict >), then thread 0 merges the warps' bests
// (largest value, smallest p on equal values): the same answer as one upward scan.
// Window p reads x[b, p..p+w-1, :], contiguous in memory: a dot product of length min(w, L-p) D.
__global__ void __launch_bounds__(kConvBlock)
    cnn_conv_forward_kernel(float* __restrict__ feat, int32_t* __restrict__ argmax, const float* __restrict__ x,
                            const int32_t* __restrict__ lengths, const float* __restrict__ params, CnnLayout g) {
    __shared__ float best_v[kConvWarps];
    __shared__ int64_t best_p[kConvWarps];
    const int lane = cu::lane_id(), warp = threadIdx.x / cu::kWarp;
    const int64_t items = g.B * g.KF;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // uniform per block
        const int64_t b = item / g.KF, kf = item - b * g.KF;
        const int64_t k = kf / g.F, f = kf - k * g.F;
        const int64_t w = g.widths[k];
        const int64_t L = cu::seq_len(lengths, b, g.T);
        const int64_t P = L - w + 1 > 1 ? L - w + 1 : 1;
        const float* Wf = params + g.off_w[k] + f * w * g.D;
        const float bias = params[g.off_b[k] + f];
        const float* xb = x + b * g.T * g.D;
        float bv = -INFINITY;
        int64_t bp = -1;
        for (int64_t p = warp; p < P; p += kConvWarps) {
            const int64_t rows = L - p < w ? L - p : w;
            const int64_t len = rows * g.D;
            const float* xp = xb + p * g.D;
            float part = 0.0f;
            for (int64_t j = lane; j < len; j += cu::kWarp) part += Wf[j] * xp[j];
            const float v = bias + cu::warp_sum(part);
            if (bp < 0 || v > bv) {
                bv = v;
                bp = p;
            }
        }
        if (lane == 0) {
            best_v[warp] = bv;
            best_p[warp] = bp;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            float v = best_v[0];
            int64_t p = best_p[0];  // warp 0 always has window 0
            for (int i = 1; i < kConvWarps; ++i) {
                const int64_t pi = best_p[i];
                if (pi < 0) continue;
                const float vi = best_v[i];
                if (vi > v || (vi == v && pi < p)) {
                    v = vi;
                    p = pi;
                }
            }
            feat[item] = v > 0.0f ? v : 0.0f;
            argmax[item] = (int32_t)p;
        }
        __syncthreads();
    }
}

// logits[b, c] = fc_b[c] + sum_j fc_W[c, j] feat[b, j]; one warp per (b, c).
__global__ void cnn_fc_forward_kernel(float* __restrict__ logits, const float* __restrict__ feat,
                                      const float* __restrict__ params, CnnLayout g) {
    const int lane = cu::lane_id();
    const int64_t items = g.B * g.C;
    for (int64_t item = cu::global_warp(); item < items; item += cu::global_warps()) {
        const int64_t b = item / g.C, c = item - b * g.C;
        const float* wc = params + g.off_fc_w + c * g.KF;
        const float* fb = feat + b * g.KF;
        float part = 0.0f;
        for (int64_t j = lane; j < g.KF; j += cu::kWarp) part += wc[j] * fb[j];
        const float s = cu::warp_sum(part);
        if (lane == 0) logits[item] = params[g.off_fc_b + c] + s;
    }
}

// dfeat[b, j] = (feat[b, j] > 0) sum_c d_logits[b, c] fc_W[c, j] (c increasing).
__device__ __forceinline__ float cnn_dfeat(const float* __restrict__ d_logits, const float* __restrict__ feat,
                                           const float* __restrict__ params, const CnnLayout& g, int64_t b,
                                           int64_t j) {
    if (!(feat[b * g.KF + j] > 0.0f)) return 0.0f;
    const float* dl = d_logits + b * g.C;
    const float* fw = params + g.off_fc_w + j;
    float s = 0.0f;
    for (int64_t c = 0; c < g.C; ++c) s += dl[c] * fw[c * g.KF];
    return s;
}

constexpr int kDxBlock = 128;  // threads over d
constexpr int kDxRows = 8;     // rows t per block, one accumulator each

// dx[b,t,d] = sum_k sum_f dfeat[b, kF+f] W_k[f, t - argmax, d] for 0 <= t - argmax < w_k and t < L
// (gather: each dx element is owned by one thread; (k, f) increasing). One block per (b, 8 rows, 128 d's);
// dfeat and argmax of row b are staged through shared memory in chunks of 128 filters.
__global__ void __launch_bounds__(kDxBlock)
    cnn_backward_input_kernel(float* __restrict__ dx, const float* __restrict__ d_logits,
                              const float* __restrict__ feat, const int32_t* __restrict__ argmax,
                              const int32_t* __restrict__ lengths, const float* __restrict__ params, CnnLayout g) {
    __shared__ float s_df[kDxBlock];
    __shared__ int64_t s_am[kDxBlock];
    const int64_t tiles_t = (g.T + kDxRows - 1) / kDxRows, tiles_d = (g.D + kDxBlock - 1) / kDxBlock;
    const int64_t items = g.B * tiles_t * tiles_d;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // uniform per block
        const int64_t b = item / (tiles_t * tiles_d);
        const int64_t rest = item - b * tiles_t * tiles_d;
        const int64_t t0 = (rest / tiles_d) * kDxRows;
        const int64_t d = (rest % tiles_d) * kDxBlock + threadIdx.x;
        const int64_t L = cu::seq_len(lengths, b, g.T);
        float acc[kDxRows];
#pragma unroll
        for (int r = 0; r < kDxRows; ++r) acc[r] = 0.0f;
        for (int64_t kf0 = 0; kf0 < g.KF; kf0 += kDxBlock) {
            const int64_t kf = kf0 + threadIdx.x;
            if (kf < g.KF) {
                s_df[threadIdx.x] = cnn_dfeat(d_logits, feat, params, g, b, kf);
                s_am[threadIdx.x] = argmax[b * g.KF + kf];
            }
            __syncthreads();
            const int64_t m = g.KF - kf0 < kDxBlock ? g.KF - kf0 : kDxBlock;
            if (d < g.D && t0 < L) {
                int64_t k = kf0 / g.F, f = kf0 - k * g.F;
                for (int64_t i = 0; i < m; ++i, ++f) {
                    if (f == g.F) {
                        f = 0;
                        ++k;
                    }
                    const float df = s_df[i];
                    if (df == 0.0f) continue;
                    const int64_t w = g.widths[k], am = s_am[i];
                    if (am + w <= t0 || am >= t0 + kDxRows) continue;
                    const float* Wk = params + g.off_w[k] + f * w * g.D + d;
#pragma unroll
                    for (int r = 0; r < kDxRows; ++r) {
                        const int64_t off = t0 + r - am;
                        if (off >= 0 && off < w && t0 + r < L) acc[r] += df * Wk[off * g.D];
                    }
                }
            }
            __syncthreads();
        }
        if (d < g.D) {
#pragma unroll
            for (int r = 0; r < kDxRows; ++r) {
                const int64_t t = t0 + r;
                if (t < g.T) dx[(b * g.T + t) * g.D + d] = t < L ? acc[r] : 0.0f;
            }
        }
    }
}

constexpr int kDpBlock = 128;  // threads over the elements of one filter (W_k[f] flattened, then b_k[f])

// dW_k[f, i, d] = sum_b dfeat[b, kF+f] x[b, argmax + i, d] (rows >= L read as 0), db_k[f] = sum_b dfeat;
// b increasing. One block per (k, f, chunk of 128 elements of the w_k D + 1 outputs of filter f); dfeat,
// argmax and lengths of 128 rows b at a time are staged through shared memory.
__global__ void __launch_bounds__(kDpBlock)
    cnn_backward_conv_params_kernel(float* __restrict__ d_params, const float* __restrict__ d_logits,
                                    const float* __restrict__ feat, const int32_t* __restrict__ argmax,
                                    const float* __restrict__ x, const int32_t* __restrict__ lengths,
                                    const float* __restrict__ params, CnnLayout g) {
    __shared__ float s_df[kDpBlock];
    __shared__ int64_t s_am[kDpBlock];
    __shared__ int64_t s_len[kDpBlock];
    const int64_t chunks = ((int64_t)g.wmax * g.D + 1 + kDpBlock - 1) / kDpBlock;
    const int64_t items = g.KF * chunks;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // uniform per block
        const int64_t kf = item / chunks, chunk = item - kf * chunks;
        const int64_t k = kf / g.F, f = kf - k * g.F;
        const int64_t w = g.widths[k];
        const int64_t nelem = w * g.D + 1;  // W_k[f] then b_k[f]
        if (chunk * kDpBlock >= nelem) continue;  // the whole block skips together
        const int64_t e = chunk * kDpBlock + threadIdx.x;
        const bool active = e < nelem, is_bias = e == nelem - 1;
        const int64_t i = e / g.D, d = e - i * g.D;
        float acc = 0.0f;
        for (int64_t b0 = 0; b0 < g.B; b0 += kDpBlock) {
            const int64_t bb = b0 + threadIdx.x;
            if (bb < g.B) {
                s_df[threadIdx.x] = cnn_dfeat(d_logits, feat, params, g, bb, kf);
                s_am[threadIdx.x] = argmax[bb * g.KF + kf];
                s_len[threadIdx.x] = cu::seq_len(lengths, bb, g.T);
            }
            __syncthreads();
            const int64_t m = g.B - b0 < kDpBlock ? g.B - b0 : kDpBlock;
            if (active) {
                for (int64_t j = 0; j < m; ++j) {
                    const float df = s_df[j];
                    if (df == 0.0f) continue;
                    if (is_bias) {
                        acc += df;
                    } else {
                        const int64_t row = s_am[j] + i;
                        if (row < s_len[j]) acc += df * x[((b0 + j) * g.T + row) * g.D + d];
                    }
                }
            }
            __syncthreads();
        }
        if (active) d_params[is_bias ? g.off_b[k] + f : g.off_w[k] + f * w * g.D + e] = acc;
    }
}

// dfc_W[c, j] = sum_b d_logits[b, c] feat[b, j], dfc_b[c] = sum_b d_logits[b, c] (b increasing);
// one thread per output, j == K F standing for the bias.
__global__ void cnn_backward_fc_params_kernel(float* __restrict__ d_params, const float* __restrict__ d_logits,
                                              const float* __restrict__ feat, CnnLayout g) {
    const int64_t cols = g.KF + 1, items = g.C * cols;
    for (int64_t item = cu::global_thread(); item < items; item += cu::global_threads()) {
        const int64_t c = item / cols, j = item - c * cols;
        float acc = 0.0f;
        if (j < g.KF) {
            for (int64_t b = 0; b < g.B; ++b) acc += d_logits[b * g.C + c] * feat[b * g.KF + j];
            d_params[g.off_fc_w + c * g.KF + j] = acc;
        } else {
            for (int64_t b = 0; b < g.B; ++b) acc += d_logits[b * g.C + c];
            d_params[g.off_fc_b + c] = acc;
        }
    }
}

constexpr int kWarpsPerBlock = cu::kBlock / cu::kWarp;

}  // namespace

int cuda_cnn_forward(void* stream, float* logits, float* feat, int32_t* argmax, const float* x,
                     const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F,
                     int64_t C, int64_t B, int64_t T, int64_t D) {
    CnnLayout g;
    if (!make_layout(&g, widths, K, F, C, B, T, D)) return (int)cudaErrorInvalidValue;
    if (B <= 0 || F <= 0 || C <= 0 || T <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    cnn_conv_forward_kernel<<<cu::grid_for(B * g.KF, 1), kConvBlock, 0, s>>>(feat, argmax, x, lengths, params, g);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return (int)e;
    cnn_fc_forward_kernel<<<cu::grid_for(B * C, kWarpsPerBlock), cu::kBlock, 0, s>>>(logits, feat, params, g);
    return cu::launch_status();
}

int cuda_cnn_backward_input(void* stream, float* dx, const float* d_logits, const float* feat, const int32_t* argmax,
                            const int32_t* lengths, const float* params, const int32_t* widths, int64_t K,
                            int64_t F, int64_t C, int64_t B, int64_t T, int64_t D) {
    CnnLayout g;
    if (!make_layout(&g, widths, K, F, C, B, T, D)) return (int)cudaErrorInvalidValue;
    if (B <= 0 || T <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const int64_t items = B * ((T + kDxRows - 1) / kDxRows) * ((D + kDxBlock - 1) / kDxBlock);
    cnn_backward_input_kernel<<<cu::grid_for(items, 1), kDxBlock, 0, s>>>(dx, d_logits, feat, argmax, lengths, params,
                                                                          g);
    return cu::launch_status();
}

int cuda_cnn_backward_params(void* stream, float* d_params, const float* d_logits, const float* feat,
                             const int32_t* argmax, const float* x, const int32_t* lengths, const float* params,
                             const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T,
                             int64_t D) {
    CnnLayout g;
    if (!make_layout(&g, widths, K, F, C, B, T, D)) return (int)cudaErrorInvalidValue;
    if (F <= 0 || C <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const int64_t chunks = ((int64_t)g.wmax * D + 1 + kDpBlock - 1) / kDpBlock;
    cnn_backward_conv_params_kernel<<<cu::grid_for(g.KF * chunks, 1), kDpBlock, 0, s>>>(
        d_params, d_logits, feat, argmax, x, lengths, params, g);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return (int)e;
    cnn_backward_fc_params_kernel<<<cu::grid_for(C * (g.KF + 1)), cu::kBlock, 0, s>>>(d_params, d_logits, feat, g);
    return cu::launch_status();
}

}  // namespace mo
