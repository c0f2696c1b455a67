// hard-concrete gates: mo_hc_sample (and mo_hc_sample_at), mo_hc_gate, mo_hc_prob_open, mo_hc_regularize (and
// mo_hc_regularize_rows) (methods.md section 3; Louizos et al. 2018). Per-element math from gate_math.h, shared with
// gates.cpp.
// Shape legend: logalpha [N,T], d_logalpha [N,T] (accumulated), z/dz [S,N,T] index (s*N + n)*T + t,
// gate/p [N,T], reg [N,2]; lengths[N] in [1, T]; padding (t >= len) written as 0 except where noted.
#include "common.cuh"
#include "gate_math.h"
#include "ops.h"
#include "philox.h"

namespace mo {

namespace {

constexpr int kRegBlock = 256;

// The Philox step is step_at[0] when step_at is given (mo_hc_sample_at: read when the kernel runs, so a captured
// graph sees each replay's step), else the by-value `step`; one kernel, so both give the same bits.
__global__ void hc_sample_kernel(float* __restrict__ z, float* __restrict__ dz, const float* __restrict__ logalpha,
                                 const int32_t* __restrict__ lengths, int64_t S, int64_t N, int64_t T, float beta,
                                 float l, float r, uint64_t seed, int64_t step, const int64_t* __restrict__ step_at) {
    if (step_at != nullptr) step = step_at[0];
    const int64_t total = S * N * T;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / T, t = i - row * T;
        const int64_t s = row / N, n = row - s * N;
        float zi = 0.0f, dzi = 0.0f;
        if (t < cu::seq_len(lengths, n, T)) {
            const float u = philox_uniform(seed, step, s, n, t);
            hc_sample(u, logalpha[n * T + t], beta, l, r, &zi, &dzi);
        }
        z[i] = zi;
        dz[i] = dzi;
    }
}

__global__ void hc_gate_kernel(float* __restrict__ z, const float* __restrict__ logalpha,
                               const int32_t* __restrict__ lengths, int64_t N, int64_t T, float l, float r) {
    const int64_t total = N * T;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t n = i / T, t = i - n * T;
        z[i] = t < cu::seq_len(lengths, n, T) ? hc_gate(logalpha[i], l, r) : 0.0f;
    }
}

__global__ void hc_prob_open_kernel(float* __restrict__ p, const float* __restrict__ logalpha,
                                    const int32_t* __restrict__ lengths, int64_t N, int64_t T, float beta, float l,
                                    float r) {
    const int64_t total = N * T;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t n = i / T, t = i - n * T;
        p[i] = t < cu::seq_len(lengths, n, T) ? hc_prob_open(logalpha[i], beta, l, r) : 0.0f;
    }
}

// One block per sequence. p at t-1 and t+1 is recomputed (cheap) rather than shared, so each thread's
// positions are independent; the two per-sequence sums use the deterministic block reduction.
//   reg0 = sum p_t / len, reg1 = sum_{t<len-1} (p_t + p_{t+1} - 2 p_t p_{t+1}) / len
//   d reg1 / d p_t = [t+1 < len] (1 - 2 p_{t+1}) + [t > 0] (1 - 2 p_{t-1});  dp/dlogalpha = p (1 - p).
// Row n's L0 weight is w_l0_rows[n] when given (mo_hc_regularize_rows), else w_l0.
__global__ void __launch_bounds__(kRegBlock)
    hc_regularize_kernel(float* __restrict__ d_logalpha, float* __restrict__ reg, const float* __restrict__ logalpha,
                         const int32_t* __restrict__ lengths, const float* __restrict__ w_l0_rows, int64_t N,
                         int64_t T, float beta, float l, float r, float w_l0_all, float w_trans) {
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {  // uniform per block: the reductions below are safe
        const float w_l0 = w_l0_rows != nullptr ? w_l0_rows[n] : w_l0_all;
        const int64_t len = cu::seq_len(lengths, n, T);
        const float flen = (float)len;
        const float* la = logalpha + n * T;
        float* dla = d_logalpha + n * T;
        float sum0 = 0.0f, sum1 = 0.0f;
        for (int64_t t = threadIdx.x; t < len; t += kRegBlock) {
            const float p = hc_prob_open(la[t], beta, l, r);
            float dtrans = 0.0f;
            if (t + 1 < len) {
                const float pn = hc_prob_open(la[t + 1], beta, l, r);
                sum1 += p + pn - 2.0f * p * pn;
                dtrans += 1.0f - 2.0f * pn;
            }
            if (t > 0) {
                const float pp = hc_prob_open(la[t - 1], beta, l, r);
                dtrans += 1.0f - 2.0f * pp;
            }
            sum0 += p;
            const float dp = (w_l0 + w_trans * dtrans) / flen;
            dla[t] += dp * (p * (1.0f - p));
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
int launch_hc_sample(void* stream, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                     int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, int64_t step,
                     const int64_t* step_at) {
    const int64_t total = S * N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    hc_sample_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(z, dz, logalpha, lengths, S, N, T, beta, l, r, seed,
                                                                step, step_at);
    return cu::launch_status();
}
}  // namespace

int cuda_hc_sample(void* stream, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                   int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, int64_t step) {
    return launch_hc_sample(stream, z, dz, logalpha, lengths, S, N, T, beta, l, r, seed, step, nullptr);
}

int cuda_hc_sample_at(void* stream, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                      int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step) {
    return launch_hc_sample(stream, z, dz, logalpha, lengths, S, N, T, beta, l, r, seed, 0, step);
}

int cuda_hc_gate(void* stream, float* z, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
                 float l, float r) {
    const int64_t total = N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    hc_gate_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(z, logalpha, lengths, N, T, l, r);
    return cu::launch_status();
}

int cuda_hc_prob_open(void* stream, float* p, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
                      float beta, float l, float r) {
    const int64_t total = N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    hc_prob_open_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(p, logalpha, lengths, N, T, beta, l, r);
    return cu::launch_status();
}

int cuda_hc_regularize_rows(void* stream, float* d_logalpha, float* reg, const float* logalpha,
                            const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float beta, float l,
                            float r, float w_l0, float w_trans) {
    if (N <= 0 || T <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    hc_regularize_kernel<<<cu::grid_for(N, 1), kRegBlock, 0, s>>>(d_logalpha, reg, logalpha, lengths, w_l0_rows, N, T,
                                                                   beta, l, r, w_l0, w_trans);
    return cu::launch_status();
}

int cuda_hc_regularize(void* stream, float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths,
                       int64_t N, int64_t T, float beta, float l, float r, float w_l0, float w_trans) {
    return cuda_hc_regularize_rows(stream, d_logalpha, reg, logalpha, lengths, nullptr, N, T, beta, l, r, w_l0,
                                   w_trans);
}

}  // namespace mo
