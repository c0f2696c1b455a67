// attention: cpu_attention_forward, cpu_attention_backward, multi-head scaled dot-product self-attention
// (Vaswani et al. 2017, section 3.2; the encoder of BERT, Devlin et al. 2019) over the real tokens of each
// sequence. No methods.md section.
// Shapes: qkv, d_qkv [B,T,3D] (q in columns [0,D), k in [D,2D), v in [2D,3D); head h uses columns
// h Dh .. (h+1) Dh - 1 of each), D = H Dh; out, d_out [B,T,D]; probs [B,H,T,T]; lengths [B]; L = lengths[b].
//   forward:  S = Q K^T, P = softmax over t' < L of S / sqrt(Dh) (P = 0 at t' >= L), O = P V
//   backward: dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ = dS K / sqrt(Dh), dK = dS^T Q / sqrt(Dh)
// Rows t >= L of out, probs and d_qkv are 0. Masked keys are never touched by exp: the loops run over t' < L.
// One (b, h) per task; the products go through the strided gemm of gemm.h on the task's thread.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include <math.h>

#include <algorithm>
#include <vector>

#include "fastmath.h"
#include "gemm.h"
#include "ops.h"
#include "parallel.h"

namespace mo {
namespace {

constexpr int kLanes = 8;

inline double reduce_lanes(double* acc) {
    for (int h = kLanes / 2; h > 0; h >>= 1)
        for (int j = 0; j < h; ++j) acc[j] += acc[j + h];
    return acc[0];
}

// In place over one row of L scores: p = exp((s - max s) scale) / sum (the sum in double lanes).
MO_SIMD_CLONES
void softmax_row(float* s, int64_t L, float scale) {
    float mx[16];  // the row maximum in 16 lanes (exact in any order)
    for (int q = 0; q < 16; ++q) mx[q] = s[0];
    int64_t j = 0;
    for (; j + 16 <= L; j += 16)
        for (int q = 0; q < 16; ++q) mx[q] = s[j + q] > mx[q] ? s[j + q] : mx[q];
    for (int q = 0; j < L; ++j, ++q) mx[q] = s[j] > mx[q] ? s[j] : mx[q];
    float m = mx[0];
    for (int q = 1; q < 16; ++q) m = mx[q] > m ? mx[q] : m;
    double acc[kLanes] = {0.0};
    j = 0;
    for (; j + kLanes <= L; j += kLanes)
        for (int q = 0; q < kLanes; ++q) {
            const float e = fast_exp((s[j + q] - m) * scale);
            s[j + q] = e;
            acc[q] += e;
        }
    for (int q = 0; j < L; ++j, ++q) {
        const float e = fast_exp((s[j] - m) * scale);
        s[j] = e;
        acc[q] += e;
    }
    const float inv = (float)(1.0 / reduce_lanes(acc));
    for (j = 0; j < L; ++j) s[j] *= inv;
}

// In place over one row: dS = P (dP - sum_j dP_j P_j) scale (the 1/sqrt(Dh) of dQ and dK folded in).
MO_SIMD_CLONES
void softmax_backward_row(float* dp, const float* p, int64_t L, float scale) {
    double acc[kLanes] = {0.0};
    int64_t j = 0;
    for (; j + kLanes <= L; j += kLanes)
        for (int q = 0; q < kLanes; ++q) acc[q] += (double)dp[j + q] * (double)p[j + q];
    for (int q = 0; j < L; ++j, ++q) acc[q] += (double)dp[j] * (double)p[j];
    const float r = (float)reduce_lanes(acc);
    for (j = 0; j < L; ++j) dp[j] = (p[j] * (dp[j] - r)) * scale;
}

void zero_rows(float* p, int64_t ld, int64_t rows, int64_t cols) {
    for (int64_t i = 0; i < rows; ++i) std::fill(p + i * ld, p + i * ld + cols, 0.0f);
}

thread_local std::vector<float> t_ds;  // one task's dP / dS [L, L]

}  // namespace

void cpu_attention_forward(float* out, float* probs, const float* qkv, const int32_t* lengths, int64_t B, int64_t T,
                           int64_t H, int64_t Dh) {
    const int64_t D = H * Dh, ld = 3 * D;
    const float scale = (float)(1.0 / sqrt((double)Dh));
    parallel_for(B * H, grain_for(T * T * Dh * 4), [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) {  // bh = b H + h
            const int64_t b = bh / H, h = bh % H, L = lengths[b];
            const float* q = qkv + b * T * ld + h * Dh;
            const float* k = q + D;
            const float* v = q + 2 * D;
            float* P = probs + bh * T * T;
            float* o = out + b * T * D + h * Dh;
            // S = Q K^T into the top-left L x L of P, then softmax row by row.
            gemm(P, T, View{q, ld, 1}, View{k, 1, ld}, nullptr, L, L, Dh, false, false);
            for (int64_t t = 0; t < L; ++t) {
                softmax_row(P + t * T, L, scale);
                std::fill(P + t * T + L, P + (t + 1) * T, 0.0f);
            }
            zero_rows(P + L * T, T, T - L, T);
            // O = P V.
            gemm(o, D, View{P, T, 1}, View{v, ld, 1}, nullptr, L, Dh, L, false, false);
            zero_rows(o + L * D, D, T - L, Dh);
        }
    });
}

void cpu_attention_backward(float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                            const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh) {
    const int64_t D = H * Dh, ld = 3 * D;
    const float scale = (float)(1.0 / sqrt((double)Dh));
    parallel_for(B * H, grain_for(T * T * Dh * 8), [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t b = bh / H, h = bh % H, L = lengths[b];
            const float* q = qkv + b * T * ld + h * Dh;
            const float* k = q + D;
            const float* v = q + 2 * D;
            const float* P = probs + bh * T * T;
            const float* dO = d_out + b * T * D + h * Dh;
            float* dq = d_qkv + b * T * ld + h * Dh;
            float* dk = dq + D;
            float* dv = dq + 2 * D;
            if ((int64_t)t_ds.size() < L * L) t_ds.resize((size_t)(L * L));
            float* dS = t_ds.data();
            // dV = P^T dO.
            gemm(dv, ld, View{P, 1, T}, View{dO, D, 1}, nullptr, L, Dh, L, false, false);
            // dP = dO V^T, then dS (with the scale) in place.
            gemm(dS, L, View{dO, D, 1}, View{v, 1, ld}, nullptr, L, L, Dh, false, false);
            for (int64_t t = 0; t < L; ++t) softmax_backward_row(dS + t * L, P + t * T, L, scale);
            // dQ = dS K, dK = dS^T Q.
            gemm(dq, ld, View{dS, L, 1}, View{k, ld, 1}, nullptr, L, Dh, L, false, false);
            gemm(dk, ld, View{dS, 1, L}, View{q, ld, 1}, nullptr, L, Dh, L, false, false);
            for (float* p : {dq, dk, dv}) zero_rows(p + L * ld, ld, T - L, Dh);
        }
    });
}

}  // namespace mo
