// matmul: mo_matmul, the dense layers of the encoder: c[M,N] = a[M,K] op(b) + bias[N] + beta c, with
// op(b) = b [K,N] (trans_b = 0) or b^T for b [N,K] (trans_b = 1, the nn.Linear weight layout); beta 0
// (c overwritten, never read) or 1 (c accumulates). Source of the math: the GEMM definition (BLAS sgemm);
// the kernels follow the classic shared-memory tiling with register blocking (Volkov and Demmel 2008) and
// the CUDA WMMA API for tensor cores (CUDA C++ Programming Guide, "Warp Matrix Functions").
// Shape legend: M rows of a and c, N columns of c, K the contracted width; all row-major.
// Three paths, all deterministic (each c element is written by one thread, k runs in a fixed order, no
// atomics), all with guarded (zero-filled) tile loads and guarded stores, so any M, N, K >= 0 work:
//   FP32: SIMT, 128x128 (8x8 per thread) or 64x64 (4x4 per thread) block tiles, double-buffered shared
//         memory fed through registers; the reference path, used for parity with the CPU.
//   TF32: wmma m16n16k8 (precision::tf32, inputs rounded by __float_to_tf32 while staging), FP32 accumulation.
//   BF16: wmma m16n16k16 (inputs rounded to bfloat16 while staging), FP32 accumulation.
// The tensor-core paths need sm_80+; on an older device the launcher falls back to FP32.
#include <cuda_bf16.h>
#include <mma.h>
#include <stdint.h>

#include <type_traits>

#include "common.cuh"
#include "maskopt.h"
#include "ops.h"

namespace mo {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;  // m tiles beyond this are looped over in the kernels

inline bool aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

// The epilogue of one output element: acc + bias[n] + beta c[m,n] (c is not read when beta == 0).
__device__ __forceinline__ float epilogue(float acc, const float* __restrict__ bias, const float* c, int64_t n,
                                          float beta) {
    float v = acc;
    if (bias != nullptr) v += bias[n];
    if (beta != 0.0f) v += beta * c[0];
    return v;
}

// ============================== FP32: SIMT tiles with register blocking ==============================
// Block tile BM x BN, k step BK, 256 threads as (BM/TM) x (BN/TN); thread (ty, tx) owns rows
// g*(4 BM/TM) + 4 ty + {0..3} for g < TM/4 and likewise for columns, so its shared-memory reads are
// float4s that are conflict-free (columns) or broadcast (rows). a is staged transposed (As[k][m]).
template <int BM, int BN, int BK, int TM, int TN, bool TRANS_B>
__global__ void __launch_bounds__(kThreads) sgemm_kernel(float* c, const float* __restrict__ a,
                                                         const float* __restrict__ b, const float* __restrict__ bias,
                                                         int64_t M, int64_t N, int64_t K, float beta, int vec_c) {
    static_assert((BM / TM) * (BN / TN) == kThreads, "thread count");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "float4 micro-tiles");
    constexpr int LA = BM * BK / kThreads;  // a elements per thread per k step
    constexpr int LB = BN * BK / kThreads;
    static_assert(LA * kThreads == BM * BK && LB * kThreads == BN * BK, "tile loads");
    constexpr int RSTRIDE = 4 * BM / TM, CSTRIDE = 4 * BN / TN;
    constexpr int APAD = BM + 4, BPAD = BN + 4;  // rows of 16-byte multiples; padding spreads the stores
    __shared__ __align__(16) float As[2][BK][APAD];
    __shared__ __align__(16) float Bs[2][BK][BPAD];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int64_t n0 = (int64_t)blockIdx.x * BN;
    const int64_t mtiles = (M + BM - 1) / BM;
    const int64_t nk = (K + BK - 1) / BK;

