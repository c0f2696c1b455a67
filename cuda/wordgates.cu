// wordgates: mo_gather_gates and mo_segment_sum, word-level gates shared by the tokens of a word
// (maskopt.h "word-level gates": a gate per word, broadcast to its word pieces; the backward sums the
// token gradients of each word). Shape legend: in/out of gather [P,S,N,W] -> [P,S,N,T]; segment_sum
// in [P,N,T] -> out [P,N,W]; group [N,T] (int32) in [0, W) or -1 (never masked); lengths[N] in [1, T].
// Padding (t >= len) and -1 tokens read as 0; a group id outside [-1, W) (invalid data) also reads as 0.
// One thread per output element; segment_sum loops t in increasing order (deterministic, no atomics).
#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

// out[p,s,n,t] = in[p,s,n,group[n,t]] for t < len and 0 <= group < W, else 0.
__global__ void gather_gates_kernel(float* __restrict__ out, const float* __restrict__ in,
                                    const int32_t* __restrict__ group, const int32_t* __restrict__ lengths,
                                    int64_t PSN, int64_t N, int64_t T, int64_t W) {
    const int64_t total = PSN * T;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t psn = i / T, t = i - psn * T;  // psn = (p*S + s)*N + n
        const int64_t n = psn % N;
        float v = 0.0f;
        if (t < cu::seq_len(lengths, n, T)) {
            const int64_t g = group[n * T + t];
            if (g >= 0 && g < W) v = in[psn * W + g];
        }
        out[i] = v;
    }
}

// out[p,n,w] = sum over t < len (increasing) with group[n,t] == w of in[p,n,t]. Consecutive threads take
// consecutive w of one (p,n): they read the same group/in entries (broadcast) and write coalesced.
__global__ void segment_sum_kernel(float* __restrict__ out, const float* __restrict__ in,
                                   const int32_t* __restrict__ group, const int32_t* __restrict__ lengths,
                                   int64_t PN, int64_t N, int64_t T, int64_t W) {
    const int64_t total = PN * W;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t pn = i / W, w = i - pn * W;  // pn = p*N + n
        const int64_t n = pn % N;
        const int64_t len = cu::seq_len(lengths, n, T);
        const int32_t* g = group + n * T;
        const float* x = in + pn * T;
        float acc = 0.0f;
        for (int64_t t = 0; t < len; ++t)
            if (g[t] == w) acc += x[t];
        out[i] = acc;
    }
}

}  // namespace

int cuda_gather_gates(void* stream, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                      int64_t P, int64_t S, int64_t N, int64_t T, int64_t W) {
    const int64_t PSN = P * S * N;
    if (PSN <= 0 || T <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    gather_gates_kernel<<<cu::grid_for(PSN * T), cu::kBlock, 0, s>>>(out, in, group, lengths, PSN, N, T, W);
    return cu::launch_status();
}

int cuda_segment_sum(void* stream, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                     int64_t P, int64_t N, int64_t T, int64_t W) {
    const int64_t PN = P * N;
    if (PN <= 0 || W <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    segment_sum_kernel<<<cu::grid_for(PN * W), cu::kBlock, 0, s>>>(out, in, group, lengths, PN, N, T, W);
    return cu::launch_status();
}

}  // namespace mo
