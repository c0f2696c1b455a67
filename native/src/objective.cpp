// objective: cpu_objective (MaRC-style sufficiency + comprehensiveness, methods.md section 2),
// cpu_cross_entropy and cpu_softmax.
// Shapes: logits, d_logits [2,S,N,C] with index ((h S + s) N + n) C + c, h = 0 keep rows, h = 1 drop rows;
// target [N]; loss [N,2]. Cross-entropy / softmax: logits, d_logits, probs [B,C]; labels, loss [B].
// Everything goes through log-sum-exp with the maximum subtracted, in double, so any finite logits give
// finite losses and gradients.
#include <math.h>

#include "ops.h"
#include "parallel.h"

namespace mo {

// log sum_c exp(x_c) over c != skip (skip = -1: all classes); C - (skip >= 0) >= 1 terms.
static double log_sum_exp(const float* x, int64_t C, int64_t skip) {
    double m = -INFINITY;
    for (int64_t c = 0; c < C; ++c)
        if (c != skip && x[c] > m) m = x[c];
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c)
        if (c != skip) sum += exp(x[c] - m);
    return m + log(sum);
}

void cpu_objective(float* loss, float* d_logits, const float* logits, const int32_t* target, int64_t S, int64_t N,
                   int64_t C, float w_suff, float w_comp) {
    parallel_for(N, grain_for(S * C * 40), [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n) {
            const int64_t y = target[n];
            double suff = 0.0, comp = 0.0;
            for (int64_t s = 0; s < S; ++s) {
                // keep row: -log softmax_y = LSE_all - x_y; gradient w_suff (softmax - onehot_y) / S
                int64_t row = (s * N + n) * C;
                const float* x = logits + row;
                float* g = d_logits + row;
                double lse = log_sum_exp(x, C, -1);
                suff += lse - x[y];
                for (int64_t c = 0; c < C; ++c)
                    g[c] = (float)(w_suff * (exp(x[c] - lse) - (c == y ? 1.0 : 0.0)) / S);

                // drop row: -log(1 - softmax_y) = LSE_all - LSE_{c != y}; gradient w_comp (softmax - q) / S,
                // q = softmax over the classes c != y (q_y = 0)
                row = ((S + s) * N + n) * C;
                x = logits + row;
                g = d_logits + row;
                lse = log_sum_exp(x, C, -1);
                double lse_other = log_sum_exp(x, C, y);
                comp += lse - lse_other;
                for (int64_t c = 0; c < C; ++c) {
                    double q = c == y ? 0.0 : exp(x[c] - lse_other);
                    g[c] = (float)(w_comp * (exp(x[c] - lse) - q) / S);
                }
            }
            loss[2 * n] = (float)(suff / S);
            loss[2 * n + 1] = (float)(comp / S);
        }
    });
}

void cpu_cross_entropy(float* loss, float* d_logits, const float* logits, const int32_t* labels, int64_t B,
                       int64_t C, float scale) {
    parallel_for(B, grain_for(C * 40), [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
            const float* x = logits + b * C;
            const int64_t y = labels[b];
            double lse = log_sum_exp(x, C, -1);
            loss[b] = (float)(lse - x[y]);
            for (int64_t c = 0; c < C; ++c)
                d_logits[b * C + c] = (float)(scale * (exp(x[c] - lse) - (c == y ? 1.0 : 0.0)));
        }
    });
}

void cpu_softmax(float* probs, const float* logits, int64_t B, int64_t C) {
    parallel_for(B, grain_for(C * 40), [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
            double lse = log_sum_exp(logits + b * C, C, -1);
            for (int64_t c = 0; c < C; ++c) probs[b * C + c] = (float)exp(logits[b * C + c] - lse);
        }
    });
}

}  // namespace mo
