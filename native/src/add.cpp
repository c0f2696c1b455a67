// add: cpu_add (element-wise sum, the residual connections of the encoder) and cpu_add_position (the BERT
// embedding sum before its LayerNorm: word + position + token type 0; Devlin et al. 2019, section 3).
// No methods.md section. Shapes: add: y, a, b [n] (y may alias a or b); add_position: y, x [B,T,D],
// pos [>= T, D], type [D], lengths [B]; y[b,t] = (x[b,t] + pos[t]) + type for t < len, 0 at padding.
#include <algorithm>

#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_add(float* y, const float* a, const float* b, int64_t n) {
    // Element-wise: each y[i] reads only a[i] and b[i], so aliasing is harmless.
    parallel_for(n, 32768, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) y[i] = a[i] + b[i];
    });
}

void cpu_add_position(float* y, const float* x, const float* pos, const float* type, const int32_t* lengths, int64_t B,
                      int64_t T, int64_t D) {
    parallel_for(B * T, grain_for(D), [&](int64_t begin, int64_t end) {
        for (int64_t bt = begin; bt < end; ++bt) {  // bt = b T + t
            const int64_t t = bt % T;
            float* yr = y + bt * D;
            if (t >= lengths[bt / T]) {
                std::fill(yr, yr + D, 0.0f);
                continue;
            }
            const float* xr = x + bt * D;
            const float* pr = pos + t * D;
            for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] + pr[d]) + type[d];
        }
    });
}

}  // namespace mo
