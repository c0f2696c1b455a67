// cnn: the 1-D CNN text classifier (Kim 2014, CNN-static): cpu_cnn_forward, cpu_cnn_backward_input,
// cpu_cnn_backward_params. No methods.md section of its own: it is the CNN classifier that sections 5
// (diagnostic study) and 6 (VMASK) explain.
// Shapes: x, dx [B,T,D]; lengths [B]; widths [K] (host); logits, d_logits [B,C]; feat [B,K F];
// argmax [B,K F]; params / d_params, flat: for each k: W_k [F, w_k, D], b_k [F]; then fc_W [C, K F], fc_b [C].
// Row b has length L; width w has windows p in [0, max(L - w + 1, 1)); rows >= L read as 0.
//
// Speed: window p of width w is the contiguous block x[b, p .. p+w-1, :], and consecutive windows start D
// floats apart, so the scores of all windows of a row are one matrix product of the strided view
// A[p, j] = x[b, p D + j] (no im2col copy) with W_k^T, run by gemm.h's packed SGEMM. Rows shorter than w
// (one partial window) use dot products. The other hot loops are compiled for AVX-512, AVX2 and baseline
// x86-64 (picked at load time) with floating-point contraction off, so every clone does the same roundings
// in the same order: results are identical on every x86-64 CPU and for any thread count.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <vector>

#include "gemm.h"
#include "maskopt.h"
#include "ops.h"
#include "parallel.h"

// (Not under ThreadSanitizer: the clones' resolver runs during relocation, before the TSan runtime is up.)
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define MO_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MO_SIMD_CLONES
#endif

namespace mo {
namespace {

constexpr int kLanes = 16;  // independent partial sums per dot product (fixes the summation order)

// Offsets into the flat parameter vector.
struct Layout {
    int64_t w[MO_CNN_MAX_WIDTHS], W[MO_CNN_MAX_WIDTHS], b[MO_CNN_MAX_WIDTHS], fcW;  // fc_b follows fc_W
    Layout(const int32_t* widths, int64_t K, int64_t F, int64_t D) {
        int64_t off = 0;
        for (int64_t k = 0; k < K; ++k) {
            w[k] = widths[k];
            W[k] = off;
            b[k] = off + F * w[k] * D;
            off = b[k] + F;
        }
        fcW = off;
    }
};

inline float reduce_lanes(float* acc) {
    for (int h = kLanes / 2; h > 0; h >>= 1)
        for (int j = 0; j < h; ++j) acc[j] += acc[j + h];
    return acc[0];
}

// sum_i a[i] b[i] in kLanes partial sums, lane j taking i = j (mod kLanes), then a fixed pairwise reduction.
inline float dot(const float* a, const float* b, int64_t n) {
    float acc[kLanes] = {0.0f};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i < n; ++i, ++j) acc[j] += a[i] * b[i];
    return reduce_lanes(acc);
}

inline void axpy(float* y, float a, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// feat[f] = relu(max_p scores[p, f]), arg[f] = the first maximizing p.
void max_pool(float* feat, int32_t* arg, const float* scores, int64_t npos, int64_t F) {
    for (int64_t f = 0; f < F; ++f) {
        feat[f] = scores[f];
        arg[f] = 0;
    }
    for (int64_t p = 1; p < npos; ++p)
        for (int64_t f = 0; f < F; ++f)
            if (scores[p * F + f] > feat[f]) {
                feat[f] = scores[p * F + f];
                arg[f] = (int32_t)p;
            }
    for (int64_t f = 0; f < F; ++f) feat[f] = feat[f] > 0.0f ? feat[f] : 0.0f;
}

MO_SIMD_CLONES
void fc_forward(float* logits, const float* fcW, const float* fcb, const float* feat, int64_t C, int64_t KF) {
    for (int64_t c = 0; c < C; ++c) logits[c] = fcb[c] + dot(fcW + c * KF, feat, KF);
}

// dfeat[b, j] = (feat[b, j] > 0) sum_c d_logits[b, c] fc_W[c, j], c ascending; dfeat is [B, K F].
std::vector<float> feature_grad(const float* d_logits, const float* feat, const float* fcW, int64_t B, int64_t C,
                                int64_t KF) {
    std::vector<float> dfeat((size_t)(B * KF));
    parallel_for(B, grain_for(C * KF), [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b)
            for (int64_t j = 0; j < KF; ++j) {
                float g = 0.0f;
                if (feat[b * KF + j] > 0.0f)
                    for (int64_t c = 0; c < C; ++c) g += d_logits[b * C + c] * fcW[c * KF + j];
                dfeat[(size_t)(b * KF + j)] = g;
            }
    });
    return dfeat;
}

// dx[b, t, :] = sum_k sum_f dfeat[b, kF+f] W_k[f, t - argmax, :] over the filters whose maximizing window
// covers t, (k, f) ascending; t < L is the caller's condition.
MO_SIMD_CLONES
void dx_row(float* dxr, const float* dfeat_b, const int32_t* argmax_b, const float* params, const Layout& lay,
            int64_t t, int64_t K, int64_t F, int64_t D) {
    std::fill(dxr, dxr + D, 0.0f);
    for (int64_t k = 0; k < K; ++k) {
        const int64_t w = lay.w[k];
        const float* Wk = params + lay.W[k];
        for (int64_t f = 0; f < F; ++f) {
            const int64_t i = t - argmax_b[k * F + f];
            const float g = dfeat_b[k * F + f];
            if (i < 0 || i >= w || g == 0.0f) continue;
            axpy(dxr, g, Wk + (f * w + i) * D, D);
        }
    }
}

// d W_k[f] = sum_b dfeat[b, kF+f] x[b, argmax .. argmax+w-1, :] (rows < L only), d b_k[f] = sum_b dfeat, b ascending.
MO_SIMD_CLONES
void filter_grad(float* dW, float* db, const float* dfeat, const int32_t* argmax, const float* x,
                 const int32_t* lengths, int64_t j, int64_t KF, int64_t w, int64_t B, int64_t T, int64_t D) {
    std::fill(dW, dW + w * D, 0.0f);
    float gb = 0.0f;
    for (int64_t b = 0; b < B; ++b) {
        const float g = dfeat[b * KF + j];
        if (g == 0.0f) continue;
        gb += g;
        const int64_t a = argmax[b * KF + j];
        axpy(dW, g, x + (b * T + a) * D, std::min<int64_t>(w, lengths[b] - a) * D);
    }
    *db = gb;
}

// d fc_W[c, :] = sum_b d_logits[b, c] feat[b, :], d fc_b[c] = sum_b d_logits[b, c], b ascending.
MO_SIMD_CLONES
void fc_grad(float* dW, float* db, const float* d_logits, const float* feat, int64_t c, int64_t B, int64_t C,
             int64_t KF) {
    std::fill(dW, dW + KF, 0.0f);
    float gb = 0.0f;
    for (int64_t b = 0; b < B; ++b) {
        const float g = d_logits[b * C + c];
        gb += g;
        axpy(dW, g, feat + b * KF, KF);
    }
    *db = gb;
}

}  // namespace

