// matmul: cpu_matmul (mo_matmul: c[M,N] = a[M,K] op(b) + bias + beta c) and the strided gemm of gemm.h that
// it and the attention twins share. No methods.md section: the linear layers of the BERT-family encoder.
// The algorithm is Goto & van de Geijn (2008), "Anatomy of high-performance matrix multiplication", as
// organized by BLIS (Van Zee & van de Geijn 2015): b is packed once into column panels of NR, and a
// register-tiled MR x NR micro-kernel runs over blocks of KC steps. Row-major a is read in place, MR rows
// side by side (as BLIS's unpacked "sup" kernels do); a partial last row panel and transposed or strided a
// are packed into row panels of MR.
// Shapes: c [M,N]; a [M,K]; b [K,N] (trans_b = 0) or [N,K] (trans_b = 1); bias [N] or NULL.
//
// Micro-kernels: AVX-512 (12 x 32), AVX2 + FMA (6 x 16) and baseline x86-64 (4 x 8, multiply then add),
// chosen once at load time from the CPU's features. Each output element is one accumulation chain in
// increasing k (partial sums between K blocks are stored to c and reloaded, which is exact), so the result
// depends neither on the blocking, nor on the thread count, nor on which of the two FMA kernels ran (the
// baseline kernel rounds each product before adding it, so its results differ in the last bits).
// Threads split the output into MC x NC tiles; each element is written by exactly one thread.
#include <stdlib.h>

#include <algorithm>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MO_X86 1
#endif

#include "gemm.h"
#include "ops.h"
#include "parallel.h"

namespace mo {
namespace {

constexpr int64_t kMaxKC = 384;  // the K block: a kc x NR panel of b stays in L1/L2 while the a panels stream by
constexpr int64_t kMC = 96;      // rows per task tile (a multiple of every MR)
constexpr int64_t kNC = 384;     // columns per task tile (a multiple of every NR)
constexpr int kMaxTile = 12 * 32;

// Computes the full MR x NR tile at c (row stride ldc) from kc steps of a and of the packed b, bp [kc][NR].
// a is packed, [kc][MR] (the `packed` kernel; lda unused), or read in place, a[i lda + k] (the `direct`
// kernel, for row-major a: no packing, MR rows streamed side by side). load_c: start from c (else from 0);
// bias (NR entries, or NULL) is added after the last step.
using Kernel = void (*)(int64_t kc, const float* a, int64_t lda, const float* bp, float* c, int64_t ldc, bool load_c,
                        const float* bias);

struct Isa {
    int mr, nr;
    Kernel packed, direct;
};

// ---- micro-kernels ----

#ifdef MO_X86
template <int MR, int NV, bool DIRECT>
__attribute__((target("avx512f"))) void kernel_avx512(int64_t kc, const float* ap, int64_t lda, const float* bp,
                                                      float* c, int64_t ldc, bool load_c, const float* bias) {
    constexpr int NR = 16 * NV;
    const int64_t si = DIRECT ? lda : 1, sk = DIRECT ? 1 : MR;  // a[i si + k sk]
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = load_c ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
        __m512 b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const __m512 a = _mm512_set1_ps(ap[i * si]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
        }
        ap += sk;
        bp += NR;
    }
    if (bias) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            const __m512 bb = _mm512_loadu_ps(bias + 16 * v);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) acc[i][v] = _mm512_add_ps(acc[i][v], bb);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

template <int MR, int NV, bool DIRECT>
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* ap, int64_t lda, const float* bp,
                                                     float* c, int64_t ldc, bool load_c, const float* bias) {
    constexpr int NR = 8 * NV;
    const int64_t si = DIRECT ? lda : 1, sk = DIRECT ? 1 : MR;
    __m256 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = load_c ? _mm256_loadu_ps(c + i * ldc + 8 * v) : _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
        __m256 b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) b[v] = _mm256_load_ps(bp + 8 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const __m256 a = _mm256_broadcast_ss(ap + i * si);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);
        }
        ap += sk;
        bp += NR;
    }
    if (bias) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            const __m256 bb = _mm256_loadu_ps(bias + 8 * v);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) acc[i][v] = _mm256_add_ps(acc[i][v], bb);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}
#endif

