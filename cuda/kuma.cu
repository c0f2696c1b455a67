// HardKuma gates: mo_kuma_sample (and mo_kuma_sample_at), mo_kuma_probs, mo_kuma_gate, mo_kuma_regularize (and
// mo_kuma_regularize_rows) (methods.md section 1; Bastings et al. 2019). Per-element math from gate_math.h, shared with kuma.cpp.
// Shape legend: params [2,N,T] = (log a, log b), index p*N*T + n*T + t; d_params [2,N,T] (accumulated);
// z [S,N,T] index (s*N + n)*T + t; dz [2,S,N,T] = (dz/dlog a, dz/dlog b); p0/p1/gate [N,T]; reg [N,2];
// lengths[N] in [1, T]; padding (t >= len) written as 0 except where noted.
#include "common.cuh"
#include "gate_math.h"
#include "ops.h"
#include "philox.h"

namespace mo {

namespace {

constexpr int kRegBlock = 256;

// The Philox step is step_at[0] when step_at is given (mo_kuma_sample_at), else the by-value `step`.
__global__ void kuma_sample_kernel(float* __restrict__ z, float* __restrict__ dz, const float* __restrict__ params,
                                   const int32_t* __restrict__ lengths, int64_t S, int64_t N, int64_t T, float l,
                                   float r, uint64_t seed, int64_t step, const int64_t* __restrict__ step_at) {
    if (step_at != nullptr) step = step_at[0];
    const int64_t NT = N * T, total = S * NT;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / T, t = i - row * T;
        const int64_t s = row / N, n = row - s * N;
        float zi = 0.0f, dza = 0.0f, dzb = 0.0f;
        if (t < cu::seq_len(lengths, n, T)) {
            const float u = philox_uniform(seed, step, s, n, t);
            const int64_t j = n * T + t;
            kuma_sample(u, params[j], params[NT + j], l, r, &zi, &dza, &dzb);
        }
        z[i] = zi;
        dz[i] = dza;
        dz[total + i] = dzb;
    }
}

__global__ void kuma_probs_kernel(float* __restrict__ p0, float* __restrict__ p1, const float* __restrict__ params,
                                  const int32_t* __restrict__ lengths, int64_t N, int64_t T, float l, float r) {
    const int64_t NT = N * T;
    for (int64_t i = cu::global_thread(); i < NT; i += cu::global_threads()) {
        const int64_t n = i / T, t = i - n * T;
        float a0 = 0.0f, a1 = 0.0f;
        if (t < cu::seq_len(lengths, n, T)) kuma_probs(params[i], params[NT + i], l, r, &a0, &a1);
        p0[i] = a0;
        p1[i] = a1;
    }
}

__global__ void kuma_gate_kernel(float* __restrict__ z, const float* __restrict__ params,
                                 const int32_t* __restrict__ lengths, int64_t N, int64_t T, float l, float r) {
    const int64_t NT = N * T;
    for (int64_t i = cu::global_thread(); i < NT; i += cu::global_threads()) {
        const int64_t n = i / T, t = i - n * T;
        z[i] = t < cu::seq_len(lengths, n, T) ? kuma_gate(params[i], params[NT + i], l, r) : 0.0f;
    }
}

// P0 alone (the same arithmetic as kuma_p0_grad's value), for the neighbours of a position.
__device__ __forceinline__ float kuma_p0(float loga, float logb, float l, float r) {
    float ga, gb;
    return kuma_p0_grad(loga, logb, l, r, &ga, &gb);
}

// One block per sequence; as hc_regularize_kernel with p_t = 1 - P0_t, so dp/dlog a = -dP0/dlog a (and b).
// Row n's L0 weight is w_l0_rows[n] when given (mo_kuma_regularize_rows), else w_l0.
__global__ void __launch_bounds__(kRegBlock)
    kuma_regularize_kernel(float* __restrict__ d_params, float* __restrict__ reg, const float* __restrict__ params,
                           const int32_t* __restrict__ lengths, const float* __restrict__ w_l0_rows, int64_t N,
                           int64_t T, float l, float r, float w_l0_all, float w_trans) {
    const int64_t NT = N * T;
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {  // uniform per block: the reductions below are safe
        const float w_l0 = w_l0_rows != nullptr ? w_l0_rows[n] : w_l0_all;
        const int64_t len = cu::seq_len(lengths, n, T);
        const float flen = (float)len;
        const float* la = params + n * T;
        const float* lb = params + NT + n * T;
        float* dla = d_params + n * T;
        float* dlb = d_params + NT + n * T;
        float sum0 = 0.0f, sum1 = 0.0f;
        for (int64_t t = threadIdx.x; t < len; t += kRegBlock) {
            float dp0_da, dp0_db;
            const float p = 1.0f - kuma_p0_grad(la[t], lb[t], l, r, &dp0_da, &dp0_db);
            float dtrans = 0.0f;
            if (t + 1 < len) {
                const float pn = 1.0f - kuma_p0(la[t + 1], lb[t + 1], l, r);
                sum1 += p + pn - 2.0f * p * pn;
                dtrans += 1.0f - 2.0f * pn;
            }
            if (t > 0) {
                const float pp = 1.0f - kuma_p0(la[t - 1], lb[t - 1], l, r);
                dtrans += 1.0f - 2.0f * pp;
            }
            sum0 += p;
            const float dp = (w_l0 + w_trans * dtrans) / flen;
            dla[t] += dp * -dp0_da;
            dlb[t] += dp * -dp0_db;
        }
        sum0 = cu::block_sum<kRegBlock>(sum0);
        sum1 = cu::block_sum<kRegBlock>(sum1);
        if (threadIdx.x == 0) {
            reg[2 * n] = sum0 / flen;
            reg[2 * n + 1] = sum1 / flen;
        }
    }
}

}  // namespace

