// pool: cpu_pool_forward, cpu_pool_backward, the sequence pooling in front of the classifier head: the mean
// over real tokens (Reimers & Gurevych 2019, Sentence-BERT) or the first token ([CLS]; Devlin et al. 2019).
// No methods.md section. Shapes: x, dx [B,T,D]; y, dy [B,D]; lengths [B]; mode MO_POOL_MEAN or MO_POOL_FIRST.
//   mean:  y[b] = sum_{t < len} x[b,t] / len (summed in double, t ascending);  dx[b,t] = dy[b] / len for t < len
//   first: y[b] = x[b,0];                                                      dx[b,0] = dy[b]
// and dx = 0 everywhere else.
#include <algorithm>
#include <vector>

#include "maskopt.h"
#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_pool_forward(float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T, int64_t D, int mode) {
    if (mode == MO_POOL_FIRST) {
        parallel_for(B, grain_for(D), [&](int64_t begin, int64_t end) {
            for (int64_t b = begin; b < end; ++b) std::copy(x + b * T * D, x + b * T * D + D, y + b * D);
        });
        return;
    }
    parallel_for(B, grain_for(T * D), [&](int64_t begin, int64_t end) {
        std::vector<double> acc((size_t)D);
        for (int64_t b = begin; b < end; ++b) {
            const int64_t len = lengths[b];
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t t = 0; t < len; ++t) {
                const float* xr = x + (b * T + t) * D;
                for (int64_t d = 0; d < D; ++d) acc[(size_t)d] += xr[d];
            }
            for (int64_t d = 0; d < D; ++d) y[b * D + d] = (float)(acc[(size_t)d] / (double)len);
        }
    });
}

void cpu_pool_backward(float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T, int64_t D, int mode) {
    parallel_for(B * T, grain_for(D), [&](int64_t begin, int64_t end) {
        for (int64_t bt = begin; bt < end; ++bt) {  // bt = b T + t
            const int64_t b = bt / T, t = bt % T, len = lengths[b];
            float* dxr = dx + bt * D;
            const float* g = dy + b * D;
            if (mode == MO_POOL_FIRST ? t != 0 : t >= len) {
                std::fill(dxr, dxr + D, 0.0f);
            } else if (mode == MO_POOL_FIRST) {
                std::copy(g, g + D, dxr);
            } else {
                const float flen = (float)len;  // exact: len <= T < 2^24 in practice, and a division rounds once
                for (int64_t d = 0; d < D; ++d) dxr[d] = g[d] / flen;
            }
        }
    });
}

}  // namespace mo