// Portable kernel: the same chain with the product rounded before the add (no FMA on such CPUs).
template <int MR, int NR, bool DIRECT>
void kernel_base(int64_t kc, const float* ap, int64_t lda, const float* bp, float* c, int64_t ldc, bool load_c,
                 const float* bias) {
    const int64_t si = DIRECT ? lda : 1, sk = DIRECT ? 1 : MR;
    float acc[MR][NR];
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] = load_c ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; ++k) {
        for (int i = 0; i < MR; ++i) {
            const float a = ap[i * si];
            for (int j = 0; j < NR; ++j) {
                const float p = a * bp[j];
                acc[i][j] = acc[i][j] + p;
            }
        }
        ap += sk;
        bp += NR;
    }
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) c[i * ldc + j] = bias ? acc[i][j] + bias[j] : acc[i][j];
}

Isa pick_isa() {
#ifdef MO_X86
#if defined(__GNUC__)
    __builtin_cpu_init();  // may run before the constructors that would initialize the CPU model
    if (__builtin_cpu_supports("avx512f")) return {12, 32, kernel_avx512<12, 2, false>, kernel_avx512<12, 2, true>};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return {6, 16, kernel_avx2<6, 2, false>, kernel_avx2<6, 2, true>};
#endif
#endif
    return {4, 8, kernel_base<4, 8, false>, kernel_base<4, 8, true>};
}

const Isa g_isa = pick_isa();  // chosen once, at load time

// ---- scratch: one growing 64-byte aligned buffer per thread and purpose ----

struct Scratch {
    float* p = nullptr;
    size_t cap = 0;  // floats
    ~Scratch() { free(p); }
    float* get(size_t n) {
        if (n > cap) {
            free(p);
            p = nullptr;
            cap = 0;
            size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
            p = static_cast<float*>(aligned_alloc(64, bytes));
            if (!p) throw std::bad_alloc();
            cap = n;
        }
        return p;
    }
};

thread_local Scratch t_packed_b, t_packed_a;

// ---- packing ----

// Column panel j0 .. j0+cols-1 (cols <= nr) of b, all K rows, into dst [K][nr]; columns >= cols are 0.
void pack_b_panel(float* dst, View b, int64_t j0, int64_t cols, int64_t K, int nr) {
    if (b.cs == 1) {  // rows of the panel are contiguous
        for (int64_t k = 0; k < K; ++k) {
            const float* src = b.p + k * b.rs + j0;
            float* d = dst + k * nr;
            for (int64_t j = 0; j < cols; ++j) d[j] = src[j];
            for (int64_t j = cols; j < nr; ++j) d[j] = 0.0f;
        }
        return;
    }
    if (cols < nr)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t j = cols; j < nr; ++j) dst[k * nr + j] = 0.0f;
    if (b.rs == 1) {  // transposed b: each column is contiguous; 8 x 8 blocks keep reads and writes local
        int64_t k0 = 0;
        for (; k0 + 8 <= K; k0 += 8)
            for (int64_t j = 0; j < cols; ++j) {
                const float* src = b.p + (j0 + j) * b.cs + k0;
                for (int kk = 0; kk < 8; ++kk) dst[(k0 + kk) * nr + j] = src[kk];
            }
        for (int64_t j = 0; j < cols; ++j)
            for (int64_t k = k0; k < K; ++k) dst[k * nr + j] = b.p[(j0 + j) * b.cs + k];
        return;
    }
    for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < K; ++k) dst[k * nr + j] = b.p[(j0 + j) * b.cs + k * b.rs];
}

// Rows i0 .. i0+rows-1, steps k0 .. k0+kc-1 of a into dst: row panels of mr, each [kc][mr], zero-padded rows.
void pack_a_block(float* dst, View a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, int mr) {
    for (int64_t q = 0; q < rows; q += mr) {
        const int64_t m = std::min<int64_t>(mr, rows - q);
        float* d = dst + q * kc;
        if (a.rs == 1 && m == mr) {  // transposed a: the mr rows of one step are contiguous
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = a.p + (i0 + q) + (k0 + k) * a.cs;
                for (int i = 0; i < mr; ++i) d[k * mr + i] = src[i];
            }
            continue;
        }
        for (int64_t i = 0; i < m; ++i) {
            const float* src = a.p + (i0 + q + i) * a.rs + k0 * a.cs;
            for (int64_t k = 0; k < kc; ++k) d[k * mr + i] = src[k * a.cs];
        }
        for (int64_t i = m; i < mr; ++i)
            for (int64_t k = 0; k < kc; ++k) d[k * mr + i] = 0.0f;
    }
}

