// adam: mo_adam_update and mo_adam_update_at, fused Adam / AdamW with decoupled weight decay (used by every mask
// optimizer; methods.md sections 1-3 name the optimizers). Shape legend: param, m, v, grad [n], updated in place.
// The bias corrections bc1 = 1 - beta1^step, bc2 = 1 - beta2^step are computed in double on the device, once per
// block, from the by-value step or from step[0] (the step counter): one code path, so the two variants give the
// same bits, and a captured graph reads each replay's step.
// float4 loads and stores when all four arrays are 16-byte aligned; the scalar tail handles n % 4.
#include <math.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

struct AdamArgs {
    float lr, beta1, beta2, eps, weight_decay;
    int64_t step;            // used when step_at is NULL
    const int64_t* step_at;  // the step counter (device memory), or NULL
};

struct Bias {
    float bc1, bc2;
};

// Thread 0 computes the corrections (the expression of cpu_adam_update); every thread must call this.
__device__ __forceinline__ Bias bias_corrections(const AdamArgs& a) {
    __shared__ Bias shared;
    if (threadIdx.x == 0) {
        const double step = (double)(a.step_at != nullptr ? a.step_at[0] : a.step);
        shared.bc1 = (float)(1.0 - pow((double)a.beta1, step));
        shared.bc2 = (float)(1.0 - pow((double)a.beta2, step));
    }
    __syncthreads();
    return shared;
}

__device__ __forceinline__ void adam_element(float& p, float& m, float& v, float g, const AdamArgs& a,
                                             const Bias& b) {
    p -= a.lr * a.weight_decay * p;
    m = a.beta1 * m + (1.0f - a.beta1) * g;
    v = a.beta2 * v + (1.0f - a.beta2) * g * g;
    p -= a.lr * (m / b.bc1) / (sqrtf(v / b.bc2) + a.eps);
}

__global__ void adam_update_kernel(float* __restrict__ param, float* __restrict__ m, float* __restrict__ v,
                                   const float* __restrict__ grad, int64_t n, AdamArgs a) {
    const Bias b = bias_corrections(a);
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) {
        float p = param[i], mi = m[i], vi = v[i];
        adam_element(p, mi, vi, grad[i], a, b);
        param[i] = p;
        m[i] = mi;
        v[i] = vi;
    }
}

// n4 float4 groups, then elements [4 n4, n) one per thread.
__global__ void adam_update_vec4_kernel(float* __restrict__ param, float* __restrict__ m, float* __restrict__ v,
                                        const float* __restrict__ grad, int64_t n, AdamArgs a) {
    const Bias b = bias_corrections(a);
    const int64_t n4 = n / 4;
    float4* p4 = reinterpret_cast<float4*>(param);
    float4* m4 = reinterpret_cast<float4*>(m);
    float4* v4 = reinterpret_cast<float4*>(v);
    const float4* g4 = reinterpret_cast<const float4*>(grad);
    for (int64_t i = cu::global_thread(); i < n4; i += cu::global_threads()) {
        float4 p = p4[i], mi = m4[i], vi = v4[i];
        const float4 g = g4[i];
        adam_element(p.x, mi.x, vi.x, g.x, a, b);
        adam_element(p.y, mi.y, vi.y, g.y, a, b);
        adam_element(p.z, mi.z, vi.z, g.z, a, b);
        adam_element(p.w, mi.w, vi.w, g.w, a, b);
        p4[i] = p;
        m4[i] = mi;
        v4[i] = vi;
    }
    for (int64_t i = 4 * n4 + cu::global_thread(); i < n; i += cu::global_threads()) {
        float p = param[i], mi = m[i], vi = v[i];
        adam_element(p, mi, vi, grad[i], a, b);
        param[i] = p;
        m[i] = mi;
        v[i] = vi;
    }
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

int launch_adam(void* stream, float* param, float* m, float* v, const float* grad, int64_t n, const AdamArgs& a) {
    if (n <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    if (aligned16(param) && aligned16(m) && aligned16(v) && aligned16(grad) && n >= 4) {
        adam_update_vec4_kernel<<<cu::grid_for(n / 4), cu::kBlock, 0, s>>>(param, m, v, grad, n, a);
    } else {
        adam_update_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(param, m, v, grad, n, a);
    }
    return cu::launch_status();
}

}  // namespace

int cuda_adam_update(void* stream, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                     float beta1, float beta2, float eps, float weight_decay, int64_t step) {
    const AdamArgs a{lr, beta1, beta2, eps, weight_decay, step, nullptr};
    return launch_adam(stream, param, m, v, grad, n, a);
}

int cuda_adam_update_at(void* stream, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, const int64_t* step) {
    const AdamArgs a{lr, beta1, beta2, eps, weight_decay, 0, step};
    return launch_adam(stream, param, m, v, grad, n, a);
}

}  // namespace mo
