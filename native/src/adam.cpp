// adam: cpu_adam_update (and its step-counter variant cpu_adam_update_at), fused Adam / AdamW with decoupled
// weight decay (the optimizer of the mask parameters; methods.md section 2 uses AdamW, section 1 Adam).
// Shapes: param, m, v, grad [n].
#include <math.h>

#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, int64_t step) {
    // Bias corrections in double, then cast: the expression the CUDA kernel evaluates on the device (its pow may
    // differ from the host's in the last double bit, which the cast to float almost always absorbs).
    const float bc1 = (float)(1.0 - pow((double)beta1, (double)step));
    const float bc2 = (float)(1.0 - pow((double)beta2, (double)step));
    parallel_for(n, 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            float p = param[i], g = grad[i];
            p -= lr * weight_decay * p;
            float mi = beta1 * m[i] + (1.0f - beta1) * g;
            float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
            p -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
            param[i] = p;
            m[i] = mi;
            v[i] = vi;
        }
    });
}

void cpu_adam_update_at(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1,
                        float beta2, float eps, float weight_decay, const int64_t* step) {
    cpu_adam_update(param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step[0]);
}

}  // namespace mo