// One micro-tile from packed a (lda = 0) or row-major a read in place (lda > 0, full tiles only); partial
// tiles at the right and bottom edges go through a padded copy of c.
void run_tile(const Isa& isa, int64_t kc, const float* a, int64_t lda, const float* bp, float* c, int64_t ldc,
              int64_t rows, int64_t cols, bool load_c, const float* bias) {
    const Kernel kernel = lda > 0 ? isa.direct : isa.packed;
    if (rows == isa.mr && cols == isa.nr) {
        kernel(kc, a, lda, bp, c, ldc, load_c, bias);
        return;
    }
    alignas(64) float tile[kMaxTile];
    alignas(64) float tile_bias[32];
    const int nr = isa.nr;
    if (load_c)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) tile[i * nr + j] = c[i * ldc + j];
    if (bias) {
        for (int64_t j = 0; j < cols; ++j) tile_bias[j] = bias[j];
        for (int64_t j = cols; j < nr; ++j) tile_bias[j] = 0.0f;
    }
    kernel(kc, a, lda, bp, tile, nr, load_c, bias ? tile_bias : nullptr);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) c[i * ldc + j] = tile[i * nr + j];
}

}  // namespace

void gemm(float* c, int64_t ldc, View a, View b, const float* bias, int64_t M, int64_t N, int64_t K, bool accumulate,
          bool parallel) {
    const Isa& isa = g_isa;
    const int mr = isa.mr, nr = isa.nr;
    const int64_t panels = (N + nr - 1) / nr;

    // b once, whole: panel p is [K][nr] at packed + p K nr.
    float* packed = t_packed_b.get((size_t)(panels * K * nr));
    auto pack_panels = [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p)
            pack_b_panel(packed + p * K * nr, b, p * nr, std::min<int64_t>(nr, N - p * nr), K, nr);
    };
    if (parallel)
        parallel_for(panels, grain_for(K * nr * 2), pack_panels);
    else
        pack_panels(0, panels);

    // K blocks of equal size (at most kMaxKC); the blocking does not change any result.
    const int64_t kblocks = (K + kMaxKC - 1) / kMaxKC;
    const int64_t kc_max = (K + kblocks - 1) / kblocks;
    const int64_t row_tiles = (M + kMC - 1) / kMC, col_tiles = (N + kNC - 1) / kNC;
    // Row-major a is read in place by full micro-tiles; only a partial last micro-panel (or a transposed
    // or otherwise strided a) is packed.
    const bool direct = a.cs == 1;

    auto run_tiles = [&](int64_t begin, int64_t end) {
        float* ap = t_packed_a.get((size_t)(kMC * kc_max));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t i0 = (task / col_tiles) * kMC, j0 = (task % col_tiles) * kNC;
            const int64_t rows = std::min<int64_t>(kMC, M - i0), cols = std::min<int64_t>(kNC, N - j0);
            const int64_t direct_rows = direct ? rows / mr * mr : 0;  // rows read in place
            for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
                const int64_t kc = std::min<int64_t>(kc_max, K - k0);
                const bool load_c = accumulate || k0 > 0, last = k0 + kc == K;
                if (direct_rows < rows) pack_a_block(ap + direct_rows * kc, a, i0 + direct_rows, rows - direct_rows,
                                                     k0, kc, mr);
                for (int64_t jj = 0; jj < cols; jj += nr) {
                    const int64_t j = j0 + jj;
                    const float* bp = packed + (j / nr) * K * nr + k0 * nr;
                    const float* bias_j = last && bias ? bias + j : nullptr;
                    const int64_t tile_cols = std::min<int64_t>(nr, cols - jj);
                    for (int64_t ii = 0; ii < rows; ii += mr) {
                        float* ct = c + (i0 + ii) * ldc + j;
                        if (ii < direct_rows)
                            run_tile(isa, kc, a.p + (i0 + ii) * a.rs + k0, a.rs, bp, ct, ldc, mr, tile_cols, load_c,
                                     bias_j);
                        else
                            run_tile(isa, kc, ap + ii * kc, 0, bp, ct, ldc, std::min<int64_t>(mr, rows - ii), tile_cols,
                                     load_c, bias_j);
                    }
                }
            }
        }
    };
    if (parallel)
        parallel_for(row_tiles * col_tiles, grain_for(kMC * kNC * K / 4), run_tiles);
    else
        run_tiles(0, row_tiles * col_tiles);
}

void cpu_matmul(float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N, int64_t K,
                int trans_b, float beta) {
    const View va{a, K, 1};
    const View vb = trans_b ? View{b, 1, K} : View{b, N, 1};
    gemm(c, N, va, vb, bias, M, N, K, beta != 0.0f, true);
}

}  // namespace mo
