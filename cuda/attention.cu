// attention: mo_attention_forward and mo_attention_backward, multi-head scaled dot-product self-attention
// (Vaswani et al. 2017, eq. 1; the BERT encoder's self-attention) over ragged sequences.
// Shape legend: qkv/d_qkv [B,T,3D] with q in columns [0,D), k in [D,2D), v in [2D,3D), head h using
// columns h Dh .. (h+1) Dh - 1 of each; out/d_out [B,T,D]; probs [B,H,T,T]; D = H Dh; lengths[B] in
// [1, T]; scale = 1/sqrt(Dh). Keys t' >= len never participate (their probabilities are exactly 0, no
// -inf arithmetic); query rows t >= len give 0 probabilities and 0 outputs (and 0 gradients).
// Forward: S = scale Q K^T, P = row softmax of S, O = P V. Backward (P saved by the forward):
//   dP = dO V^T, r_t = sum_t' P dP (row), dS = P (dP - r), dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO.
// Design (no atomics, no workspace): one block of 256 threads per (b, h, tile of 16 query rows) keeps its
// 16 x len score rows in shared memory (dynamic, 16 (T+1) floats) and streams K/V (or V/K) through shared
// memory in 64-key x 32-column chunks, so any Dh >= 1 works. The backward runs three kernels:
//   1. per query tile: dP and r; r is stashed in d_qkv[b,t, h Dh] (a dQ cell not yet written);
//   2. per (b, h, tile of 8 keys): dS for those keys and every query (recomputing dP, reading r from the
//      stash and P from probs), kept in shared memory (2 x 8 T floats), then dK and dV; writes k/v columns;
//   3. per query tile: dP, r, dS again (same code, same bits), then dQ; overwrites the stash.
// Every output element is written by exactly one thread; all sums run in a fixed order.
#include <float.h>
#include <math.h>

#include "common.cuh"
#include "maskopt.h"
#include "ops.h"

namespace mo {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int QT = 16;   // query rows per block (forward, backward kernels 1 and 3)
constexpr int KT = 64;   // keys per shared-memory tile of K or V
constexpr int DC = 32;   // head columns per chunk
constexpr int DCP = DC + 1;  // padded row of a staged chunk (conflict-free column walks)
constexpr int KB = 8;    // keys per block in backward kernel 2
constexpr int IT = 32;   // query rows per shared-memory tile in backward kernel 2

static_assert(QT * 16 == kThreads, "scores: thread (i, jj) = (tid / 16, tid % 16)");
static_assert(KT == 4 * 16, "scores: four keys per thread");
static_assert(QT == 2 * kWarps, "P V: two rows per warp");
static_assert(IT * KB == kThreads, "kernel 2: thread (ii, jj) = (tid / 8, tid % 8)");
static_assert(KB == kWarps, "kernel 2: one key per warp in the dK/dV phase");

// Static shared memory of the query-tile kernels: a staged X chunk [QT][DCP] and a Y tile [KT][DCP].
struct QTileSmem {
    float x[QT * DCP];
    float y[KT * DCP];
};

// Ss[i*lds + j] = scale * X_i . Y_j for query rows i < nq and keys j < len. X points at query row 0 of the
// tile (row stride ldx), Y at key row 0 (row stride ldy), both already offset to the head's columns.
__device__ void scores_tile(float* __restrict__ Ss, int lds, const float* __restrict__ X, int64_t ldx,
                            const float* __restrict__ Y, int64_t ldy, int nq, int len, int Dh, float scale,
                            QTileSmem& sm) {
    const int tid = threadIdx.x;
    const int i = tid >> 4, jj = tid & 15;
    for (int j0 = 0; j0 < len; j0 += KT) {
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int d0 = 0; d0 < Dh; d0 += DC) {
            for (int e = tid; e < QT * DC; e += kThreads) {
                const int r = e / DC, d = e % DC;
                sm.x[r * DCP + d] = (r < nq && d0 + d < Dh) ? X[r * ldx + d0 + d] : 0.0f;
            }
            for (int e = tid; e < KT * DC; e += kThreads) {
                const int r = e / DC, d = e % DC;
                sm.y[r * DCP + d] = (j0 + r < len && d0 + d < Dh) ? Y[(int64_t)(j0 + r) * ldy + d0 + d] : 0.0f;
            }
            __syncthreads();
#pragma unroll 8
            for (int d = 0; d < DC; ++d) {
                const float x = sm.x[i * DCP + d];
#pragma unroll
                for (int r = 0; r < 4; ++r) acc[r] = fmaf(x, sm.y[(jj + 16 * r) * DCP + d], acc[r]);
            }
            __syncthreads();  // the chunks are rewritten next
        }
        if (i < nq) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int j = j0 + jj + 16 * r;
                if (j < len) Ss[i * lds + j] = acc[r] * scale;
            }
        }
    }
}

