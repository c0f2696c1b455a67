// uniform: mo_uniform, the Philox4x32-10 uniforms every gate sampler draws (methods.md, numerical notes;
// sections 1 and 3 use them). Shape legend: u [S,N,T], index (s*N + n)*T + t, written at every position
// (padding included). Bit-identical to cpu_uniform: both call philox_uniform from philox.h.
#include "common.cuh"
#include "ops.h"
#include "philox.h"

namespace mo {

namespace {

__global__ void uniform_kernel(float* __restrict__ u, uint64_t seed, int64_t step, int64_t S, int64_t N,
                               int64_t T) {
    const int64_t total = S * N * T;
    for (int64_t i = cu::global_thread(); i < total; i += cu::global_threads()) {
        const int64_t row = i / T, t = i - row * T;
        const int64_t s = row / N, n = row - s * N;
        u[i] = philox_uniform(seed, step, s, n, t);
    }
}

}  // namespace

int cuda_uniform(void* stream, float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T) {
    const int64_t total = S * N * T;
    if (total <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    uniform_kernel<<<cu::grid_for(total), cu::kBlock, 0, s>>>(u, seed, step, S, N, T);
    return cu::launch_status();
}

}  // namespace mo
