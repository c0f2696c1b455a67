// gates: hard-concrete gates (Louizos et al. 2018; methods.md section 3, DiffMask):
// cpu_hc_sample (and cpu_hc_sample_at), cpu_hc_gate, cpu_hc_prob_open, cpu_hc_regularize (and
// cpu_hc_regularize_rows: the L0 weight per row, w_l0_rows [N]).
// Shapes: logalpha [N,T], lengths [N]; z, dz [S,N,T]; p [N,T]; reg [N,2]; S samples, N sequences,
// T max length. Per-element math comes from gate_math.h, shared with cuda/gates.cu.
#include <vector>

#include "gate_math.h"
#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_hc_sample(float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S, int64_t N,
                   int64_t T, float beta, float l, float r, uint64_t seed, int64_t step) {
    parallel_for(S * N, grain_for(T * 80), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = s N + n
            int64_t s = row / N, n = row % N, len = lengths[n];
            const float* la = logalpha + n * T;
            float* zr = z + row * T;
            float* dzr = dz + row * T;
            for (int64_t t = 0; t < T; ++t) {
                if (t < len) {
                    hc_sample(philox_uniform(seed, step, s, n, t), la[t], beta, l, r, &zr[t], &dzr[t]);
                } else {
                    zr[t] = 0.0f;
                    dzr[t] = 0.0f;
                }
            }
        }
    });
}

// The counter variant: the same samples as cpu_hc_sample at step[0] (host memory on the CPU backend).
void cpu_hc_sample_at(float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S, int64_t N,
                      int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step) {
    cpu_hc_sample(z, dz, logalpha, lengths, S, N, T, beta, l, r, seed, step[0]);
}

void cpu_hc_gate(float* z, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T, float l, float r) {
    parallel_for(N, grain_for(T * 20), [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n)
            for (int64_t t = 0; t < T; ++t)
                z[n * T + t] = t < lengths[n] ? hc_gate(logalpha[n * T + t], l, r) : 0.0f;
    });
}

void cpu_hc_prob_open(float* p, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T, float beta,
                      float l, float r) {
    parallel_for(N, grain_for(T * 20), [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n)
            for (int64_t t = 0; t < T; ++t)
                p[n * T + t] = t < lengths[n] ? hc_prob_open(logalpha[n * T + t], beta, l, r) : 0.0f;
    });
}

// With p_t = P(z_t != 0) and len = L:
//   reg0 = sum_t p_t / L,  reg1 = sum_{t<L-1} (p_t + p_{t+1} - 2 p_t p_{t+1}) / L,
//   d reg0 / d p_t = 1/L,  d reg1 / d p_t = ([t < L-1] (1 - 2 p_{t+1}) + [t > 0] (1 - 2 p_{t-1})) / L,
// and d p_t / d log alpha_t = p_t (1 - p_t). Sums run in double, t ascending. The L0 weight of row n is
// w_l0_rows[n] when w_l0_rows is given, else w_l0 (the same float either way, so the results are the same bits).
void cpu_hc_regularize_rows(float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths,
                            const float* w_l0_rows, int64_t N, int64_t T, float beta, float l, float r, float w_l0,
                            float w_trans) {
    parallel_for(N, grain_for(T * 40), [&](int64_t begin, int64_t end) {
        std::vector<double> p(T);
        for (int64_t n = begin; n < end; ++n) {
            const int64_t L = lengths[n];
            const float w0 = w_l0_rows ? w_l0_rows[n] : w_l0;
            const float* la = logalpha + n * T;
            for (int64_t t = 0; t < L; ++t) p[t] = hc_prob_open(la[t], beta, l, r);
            double l0 = 0.0, trans = 0.0;
            for (int64_t t = 0; t < L; ++t) {
                l0 += p[t];
                if (t + 1 < L) trans += p[t] + p[t + 1] - 2.0 * p[t] * p[t + 1];
            }
            reg[2 * n] = (float)(l0 / L);
            reg[2 * n + 1] = (float)(trans / L);
            float* g = d_logalpha + n * T;
            for (int64_t t = 0; t < L; ++t) {
                double dtrans = (t + 1 < L ? 1.0 - 2.0 * p[t + 1] : 0.0) + (t > 0 ? 1.0 - 2.0 * p[t - 1] : 0.0);
                double dreg_dp = (w0 + w_trans * dtrans) / L;
                g[t] += (float)(dreg_dp * p[t] * (1.0 - p[t]));
            }
        }
    });
}

void cpu_hc_regularize(float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths, int64_t N,
                       int64_t T, float beta, float l, float r, float w_l0, float w_trans) {
    cpu_hc_regularize_rows(d_logalpha, reg, logalpha, lengths, nullptr, N, T, beta, l, r, w_l0, w_trans);
}

}  // namespace mo