// O_i = mul * sum_{j < len} Ss[i*lds + j] Y_j for rows i < nq; rows nq <= i < nrows get 0. O points at row 0
// of the tile (row stride ldo), Y at key row 0 (row stride ldy). Warp w owns rows w and w + 8; lane = column.
__device__ void pv_tile(float* __restrict__ O, int64_t ldo, const float* __restrict__ Ss, int lds,
                        const float* __restrict__ Y, int64_t ldy, int nq, int nrows, int len, int Dh, float mul,
                        QTileSmem& sm) {
    const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5;
    float* Ys = sm.y;  // [KT][DC] (unpadded: rows are read whole, one column per lane)
    for (int d0 = 0; d0 < Dh; d0 += DC) {
        float a0 = 0.0f, a1 = 0.0f;
        for (int j0 = 0; j0 < len; j0 += KT) {
            for (int e = tid; e < KT * DC; e += kThreads) {
                const int r = e / DC, d = e % DC;
                Ys[e] = (j0 + r < len && d0 + d < Dh) ? Y[(int64_t)(j0 + r) * ldy + d0 + d] : 0.0f;
            }
            __syncthreads();
            const int jn = min(KT, len - j0);
            if (w < nq) {  // warp-uniform
                const float* s0 = Ss + w * lds + j0;
                for (int j = 0; j < jn; ++j) a0 = fmaf(s0[j], Ys[j * DC + lane], a0);
            }
            if (w + kWarps < nq) {
                const float* s1 = Ss + (w + kWarps) * lds + j0;
                for (int j = 0; j < jn; ++j) a1 = fmaf(s1[j], Ys[j * DC + lane], a1);
            }
            __syncthreads();
        }
        const int d = d0 + lane;
        if (d < Dh) {
            if (w < nrows) O[w * ldo + d] = w < nq ? a0 * mul : 0.0f;
            if (w + kWarps < nrows) O[(w + kWarps) * ldo + d] = w + kWarps < nq ? a1 * mul : 0.0f;
        }
    }
}

// Block -> (b, h, tile) for a 1-D grid of B * H * tiles blocks.
struct Tile {
    int64_t b, h;
    int t0;
};
__device__ __forceinline__ Tile tile_of(int64_t tiles, int64_t H, int rows_per_tile) {
    const int64_t bid = blockIdx.x;
    const int64_t tile = bid % tiles, bh = bid / tiles;
    return Tile{bh / H, bh % H, (int)(tile * rows_per_tile)};
}