namespace {
int launch_kuma_sample(void* stream, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                       int64_t N, int64_t T, float l, float r, uint64_t seed, int64_t step, const int64_t* step_at) {
    const int64_t total = S * N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    kuma_sample_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(z, dz, params, lengths, S, N, T, l, r, seed, step,
                                                                  step_at);
    return cu::launch_status();
}
}  // namespace

int cuda_kuma_sample(void* stream, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                     int64_t N, int64_t T, float l, float r, uint64_t seed, int64_t step) {
    return launch_kuma_sample(stream, z, dz, params, lengths, S, N, T, l, r, seed, step, nullptr);
}

int cuda_kuma_sample_at(void* stream, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                        int64_t N, int64_t T, float l, float r, uint64_t seed, const int64_t* step) {
    return launch_kuma_sample(stream, z, dz, params, lengths, S, N, T, l, r, seed, 0, step);
}

int cuda_kuma_probs(void* stream, float* p0, float* p1, const float* params, const int32_t* lengths, int64_t N,
                    int64_t T, float l, float r) {
    const int64_t total = N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    kuma_probs_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(p0, p1, params, lengths, N, T, l, r);
    return cu::launch_status();
}

int cuda_kuma_gate(void* stream, float* z, const float* params, const int32_t* lengths, int64_t N, int64_t T,
                   float l, float r) {
    const int64_t total = N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    kuma_gate_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(z, params, lengths, N, T, l, r);
    return cu::launch_status();
}

int cuda_kuma_regularize_rows(void* stream, float* d_params, float* reg, const float* params,
                              const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float l, float r,
                              float w_l0, float w_trans) {
    if (N <= 0 || T <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    kuma_regularize_kernel<<<cu::grid_for(N, 1), kRegBlock, 0, s>>>(d_params, reg, params, lengths, w_l0_rows, N, T,
                                                                     l, r, w_l0, w_trans);
    return cu::launch_status();
}

int cuda_kuma_regularize(void* stream, float* d_params, float* reg, const float* params, const int32_t* lengths,
                         int64_t N, int64_t T, float l, float r, float w_l0, float w_trans) {
    return cuda_kuma_regularize_rows(stream, d_params, reg, params, lengths, nullptr, N, T, l, r, w_l0, w_trans);
}

}  // namespace mo
