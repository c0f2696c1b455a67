// rate: the target selection rate: mo_rate_multiplier (the Lagrange multiplier of methods.md section 1,
// "Constrained objective" and "Lagrangian relaxation (GECO-style)") and mo_rate_control (the explainer's
// proportional controller). Per-row math from gate_math.h, shared with rate.cpp.
// Shape legend: lambda / w, cma [N] (device memory, updated in place); reg [N,2] (column 0 is read).
// No host synchronization: the kernel reads reg where the regularizer left it, so it runs inside a captured step.
#include "common.cuh"
#include "gate_math.h"
#include "ops.h"

namespace mo {

namespace {

__global__ void rate_multiplier_kernel(float* __restrict__ lambda, float* __restrict__ cma,
                                       const float* __restrict__ reg, int64_t N, float rho, float eta, float alpha,
                                       float lo, float hi) {
    for (int64_t n = cu::global_thread(); n < N; n += cu::global_threads())
        rate_multiplier_update(&lambda[n], &cma[n], reg[2 * n], rho, eta, alpha, lo, hi);
}

__global__ void rate_control_kernel(float* __restrict__ w, float* __restrict__ cma, const float* __restrict__ reg,
                                    int64_t N, float rho, float gain, float alpha, float lo, float hi) {
    for (int64_t n = cu::global_thread(); n < N; n += cu::global_threads())
        rate_control_update(&w[n], &cma[n], reg[2 * n], rho, gain, alpha, lo, hi);
}

}  // namespace

int cuda_rate_multiplier(void* stream, float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta,
                         float alpha, float lo, float hi) {
    if (N <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    rate_multiplier_kernel<<<cu::grid_for(N), cu::kBlock, 0, s>>>(lambda, cma, reg, N, rho, eta, alpha, lo, hi);
    return cu::launch_status();
}

int cuda_rate_control(void* stream, float* w, float* cma, const float* reg, int64_t N, float rho, float gain,
                      float alpha, float lo, float hi) {
    if (N <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    rate_control_kernel<<<cu::grid_for(N), cu::kBlock, 0, s>>>(w, cma, reg, N, rho, gain, alpha, lo, hi);
    return cu::launch_status();
}

}  // namespace mo