__global__ void __launch_bounds__(kThreads, 3) attention_forward_kernel(float* __restrict__ out,
                                                                     float* __restrict__ probs,
                                                                     const float* __restrict__ qkv,
                                                                     const int32_t* __restrict__ lengths, int64_t B,
                                                                     int T, int64_t H, int Dh, float scale) {
    extern __shared__ float Ss[];  // [QT][T + 1]
    __shared__ QTileSmem sm;
    const int lds = T + 1;
    const int64_t D = H * Dh, ld = 3 * D;
    const Tile tl = tile_of((T + QT - 1) / QT, H, QT);
    const int q0 = tl.t0;
    const int len = (int)cu::seq_len(lengths, tl.b, T);
    const int nrows = min(QT, T - q0);
    const int nq = max(0, min(nrows, len - q0));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float* P = probs + ((tl.b * H + tl.h) * T + q0) * (int64_t)T;  // row q0 of this (b, h)
    float* O = out + (tl.b * T + q0) * D + tl.h * Dh;
    if (nq == 0) {  // a tile of padding rows only
        for (int64_t e = tid; e < (int64_t)nrows * T; e += kThreads) P[e] = 0.0f;
        for (int e = tid; e < nrows * Dh; e += kThreads) O[(e / Dh) * D + e % Dh] = 0.0f;
        return;
    }
    const float* base = qkv + tl.b * T * ld + tl.h * Dh;  // q of row 0; k at + D, v at + 2 D
    scores_tile(Ss, lds, base + q0 * ld, ld, base + D, ld, nq, len, Dh, scale, sm);
    __syncthreads();
    for (int i = warp; i < nrows; i += kWarps) {
        float* prow = P + (int64_t)i * T;
        if (i >= nq) {
            for (int j = lane; j < T; j += 32) prow[j] = 0.0f;
            continue;
        }
        float* srow = Ss + i * lds;
        float m = -FLT_MAX;
        for (int j = lane; j < len; j += 32) m = fmaxf(m, srow[j]);
        m = cu::warp_max(m);
        float sum = 0.0f;
        for (int j = lane; j < len; j += 32) {
            const float e = expf(srow[j] - m);
            srow[j] = e;
            sum += e;
        }
        sum = cu::warp_sum(sum);  // >= 1: the maximum contributes exp(0)
        const float inv = 1.0f / sum;
        for (int j = lane; j < len; j += 32) {
            const float p = srow[j] * inv;
            srow[j] = p;
            prow[j] = p;
        }
        for (int j = len + lane; j < T; j += 32) prow[j] = 0.0f;
    }
    __syncthreads();
    pv_tile(O, D, Ss, lds, base + 2 * D, ld, nq, nrows, len, Dh, 1.0f, sm);
}

// Backward kernels 1 (STASH: r only, into d_qkv[b,t, h Dh]) and 3 (dQ into the q columns of d_qkv).
template <bool STASH>
__global__ void __launch_bounds__(kThreads, 3) attention_dq_kernel(float* d_qkv, const float* __restrict__ d_out,
                                                                const float* __restrict__ qkv,
                                                                const float* __restrict__ probs,
                                                                const int32_t* __restrict__ lengths, int64_t B,
                                                                int T, int64_t H, int Dh, float scale) {
    extern __shared__ float Ss[];  // [QT][T + 1]: dP, then dS
    __shared__ QTileSmem sm;
    const int lds = T + 1;
    const int64_t D = H * Dh, ld = 3 * D;
    const Tile tl = tile_of((T + QT - 1) / QT, H, QT);
    const int q0 = tl.t0;
    const int len = (int)cu::seq_len(lengths, tl.b, T);
    const int nrows = min(QT, T - q0);
    const int nq = max(0, min(nrows, len - q0));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float* G = d_qkv + (tl.b * T + q0) * ld + tl.h * Dh;  // dQ of row q0 (row stride ld)
    if (nq == 0) {
        if (!STASH)
            for (int e = tid; e < nrows * Dh; e += kThreads) G[(e / Dh) * ld + e % Dh] = 0.0f;
        return;
    }
    const float* base = qkv + tl.b * T * ld + tl.h * Dh;
    const float* dO = d_out + (tl.b * T + q0) * D + tl.h * Dh;
    const float* P = probs + ((tl.b * H + tl.h) * T + q0) * (int64_t)T;
    scores_tile(Ss, lds, dO, D, base + 2 * D, ld, nq, len, Dh, 1.0f, sm);  // dP = dO V^T
    __syncthreads();
    for (int i = warp; i < nq; i += kWarps) {
        const float* prow = P + (int64_t)i * T;
        float* srow = Ss + i * lds;
        float r = 0.0f;
        for (int j = lane; j < len; j += 32) r = fmaf(prow[j], srow[j], r);
        r = cu::warp_sum(r);
        if (STASH) {
            if (lane == 0) G[(int64_t)i * ld] = r;
        } else {
            for (int j = lane; j < len; j += 32) srow[j] = prow[j] * (srow[j] - r);
        }
    }
    if (STASH) return;
    __syncthreads();
    pv_tile(G, ld, Ss, lds, base + D, ld, nq, nrows, len, Dh, scale, sm);  // dQ = scale dS K
}

