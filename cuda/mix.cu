// mix: mo_mix_forward and mo_mix_backward, the masked keep/drop mix and its backward fused with the
// reparameterization backward (design.md "The flow"; methods.md sections 1-3 use it).
// Shape legend: z [S,N,T]; emb [N,T,D]; base [N,T,D] if base_per_position else [D];
// out/d_out [2,S,N,T,D] index (((h*S + s)*N + n)*T + t)*D + d, h = 0 keep, h = 1 drop;
// dz [P,S,N,T]; d_theta [P,N,T]; lengths[N] in [1, T]; padding (t >= len) written as 0.
// One warp per (s,n,t) or (n,t) row: lanes stride over d (coalesced), sums are warp butterflies.
#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

__global__ void mix_forward_kernel(float* __restrict__ out, const float* __restrict__ z, const float* __restrict__ emb,
                                   const float* __restrict__ base, const int32_t* __restrict__ lengths, int64_t S,
                                   int64_t N, int64_t T, int64_t D, int base_per_position) {
    const int64_t rows = S * N * T;
    const int lane = cu::lane_id();
    for (int64_t row = cu::global_warp(); row < rows; row += cu::global_warps()) {
        const int64_t nt = row % (N * T);  // n*T + t
        const int64_t n = nt / T, t = nt - n * T;
        float* keep = out + row * D;
        float* drop = out + (rows + row) * D;
        if (t >= cu::seq_len(lengths, n, T)) {
            for (int64_t d = lane; d < D; d += cu::kWarp) {
                keep[d] = 0.0f;
                drop[d] = 0.0f;
            }
            continue;
        }
        const float zi = z[row], zc = 1.0f - zi;
        const float* e = emb + nt * D;
        const float* b = base_per_position ? base + nt * D : base;
        for (int64_t d = lane; d < D; d += cu::kWarp) {
            const float ev = e[d], bv = b[d];
            keep[d] = zi * ev + zc * bv;
            drop[d] = zc * ev + zi * bv;
        }
    }
}

// d_theta[p,n,t] = sum_s g[s,n,t] dz[p,s,n,t], g[s,n,t] = sum_d (d_out[0,s,n,t,d] - d_out[1,s,n,t,d]) (E - B)[n,t,d].
// Lane p (of each chunk of 32 parameters) accumulates d_theta[p]; s runs in increasing order.
__global__ void mix_backward_kernel(float* __restrict__ d_theta, const float* __restrict__ d_out,
                                    const float* __restrict__ dz, const float* __restrict__ emb,
                                    const float* __restrict__ base, const int32_t* __restrict__ lengths, int64_t P,
                                    int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position) {
    const int64_t NT = N * T, SNT = S * NT;
    const int lane = cu::lane_id();
    for (int64_t nt = cu::global_warp(); nt < NT; nt += cu::global_warps()) {
        const int64_t n = nt / T, t = nt - n * T;
        if (t >= cu::seq_len(lengths, n, T)) {
            for (int64_t p = lane; p < P; p += cu::kWarp) d_theta[p * NT + nt] = 0.0f;
            continue;
        }
        const float* e = emb + nt * D;
        const float* b = base_per_position ? base + nt * D : base;
        for (int64_t p0 = 0; p0 < P; p0 += cu::kWarp) {  // one pass unless P > 32
            const int64_t p = p0 + lane;
            float acc = 0.0f;
            for (int64_t s = 0; s < S; ++s) {
                const int64_t row = s * NT + nt;
                const float* dk = d_out + row * D;
                const float* dd = d_out + (SNT + row) * D;
                float part = 0.0f;
                for (int64_t d = lane; d < D; d += cu::kWarp) part += (dk[d] - dd[d]) * (e[d] - b[d]);
                const float g = cu::warp_sum(part);  // same bits in every lane
                if (p < P) acc += g * dz[p * SNT + row];
            }
            if (p < P) d_theta[p * NT + nt] = acc;
        }
    }
}

constexpr int kWarpsPerBlock = cu::kBlock / cu::kWarp;

}  // namespace

int cuda_mix_forward(void* stream, float* out, const float* z, const float* emb, const float* base,
                     const int32_t* lengths, int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position) {
    const int64_t rows = S * N * T;
    if (rows <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    mix_forward_kernel<<<cu::grid_for(rows, kWarpsPerBlock), cu::kBlock, 0, s>>>(out, z, emb, base, lengths, S, N, T,
                                                                                 D, base_per_position);
    return cu::launch_status();
}

int cuda_mix_backward(void* stream, float* d_theta, const float* d_out, const float* dz, const float* emb,
                      const float* base, const int32_t* lengths, int64_t P, int64_t S, int64_t N, int64_t T,
                      int64_t D, int base_per_position) {
    const int64_t rows = N * T;
    if (rows <= 0 || P <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    mix_backward_kernel<<<cu::grid_for(rows, kWarpsPerBlock), cu::kBlock, 0, s>>>(
        d_theta, d_out, dz, emb, base, lengths, P, S, N, T, D, base_per_position);
    return cu::launch_status();
}

}  // namespace mo