    for (int64_t mt = blockIdx.y; mt < mtiles; mt += gridDim.y) {
        const int64_t m0 = mt * BM;
        float ra[LA], rb[LB];
        auto load = [&](int64_t k0) {
#pragma unroll
            for (int i = 0; i < LA; ++i) {
                const int idx = tid + i * kThreads;
                const int m = idx / BK, k = idx % BK;
                const int64_t gm = m0 + m, gk = k0 + k;
                ra[i] = (gm < M && gk < K) ? a[gm * K + gk] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < LB; ++i) {
                const int idx = tid + i * kThreads;
                if (TRANS_B) {  // b [N,K]: consecutive threads walk k (coalesced)
                    const int n = idx / BK, k = idx % BK;
                    const int64_t gn = n0 + n, gk = k0 + k;
                    rb[i] = (gn < N && gk < K) ? b[gn * K + gk] : 0.0f;
                } else {  // b [K,N]: consecutive threads walk n
                    const int k = idx / BN, n = idx % BN;
                    const int64_t gn = n0 + n, gk = k0 + k;
                    rb[i] = (gn < N && gk < K) ? b[gk * N + gn] : 0.0f;
                }
            }
        };
        auto store = [&](int buf) {
#pragma unroll
            for (int i = 0; i < LA; ++i) {
                const int idx = tid + i * kThreads;
                As[buf][idx % BK][idx / BK] = ra[i];
            }
#pragma unroll
            for (int i = 0; i < LB; ++i) {
                const int idx = tid + i * kThreads;
                if (TRANS_B)
                    Bs[buf][idx % BK][idx / BK] = rb[i];
                else
                    Bs[buf][idx / BN][idx % BN] = rb[i];
            }
        };

        float acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

        load(0);
        store(0);
        __syncthreads();
        for (int64_t kt = 0; kt < nk; ++kt) {
            const int buf = (int)(kt & 1);
            if (kt + 1 < nk) load((kt + 1) * BK);  // global loads in flight during the math
#pragma unroll
            for (int k = 0; k < BK; ++k) {
                float av[TM], bv[TN];
#pragma unroll
                for (int g = 0; g < TM / 4; ++g) {
                    const float4 v = *reinterpret_cast<const float4*>(&As[buf][k][g * RSTRIDE + ty * 4]);
                    av[g * 4 + 0] = v.x;
                    av[g * 4 + 1] = v.y;
                    av[g * 4 + 2] = v.z;
                    av[g * 4 + 3] = v.w;
                }
#pragma unroll
                for (int g = 0; g < TN / 4; ++g) {
                    const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][k][g * CSTRIDE + tx * 4]);
                    bv[g * 4 + 0] = v.x;
                    bv[g * 4 + 1] = v.y;
                    bv[g * 4 + 2] = v.z;
                    bv[g * 4 + 3] = v.w;
                }
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
            // The other buffer was last read in step kt - 1, which every thread finished before the
            // barrier that ended it: it can be filled now; one barrier per step.
            if (kt + 1 < nk) store(buf ^ 1);
            __syncthreads();
        }

        // Epilogue: groups of 4 consecutive columns, stored as a float4 when c allows.
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int64_t gm = m0 + (i / 4) * RSTRIDE + ty * 4 + (i % 4);
            if (gm >= M) continue;
            float* crow = c + gm * N;
#pragma unroll
            for (int g = 0; g < TN / 4; ++g) {
                const int64_t gn = n0 + g * CSTRIDE + tx * 4;
                if (gn >= N) continue;
                if (vec_c && gn + 3 < N) {
                    float4 o = make_float4(acc[i][g * 4 + 0], acc[i][g * 4 + 1], acc[i][g * 4 + 2], acc[i][g * 4 + 3]);
                    if (bias != nullptr) {
                        o.x += bias[gn + 0];
                        o.y += bias[gn + 1];
                        o.z += bias[gn + 2];
                        o.w += bias[gn + 3];
                    }
                    if (beta != 0.0f) {
                        const float4 p = *reinterpret_cast<const float4*>(crow + gn);
                        o.x += beta * p.x;
                        o.y += beta * p.y;
                        o.z += beta * p.z;
                        o.w += beta * p.w;
                    }
                    *reinterpret_cast<float4*>(crow + gn) = o;
                } else {
#pragma unroll
                    for (int j = 0; j < 4; ++j)
                        if (gn + j < N) crow[gn + j] = epilogue(acc[i][g * 4 + j], bias, crow + gn + j, gn + j, beta);
                }
            }
        }
    }
}

