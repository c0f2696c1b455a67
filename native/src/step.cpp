// step: the step counter of a graph-friendly optimization step: cpu_step_increment and cpu_trace_write, the CPU
// halves of mo_step_increment and mo_trace_write (methods.md: none; plumbing of the optimization loop).
// Shapes: step [1] (int64); trace [R,n]; values [n]. On the CPU backend the counter is host memory.
#include <string.h>

#include "ops.h"

namespace mo {

void cpu_step_increment(int64_t* step) { step[0] += 1; }

// dispatch has checked 0 <= step[0] < R.
void cpu_trace_write(float* trace, const float* values, const int64_t* step, int64_t R, int64_t n) {
    (void)R;
    memcpy(trace + step[0] * n, values, (size_t)n * sizeof(float));
}

}  // namespace mo
