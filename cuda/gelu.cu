// gelu: mo_gelu_forward and mo_gelu_backward, the exact (erf) GELU of the BERT feed-forward block
// (Hendrycks and Gimpel 2016: GELU(x) = x Phi(x); GELU'(x) = Phi(x) + x phi(x)).
// Shape legend: y/x/dx/dy [n] (elementwise; outputs may alias inputs). Phi(x) = 0.5 (1 + erf(x / sqrt 2)),
// phi(x) = exp(-x^2 / 2) / sqrt(2 pi). float4 path when every pointer is 16-byte aligned.
#include <math.h>
#include <stdint.h>

#include "common.cuh"
#include "ops.h"

namespace mo {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

inline bool aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

struct GeluFwd {
    __device__ __forceinline__ float operator()(float x, float) const {
        return 0.5f * x * (1.0f + erff(x * kInvSqrt2));
    }
};
struct GeluBwd {  // (dy, x) -> dx
    __device__ __forceinline__ float operator()(float x, float dy) const {
        const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
        return dy * (cdf + x * pdf);
    }
};

// out[i] = f(x[i], g[i]) (g unused by the forward: pass x).
template <class F>
__global__ void map_kernel(float* out, const float* x, const float* g, int64_t n, F f) {
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) out[i] = f(x[i], g[i]);
}

template <class F>
__global__ void map_kernel4(float* out, const float* x, const float* g, int64_t n, F f) {
    const int64_t n4 = n >> 2;
    float4* o4 = reinterpret_cast<float4*>(out);
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const float4* g4 = reinterpret_cast<const float4*>(g);
    for (int64_t i = cu::global_thread(); i < n4; i += cu::global_threads()) {
        const float4 u = x4[i], v = g4[i];
        o4[i] = make_float4(f(u.x, v.x), f(u.y, v.y), f(u.z, v.z), f(u.w, v.w));
    }
    const int64_t i = (n4 << 2) + cu::global_thread();  // tail: fewer than 4 elements
    if (i < n) out[i] = f(x[i], g[i]);
}

template <class F>
int launch_map(void* stream, float* out, const float* x, const float* g, int64_t n, F f) {
    if (n <= 0) return 0;
    cudaStream_t s;
    if (int e = cu::begin_launch(stream, &s)) return e;
    if (aligned16(out) && aligned16(x) && aligned16(g) && n >= 4) {
        map_kernel4<<<cu::grid_for(n >> 2), cu::kBlock, 0, s>>>(out, x, g, n, f);
    } else {
        map_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(out, x, g, n, f);
    }
    return cu::launch_status();
}

}  // namespace

int cuda_gelu_forward(void* stream, float* y, const float* x, int64_t n) {
    return launch_map(stream, y, x, x, n, GeluFwd{});
}

int cuda_gelu_backward(void* stream, float* dx, const float* dy, const float* x, int64_t n) {
    return launch_map(stream, dx, x, dy, n, GeluBwd{});
}

}  // namespace mo