// ============================== TF32 / BF16: tensor cores through wmma ==============================
// Block tile 128 x 64, k step 32, 8 warps as 4 (m) x 2 (n), each warp 32 x 32 = 2 x 2 fragments of 16 x 16.
// Tiles are converted while staged to shared memory (tf32-rounded floats, or bfloat16): a as As[m][k]
// (row_major), b as Bs[k][n] (row_major) when trans_b = 0 or Bs[n][k] (col_major) when trans_b = 1, so the
// global loads are float4s along the contiguous dimension either way. Single shared buffer fed through
// registers (the next tile's global loads are in flight during the math). The accumulators go through a
// per-warp 16 x 16 scratch (reusing As) for the guarded epilogue.
namespace wmma = nvcuda::wmma;

template <class E>
struct TcTraits;
template <>
struct TcTraits<float> {  // TF32
    static constexpr int FK = 8, PAD = 4;
    using Prec = wmma::precision::tf32;
    __device__ __forceinline__ static void put4(float* dst, float x, float y, float z, float w) {
        *reinterpret_cast<float4*>(dst) =
            make_float4(wmma::__float_to_tf32(x), wmma::__float_to_tf32(y), wmma::__float_to_tf32(z),
                        wmma::__float_to_tf32(w));
    }
};
template <>
struct TcTraits<__nv_bfloat16> {  // BF16
    static constexpr int FK = 16, PAD = 8;
    using Prec = __nv_bfloat16;
    __device__ __forceinline__ static void put4(__nv_bfloat16* dst, float x, float y, float z, float w) {
        __nv_bfloat162 lo = __floats2bfloat162_rn(x, y), hi = __floats2bfloat162_rn(z, w);
        uint2 u;
        u.x = *reinterpret_cast<uint32_t*>(&lo);
        u.y = *reinterpret_cast<uint32_t*>(&hi);
        *reinterpret_cast<uint2*>(dst) = u;
    }
};

constexpr int TC_BM = 128, TC_BN = 64, TC_BK = 32;
constexpr int TC_SCRATCH_LD = 20;  // floats per row of a warp's 16 x 16 epilogue scratch

// Four consecutive floats p[0..3] of a row whose valid length is `lim` (elements at index >= lim read 0);
// a float4 load when `vec` (the row start and the column are 16-byte aligned) and all four are valid.
__device__ __forceinline__ float4 load4(const float* __restrict__ p, int64_t col, int64_t lim, bool vec) {
    if (vec && col + 3 < lim) return *reinterpret_cast<const float4*>(p + col);
    float4 v;
    v.x = col + 0 < lim ? p[col + 0] : 0.0f;
    v.y = col + 1 < lim ? p[col + 1] : 0.0f;
    v.z = col + 2 < lim ? p[col + 2] : 0.0f;
    v.w = col + 3 < lim ? p[col + 3] : 0.0f;
    return v;
}

