// gate_math: per-element math of the hard-concrete and HardKuma gates (methods.md sections 1 and 3) and of the
// target-rate multiplier (rate.cpp, rate.cu),
// shared verbatim by the CPU twins (gates.cpp, kuma.cpp) and the CUDA kernels (gates.cu, kuma.cu) so the
// two backends differ only in how elements are scheduled, never in what is computed.
// Everything is float32 and written to stay finite for any finite parameter: log space, no 0/0.
#ifndef MASKOPT_GATE_MATH_H
#define MASKOPT_GATE_MATH_H

#include <math.h>

#include "philox.h"

namespace mo {

// lgamma without glibc's global signgam write (a data race when CPU threads call lgammaf).
MO_HD float lgammaf_safe(float x) {
#if defined(__CUDA_ARCH__)
    return lgammaf(x);
#else
    int sign;
    return lgammaf_r(x, &sign);
#endif
}

MO_HD float sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

// ---- hard concrete: parameter log alpha ----

// One reparameterized sample from uniform u; *dz = dz/dlog alpha (0 where the clamp is active).
MO_HD void hc_sample(float u, float logalpha, float beta, float l, float r, float* z, float* dz) {
    float s = sigmoidf((logf(u) - log1pf(-u) + logalpha) / beta);
    float sbar = l + (r - l) * s;
    if (sbar <= 0.0f) {
        *z = 0.0f;
        *dz = 0.0f;
    } else if (sbar >= 1.0f) {
        *z = 1.0f;
        *dz = 0.0f;
    } else {
        *z = sbar;
        *dz = (r - l) * s * (1.0f - s) / beta;
    }
}

// Test-time gate (Louizos et al.): clamp(sigmoid(log alpha) (r - l) + l, 0, 1).
MO_HD float hc_gate(float logalpha, float l, float r) {
    float z = sigmoidf(logalpha) * (r - l) + l;
    return z < 0.0f ? 0.0f : (z > 1.0f ? 1.0f : z);
}

// P(z != 0) = sigmoid(log alpha - beta log(-l / r)); its derivative w.r.t. log alpha is p (1 - p).
MO_HD float hc_prob_open(float logalpha, float beta, float l, float r) {
    return sigmoidf(logalpha - beta * logf(-l / r));
}

// ---- HardKuma: parameters (log a, log b) ----

struct KumaAB {
    float a, b;
    float a_free, b_free;  // 1 where the clamp to [1e-6, 100] is inactive (gradient flows), else 0
};

MO_HD KumaAB kuma_ab(float loga, float logb) {
    const float lo = 1e-6f, hi = 100.0f;
    KumaAB k;
    float a = expf(loga), b = expf(logb);
    k.a_free = (a > lo && a < hi) ? 1.0f : 0.0f;
    k.b_free = (b > lo && b < hi) ? 1.0f : 0.0f;
    k.a = a < lo ? lo : (a > hi ? hi : a);
    k.b = b < lo ? lo : (b > hi ? hi : b);
    return k;
}

// One sample in log space; *dza = dz/dlog a, *dzb = dz/dlog b (0 where a clamp is active).
MO_HD void kuma_sample(float u, float loga, float logb, float l, float r, float* z, float* dza, float* dzb) {
    KumaAB p = kuma_ab(loga, logb);
    float logv = log1pf(-u) / p.b;           // v = (1 - u)^(1/b), log v < 0
    float one_minus_v = -expm1f(logv);       // 1 - v without cancellation
    float logk = logf(one_minus_v) / p.a;    // k = (1 - v)^(1/a)
    float k = expf(logk);
    float t = l + (r - l) * k;
    if (t <= 0.0f) {
        *z = 0.0f;
        *dza = 0.0f;
        *dzb = 0.0f;
    } else if (t >= 1.0f) {
        *z = 1.0f;
        *dza = 0.0f;
        *dzb = 0.0f;
    } else {
        *z = t;
        *dza = p.a_free * (-(r - l) * k * logk);
        *dzb = p.b_free * ((r - l) * k * expf(logv) * logv / (p.a * one_minus_v));
    }
}

// P(z = 0) and P(z = 1) in closed form, with u0 = -l/(r-l), u1 = (1-l)/(r-l).
MO_HD void kuma_probs(float loga, float logb, float l, float r, float* p0, float* p1) {
    KumaAB p = kuma_ab(loga, logb);
    // ln(1 - u^a) as ln(-expm1(a ln u)): exact even where u^a rounds next to 1 (tiny a).
    float l1my0 = logf(-expm1f(p.a * logf(-l / (r - l))));
    float l1my1 = logf(-expm1f(p.a * logf((1.0f - l) / (r - l))));
    *p0 = -expm1f(p.b * l1my0);
    *p1 = expf(p.b * l1my1);
}

// P0 and its gradients w.r.t. (log a, log b), with y = u0^a:
//   dP0/da = b (1-y)^(b-1) y ln u0,  dP0/db = -(1-y)^b ln(1-y); zero where 1 - y underflows or a clamp is active.
MO_HD float kuma_p0_grad(float loga, float logb, float l, float r, float* dp0_dloga, float* dp0_dlogb) {
    KumaAB p = kuma_ab(loga, logb);
    float lnu0 = logf(-l / (r - l));
    float y = expf(p.a * lnu0);
    float l1my = logf(-expm1f(p.a * lnu0));  // ln(1 - y), accurate for tiny a
    float p0 = -expm1f(p.b * l1my);
    if (!(l1my > -INFINITY)) {  // 1 - y underflowed: saturated, no gradient
        *dp0_dloga = 0.0f;
        *dp0_dlogb = 0.0f;
    } else {
        *dp0_dloga = p.a_free * p.a * p.b * expf((p.b - 1.0f) * l1my) * y * lnu0;
        *dp0_dlogb = p.b_free * p.b * (-expf(p.b * l1my) * l1my);
    }
    return p0;
}

// Deterministic gate: 0 if P0 > P1, else 1; the mean of the unstretched Kuma, b B(1 + 1/a, b), where
// the continuous part is the most likely outcome (reproduces the reference implementation).
MO_HD float kuma_gate(float loga, float logb, float l, float r) {
    float p0, p1;
    kuma_probs(loga, logb, l, r, &p0, &p1);
    float pc = 1.0f - p0 - p1;
    if (pc > p0 && pc > p1) {
        KumaAB p = kuma_ab(loga, logb);
        float ia = 1.0f / p.a;
        return expf(logf(p.b) + lgammaf_safe(1.0f + ia) + lgammaf_safe(p.b) - lgammaf_safe(1.0f + ia + p.b));
    }
    return p0 > p1 ? 0.0f : 1.0f;
}

// ---- target selection rate: the sparsity weight as a Lagrange multiplier (methods.md section 1, GECO-style) ----

// One multiplier step of one row from its expected selection rate `rate` (reg[n,0]):
// c = rate - rho; cma = alpha cma + (1 - alpha) c; lambda = clamp(lambda exp(eta cma), lo, hi).
// fmaxf/fminf also turn a NaN product into lo.
MO_HD void rate_multiplier_update(float* lambda, float* cma, float rate, float rho, float eta, float alpha, float lo,
                                  float hi) {
    const float c = rate - rho;
    const float m = alpha * *cma + (1.0f - alpha) * c;
    *cma = m;
    *lambda = fminf(fmaxf(*lambda * expf(eta * m), lo), hi);
}

// One proportional step of one row (mo_rate_control): c = rate - rho; cma = alpha cma + (1 - alpha) c;
// w = clamp(gain cma, lo, hi).
MO_HD void rate_control_update(float* w, float* cma, float rate, float rho, float gain, float alpha, float lo,
                               float hi) {
    const float c = rate - rho;
    const float m = alpha * *cma + (1.0f - alpha) * c;
    *cma = m;
    *w = fminf(fmaxf(gain * m, lo), hi);
}

}  // namespace mo

#endif
