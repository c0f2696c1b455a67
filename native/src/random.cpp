// random: mo_uniform -> cpu_uniform. Philox4x32-10 uniforms as drawn by every gate sampler (methods.md,
// numerical notes of sections 1 and 3). Shapes: u [S,N,T], S samples, N sequences, T max length;
// counter = (t, n, s, step), key = seed (philox.h).
#include "ops.h"
#include "parallel.h"
#include "philox.h"

namespace mo {

void cpu_uniform(float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T) {
    parallel_for(S * N, grain_for(T * 40), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = s N + n
            int64_t s = row / N, n = row % N;
            float* out = u + row * T;
            for (int64_t t = 0; t < T; ++t) out[t] = philox_uniform(seed, step, s, n, t);
        }
    });
}

}  // namespace mo
