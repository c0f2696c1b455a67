// runtime: CUDA plumbing behind mo_cuda_device_count, contexts (device + non-blocking stream), memory,
// mo_upload/mo_download/mo_copy, mo_fill, mo_count_nonfinite and graphs (capture, launch, release) (methods.md: none; numerical notes only).
// Shape legend: n elements (float), bytes (byte counts). Every runtime call is checked; the first error is
// returned as a cudaError_t (int). Plumbing calls that take a device select it first (cuda_set_device);
// for copy, fill and count_nonfinite dispatch has made the context's device current.
#include <math.h>

#include "common.cuh"
#include "ops.h"

#ifndef MASKOPT_CUDA_ARCHS
#ifdef __CUDA_ARCH_LIST__
#define MO_ARCH_STR2(x) #x
#define MO_ARCH_STR(x) MO_ARCH_STR2(x)
#define MASKOPT_CUDA_ARCHS MO_ARCH_STR(__CUDA_ARCH_LIST__)
#else
#define MASKOPT_CUDA_ARCHS "unknown"
#endif
#endif

namespace mo {

namespace {

#define MO_CUDA_TRY(expr)                      \
    do {                                       \
        cudaError_t mo_e_ = (expr);            \
        if (mo_e_ != cudaSuccess) return (int)mo_e_; \
    } while (0)

__global__ void fill_kernel(float* __restrict__ x, float value, int64_t n) {
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) x[i] = value;
}

// Per-block count of NaN/Inf, one integer atomic per block (integer sums are order-independent).
__global__ void count_nonfinite_kernel(unsigned long long* __restrict__ count, const float* __restrict__ x,
                                       int64_t n) {
    unsigned long long c = 0;
    for (int64_t i = cu::global_thread(); i < n; i += cu::global_threads()) c += isfinite(x[i]) ? 0ull : 1ull;
    c = cu::warp_sum_u64(c);
    __shared__ unsigned long long partial[cu::kBlock / cu::kWarp];
    const int lane = cu::lane_id(), warp = threadIdx.x / cu::kWarp;
    if (lane == 0) partial[warp] = c;
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long s = 0;
        for (int w = 0; w < cu::kBlock / cu::kWarp; ++w) s += partial[w];
        if (s != 0) atomicAdd(count, s);
    }
}

}  // namespace

// Launchers run on the calling thread's current device; a context may be used from any thread, so
// dispatch makes the context's device current first. The runtime's own current device is asked each time
// (a cheap thread-local read) rather than cached here: any other code on the thread (the plumbing below,
// libtorch, the application) may have switched it since. cudaSetDevice only runs on a real change.
int cuda_set_device(int device) {
    int current = -1;
    cudaError_t err = cudaGetDevice(&current);
    if (err == cudaSuccess && current == device) return 0;
    return (int)cudaSetDevice(device);
}

int cuda_device_count(int* count) {
    int c = 0;
    cudaError_t e = cudaGetDeviceCount(&c);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();  // the probe's failure is reported through the return value only
        c = 0;
    }
    *count = c;
    return (int)e;
}

const char* cuda_error_string(int err) { return cudaGetErrorString((cudaError_t)err); }

const char* cuda_architectures(void) { return MASKOPT_CUDA_ARCHS; }

int cuda_stream_create(int device, void** stream) {
    *stream = nullptr;
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    cudaStream_t s = nullptr;
    MO_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *stream = (void*)s;
    return 0;
}

int cuda_stream_destroy(int device, void* stream) {
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    MO_CUDA_TRY(cudaStreamDestroy(cu::as_stream(stream)));
    return 0;
}

int cuda_stream_synchronize(int device, void* stream) {
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    MO_CUDA_TRY(cudaStreamSynchronize(cu::as_stream(stream)));
    return 0;
}

int cuda_malloc(int device, void** ptr, int64_t bytes) {
    *ptr = nullptr;
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    if (bytes <= 0) return 0;
    void* p = nullptr;
    MO_CUDA_TRY(cudaMalloc(&p, (size_t)bytes));
    *ptr = p;
    return 0;
}

int cuda_free(int device, void* ptr) {
    if (ptr == nullptr) return 0;
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    MO_CUDA_TRY(cudaFree(ptr));
    return 0;
}

