// step: the step counter of a graph-friendly optimization step: mo_step_increment and mo_trace_write (methods.md:
// none; plumbing of the optimization loop). Shape legend: step [1] (int64, device memory); trace [R,n]; values [n].
// The counter is read by the kernels when they run, so a captured graph advances it on every replay.
#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

__global__ void step_increment_kernel(int64_t* step) { step[0] += 1; }

// Row step[0] of trace = values; an out-of-range step writes nothing (there is no error channel in a kernel).
__global__ void trace_write_kernel(float* __restrict__ trace, const float* __restrict__ values,
                                   const int64_t* __restrict__ step, int64_t R, int64_t n) {
    const int64_t row = step[0];
    if (row < 0 || row >= R) return;
    float* out = trace + row * n;
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) out[i] = values[i];
}

}  // namespace

int cuda_step_increment(void* stream, int64_t* step) {
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    step_increment_kernel<<<1, 1, 0, s>>>(step);
    return cu::launch_status();
}

int cuda_trace_write(void* stream, float* trace, const float* values, const int64_t* step, int64_t R, int64_t n) {
    if (R <= 0 || n <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    trace_write_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(trace, values, step, R, n);
    return cu::launch_status();
}

}  // namespace mo
