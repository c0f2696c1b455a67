// mix: masked forward mix and its backward fused with the reparameterization backward
// (cpu_mix_forward, cpu_mix_backward; the "mix" step of design.md, used by methods.md sections 1 and 3).
// Shapes: z [S,N,T]; emb [N,T,D]; base [N,T,D] (base_per_position) or [D]; out, d_out [2,S,N,T,D]
// (keep rows, then drop rows); dz [P,S,N,T]; d_theta [P,N,T]; P = 1 (hard concrete) or 2 (HardKuma).
#include <algorithm>

#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_mix_forward(float* out, const float* z, const float* emb, const float* base, const int32_t* lengths,
                     int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position) {
    float* keep = out;
    float* drop = out + S * N * T * D;
    parallel_for(S * N * T, grain_for(D * 2), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = (s N + n) T + t
            int64_t t = row % T, nt = row % (N * T), n = nt / T;
            float* k = keep + row * D;
            float* d = drop + row * D;
            if (t >= lengths[n]) {
                std::fill(k, k + D, 0.0f);
                std::fill(d, d + D, 0.0f);
                continue;
            }
            const float zv = z[row], zc = 1.0f - zv;
            const float* e = emb + nt * D;
            const float* b = base_per_position ? base + nt * D : base;
            for (int64_t i = 0; i < D; ++i) {
                k[i] = zv * e[i] + zc * b[i];
                d[i] = zc * e[i] + zv * b[i];
            }
        }
    });
}

// sum_i (k[i] - d[i]) (e[i] - b[i]) with 16 independent partial sums (vectorizes without -ffast-math),
// combined in a fixed order so the result does not depend on the thread that computes it.
static float mix_grad_dot(const float* k, const float* d, const float* e, const float* b, int64_t D) {
    float acc[16] = {0.0f};
    int64_t i = 0;
    for (; i + 16 <= D; i += 16)
        for (int j = 0; j < 16; ++j) acc[j] += (k[i + j] - d[i + j]) * (e[i + j] - b[i + j]);
    for (int j = 0; i < D; ++i, ++j) acc[j] += (k[i] - d[i]) * (e[i] - b[i]);
    for (int w = 8; w > 0; w >>= 1)
        for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
    return acc[0];
}

// One position (n, t) per iteration: g_s for a block of samples, then d_theta[p,n,t] += g_s dz[p,s,n,t]
// with s ascending (P <= 2, validated by dispatch).
void cpu_mix_backward(float* d_theta, const float* d_out, const float* dz, const float* emb, const float* base,
                      const int32_t* lengths, int64_t P, int64_t S, int64_t N, int64_t T, int64_t D,
                      int base_per_position) {
    const int64_t SNT = S * N * T;
    parallel_for(N * T, grain_for(S * D * 3), [&](int64_t begin, int64_t end) {
        float g[64];
        for (int64_t nt = begin; nt < end; ++nt) {  // nt = n T + t
            int64_t n = nt / T, t = nt % T;
            if (t >= lengths[n]) {
                for (int64_t p = 0; p < P; ++p) d_theta[p * N * T + nt] = 0.0f;
                continue;
            }
            const float* e = emb + nt * D;
            const float* b = base_per_position ? base + nt * D : base;
            float acc[2] = {0.0f, 0.0f};
            for (int64_t s0 = 0; s0 < S; s0 += 64) {
                int64_t s1 = std::min<int64_t>(S, s0 + 64);
                for (int64_t s = s0; s < s1; ++s) {
                    int64_t row = s * N * T + nt;
                    g[s - s0] = mix_grad_dot(d_out + row * D, d_out + (SNT + row) * D, e, b, D);
                }
                for (int64_t p = 0; p < P; ++p)
                    for (int64_t s = s0; s < s1; ++s) acc[p] += g[s - s0] * dz[p * SNT + s * N * T + nt];
            }
            for (int64_t p = 0; p < P; ++p) d_theta[p * N * T + nt] = acc[p];
        }
    });
}

}  // namespace mo