template <class E, bool TRANS_B>
__global__ void __launch_bounds__(kThreads, 2) tc_gemm_kernel(float* c, const float* __restrict__ a,
                                                           const float* __restrict__ b,
                                                           const float* __restrict__ bias, int64_t M, int64_t N,
                                                           int64_t K, float beta, int vec_a, int vec_b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using Tr = TcTraits<E>;
    using Prec = typename Tr::Prec;
    constexpr int BM = TC_BM, BN = TC_BN, BK = TC_BK, FK = Tr::FK, PAD = Tr::PAD;
    constexpr int LDA = BK + PAD;                      // As[BM][LDA]
    constexpr int LDB = TRANS_B ? BK + PAD : BN + PAD;  // Bs[BN][LDB] (col_major b) or Bs[BK][LDB] (row_major)
    constexpr int B_ROWS = TRANS_B ? BN : BK;
    constexpr int A_BYTES = BM * LDA * (int)sizeof(E);
    constexpr int B_BYTES = B_ROWS * LDB * (int)sizeof(E);
    constexpr int SCRATCH_BYTES = (kThreads / 32) * 16 * TC_SCRATCH_LD * (int)sizeof(float);
    static_assert(A_BYTES >= SCRATCH_BYTES, "the epilogue scratch reuses As");
    static_assert(A_BYTES % 128 == 0, "Bs alignment");
    constexpr int LA = BM * BK / 4 / kThreads;  // float4 chunks of a per thread (4)
    constexpr int LB = BN * BK / 4 / kThreads;  // and of b (2)
    static_assert(LA * 4 * kThreads == BM * BK && LB * 4 * kThreads == BN * BK, "tile loads");
    using BLayout = typename std::conditional<TRANS_B, wmma::col_major, wmma::row_major>::type;

    __shared__ __align__(128) unsigned char smem[A_BYTES + B_BYTES];
    E* As = reinterpret_cast<E*>(smem);
    E* Bs = reinterpret_cast<E*>(smem + A_BYTES);

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 1, wn = warp & 1;  // warp tile origin (wm*32, wn*32)
    const int64_t n0 = (int64_t)blockIdx.x * BN;
    const int64_t mtiles = (M + BM - 1) / BM;
    const int64_t nk = (K + BK - 1) / BK;
    const bool va = vec_a != 0, vb = vec_b != 0;

    for (int64_t mt = blockIdx.y; mt < mtiles; mt += gridDim.y) {
        const int64_t m0 = mt * BM;
        float4 ra[LA], rb[LB];
        auto load = [&](int64_t k0) {
#pragma unroll
            for (int i = 0; i < LA; ++i) {
                const int idx = tid + i * kThreads;
                const int m = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                const int64_t gm = m0 + m;
                ra[i] = gm < M ? load4(a + gm * K, k0 + kq, K, va) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            }
#pragma unroll
            for (int i = 0; i < LB; ++i) {
                const int idx = tid + i * kThreads;
                if (TRANS_B) {  // b [N,K]: rows n, float4 along k
                    const int n = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                    const int64_t gn = n0 + n;
                    rb[i] = gn < N ? load4(b + gn * K, k0 + kq, K, vb) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                } else {  // b [K,N]: rows k, float4 along n
                    const int k = idx / (BN / 4), nq = (idx % (BN / 4)) * 4;
                    const int64_t gk = k0 + k;
                    rb[i] = gk < K ? load4(b + gk * N, n0 + nq, N, vb) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                }
            }
        };
        auto store = [&]() {
#pragma unroll
            for (int i = 0; i < LA; ++i) {
                const int idx = tid + i * kThreads;
                const int m = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                Tr::put4(As + m * LDA + kq, ra[i].x, ra[i].y, ra[i].z, ra[i].w);
            }
#pragma unroll
            for (int i = 0; i < LB; ++i) {
                const int idx = tid + i * kThreads;
                if (TRANS_B) {
                    const int n = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                    Tr::put4(Bs + n * LDB + kq, rb[i].x, rb[i].y, rb[i].z, rb[i].w);
                } else {
                    const int k = idx / (BN / 4), nq = (idx % (BN / 4)) * 4;
                    Tr::put4(Bs + k * LDB + nq, rb[i].x, rb[i].y, rb[i].z, rb[i].w);
                }
            }
        };

        wmma::fragment<wmma::accumulator, 16, 16, FK, float> acc[2][2];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

        if (nk > 0) load(0);
        for (int64_t kt = 0; kt < nk; ++kt) {
            store();
            __syncthreads();
            if (kt + 1 < nk) load((kt + 1) * BK);
#pragma unroll
            for (int kk = 0; kk < BK; kk += FK) {
                wmma::fragment<wmma::matrix_a, 16, 16, FK, Prec, wmma::row_major> fa[2];
                wmma::fragment<wmma::matrix_b, 16, 16, FK, Prec, BLayout> fb[2];
#pragma unroll
                for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], As + (wm * 32 + i * 16) * LDA + kk, LDA);
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    const E* p = TRANS_B ? Bs + (wn * 32 + j * 16) * LDB + kk : Bs + kk * LDB + wn * 32 + j * 16;
                    wmma::load_matrix_sync(fb[j], p, LDB);
                }
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
            }
            __syncthreads();  // the tile is consumed: the next store (or the scratch) may overwrite it
        }

        float* scratch = reinterpret_cast<float*>(smem) + warp * 16 * TC_SCRATCH_LD;
        const int r = lane >> 1, c0 = (lane & 1) * 8;
