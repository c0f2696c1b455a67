// wordgates: word-level gates shared by the tokens of a word (the word pieces of a BERT tokenizer):
// cpu_gather_gates (word gates -> token gates) and cpu_segment_sum (its adjoint, token gradients -> word
// gradients). No methods.md section: the gates of sections 1 and 3 placed on words instead of tokens.
// Shapes: group [N,T] (int32) maps token t of sequence n to its word in [0, W), or -1 (never masked);
// lengths [N]; gather: in [P,S,N,W] -> out [P,S,N,T]; segment sum: in [P,N,T] -> out [P,N,W].
#include <algorithm>

#include "ops.h"
#include "parallel.h"

namespace mo {

// out[p,s,n,t] = in[p,s,n,group[n,t]] for t < len and group >= 0, else 0.
void cpu_gather_gates(float* out, const float* in, const int32_t* group, const int32_t* lengths, int64_t P, int64_t S,
                      int64_t N, int64_t T, int64_t W) {
    parallel_for(P * S * N, grain_for(T), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = (p S + s) N + n
            const int64_t n = row % N, len = lengths[n];
            const int32_t* g = group + n * T;
            const float* src = in + row * W;
            float* dst = out + row * T;
            for (int64_t t = 0; t < T; ++t) dst[t] = t < len && g[t] >= 0 ? src[g[t]] : 0.0f;
        }
    });
}

// out[p,n,w] = sum of in[p,n,t] over t < len with group[n,t] = w, t ascending; 0 for words without tokens.
void cpu_segment_sum(float* out, const float* in, const int32_t* group, const int32_t* lengths, int64_t P, int64_t N,
                     int64_t T, int64_t W) {
    parallel_for(P * N, grain_for(T + W), [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {  // row = p N + n
            const int64_t n = row % N, len = lengths[n];
            const int32_t* g = group + n * T;
            const float* src = in + row * T;
            float* dst = out + row * W;
            std::fill(dst, dst + W, 0.0f);
            for (int64_t t = 0; t < len; ++t)
                if (g[t] >= 0) dst[g[t]] += src[t];
        }
    });
}

}  // namespace mo
