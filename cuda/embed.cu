// embed: mo_embed, the embedding-table gather that produces E (design.md "The flow": embed).
// Shape legend: out [N,T,D] index (n*T + t)*D + d; ids [N,T] in [0, V); table [V,D]; lengths[N] in [1, T];
// padding (t >= len) written as 0; an id outside [0, V) yields a NaN row (the caller validates ids).
#include <math.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

// One warp per (n,t) row; lanes stride over d (coalesced reads of the table row and writes of out).
__global__ void embed_kernel(float* __restrict__ out, const int32_t* __restrict__ ids,
                             const int32_t* __restrict__ lengths, const float* __restrict__ table, int64_t N,
                             int64_t T, int64_t V, int64_t D) {
    const int64_t rows = N * T;
    const int lane = cu::lane_id();
    for (int64_t nt = cu::global_warp(); nt < rows; nt += cu::global_warps()) {
        const int64_t n = nt / T, t = nt - n * T;
        float* o = out + nt * D;
        if (t >= cu::seq_len(lengths, n, T)) {
            for (int64_t d = lane; d < D; d += cu::kWarp) o[d] = 0.0f;
            continue;
        }
        const int64_t id = ids[nt];
        if (id < 0 || id >= V) {
            for (int64_t d = lane; d < D; d += cu::kWarp) o[d] = NAN;
            continue;
        }
        const float* src = table + id * D;
        for (int64_t d = lane; d < D; d += cu::kWarp) o[d] = src[d];
    }
}

constexpr int kWarpsPerBlock = cu::kBlock / cu::kWarp;

}  // namespace

int cuda_embed(void* stream, float* out, const int32_t* ids, const int32_t* lengths, const float* table, int64_t N,
               int64_t T, int64_t V, int64_t D) {
    const int64_t rows = N * T;
    if (rows <= 0 || D <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    embed_kernel<<<cu::grid_for(rows, kWarpsPerBlock), cu::kBlock, 0, s>>>(out, ids, lengths, table, N, T, V, D);
    return cu::launch_status();
}

}  // namespace mo
