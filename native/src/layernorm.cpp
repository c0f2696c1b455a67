// layernorm: cpu_layernorm_forward, cpu_layernorm_backward (Ba, Kiros & Hinton 2016, "Layer Normalization";
// the post-LayerNorm of BERT, Devlin et al. 2019). No methods.md section.
// Shapes: x, y, dy, dx [R,D]; gamma, beta [D]; mean, rstd [R] (saved by the forward for the backward).
//   forward:  mean = sum x / D, var = sum (x - mean)^2 / D (population), rstd = 1 / sqrt(var + eps),
//             y = ((x - mean) rstd) gamma + beta
//   backward: xhat = (x - mean) rstd, g = dy gamma,
//             dx = rstd (g - mean(g) - xhat mean(g xhat))
// Everything is computed in double and rounded once at the end: the statistics as two-pass sums (BERT's eps
// is 1e-12, so the variance must not lose digits to cancellation) in 8 partial sums per row combined in a
// fixed order (one result for any thread count). The saved mean is a float; the backward refines it in
// double (m = mean + sum(x - mean) / D), so forward and backward use the same xhat even in rows whose mean
// is large against their spread, where (x - float mean) alone would lose digits.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>

#include "ops.h"
#include "parallel.h"

namespace mo {
namespace {

constexpr int kLanes = 8;

inline double reduce_lanes(double* acc) {
    for (int h = kLanes / 2; h > 0; h >>= 1)
        for (int j = 0; j < h; ++j) acc[j] += acc[j + h];
    return acc[0];
}

// sum_i x[i] in double.
inline double sum(const float* x, int64_t n) {
    double acc[kLanes] = {0.0};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
    for (int j = 0; i < n; ++i, ++j) acc[j] += x[i];
    return reduce_lanes(acc);
}

// sum_i (x[i] - m) in double.
inline double sum_dev(const float* x, double m, int64_t n) {
    double acc[kLanes] = {0.0};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j] - m;
    for (int j = 0; i < n; ++i, ++j) acc[j] += x[i] - m;
    return reduce_lanes(acc);
}

// sum_i (x[i] - m)^2 in double.
inline double sum_sq_dev(const float* x, double m, int64_t n) {
    double acc[kLanes] = {0.0};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            const double d = x[i + j] - m;
            acc[j] += d * d;
        }
    for (int j = 0; i < n; ++i, ++j) {
        const double d = x[i] - m;
        acc[j] += d * d;
    }
    return reduce_lanes(acc);
}

}  // namespace

void cpu_layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                           int64_t R, int64_t D, float eps) {
    parallel_for(R, grain_for(D * 6), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = x + r * D;
            float* yr = y + r * D;
            const double m = sum(xr, D) / (double)D;
            const double s = 1.0 / sqrt(sum_sq_dev(xr, m, D) / (double)D + (double)eps);
            mean[r] = (float)m;
            rstd[r] = (float)s;
            for (int64_t d = 0; d < D; ++d)
                yr[d] = (float)(((double)xr[d] - m) * s * (double)gamma[d] + (double)beta[d]);
        }
    });
}

void cpu_layernorm_backward(float* dx, const float* dy, const float* x, const float* mean, const float* rstd,
                            const float* gamma, int64_t R, int64_t D) {
    parallel_for(R, grain_for(D * 10), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = x + r * D;
            const float* dyr = dy + r * D;
            float* dxr = dx + r * D;
            const double s = rstd[r];
            double m = mean[r];
            m += sum_dev(xr, m, D) / (double)D;
            // mean(g) and mean(g xhat) with g = dy gamma, xhat = (x - m) s.
            double sg[kLanes] = {0.0}, sgx[kLanes] = {0.0};
            int64_t d = 0;
            for (; d + kLanes <= D; d += kLanes)
                for (int j = 0; j < kLanes; ++j) {
                    const double g = (double)dyr[d + j] * (double)gamma[d + j], xh = ((double)xr[d + j] - m) * s;
                    sg[j] += g;
                    sgx[j] += g * xh;
                }
            for (int j = 0; d < D; ++d, ++j) {
                const double g = (double)dyr[d] * (double)gamma[d], xh = ((double)xr[d] - m) * s;
                sg[j] += g;
                sgx[j] += g * xh;
            }
            const double mg = reduce_lanes(sg) / (double)D, mgx = reduce_lanes(sgx) / (double)D;
            for (d = 0; d < D; ++d) {
                const double g = (double)dyr[d] * (double)gamma[d], xh = ((double)xr[d] - m) * s;
                dxr[d] = (float)(s * ((g - mg) - xh * mgx));
            }
        }
    });
}

}  // namespace mo