void cpu_cnn_forward(float* logits, float* feat, int32_t* argmax, const float* x, const int32_t* lengths,
                     const float* params, const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B,
                     int64_t T, int64_t D) {
    const Layout lay(widths, K, F, D);
    const int64_t KF = K * F;
    // One (b, k) per item: all windows of row b by all filters of width k, then max-pooled into feat and
    // argmax at b KF + k F + f. Few items (a single text): the product itself is split over the threads.
    const bool inner_parallel = B * K < 4 * parallel_threads();
    auto item_fn = [&](int64_t begin, int64_t end) {
        std::vector<float> scores;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t b = item / K, k = item % K, w = lay.w[k], L = lengths[b];
            const float* Wk = params + lay.W[k];
            const float* bk = params + lay.b[k];
            const float* xb = x + b * T * D;
            float* fe = feat + b * KF + k * F;
            int32_t* am = argmax + b * KF + k * F;
            if (L < w) {  // one window, partly past the end of the row
                for (int64_t f = 0; f < F; ++f) {
                    const float v = bk[f] + dot(Wk + f * w * D, xb, L * D);
                    fe[f] = v > 0.0f ? v : 0.0f;
                    am[f] = 0;
                }
                continue;
            }
            const int64_t npos = L - w + 1;
            scores.resize((size_t)(npos * F));
            gemm(scores.data(), F, View{xb, D, 1}, View{Wk, 1, w * D}, bk, npos, F, w * D, false, inner_parallel);
            max_pool(fe, am, scores.data(), npos, F);
        }
    };
    if (inner_parallel)
        item_fn(0, B * K);
    else
        parallel_for(B * K, 1, item_fn);
    const float* fcW = params + lay.fcW;
    const float* fcb = fcW + C * KF;
    parallel_for(B, grain_for(C * KF), [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) fc_forward(logits + b * C, fcW, fcb, feat + b * KF, C, KF);
    });
}

void cpu_cnn_backward_input(float* dx, const float* d_logits, const float* feat, const int32_t* argmax,
                            const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F,
                            int64_t C, int64_t B, int64_t T, int64_t D) {
    const Layout lay(widths, K, F, D);
    const int64_t KF = K * F;
    const std::vector<float> dfeat = feature_grad(d_logits, feat, params + lay.fcW, B, C, KF);
    // One (b, t) row of dx per item, gathered from the filters whose window covers t.
    parallel_for(B * T, grain_for(KF * 4 + D), [&](int64_t begin, int64_t end) {
        for (int64_t bt = begin; bt < end; ++bt) {
            const int64_t b = bt / T, t = bt % T;
            float* dxr = dx + bt * D;
            if (t >= lengths[b])
                std::fill(dxr, dxr + D, 0.0f);
            else
                dx_row(dxr, dfeat.data() + b * KF, argmax + b * KF, params, lay, t, K, F, D);
        }
    });
}

void cpu_cnn_backward_params(float* d_params, const float* d_logits, const float* feat, const int32_t* argmax,
                             const float* x, const int32_t* lengths, const float* params, const int32_t* widths,
                             int64_t K, int64_t F, int64_t C, int64_t B, int64_t T, int64_t D) {
    const Layout lay(widths, K, F, D);
    const int64_t KF = K * F;
    const std::vector<float> dfeat = feature_grad(d_logits, feat, params + lay.fcW, B, C, KF);
    // One filter (k, f) per item: its slice of d W_k and its d b_k entry.
    parallel_for(KF, grain_for(B * 8 * D), [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            const int64_t k = j / F, f = j % F, w = lay.w[k];
            filter_grad(d_params + lay.W[k] + f * w * D, d_params + lay.b[k] + f, dfeat.data(), argmax, x, lengths,
                        j, KF, w, B, T, D);
        }
    });
    float* dfcW = d_params + lay.fcW;
    float* dfcb = dfcW + C * KF;
    parallel_for(C, grain_for(B * KF), [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) fc_grad(dfcW + c * KF, dfcb + c, d_logits, feat, c, B, C, KF);
    });
}

}  // namespace mo
