// fastmath: inline float exp and normal CDF that GCC vectorizes (plain arithmetic and selects, no libm calls),
// for the element-wise loops of the encoder twins (gelu.cpp, attention.cpp). No methods.md section.
// Sources: exp is the Cephes expf (S. Moshier): round-to-nearest range reduction by ln 2 in two parts and a
// degree-6 polynomial, about 1 ulp; the complementary error function is the Chebyshev fit of Numerical
// Recipes (Press et al., 2nd ed., section 6.2, erfcc) with fractional error below 1.2e-7 for every argument.
// No shapes.
//
// Files that use these functions compile with floating-point contraction off (like cnn.cpp), so the
// AVX-512, AVX2 and baseline clones of MO_SIMD_CLONES do the same roundings and give identical results,
// and without trapping math (values are unchanged; it lets GCC if-convert the selects, which the AVX2 and
// baseline clones need to vectorize at all):  #pragma GCC optimize("fp-contract=off", "no-trapping-math")
#ifndef MASKOPT_FASTMATH_H
#define MASKOPT_FASTMATH_H

#include <stdint.h>
#include <string.h>

// (Not under ThreadSanitizer: the clones' resolver runs during relocation, before the TSan runtime is up.)
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define MO_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MO_SIMD_CLONES
#endif

namespace mo {

// e^x for float x: relative error about 1 ulp on [-87.3, 88.3]; 0 below -87.3 (the result would be
// subnormal), and x is clamped to 88.3 above (no input of ours gets there).
inline float fast_exp(float x) {
    const bool underflow = x < -87.3f;
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln 2) (1.5 * 2^23 trick)
    float r = x - n * 0.693359375f;                                         // ln 2 = C1 - C2, C1 exact in float
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = (p * (r * r) + r) + 1.0f;
    const int32_t bits = ((int32_t)(n >= -126.0f ? n : -126.0f) + 127) << 23;  // 2^n, n in [-126, 127] (NaN: -126)
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return underflow ? 0.0f : y * scale;
}

// erfc(z) for z >= 0 (Numerical Recipes erfcc), fractional error < 1.2e-7 plus float rounding.
inline float fast_erfc_nonneg(float z) {
    const float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t + -0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t + -1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t + -0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t + -1.26551223f;
    return t * fast_exp(p - z * z);
}

// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt 2) / 2, with the small tail computed directly (no 1 - 1 cancellation).
inline float fast_normal_cdf(float x) {
    const float half_erfc = 0.5f * fast_erfc_nonneg((x < 0.0f ? -x : x) * 0.70710678118654752f);
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

}  // namespace mo

#endif