// Backward kernel 2: dK and dV for KB keys of one (b, h), from every query row t < len.
__global__ void __launch_bounds__(kThreads, 3) attention_dkv_kernel(float* d_qkv, const float* __restrict__ d_out,
                                                                 const float* __restrict__ qkv,
                                                                 const float* __restrict__ probs,
                                                                 const int32_t* __restrict__ lengths, int64_t B,
                                                                 int T, int64_t H, int Dh, float scale) {
    extern __shared__ float dyn[];  // Ps [T][KB], dSs [T][KB]
    float* Ps = dyn;
    float* dSs = dyn + (int64_t)T * KB;
    // Phase 1 uses xs [IT][DCP] (dO chunk) and ys [KB][DCP] (V chunk); phase 2 qs and gs [IT][DC].
    __shared__ float stage[2 * IT * DC];
    const int64_t D = H * Dh, ld = 3 * D;
    const Tile tl = tile_of((T + KB - 1) / KB, H, KB);
    const int j0 = tl.t0;
    const int len = (int)cu::seq_len(lengths, tl.b, T);
    const int nrows = min(KB, T - j0);
    const int nk = max(0, min(nrows, len - j0));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float* Gk = d_qkv + (tl.b * T + j0) * ld + D + tl.h * Dh;  // dK of key row j0; dV at + D
    if (nk == 0) {
        for (int e = tid; e < nrows * Dh; e += kThreads) {
            const int64_t o = (e / Dh) * ld + e % Dh;
            Gk[o] = 0.0f;
            Gk[o + D] = 0.0f;
        }
        return;
    }
    const float* base = qkv + tl.b * T * ld + tl.h * Dh;        // q of row 0; k at + D, v at + 2 D
    const float* dO = d_out + tl.b * T * D + tl.h * Dh;          // row 0
    const float* P = probs + (tl.b * H + tl.h) * T * (int64_t)T;  // [T][T] of this (b, h)
    const float* stash = d_qkv + tl.b * T * ld + tl.h * Dh;      // r of row t at stash[t * ld]

    // Phase 1: dS[i][jj] = P (dP - r_i) for every query row i < len and the block's keys jj < nk.
    {
        float* xs = stage;
        float* ys = stage + IT * DCP;
        const int ii = tid >> 3, jj = tid & 7;
        for (int i0 = 0; i0 < len; i0 += IT) {
            float acc = 0.0f;
            for (int d0 = 0; d0 < Dh; d0 += DC) {
                for (int e = tid; e < IT * DC; e += kThreads) {
                    const int r = e / DC, d = e % DC;
                    xs[r * DCP + d] = (i0 + r < len && d0 + d < Dh) ? dO[(int64_t)(i0 + r) * D + d0 + d] : 0.0f;
                }
                {
                    const int r = tid / DC, d = tid % DC;  // KB * DC == kThreads
                    ys[r * DCP + d] =
                        (r < nk && d0 + d < Dh) ? base[(int64_t)(j0 + r) * ld + 2 * D + d0 + d] : 0.0f;
                }
                __syncthreads();
#pragma unroll 8
                for (int d = 0; d < DC; ++d) acc = fmaf(xs[ii * DCP + d], ys[jj * DCP + d], acc);
                __syncthreads();
            }
            const int i = i0 + ii;
            if (i < len) {
                float p = 0.0f, ds = 0.0f;
                if (jj < nk) {
                    p = P[(int64_t)i * T + j0 + jj];
                    ds = p * (acc - stash[(int64_t)i * ld]);
                }
                Ps[i * KB + jj] = p;
                dSs[i * KB + jj] = ds;
            }
        }
    }
    __syncthreads();
    // Phase 2: warp w = key jj, lane = column: dK = scale sum_i dS[i][jj] Q_i, dV = sum_i P[i][jj] dO_i.
    {
        float* qs = stage;
        float* gs = stage + IT * DC;
        for (int d0 = 0; d0 < Dh; d0 += DC) {
            float ak = 0.0f, av = 0.0f;
            for (int i0 = 0; i0 < len; i0 += IT) {
                for (int e = tid; e < IT * DC; e += kThreads) {
                    const int r = e / DC, d = e % DC;
                    const bool in = i0 + r < len && d0 + d < Dh;
                    qs[e] = in ? base[(int64_t)(i0 + r) * ld + d0 + d] : 0.0f;
                    gs[e] = in ? dO[(int64_t)(i0 + r) * D + d0 + d] : 0.0f;
                }
                __syncthreads();
                const int in = min(IT, len - i0);
                const float* ds = dSs + i0 * KB + warp;
                const float* ps = Ps + i0 * KB + warp;
                for (int r = 0; r < in; ++r) {
                    ak = fmaf(ds[r * KB], qs[r * DC + lane], ak);
                    av = fmaf(ps[r * KB], gs[r * DC + lane], av);
                }
                __syncthreads();
            }
            const int d = d0 + lane;
            if (warp < nrows && d < Dh) {
                const int64_t o = (int64_t)warp * ld + d;
                Gk[o] = warp < nk ? ak * scale : 0.0f;
                Gk[o + D] = warp < nk ? av : 0.0f;
            }
        }
    }
}

