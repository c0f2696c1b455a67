// matmul_bf16: cpu_matmul_bf16, mo_matmul with MO_PRECISION_BF16 on CPUs with AVX512-BF16 (VDPBF16PS): the inputs
// rounded to bfloat16 (round to nearest even), products summed in FP32, as CUDA's BF16 tensor-core path does. No
// methods.md section: the linear layers of the BERT-family encoder, at twice the FP32 multiply-add rate.
// Shapes: c [M,N]; a [M,K]; b [K,N] (trans_b = 0) or [N,K] (trans_b = 1); bias [N] or NULL.
//
// a is converted once into rows of K/2 bf16 pairs (K rounded up to even with a zero), b into column panels of 32,
// [K/2][32][2] bf16; an 8 x 32 micro-kernel accumulates one pair of k per VDPBF16PS. Each element of c is
// ((accumulate ? c : 0) + the pair products in increasing k) + bias[j]: one chain whatever the thread count or the
// tiling, so results are deterministic. The instruction flushes subnormal inputs and products to zero.
// Threads split the column panels. cpu_matmul_bf16_available() says whether this CPU (and compiler) has the path;
// dispatch falls back to the FP32 product where it has not.
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <new>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#include <immintrin.h>
#define MO_BF16 1
#endif

#include "ops.h"
#include "parallel.h"

namespace mo {
namespace {

#ifdef MO_BF16
constexpr int kMR = 8, kNR = 32;

#define MO_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

// dst[0 .. (n+1)/2) = bf16 pairs of src[0 .. n) (round to nearest even; a zero completes an odd n).
MO_BF16_TARGET void convert_row(uint32_t* dst, const float* src, int64_t n) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        _mm512_storeu_si512(dst + i / 2, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i)));
    if (i < n) {
        const int64_t r = n - i;
        const __mmask16 m0 = (__mmask16)(r >= 16 ? 0xFFFF : (1u << r) - 1);
        const __mmask16 m1 = (__mmask16)(r <= 16 ? 0 : (1u << (r - 16)) - 1);
        const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + i + 16),
                                                         _mm512_maskz_loadu_ps(m0, src + i));
        _mm512_mask_storeu_epi32(dst + i / 2, (__mmask16)((1u << ((r + 1) / 2)) - 1), v);
    }
}

// One column panel of b [K][N] (row-major, trans_b = 0): d[q][j] = (b[2q][j0+j], b[2q+1][j0+j]) for j < 32, zero past
// N and K.
MO_BF16_TARGET void pack_panel_rows(uint32_t* d, const float* b, int64_t K, int64_t N, int64_t j0) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                                6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const int64_t kp = (K + 1) / 2;
    for (int h = 0; h < 2; ++h) {
        const int64_t c0 = j0 + 16 * h, r = std::max<int64_t>(0, std::min<int64_t>(16, N - c0));
        const __mmask16 m = (__mmask16)(r >= 16 ? 0xFFFF : (1u << r) - 1);
        for (int64_t q = 0; q < kp; ++q) {
            const __m512 x0 = _mm512_maskz_loadu_ps(m, b + 2 * q * N + c0);
            const __m512 x1 = 2 * q + 1 < K ? _mm512_maskz_loadu_ps(m, b + (2 * q + 1) * N + c0) : _mm512_setzero_ps();
            const __m512i v = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
            _mm512_store_si512(d + q * kNR + 16 * h, v);
        }
    }
}

struct Buffer {
    uint32_t* p = nullptr;
    size_t cap = 0;
    ~Buffer() { free(p); }
    uint32_t* get(size_t n) {
        if (n > cap) {
            free(p);
            p = static_cast<uint32_t*>(aligned_alloc(64, (n * 4 + 63) / 64 * 64));
            if (!p) throw std::bad_alloc();
            cap = n;
        }
        return p;
    }
};
thread_local Buffer t_a, t_b, t_a_col;

