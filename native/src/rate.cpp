// rate: the target selection rate: cpu_rate_multiplier (the Lagrange multiplier of methods.md section 1,
// "Constrained objective" and "Lagrangian relaxation (GECO-style)") and cpu_rate_control (the proportional
// controller of the explainer), the CPU halves of mo_rate_multiplier and mo_rate_control.
// Shapes: lambda / w, cma [N] (updated in place); reg [N,2] (column 0, the expected selection rate, is read).
// Per-row math from gate_math.h, shared with cuda/rate.cu.
#include "gate_math.h"
#include "ops.h"

namespace mo {

void cpu_rate_multiplier(float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta, float alpha,
                         float lo, float hi) {
    for (int64_t n = 0; n < N; ++n) rate_multiplier_update(&lambda[n], &cma[n], reg[2 * n], rho, eta, alpha, lo, hi);
}

void cpu_rate_control(float* w, float* cma, const float* reg, int64_t N, float rho, float gain, float alpha, float lo,
                      float hi) {
    for (int64_t n = 0; n < N; ++n) rate_control_update(&w[n], &cma[n], reg[2 * n], rho, gain, alpha, lo, hi);
}

}  // namespace mo
