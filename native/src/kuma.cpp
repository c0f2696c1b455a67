// kuma: HardKuma gates (Bastings et al. 2019; methods.md section 1):
// cpu_kuma_sample (and cpu_kuma_sample_at), cpu_kuma_probs, cpu_kuma_gate, cpu_kuma_regularize (and
// cpu_kuma_regularize_rows: the L0 weight per row, w_l0_rows [N]).
// Shapes: params [2,N,T] = (log a, log b); lengths [N]; z [S,N,T]; dz [2,S,N,T] = (dz/dlog a, dz/dlog b);
// p0, p1 [N,T]; reg [N,2]; d_params [2,N,T]. Per-element math comes from gate_math.h (shared with cuda/kuma.cu).
#include <vector>

#include "gate_math.h"
#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_kuma_sample(float* z, float* dz, const float* params, const int32_t* lengths, int64_t S, int64_t N,
                     int64_t T, float l, float r, uint64_t seed, int64_t step) {
    const float* loga = params;
    const float* logb = params + N * T;
    float* dza = dz;
    float* dzb = dz + S * N * T;
    parallel_for(S * N, grain_for(T * 120), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = s N + n
            int64_t s = row / N, n = row % N, len = lengths[n];
            for (int64_t t = 0; t < T; ++t) {
                int64_t i = row * T + t, j = n * T + t;
                if (t < len) {
                    kuma_sample(philox_uniform(seed, step, s, n, t), loga[j], logb[j], l, r, &z[i], &dza[i],
                                &dzb[i]);
                } else {
                    z[i] = dza[i] = dzb[i] = 0.0f;
                }
            }
        }
    });
}

// The counter variant: the same samples as cpu_kuma_sample at step[0] (host memory on the CPU backend).
void cpu_kuma_sample_at(float* z, float* dz, const float* params, const int32_t* lengths, int64_t S, int64_t N,
                        int64_t T, float l, float r, uint64_t seed, const int64_t* step) {
    cpu_kuma_sample(z, dz, params, lengths, S, N, T, l, r, seed, step[0]);
}

void cpu_kuma_probs(float* p0, float* p1, const float* params, const int32_t* lengths, int64_t N, int64_t T,
                    float l, float r) {
    const float* logb = params + N * T;
    parallel_for(N, grain_for(T * 60), [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n)
            for (int64_t t = 0; t < T; ++t) {
                int64_t j = n * T + t;
                if (t < lengths[n])
                    kuma_probs(params[j], logb[j], l, r, &p0[j], &p1[j]);
                else
                    p0[j] = p1[j] = 0.0f;
            }
    });
}

void cpu_kuma_gate(float* z, const float* params, const int32_t* lengths, int64_t N, int64_t T, float l, float r) {
    const float* logb = params + N * T;
    parallel_for(N, grain_for(T * 100), [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n)
            for (int64_t t = 0; t < T; ++t) {
                int64_t j = n * T + t;
                z[j] = t < lengths[n] ? kuma_gate(params[j], logb[j], l, r) : 0.0f;
            }
    });
}

// As cpu_hc_regularize_rows (gates.cpp) with p_t = 1 - P0_t, so d p_t / d theta = -d P0_t / d theta.
void cpu_kuma_regularize_rows(float* d_params, float* reg, const float* params, const int32_t* lengths,
                              const float* w_l0_rows, int64_t N, int64_t T, float l, float r, float w_l0,
                              float w_trans) {
    const float* logb = params + N * T;
    float* d_loga = d_params;
    float* d_logb = d_params + N * T;
    parallel_for(N, grain_for(T * 80), [&](int64_t begin, int64_t end) {
        std::vector<double> p(T), dpa(T), dpb(T);
        for (int64_t n = begin; n < end; ++n) {
            const int64_t L = lengths[n];
            const float w0 = w_l0_rows ? w_l0_rows[n] : w_l0;
            for (int64_t t = 0; t < L; ++t) {
                float ga, gb;
                float p0 = kuma_p0_grad(params[n * T + t], logb[n * T + t], l, r, &ga, &gb);
                p[t] = 1.0 - (double)p0;
                dpa[t] = -(double)ga;
                dpb[t] = -(double)gb;
            }
            double l0 = 0.0, trans = 0.0;
            for (int64_t t = 0; t < L; ++t) {
                l0 += p[t];
                if (t + 1 < L) trans += p[t] + p[t + 1] - 2.0 * p[t] * p[t + 1];
            }
            reg[2 * n] = (float)(l0 / L);
            reg[2 * n + 1] = (float)(trans / L);
            for (int64_t t = 0; t < L; ++t) {
                double dtrans = (t + 1 < L ? 1.0 - 2.0 * p[t + 1] : 0.0) + (t > 0 ? 1.0 - 2.0 * p[t - 1] : 0.0);
                double dreg_dp = (w0 + w_trans * dtrans) / L;
                d_loga[n * T + t] += (float)(dreg_dp * dpa[t]);
                d_logb[n * T + t] += (float)(dreg_dp * dpb[t]);
            }
        }
    });
}

void cpu_kuma_regularize(float* d_params, float* reg, const float* params, const int32_t* lengths, int64_t N,
                         int64_t T, float l, float r, float w_l0, float w_trans) {
    cpu_kuma_regularize_rows(d_params, reg, params, lengths, nullptr, N, T, l, r, w_l0, w_trans);
}

}  // namespace mo