// c[8 x 32] (row stride ldc) = (load_c ? c : 0) + sum over kp of a pairs (8 rows, stride lda pairs) . b panel.
MO_BF16_TARGET void kernel(int64_t kp, const uint32_t* a, int64_t lda,
                                                           const uint32_t* bp, float* c, int64_t ldc, bool load_c) {
    __m512 acc[kMR][2];
    for (int i = 0; i < kMR; ++i)
        for (int v = 0; v < 2; ++v) acc[i][v] = load_c ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
    for (int64_t k = 0; k < kp; ++k) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(bp + k * kNR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(bp + k * kNR + 16);
#pragma GCC unroll 8
        for (int i = 0; i < kMR; ++i) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * lda + k]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    for (int i = 0; i < kMR; ++i)
        for (int v = 0; v < 2; ++v) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

bool detect() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}
const bool g_available = detect();
#endif

}  // namespace

bool cpu_matmul_bf16_available() {
#ifdef MO_BF16
    return g_available;
#else
    return false;
#endif
}

void cpu_matmul_bf16(float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N, int64_t K,
                     int trans_b, float beta) {
#ifdef MO_BF16
    const int64_t kp = (K + 1) / 2, mp = (M + kMR - 1) / kMR * kMR, panels = (N + kNR - 1) / kNR;
    // a: [mp][kp] pairs, zero rows and zero k past the end.
    uint32_t* ap = t_a.get((size_t)(mp * kp));
    parallel_for(mp, grain_for(kp * 4), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            if (i < M)
                convert_row(ap + i * kp, a + i * K, K);
            else
                std::fill(ap + i * kp, ap + (i + 1) * kp, 0u);
        }
    });
    // b: panel p is [kp][32] pairs of b(k, j) = trans_b ? b[j K + k] : b[k N + j]; zero past N and K.
    uint32_t* bp = t_b.get((size_t)(panels * kp * kNR));
    parallel_for(panels, grain_for(kp * kNR * 4), [&](int64_t begin, int64_t end) {
        uint32_t* col = trans_b ? t_a_col.get((size_t)kp) : nullptr;
        for (int64_t p = begin; p < end; ++p) {
            uint32_t* d = bp + p * kp * kNR;
            if (!trans_b) {
                pack_panel_rows(d, b, K, N, p * kNR);
                continue;
            }
            for (int64_t j = 0; j < kNR; ++j) {  // column j of the panel: row p 32 + j of b, pairs contiguous
                const int64_t n = p * kNR + j;
                if (n < N) convert_row(col, b + n * K, K);
                for (int64_t q = 0; q < kp; ++q) d[q * kNR + j] = n < N ? col[q] : 0u;
            }
        }
    });
    const bool accumulate = beta != 0.0f;
    parallel_for(panels, grain_for(mp * kp * kNR / 8), [&](int64_t begin, int64_t end) {
        alignas(64) float tile[kMR * kNR];
        for (int64_t p = begin; p < end; ++p) {
            const int64_t j0 = p * kNR, cols = std::min<int64_t>(kNR, N - j0);
            for (int64_t i0 = 0; i0 < M; i0 += kMR) {
                const int64_t rows = std::min<int64_t>(kMR, M - i0);
                const bool full = rows == kMR && cols == kNR;
                float* ct = full ? c + i0 * N + j0 : tile;
                const int64_t ldc = full ? N : kNR;
                if (!full && accumulate)
                    for (int64_t i = 0; i < rows; ++i)
                        for (int64_t j = 0; j < cols; ++j) tile[i * kNR + j] = c[(i0 + i) * N + j0 + j];
                kernel(kp, ap + i0 * kp, kp, bp + p * kp * kNR, ct, ldc, accumulate);
                for (int64_t i = 0; i < rows; ++i) {
                    float* row = c + (i0 + i) * N + j0;
                    if (!full)
                        for (int64_t j = 0; j < cols; ++j) row[j] = tile[i * kNR + j];
                    if (bias)
                        for (int64_t j = 0; j < cols; ++j) row[j] += bias[j0 + j];
                }
            }
        }
    });
#else
    (void)c, (void)a, (void)b, (void)bias, (void)M, (void)N, (void)K, (void)trans_b, (void)beta;
    abort();  // dispatch checks cpu_matmul_bf16_available() first
#endif
}

}  // namespace mo
