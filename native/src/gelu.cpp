// gelu: cpu_gelu_forward, cpu_gelu_backward, the exact (erf) GELU of the BERT feed-forward layer
// (Hendrycks & Gimpel 2016, "Gaussian Error Linear Units"; no methods.md section).
// Shapes: x, y, dy, dx [n] (any layout, element-wise).
//   y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),   dx = dy (Phi(x) + x phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
// Phi and exp come from fastmath.h (vectorized; Phi to about 1e-7 absolute, and relatively accurate in the
// left tail, where 1 + erf would cancel).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "fastmath.h"
#include "ops.h"
#include "parallel.h"

namespace mo {
namespace {

MO_SIMD_CLONES
void gelu_forward_range(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * fast_normal_cdf(x[i]);
}

MO_SIMD_CLONES
void gelu_backward_range(float* dx, const float* dy, const float* x, int64_t n) {
    constexpr float kInvSqrt2Pi = 0.39894228040143268f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        const float pdf = kInvSqrt2Pi * fast_exp(-0.5f * (v * v));
        dx[i] = dy[i] * (fast_normal_cdf(v) + v * pdf);
    }
}

}  // namespace

void cpu_gelu_forward(float* y, const float* x, int64_t n) {
    parallel_for(n, 16384, [&](int64_t begin, int64_t end) { gelu_forward_range(y + begin, x + begin, end - begin); });
}

void cpu_gelu_backward(float* dx, const float* dy, const float* x, int64_t n) {
    parallel_for(n, 16384, [&](int64_t begin, int64_t end) {
        gelu_backward_range(dx + begin, dy + begin, x + begin, end - begin);
    });
}

}  // namespace mo
