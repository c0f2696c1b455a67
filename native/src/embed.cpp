// embed: cpu_embed, the embedding lookup that produces E for the mix (design.md flow; no methods.md
// section). Shapes: out [N,T,D]; ids [N,T] in [0, V); lengths [N]; table [V,D].
#include <algorithm>
#include <cstring>

#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_embed(float* out, const int32_t* ids, const int32_t* lengths, const float* table, int64_t N, int64_t T,
               int64_t V, int64_t D) {
    (void)V;  // ids were checked against V by dispatch
    parallel_for(N * T, grain_for(D), [&](int64_t begin, int64_t end) {
        for (int64_t nt = begin; nt < end; ++nt) {  // nt = n T + t
            float* o = out + nt * D;
            if (nt % T < lengths[nt / T])
                std::memcpy(o, table + (int64_t)ids[nt] * D, (size_t)D * sizeof(float));
            else
                std::fill(o, o + D, 0.0f);
        }
    });
}

}  // namespace mo