// Static plus dynamic shared memory above the default 48 KiB needs the kernel's opt-in (granted up to the
// device's limit; beyond it the launch fails and its error is returned). Only long rows (T > ~560) get here.
template <class K>
cudaError_t allow_smem(K kernel, size_t static_bytes, size_t dyn) {
    if (static_bytes + dyn <= 48u * 1024u) return cudaSuccess;
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)dyn);
}

constexpr size_t kQTileStatic = sizeof(QTileSmem);
constexpr size_t kDkvStatic = 2 * IT * DC * sizeof(float);

// dispatch rejects T > MO_CUDA_ATTENTION_MAX_T: at that T every kernel fits the smallest per-block opt-in shared
// memory of the GPUs these kernels run on (99 KiB: sm_86, sm_89, sm_120; sm_80 has 163 KiB, sm_90 227 KiB).
constexpr size_t kSmemFloor = 99u * 1024u;
static_assert(kQTileStatic + (size_t)QT * (MO_CUDA_ATTENTION_MAX_T + 1) * sizeof(float) <= kSmemFloor,
              "forward / dQ shared memory at the longest accepted T");
static_assert(kDkvStatic + 2 * (size_t)KB * MO_CUDA_ATTENTION_MAX_T * sizeof(float) <= kSmemFloor,
              "dK/dV shared memory at the longest accepted T");

}  // namespace

int cuda_attention_forward(void* stream, float* out, float* probs, const float* qkv, const int32_t* lengths,
                           int64_t B, int64_t T, int64_t H, int64_t Dh) {
    if (B <= 0 || T <= 0 || H <= 0 || Dh <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const float scale = 1.0f / sqrtf((float)Dh);
    const size_t dyn = (size_t)QT * (size_t)(T + 1) * sizeof(float);
    if (cudaError_t e = allow_smem(attention_forward_kernel, kQTileStatic, dyn)) return (int)e;
    const int64_t blocks = B * H * ((T + QT - 1) / QT);
    attention_forward_kernel<<<(unsigned)blocks, kThreads, dyn, s>>>(out, probs, qkv, lengths, B, (int)T, H, (int)Dh,
                                                                     scale);
    return cu::launch_status();
}

int cuda_attention_backward(void* stream, float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                            const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh) {
    if (B <= 0 || T <= 0 || H <= 0 || Dh <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    const float scale = 1.0f / sqrtf((float)Dh);
    const size_t dyn_q = (size_t)QT * (size_t)(T + 1) * sizeof(float);
    const size_t dyn_kv = 2 * (size_t)KB * (size_t)T * sizeof(float);
    if (cudaError_t e = allow_smem(attention_dq_kernel<true>, kQTileStatic, dyn_q)) return (int)e;
    if (cudaError_t e = allow_smem(attention_dq_kernel<false>, kQTileStatic, dyn_q)) return (int)e;
    if (cudaError_t e = allow_smem(attention_dkv_kernel, kDkvStatic, dyn_kv)) return (int)e;
    const int64_t qblocks = B * H * ((T + QT - 1) / QT);
    const int64_t kblocks = B * H * ((T + KB - 1) / KB);
    attention_dq_kernel<true><<<(unsigned)qblocks, kThreads, dyn_q, s>>>(d_qkv, d_out, qkv, probs, lengths, B,
                                                                         (int)T, H, (int)Dh, scale);
    if (int e = cu::launch_status()) return e;
    attention_dkv_kernel<<<(unsigned)kblocks, kThreads, dyn_kv, s>>>(d_qkv, d_out, qkv, probs, lengths, B, (int)T, H,
                                                                     (int)Dh, scale);
    if (int e = cu::launch_status()) return e;
    attention_dq_kernel<false><<<(unsigned)qblocks, kThreads, dyn_q, s>>>(d_qkv, d_out, qkv, probs, lengths, B,
                                                                          (int)T, H, (int)Dh, scale);
    return cu::launch_status();
}

}  // namespace mo