#pragma unroll
        for (int i = 0; i < 2; ++i) {
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                wmma::store_matrix_sync(scratch, acc[i][j], TC_SCRATCH_LD, wmma::mem_row_major);
                __syncwarp();
                const int64_t gm = m0 + wm * 32 + i * 16 + r;
                const int64_t gn0 = n0 + wn * 32 + j * 16 + c0;
                if (gm < M) {
                    float* crow = c + gm * N;
#pragma unroll
                    for (int q = 0; q < 8; ++q) {
                        const int64_t gn = gn0 + q;
                        if (gn < N) crow[gn] = epilogue(scratch[r * TC_SCRATCH_LD + c0 + q], bias, crow + gn, gn, beta);
                    }
                }
                __syncwarp();  // the scratch is rewritten by the next fragment
            }
        }
        __syncthreads();  // the scratch aliases As: the next m tile's staging must wait for every warp
    }
#else
    // Built for an architecture without TF32/BF16 tensor cores: the launcher never selects this kernel.
    (void)c, (void)a, (void)b, (void)bias, (void)M, (void)N, (void)K, (void)beta, (void)vec_a, (void)vec_b;
#endif
}

template <int BM, int BN, int BK, int TM, int TN>
int launch_sgemm(cudaStream_t s, float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
                 int64_t K, int trans_b, float beta) {
    const int64_t mtiles = (M + BM - 1) / BM, ntiles = (N + BN - 1) / BN;
    const dim3 grid((unsigned)ntiles, (unsigned)(mtiles < kMaxGridY ? mtiles : kMaxGridY));
    const int vec_c = (N % 4 == 0 && aligned16(c)) ? 1 : 0;
    if (trans_b)
        sgemm_kernel<BM, BN, BK, TM, TN, true><<<grid, kThreads, 0, s>>>(c, a, b, bias, M, N, K, beta, vec_c);
    else
        sgemm_kernel<BM, BN, BK, TM, TN, false><<<grid, kThreads, 0, s>>>(c, a, b, bias, M, N, K, beta, vec_c);
    return cu::launch_status();
}

template <class E>
int launch_tc(cudaStream_t s, float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
              int64_t K, int trans_b, float beta) {
    const int64_t mtiles = (M + TC_BM - 1) / TC_BM, ntiles = (N + TC_BN - 1) / TC_BN;
    const dim3 grid((unsigned)ntiles, (unsigned)(mtiles < kMaxGridY ? mtiles : kMaxGridY));
    // float4 loads need 16-byte aligned rows: a row starts at p + r * (row length).
    const int vec_a = (K % 4 == 0 && aligned16(a)) ? 1 : 0;
    const int vec_b = ((trans_b ? K : N) % 4 == 0 && aligned16(b)) ? 1 : 0;
    if (trans_b)
        tc_gemm_kernel<E, true><<<grid, kThreads, 0, s>>>(c, a, b, bias, M, N, K, beta, vec_a, vec_b);
    else
        tc_gemm_kernel<E, false><<<grid, kThreads, 0, s>>>(c, a, b, bias, M, N, K, beta, vec_a, vec_b);
    return cu::launch_status();
}

}  // namespace

int cuda_matmul(void* stream, float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
                int64_t K, int trans_b, float beta, int precision) {
    if (M <= 0 || N <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    if (precision == MO_PRECISION_TF32 || precision == MO_PRECISION_BF16) {
        int dev = 0, major = 0;
        cudaError_t e = cudaGetDevice(&dev);
        if (e == cudaSuccess) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
        if (e != cudaSuccess) return (int)e;
        if (major >= 8) {
            return precision == MO_PRECISION_TF32
                       ? launch_tc<float>(s, c, a, b, bias, M, N, K, trans_b, beta)
                       : launch_tc<__nv_bfloat16>(s, c, a, b, bias, M, N, K, trans_b, beta);
        }
        // No TF32/BF16 tensor cores (pre-Ampere): FP32 is the closest exact-enough substitute.
    }
    // Large outputs take 128 x 128 tiles (more work per thread); smaller ones 64 x 64 to fill the GPU.
    const int64_t big_tiles = ((M + 127) / 128) * ((N + 127) / 128);
    if (big_tiles >= 256) return launch_sgemm<128, 128, 8, 8, 8>(s, c, a, b, bias, M, N, K, trans_b, beta);
    return launch_sgemm<64, 64, 16, 4, 4>(s, c, a, b, bias, M, N, K, trans_b, beta);
}

}  // namespace mo