int cuda_upload(int device, void* stream, void* dst, const void* host_src, int64_t bytes) {
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    if (bytes <= 0) return 0;
    cudaStream_t s = cu::as_stream(stream);
    MO_CUDA_TRY(cudaMemcpyAsync(dst, host_src, (size_t)bytes, cudaMemcpyHostToDevice, s));
    MO_CUDA_TRY(cudaStreamSynchronize(s));  // the host buffer may be reused as soon as this returns
    return 0;
}

int cuda_download(int device, void* stream, void* host_dst, const void* src, int64_t bytes) {
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    if (bytes <= 0) return 0;
    cudaStream_t s = cu::as_stream(stream);
    MO_CUDA_TRY(cudaMemcpyAsync(host_dst, src, (size_t)bytes, cudaMemcpyDeviceToHost, s));
    MO_CUDA_TRY(cudaStreamSynchronize(s));
    return 0;
}

int cuda_copy(void* stream, void* dst, const void* src, int64_t bytes) {
    if (bytes <= 0) return 0;
    cudaStream_t s = cu::as_stream(stream);
    MO_CUDA_TRY(cudaMemcpyAsync(dst, src, (size_t)bytes, cudaMemcpyDeviceToDevice, s));
    return 0;
}

int cuda_fill(void* stream, float* x, float value, int64_t n) {
    if (n <= 0) return 0;
    cudaStream_t s = cu::as_stream(stream);
    fill_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(x, value, n);
    return cu::launch_status();
}

int cuda_count_nonfinite(void* stream, int64_t* count, const float* x, int64_t n) {
    *count = 0;
    if (n <= 0) return 0;
    cudaStream_t s = cu::as_stream(stream);
    unsigned long long* d_count = nullptr;
    MO_CUDA_TRY(cudaMallocAsync((void**)&d_count, sizeof(unsigned long long), s));
    unsigned long long h_count = 0;
    cudaError_t e = cudaMemsetAsync(d_count, 0, sizeof(unsigned long long), s);
    if (e == cudaSuccess) {
        count_nonfinite_kernel<<<cu::grid_for(n), cu::kBlock, 0, s>>>(d_count, x, n);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(&h_count, d_count, sizeof(unsigned long long), cudaMemcpyDeviceToHost, s);
    cudaError_t ef = cudaFreeAsync(d_count, s);  // always release, even after a failure
    cudaError_t es = cudaStreamSynchronize(s);
    if (e == cudaSuccess) e = ef;
    if (e == cudaSuccess) e = es;
    if (e != cudaSuccess) return (int)e;
    *count = (int64_t)h_count;
    return 0;
}

// Thread-local capture: this thread's calls that cannot be captured (cudaMalloc, synchronous copies, waits) fail
// instead of silently running outside the graph, while other threads (other contexts) are not restricted, as
// they would be under cudaStreamCaptureModeGlobal.
int cuda_capture_begin(void* stream) {
    MO_CUDA_TRY(cudaStreamBeginCapture(cu::as_stream(stream), cudaStreamCaptureModeThreadLocal));
    return 0;
}

int cuda_capture_end(void* stream, void** exec) {
    *exec = nullptr;
    cudaGraph_t graph = nullptr;
    // Always called, so the stream leaves capture mode even when the capture was invalidated (graph is NULL then).
    cudaError_t e = cudaStreamEndCapture(cu::as_stream(stream), &graph);
    if (e == cudaSuccess && graph == nullptr) e = cudaErrorStreamCaptureInvalidated;
    cudaGraphExec_t x = nullptr;
    if (e == cudaSuccess) e = cudaGraphInstantiate(&x, graph, 0);
    if (graph != nullptr) {
        cudaError_t ed = cudaGraphDestroy(graph);  // the executable graph does not need it
        if (e == cudaSuccess) e = ed;
    }
    if (e != cudaSuccess) {
        if (x != nullptr) (void)cudaGraphExecDestroy(x);
        (void)cudaGetLastError();  // reported through the return value; keep later launches' status clean
        return (int)e;
    }
    *exec = (void*)x;
    return 0;
}

int cuda_graph_launch(void* stream, void* exec, int64_t times) {
    cudaStream_t s = cu::as_stream(stream);
    for (int64_t k = 0; k < times; ++k) MO_CUDA_TRY(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), s));
    return 0;
}

int cuda_graph_destroy(int device, void* exec) {
    if (exec == nullptr) return 0;
    MO_CUDA_TRY((cudaError_t)cuda_set_device(device));
    MO_CUDA_TRY(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec)));
    return 0;
}

}  // namespace mo
