// dispatch: every mo_* function of maskopt.h: validate -> choose the backend -> call cpu_<op> or
// cuda_<op> -> status code and thread-local message. No methods.md section; the shape legend is the
// one of maskopt.h (S samples, N sequences, T max length, D width, C classes, B rows, P gate parameters).
//
// Nothing throws across the C API: each entry point runs inside guarded(), which turns std::bad_alloc
// into MO_ERR_MEMORY and anything else into an "internal error" message. On the CPU backend the data
// preconditions that are host-readable (lengths, class ids, token ids, CNN argmax) are checked too,
// because there a bad index is an out-of-bounds access in the caller's process, not a garbage value; so are the
// step counters of the *_at variants (host memory there too).
//
// Graphs: a context that captures refuses the calls that cannot be captured (memory, host copies, waits) with
// MO_ERR_STATE before they reach CUDA; everything else is queued on the capturing stream as usual.
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exception>
#include <initializer_list>
#include <mutex>
#include <new>

#include "context.h"
#include "maskopt.h"
#include "ops.h"

#ifndef MASKOPT_VERSION
#define MASKOPT_VERSION "unknown"
#endif

using namespace mo;

namespace {

// ---- errors ----

// A fixed buffer, so recording an error can never itself fail to allocate.
thread_local char t_error[512] = "";

__attribute__((format(printf, 1, 2))) void set_error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_error, sizeof t_error, fmt, ap);
    va_end(ap);
}

// Argument checks, chained; the first failure records "<op>: <what> (got <value>)" and later checks are skipped.
constexpr int64_t kMaxDim = INT32_MAX;               // lengths and argmax are int32; Philox counters are 32-bit
constexpr int64_t kMaxElements = int64_t(1) << 56;   // bytes of any buffer stay far below INT64_MAX

class Check {
public:
    explicit Check(const char* op) : op_(op) {}
    explicit operator bool() const { return ok_; }
    const char* op() const { return op_; }

    __attribute__((format(printf, 2, 3))) Check& fail(const char* fmt, ...) {
        if (!ok_) return *this;
        ok_ = false;
        char what[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        set_error("%s: %s", op_, what);
        return *this;
    }

    Check& ctx(const mo_context* c) { return ok_ && !c ? fail("ctx must not be NULL") : *this; }
    Check& ptr(const char* name, const void* p) { return ok_ && !p ? fail("%s must not be NULL", name) : *this; }
    Check& dim(const char* name, int64_t v) {
        if (ok_ && v < 1) fail("%s must be > 0 (got %lld)", name, (long long)v);
        if (ok_ && v > kMaxDim) fail("%s must be <= %lld (got %lld)", name, (long long)kMaxDim, (long long)v);
        return *this;
    }
    // A 1-D element count (may exceed kMaxDim).
    Check& count(const char* name, int64_t n) {
        if (ok_ && n < 1) fail("%s must be > 0 (got %lld)", name, (long long)n);
        if (ok_ && n > kMaxElements) fail("%s must be <= %lld (got %lld)", name, (long long)kMaxElements, (long long)n);
        return *this;
    }
    // The product of dims (the size of buffer `name`) must stay below kMaxElements.
    Check& elements(const char* name, std::initializer_list<int64_t> dims) {
        if (!ok_) return *this;
        int64_t total = 1;
        for (int64_t d : dims)
            if (__builtin_mul_overflow(total, d, &total) || total > kMaxElements)
                return fail("%s is too large (more than %lld elements)", name, (long long)kMaxElements);
        return *this;
    }
    Check& finite(const char* name, float v) {
        return ok_ && !isfinite(v) ? fail("%s must be finite (got %g)", name, v) : *this;
    }
    Check& positive(const char* name, float v) {
        return ok_ && !(isfinite(v) && v > 0.0f) ? fail("%s must be finite and > 0 (got %g)", name, v) : *this;
    }
    Check& nonnegative(const char* name, float v) {
        return ok_ && !(isfinite(v) && v >= 0.0f) ? fail("%s must be finite and >= 0 (got %g)", name, v) : *this;
    }
    Check& in_01(const char* name, float v) {  // [0, 1)
        return ok_ && !(v >= 0.0f && v < 1.0f) ? fail("%s must be in [0, 1) (got %g)", name, v) : *this;
    }
    Check& stretch(float l, float r) {  // the stretch interval (l, r) of both gate families
        if (ok_ && !(isfinite(l) && l < 0.0f)) fail("l must be finite and < 0 (got %g)", l);
        if (ok_ && !(isfinite(r) && r > 1.0f)) fail("r must be finite and > 1 (got %g)", r);
        return *this;
    }
    Check& step(int64_t step, const char* name = "step") {  // the fourth Philox counter word is 32 bits
        return ok_ && (step < 0 || step > (int64_t)UINT32_MAX)
                   ? fail("%s must be in [0, %lld] (got %lld)", name, (long long)UINT32_MAX, (long long)step)
                   : *this;
    }
    Check& flag(const char* name, int v) {
        return ok_ && v != 0 && v != 1 ? fail("%s must be 0 or 1 (got %d)", name, v) : *this;
    }
    // CNN widths (host array, already checked non-NULL): 1 <= K <= MO_CNN_MAX_WIDTHS, each width in [1, 16].
    Check& widths(const int32_t* w, int64_t K) {
        if (ok_ && (K < 1 || K > MO_CNN_MAX_WIDTHS))
            return fail("K must be in [1, %d] (got %lld)", MO_CNN_MAX_WIDTHS, (long long)K);
        for (int64_t k = 0; ok_ && k < K; ++k)
            if (w[k] < 1 || w[k] > 16) fail("widths[%lld] must be in [1, 16] (got %d)", (long long)k, w[k]);
        return *this;
    }

    // Host-readable data (CPU backend only).
    Check& lengths(const int32_t* len, int64_t N, int64_t T) {
        for (int64_t n = 0; ok_ && n < N; ++n)
            if (len[n] < 1 || len[n] > T)
                fail("lengths[%lld] must be in [1, T=%lld] (got %d)", (long long)n, (long long)T, len[n]);
        return *this;
    }
    Check& indices(const char* name, const int32_t* v, int64_t count, const char* bound_name, int64_t bound) {
        for (int64_t i = 0; ok_ && i < count; ++i)
            if (v[i] < 0 || v[i] >= bound)
                fail("%s[%lld] must be in [0, %s=%lld) (got %d)", name, (long long)i, bound_name, (long long)bound,
                     v[i]);
        return *this;
    }

private:
    const char* op_;
    bool ok_ = true;
};

template <class Body>
int guarded(const char* op, Body&& body) noexcept {
    try {
        Check c(op);
        return body(c);
    } catch (const std::bad_alloc&) {
        set_error("%s: out of host memory", op);
        return MO_ERR_MEMORY;
    } catch (const std::exception& e) {
        set_error("%s: internal error: %s", op, e.what());
        return MO_ERR_INVALID;
    } catch (...) {
        set_error("%s: internal error (unknown exception)", op);
        return MO_ERR_INVALID;
    }
}

bool on_cpu(const mo_context* ctx) { return ctx->backend == MO_BACKEND_CPU; }

// Calls that allocate, free, copy to or from the host, or wait cannot be part of a graph: while the context captures
// they fail (MO_ERR_STATE) before touching anything, so the capture itself stays intact.
bool refused_while_capturing(Check& c, const mo_context* ctx) {
    if (!c || !ctx->capturing) return false;
    c.fail("not allowed while the context captures a graph (allocate, copy and wait before mo_capture_begin or "
           "after mo_capture_end)");
    return true;
}

#ifdef MASKOPT_WITH_CUDA
int cuda_result(const char* op, int err) {
    if (err == 0) return MO_OK;
    set_error("%s: CUDA error %d: %s", op, err, cuda_error_string(err));
    return MO_ERR_CUDA;
}
// The same arguments go to both backends; the CUDA launcher also gets the context's stream, after the
// context's device is made current on this thread.
#define MO_RUN(ctx, op, ...)                                                                          \
    ((ctx)->backend == MO_BACKEND_CUDA                                                                \
         ? cuda_result("mo_" #op, cuda_set_device((ctx)->device) ?: cuda_##op((ctx)->stream, __VA_ARGS__)) \
         : (cpu_##op(__VA_ARGS__), MO_OK))
#else
#define MO_RUN(ctx, op, ...) ((void)(ctx), cpu_##op(__VA_ARGS__), MO_OK)
#endif

// ---- CUDA probe (once, lazily, thread-safely) ----

struct CudaProbe {
    int count = 0;
    char status[256] = "";
};

const CudaProbe& cuda_probe() {
    static std::once_flag once;
    static CudaProbe probe;
    std::call_once(once, [] {
#ifdef MASKOPT_WITH_CUDA
        int n = 0;
        int err = cuda_device_count(&n);
        if (err != 0) {
            snprintf(probe.status, sizeof probe.status, "no usable CUDA device: CUDA error %d (%s)", err,
                     cuda_error_string(err));
        } else if (n <= 0) {
            snprintf(probe.status, sizeof probe.status, "no usable CUDA device: 0 devices found");
        } else {
            probe.count = n;
            snprintf(probe.status, sizeof probe.status, "%d CUDA device(s)", n);
        }
#else
        snprintf(probe.status, sizeof probe.status, "built without CUDA");
#endif
    });
    return probe;
}

// ---- shared argument sets ----

Check& check_gate_sizes(Check& c, const int32_t* lengths, int64_t N, int64_t T) {
    c.ptr("lengths", lengths).dim("N", N).dim("T", T).elements("[N,T]", {N, T});
    return c;
}

// CPU-only data check of the lengths, after every argument check passed.
Check& check_lengths(Check& c, const mo_context* ctx, const int32_t* lengths, int64_t N, int64_t T) {
    if (c && on_cpu(ctx)) c.lengths(lengths, N, T);
    return c;
}

Check& check_cnn(Check& c, const mo_context* ctx, const int32_t* lengths, const float* params,
                 const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T, int64_t D) {
    c.ptr("lengths", lengths).ptr("params", params).ptr("widths", widths).widths(widths, K);
    c.dim("F", F).dim("C", C).dim("B", B).dim("T", T).dim("D", D);
    c.elements("x", {B, T, D}).elements("feat", {B, K, F}).elements("fc_W", {C, K, F}).elements("W_k", {F, 16, D});
    return check_lengths(c, ctx, lengths, B, T);
}

// CPU-only: each argmax[b, kF+f] must be a window start of row b, i.e. in [0, max(L - w_k + 1, 1)).
Check& check_argmax(Check& c, const mo_context* ctx, const int32_t* argmax, const int32_t* lengths,
                    const int32_t* widths, int64_t K, int64_t F, int64_t B) {
    if (!c || !on_cpu(ctx)) return c;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < K; ++k) {
            int64_t npos = lengths[b] - widths[k] + 1 > 1 ? lengths[b] - widths[k] + 1 : 1;
            for (int64_t f = 0; f < F; ++f) {
                int64_t i = (b * K + k) * F + f;
                if (argmax[i] < 0 || argmax[i] >= npos)
                    return c.fail("argmax[%lld] must be in [0, %lld) for row %lld, width %d (got %d)", (long long)i,
                                  (long long)npos, (long long)b, widths[k], argmax[i]);
            }
        }
    return c;
}


// CPU-only: group[n,t] for t < lengths[n] must be -1 or a word in [0, W) (padding entries are never read).
Check& check_group(Check& c, const mo_context* ctx, const int32_t* group, const int32_t* lengths, int64_t N, int64_t T,
                   int64_t W) {
    for (int64_t n = 0; c && on_cpu(ctx) && n < N; ++n)
        for (int64_t t = 0; c && t < lengths[n]; ++t)
            if (group[n * T + t] < -1 || group[n * T + t] >= W)
                c.fail("group[%lld] (n=%lld, t=%lld) must be -1 or in [0, W=%lld) (got %d)", (long long)(n * T + t),
                       (long long)n, (long long)t, (long long)W, group[n * T + t]);
    return c;
}

// CPU-only: the per-row L0 weights w_l0_rows [N] must be finite (on CUDA they are the caller's to keep so).
Check& check_row_weights(Check& c, const mo_context* ctx, const float* w, int64_t N) {
    for (int64_t n = 0; c && on_cpu(ctx) && n < N; ++n)
        if (!isfinite(w[n])) c.fail("w_l0_rows[%lld] must be finite (got %g)", (long long)n, w[n]);
    return c;
}

// Whether the float ranges [p, p + n) and [q, q + m) share an address.
bool overlap(const float* p, int64_t n, const float* q, int64_t m) {
    const uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + (uintptr_t)m * sizeof(float) && b < a + (uintptr_t)n * sizeof(float);
}

// The attention shapes: D = H Dh, qkv [B,T,3D], probs [B,H,T,T].
Check& check_attention(Check& c, const mo_context* ctx, const float* qkv, const float* probs, const int32_t* lengths,
                       int64_t B, int64_t T, int64_t H, int64_t Dh) {
    c.ptr("qkv", qkv).ptr("probs", probs).ptr("lengths", lengths).dim("B", B).dim("T", T).dim("H", H).dim("Dh", Dh);
    c.elements("qkv", {B, T, 3, H, Dh}).elements("probs", {B, H, T, T});
    if (c) c.dim("D = H Dh", H * Dh);
    if (c && !on_cpu(ctx) && T > MO_CUDA_ATTENTION_MAX_T)
        c.fail("T must be <= %d on CUDA, where the attention kernels keep T scores per query row in shared memory "
               "(the CPU has no such limit) (got %lld)", MO_CUDA_ATTENTION_MAX_T, (long long)T);
    return check_lengths(c, ctx, lengths, B, T);
}

Check& check_pool_mode(Check& c, int mode) {
    if (c && mode != MO_POOL_MEAN && mode != MO_POOL_FIRST)
        c.fail("mode must be MO_POOL_MEAN (0) or MO_POOL_FIRST (1) (got %d)", mode);
    return c;
}

}  // namespace

extern "C" {

// ---- library and backend ----

const char* mo_last_error(void) { return t_error; }

const char* mo_build_info(void) {
    static char info[256];
    static std::once_flag once;
    std::call_once(once, [] {
#if defined(__clang__)
        const char* compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
        const char* compiler = "GCC " __VERSION__;
#else
        const char* compiler = "unknown compiler";
#endif
#ifdef MASKOPT_WITH_CUDA
        // Architectures as "sm_80 sm_90": a bare CMake entry ("80", "90-real") gets the sm_ prefix.
        char archs[160] = "";
        const char* a = cuda_architectures();
        for (size_t used = 0; a && *a && used + 8 < sizeof archs;) {
            size_t len = strcspn(a, " ");
            if (len > 0)
                used += snprintf(archs + used, sizeof archs - used, "%s%s%.*s", used ? " " : "",
                                 (*a >= '0' && *a <= '9') ? "sm_" : "", (int)len, a);
            a += len + (a[len] == ' ');
        }
        snprintf(info, sizeof info, "maskopt %s; compiler: %s; CUDA: %s", MASKOPT_VERSION, compiler, archs);
#else
        snprintf(info, sizeof info, "maskopt %s; compiler: %s; CUDA: not compiled", MASKOPT_VERSION, compiler);
#endif
    });
    return info;
}

int mo_cuda_device_count(void) {
    try {
        return cuda_probe().count;
    } catch (...) {
        return 0;
    }
}

const char* mo_cuda_status(void) {
    try {
        return cuda_probe().status;
    } catch (...) {
        return "CUDA probe failed";
    }
}

mo_context* mo_context_create(int backend, int device) {
    const char* op = "mo_context_create";
    try {
        if (backend == MO_BACKEND_CPU) {
            // The CPU ignores `device`.
            mo_context* ctx = new mo_context{MO_BACKEND_CPU, 0, nullptr, MO_PRECISION_FP32};
            return ctx;
        }
        if (backend != MO_BACKEND_CUDA) {
            set_error("%s: backend must be MO_BACKEND_CPU (0) or MO_BACKEND_CUDA (1) (got %d)", op, backend);
            return nullptr;
        }
#ifdef MASKOPT_WITH_CUDA
        const CudaProbe& probe = cuda_probe();
        if (probe.count == 0) {
            set_error("%s: %s", op, probe.status);
            return nullptr;
        }
        if (device < 0 || device >= probe.count) {
            set_error("%s: CUDA device %d out of range (%d device(s))", op, device, probe.count);
            return nullptr;
        }
        void* stream = nullptr;
        if (int err = cuda_stream_create(device, &stream)) {
            set_error("%s: CUDA error %d: %s", op, err, cuda_error_string(err));
            return nullptr;
        }
        try {
            return new mo_context{MO_BACKEND_CUDA, device, stream, MO_PRECISION_FP32};
        } catch (...) {
            cuda_stream_destroy(device, stream);
            throw;
        }
#else
        (void)device;
        set_error("%s: maskopt was built without CUDA", op);
        return nullptr;
#endif
    } catch (const std::bad_alloc&) {
        set_error("%s: out of host memory", op);
    } catch (...) {
        set_error("%s: internal error", op);
    }
    return nullptr;
}

mo_context* mo_context_create_on_stream(int device, void* stream) {
    const char* op = "mo_context_create_on_stream";
    try {
#ifdef MASKOPT_WITH_CUDA
        const CudaProbe& probe = cuda_probe();
        if (probe.count == 0) {
            set_error("%s: %s", op, probe.status);
            return nullptr;
        }
        if (device < 0 || device >= probe.count) {
            set_error("%s: CUDA device %d out of range (%d device(s))", op, device, probe.count);
            return nullptr;
        }
        mo_context* ctx = new mo_context{MO_BACKEND_CUDA, device, stream, MO_PRECISION_FP32};
        ctx->owns_stream = false;
        return ctx;
#else
        (void)device;
        (void)stream;
        set_error("%s: maskopt was built without CUDA", op);
        return nullptr;
#endif
    } catch (const std::bad_alloc&) {
        set_error("%s: out of host memory", op);
    } catch (...) {
        set_error("%s: internal error", op);
    }
    return nullptr;
}

void mo_context_destroy(mo_context* ctx) {
    if (!ctx) return;
#ifdef MASKOPT_WITH_CUDA
    if (ctx->backend == MO_BACKEND_CUDA && ctx->capturing) {  // an abandoned capture: end it, discard the graph
        void* exec = nullptr;
        if (cuda_capture_end(ctx->stream, &exec) == 0) cuda_graph_destroy(ctx->device, exec);
        ctx->capturing = false;
    }
    if (ctx->backend == MO_BACKEND_CUDA && ctx->stream && ctx->owns_stream) {
        if (int err = cuda_stream_destroy(ctx->device, ctx->stream))
            set_error("mo_context_destroy: CUDA error %d: %s", err, cuda_error_string(err));
    }
#endif
    delete ctx;
}

int mo_context_backend(const mo_context* ctx) {
    if (!ctx) {
        set_error("mo_context_backend: ctx must not be NULL");
        return -1;
    }
    return ctx->backend;
}

int mo_synchronize(mo_context* ctx) {
    return guarded("mo_synchronize", [&](Check& c) -> int {
        if (!c.ctx(ctx)) return MO_ERR_INVALID;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA)
            return cuda_result(c.op(), cuda_stream_synchronize(ctx->device, ctx->stream));
#endif
        return MO_OK;  // CPU work is synchronous
    });
}

// ---- CUDA graphs ----

int mo_capture_begin(mo_context* ctx) {
    return guarded("mo_capture_begin", [&](Check& c) -> int {
        if (!c.ctx(ctx)) return MO_ERR_INVALID;
        if (on_cpu(ctx)) {
            c.fail("graphs need the CUDA backend (the CPU runs each operation when it is called)");
            return MO_ERR_UNAVAILABLE;
        }
        if (ctx->capturing) {
            c.fail("the context is already capturing a graph");
            return MO_ERR_STATE;
        }
#ifdef MASKOPT_WITH_CUDA
        const int status = cuda_result(c.op(), cuda_set_device(ctx->device) ?: cuda_capture_begin(ctx->stream));
        if (status == MO_OK) ctx->capturing = true;
        return status;
#else
        return MO_ERR_UNAVAILABLE;  // no CUDA context exists without CUDA
#endif
    });
}

int mo_capture_end(mo_context* ctx, mo_graph** graph) {
    return guarded("mo_capture_end", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("graph", graph)) return MO_ERR_INVALID;
        *graph = nullptr;
        if (on_cpu(ctx)) {
            c.fail("graphs need the CUDA backend (the CPU runs each operation when it is called)");
            return MO_ERR_UNAVAILABLE;
        }
        if (!ctx->capturing) {
            c.fail("the context is not capturing a graph (mo_capture_begin first)");
            return MO_ERR_STATE;
        }
#ifdef MASKOPT_WITH_CUDA
        ctx->capturing = false;  // capture mode ends here whatever the outcome
        void* exec = nullptr;
        if (int err = cuda_capture_end(ctx->stream, &exec))
            return cuda_result(c.op(), err);
        try {
            *graph = new mo_graph{ctx, ctx->device, exec};
        } catch (...) {
            cuda_graph_destroy(ctx->device, exec);
            throw;
        }
        return MO_OK;
#else
        return MO_ERR_UNAVAILABLE;
#endif
    });
}

int mo_graph_launch(mo_context* ctx, mo_graph* graph, int64_t times) {
    return guarded("mo_graph_launch", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("graph", graph).count("times", times)) return MO_ERR_INVALID;
        if (graph->owner != ctx) {
            c.fail("the graph was captured on another context");
            return MO_ERR_INVALID;
        }
        if (ctx->capturing) {
            c.fail("cannot launch a graph while the context captures one");
            return MO_ERR_STATE;
        }
#ifdef MASKOPT_WITH_CUDA
        return cuda_result(c.op(), cuda_set_device(ctx->device) ?: cuda_graph_launch(ctx->stream, graph->exec, times));
#else
        return MO_ERR_UNAVAILABLE;
#endif
    });
}

int mo_graph_destroy(mo_graph* graph) {
    return guarded("mo_graph_destroy", [&](Check& c) -> int {
        if (!graph) return MO_OK;
        int status = MO_OK;
#ifdef MASKOPT_WITH_CUDA
        status = cuda_result(c.op(), cuda_graph_destroy(graph->device, graph->exec));
#else
        (void)c;
#endif
        delete graph;
        return status;
    });
}

// ---- memory ----

void* mo_malloc(mo_context* ctx, int64_t bytes) {
    void* ptr = nullptr;
    int status = guarded("mo_malloc", [&](Check& c) -> int {
        c.ctx(ctx);
        if (!c.count("bytes", bytes)) return MO_ERR_INVALID;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA) {
            if (int err = cuda_malloc(ctx->device, &ptr, bytes)) {
                ptr = nullptr;
                set_error("mo_malloc: CUDA error %d: %s (%lld bytes)", err, cuda_error_string(err), (long long)bytes);
                return MO_ERR_MEMORY;
            }
            return MO_OK;
        }
#endif
        ptr = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));  // aligned_alloc wants a multiple of 64
        if (!ptr) {
            c.fail("out of host memory (%lld bytes)", (long long)bytes);
            return MO_ERR_MEMORY;
        }
        return MO_OK;
    });
    return status == MO_OK ? ptr : nullptr;
}

int mo_free(mo_context* ctx, void* ptr) {
    return guarded("mo_free", [&](Check& c) -> int {
        if (!c.ctx(ctx)) return MO_ERR_INVALID;
        if (!ptr) return MO_OK;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA) return cuda_result(c.op(), cuda_free(ctx->device, ptr));
#endif
        free(ptr);
        return MO_OK;
    });
}

namespace {
Check& check_bytes(Check& c, const mo_context* ctx, const char* dst_name, const void* dst, const char* src_name,
                   const void* src, int64_t bytes) {
    return c.ctx(ctx).ptr(dst_name, dst).ptr(src_name, src).count("bytes", bytes);
}
}  // namespace

int mo_upload(mo_context* ctx, void* dst, const void* host_src, int64_t bytes) {
    return guarded("mo_upload", [&](Check& c) -> int {
        if (!check_bytes(c, ctx, "dst", dst, "host_src", host_src, bytes)) return MO_ERR_INVALID;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA)
            return cuda_result(c.op(), cuda_upload(ctx->device, ctx->stream, dst, host_src, bytes));
#endif
        memmove(dst, host_src, (size_t)bytes);
        return MO_OK;
    });
}

int mo_download(mo_context* ctx, void* host_dst, const void* src, int64_t bytes) {
    return guarded("mo_download", [&](Check& c) -> int {
        if (!check_bytes(c, ctx, "host_dst", host_dst, "src", src, bytes)) return MO_ERR_INVALID;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA)
            return cuda_result(c.op(), cuda_download(ctx->device, ctx->stream, host_dst, src, bytes));
#endif
        memmove(host_dst, src, (size_t)bytes);
        return MO_OK;
    });
}

int mo_copy(mo_context* ctx, void* dst, const void* src, int64_t bytes) {
    return guarded("mo_copy", [&](Check& c) -> int {
        if (!check_bytes(c, ctx, "dst", dst, "src", src, bytes)) return MO_ERR_INVALID;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA) return cuda_result(c.op(), cuda_set_device(ctx->device) ?: cuda_copy(ctx->stream, dst, src, bytes));
#endif
        memmove(dst, src, (size_t)bytes);
        return MO_OK;
    });
}

int mo_fill(mo_context* ctx, float* x, float value, int64_t n) {
    return guarded("mo_fill", [&](Check& c) -> int {  // any value, NaN included (tests poison outputs with it)
        if (!c.ctx(ctx).ptr("x", x).count("n", n)) return MO_ERR_INVALID;
        return MO_RUN(ctx, fill, x, value, n);
    });
}

int mo_count_nonfinite(mo_context* ctx, int64_t* count, const float* x, int64_t n) {
    return guarded("mo_count_nonfinite", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("count", count).ptr("x", x).count("n", n))
            return MO_ERR_INVALID;
        if (refused_while_capturing(c, ctx)) return MO_ERR_STATE;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA) return cuda_result(c.op(), cuda_set_device(ctx->device) ?: cuda_count_nonfinite(ctx->stream, count, x, n));
#endif
        *count = cpu_count_nonfinite(x, n);
        return MO_OK;
    });
}

// ---- random numbers ----

int mo_uniform(mo_context* ctx, float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T) {
    return guarded("mo_uniform", [&](Check& c) -> int {
        c.ctx(ctx).ptr("u", u).dim("S", S).dim("N", N).dim("T", T).elements("u", {S, N, T}).step(step);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, uniform, u, seed, step, S, N, T);
    });
}

// ---- hard-concrete gates ----

int mo_hc_sample(mo_context* ctx, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                 int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, int64_t step) {
    return guarded("mo_hc_sample", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("dz", dz).ptr("logalpha", logalpha).dim("S", S);
        check_gate_sizes(c, lengths, N, T).elements("z", {S, N, T});
        c.positive("beta", beta).stretch(l, r).step(step);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_sample, z, dz, logalpha, lengths, S, N, T, beta, l, r, seed, step);
    });
}

int mo_hc_gate(mo_context* ctx, float* z, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
               float l, float r) {
    return guarded("mo_hc_gate", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("logalpha", logalpha);
        check_gate_sizes(c, lengths, N, T).stretch(l, r);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_gate, z, logalpha, lengths, N, T, l, r);
    });
}

int mo_hc_prob_open(mo_context* ctx, float* p, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
                    float beta, float l, float r) {
    return guarded("mo_hc_prob_open", [&](Check& c) -> int {
        c.ctx(ctx).ptr("p", p).ptr("logalpha", logalpha);
        check_gate_sizes(c, lengths, N, T).positive("beta", beta).stretch(l, r);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_prob_open, p, logalpha, lengths, N, T, beta, l, r);
    });
}

int mo_hc_regularize(mo_context* ctx, float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths,
                     int64_t N, int64_t T, float beta, float l, float r, float w_l0, float w_trans) {
    return guarded("mo_hc_regularize", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_logalpha", d_logalpha).ptr("reg", reg).ptr("logalpha", logalpha);
        check_gate_sizes(c, lengths, N, T).positive("beta", beta).stretch(l, r);
        c.finite("w_l0", w_l0).finite("w_trans", w_trans);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_regularize_rows, d_logalpha, reg, logalpha, lengths, nullptr, N, T, beta, l, r, w_l0,
                      w_trans);
    });
}

int mo_hc_regularize_rows(mo_context* ctx, float* d_logalpha, float* reg, const float* logalpha,
                          const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float beta, float l,
                          float r, float w_trans) {
    return guarded("mo_hc_regularize_rows", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_logalpha", d_logalpha).ptr("reg", reg).ptr("logalpha", logalpha).ptr("w_l0_rows", w_l0_rows);
        check_gate_sizes(c, lengths, N, T).positive("beta", beta).stretch(l, r);
        c.finite("w_trans", w_trans);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        if (!check_row_weights(c, ctx, w_l0_rows, N)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_regularize_rows, d_logalpha, reg, logalpha, lengths, w_l0_rows, N, T, beta, l, r, 0.0f,
                      w_trans);
    });
}

// ---- HardKuma gates ----

int mo_kuma_sample(mo_context* ctx, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                   int64_t N, int64_t T, float l, float r, uint64_t seed, int64_t step) {
    return guarded("mo_kuma_sample", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("dz", dz).ptr("params", params).dim("S", S);
        check_gate_sizes(c, lengths, N, T).elements("dz", {2, S, N, T}).stretch(l, r).step(step);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_sample, z, dz, params, lengths, S, N, T, l, r, seed, step);
    });
}

int mo_kuma_probs(mo_context* ctx, float* p0, float* p1, const float* params, const int32_t* lengths, int64_t N,
                  int64_t T, float l, float r) {
    return guarded("mo_kuma_probs", [&](Check& c) -> int {
        c.ctx(ctx).ptr("p0", p0).ptr("p1", p1).ptr("params", params);
        check_gate_sizes(c, lengths, N, T).elements("params", {2, N, T}).stretch(l, r);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_probs, p0, p1, params, lengths, N, T, l, r);
    });
}

int mo_kuma_gate(mo_context* ctx, float* z, const float* params, const int32_t* lengths, int64_t N, int64_t T,
                 float l, float r) {
    return guarded("mo_kuma_gate", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("params", params);
        check_gate_sizes(c, lengths, N, T).elements("params", {2, N, T}).stretch(l, r);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_gate, z, params, lengths, N, T, l, r);
    });
}

int mo_kuma_regularize(mo_context* ctx, float* d_params, float* reg, const float* params, const int32_t* lengths,
                       int64_t N, int64_t T, float l, float r, float w_l0, float w_trans) {
    return guarded("mo_kuma_regularize", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_params", d_params).ptr("reg", reg).ptr("params", params);
        check_gate_sizes(c, lengths, N, T).elements("params", {2, N, T}).stretch(l, r);
        c.finite("w_l0", w_l0).finite("w_trans", w_trans);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_regularize_rows, d_params, reg, params, lengths, nullptr, N, T, l, r, w_l0, w_trans);
    });
}

int mo_kuma_regularize_rows(mo_context* ctx, float* d_params, float* reg, const float* params,
                            const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float l, float r,
                            float w_trans) {
    return guarded("mo_kuma_regularize_rows", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_params", d_params).ptr("reg", reg).ptr("params", params).ptr("w_l0_rows", w_l0_rows);
        check_gate_sizes(c, lengths, N, T).elements("params", {2, N, T}).stretch(l, r);
        c.finite("w_trans", w_trans);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        if (!check_row_weights(c, ctx, w_l0_rows, N)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_regularize_rows, d_params, reg, params, lengths, w_l0_rows, N, T, l, r, 0.0f, w_trans);
    });
}

// ---- target selection rate ----

int mo_rate_multiplier(mo_context* ctx, float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta,
                       float alpha, float lo, float hi) {
    return guarded("mo_rate_multiplier", [&](Check& c) -> int {
        c.ctx(ctx).ptr("lambda", lambda).ptr("cma", cma).ptr("reg", reg).dim("N", N).elements("reg", {N, 2});
        if (c && !(isfinite(rho) && rho > 0.0f && rho <= 1.0f)) c.fail("rho must be in (0, 1] (got %g)", rho);
        c.positive("eta", eta).in_01("alpha", alpha).positive("lo", lo).positive("hi", hi);
        if (c && !(lo <= hi)) c.fail("lo must be <= hi (got lo=%g, hi=%g)", lo, hi);
        if (c && overlap(lambda, N, cma, N)) c.fail("lambda and cma must not overlap");
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, rate_multiplier, lambda, cma, reg, N, rho, eta, alpha, lo, hi);
    });
}

int mo_rate_control(mo_context* ctx, float* w, float* cma, const float* reg, int64_t N, float rho, float gain,
                    float alpha, float lo, float hi) {
    return guarded("mo_rate_control", [&](Check& c) -> int {
        c.ctx(ctx).ptr("w", w).ptr("cma", cma).ptr("reg", reg).dim("N", N).elements("reg", {N, 2});
        if (c && !(isfinite(rho) && rho > 0.0f && rho <= 1.0f)) c.fail("rho must be in (0, 1] (got %g)", rho);
        c.positive("gain", gain).in_01("alpha", alpha).finite("lo", lo).finite("hi", hi);
        if (c && !(lo <= hi)) c.fail("lo must be <= hi (got lo=%g, hi=%g)", lo, hi);
        if (c && overlap(w, N, cma, N)) c.fail("w and cma must not overlap");
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, rate_control, w, cma, reg, N, rho, gain, alpha, lo, hi);
    });
}

// ---- step counter ----

int mo_step_increment(mo_context* ctx, int64_t* step) {
    return guarded("mo_step_increment", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("step", step)) return MO_ERR_INVALID;
        if (on_cpu(ctx) && step[0] == INT64_MAX) c.fail("step[0] would overflow (got %lld)", (long long)step[0]);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, step_increment, step);
    });
}

int mo_hc_sample_at(mo_context* ctx, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                    int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step) {
    return guarded("mo_hc_sample_at", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("dz", dz).ptr("logalpha", logalpha).ptr("step", step).dim("S", S);
        check_gate_sizes(c, lengths, N, T).elements("z", {S, N, T});
        c.positive("beta", beta).stretch(l, r);
        if (c && on_cpu(ctx)) c.step(step[0], "step[0]");
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, hc_sample_at, z, dz, logalpha, lengths, S, N, T, beta, l, r, seed, step);
    });
}

int mo_kuma_sample_at(mo_context* ctx, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                      int64_t N, int64_t T, float l, float r, uint64_t seed, const int64_t* step) {
    return guarded("mo_kuma_sample_at", [&](Check& c) -> int {
        c.ctx(ctx).ptr("z", z).ptr("dz", dz).ptr("params", params).ptr("step", step).dim("S", S);
        check_gate_sizes(c, lengths, N, T).elements("dz", {2, S, N, T}).stretch(l, r);
        if (c && on_cpu(ctx)) c.step(step[0], "step[0]");
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, kuma_sample_at, z, dz, params, lengths, S, N, T, l, r, seed, step);
    });
}

int mo_trace_write(mo_context* ctx, float* trace, const float* values, const int64_t* step, int64_t R, int64_t n) {
    return guarded("mo_trace_write", [&](Check& c) -> int {
        c.ctx(ctx).ptr("trace", trace).ptr("values", values).ptr("step", step).dim("R", R).count("n", n);
        c.elements("trace", {R, n});
        if (c && overlap(values, n, trace, R * n)) c.fail("values must not overlap trace");
        if (c && on_cpu(ctx) && (step[0] < 0 || step[0] >= R))
            c.fail("step[0] must be in [0, R=%lld) (got %lld)", (long long)R, (long long)step[0]);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, trace_write, trace, values, step, R, n);
    });
}

// ---- masked mix ----

int mo_mix_forward(mo_context* ctx, float* out, const float* z, const float* emb, const float* base,
                   const int32_t* lengths, int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position) {
    return guarded("mo_mix_forward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("out", out).ptr("z", z).ptr("emb", emb).ptr("base", base).dim("S", S);
        check_gate_sizes(c, lengths, N, T).dim("D", D).elements("out", {2, S, N, T, D});
        c.flag("base_per_position", base_per_position);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, mix_forward, out, z, emb, base, lengths, S, N, T, D, base_per_position);
    });
}

int mo_mix_backward(mo_context* ctx, float* d_theta, const float* d_out, const float* dz, const float* emb,
                    const float* base, const int32_t* lengths, int64_t P, int64_t S, int64_t N, int64_t T, int64_t D,
                    int base_per_position) {
    return guarded("mo_mix_backward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_theta", d_theta).ptr("d_out", d_out).ptr("dz", dz).ptr("emb", emb).ptr("base", base);
        if (c && P != 1 && P != 2) c.fail("P must be 1 or 2 (got %lld)", (long long)P);
        c.dim("S", S);
        check_gate_sizes(c, lengths, N, T).dim("D", D).elements("d_out", {2, S, N, T, D});
        c.flag("base_per_position", base_per_position);
        if (!check_lengths(c, ctx, lengths, N, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, mix_backward, d_theta, d_out, dz, emb, base, lengths, P, S, N, T, D, base_per_position);
    });
}

// ---- objectives ----

int mo_objective(mo_context* ctx, float* loss, float* d_logits, const float* logits, const int32_t* target,
                 int64_t S, int64_t N, int64_t C, float w_suff, float w_comp) {
    return guarded("mo_objective", [&](Check& c) -> int {
        c.ctx(ctx).ptr("loss", loss).ptr("d_logits", d_logits).ptr("logits", logits).ptr("target", target);
        c.dim("S", S).dim("N", N).dim("C", C);
        if (c && C < 2) c.fail("C must be >= 2 (got %lld)", (long long)C);
        c.elements("logits", {2, S, N, C}).finite("w_suff", w_suff).finite("w_comp", w_comp);
        if (c && on_cpu(ctx)) c.indices("target", target, N, "C", C);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, objective, loss, d_logits, logits, target, S, N, C, w_suff, w_comp);
    });
}

int mo_cross_entropy(mo_context* ctx, float* loss, float* d_logits, const float* logits, const int32_t* labels,
                     int64_t B, int64_t C, float scale) {
    return guarded("mo_cross_entropy", [&](Check& c) -> int {
        c.ctx(ctx).ptr("loss", loss).ptr("d_logits", d_logits).ptr("logits", logits).ptr("labels", labels);
        c.dim("B", B).dim("C", C).elements("logits", {B, C}).finite("scale", scale);
        if (c && on_cpu(ctx)) c.indices("labels", labels, B, "C", C);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, cross_entropy, loss, d_logits, logits, labels, B, C, scale);
    });
}

int mo_softmax(mo_context* ctx, float* probs, const float* logits, int64_t B, int64_t C) {
    return guarded("mo_softmax", [&](Check& c) -> int {
        c.ctx(ctx).ptr("probs", probs).ptr("logits", logits).dim("B", B).dim("C", C).elements("logits", {B, C});
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, softmax, probs, logits, B, C);
    });
}

// ---- optimizer ----

int mo_adam_update(mo_context* ctx, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int64_t step) {
    return guarded("mo_adam_update", [&](Check& c) -> int {
        c.ctx(ctx).ptr("param", param).ptr("m", m).ptr("v", v).ptr("grad", grad);
        c.count("n", n);
        c.positive("lr", lr).in_01("beta1", beta1).in_01("beta2", beta2).positive("eps", eps);
        c.nonnegative("weight_decay", weight_decay);
        if (c && step < 1) c.fail("step must be >= 1 (got %lld)", (long long)step);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, adam_update, param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step);
    });
}

int mo_adam_update_at(mo_context* ctx, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, const int64_t* step) {
    return guarded("mo_adam_update_at", [&](Check& c) -> int {
        c.ctx(ctx).ptr("param", param).ptr("m", m).ptr("v", v).ptr("grad", grad).ptr("step", step);
        c.count("n", n);
        c.positive("lr", lr).in_01("beta1", beta1).in_01("beta2", beta2).positive("eps", eps);
        c.nonnegative("weight_decay", weight_decay);
        if (c && on_cpu(ctx) && step[0] < 1) c.fail("step[0] must be >= 1 (got %lld)", (long long)step[0]);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, adam_update_at, param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step);
    });
}

// ---- embeddings ----

int mo_embed(mo_context* ctx, float* out, const int32_t* ids, const int32_t* lengths, const float* table, int64_t N,
             int64_t T, int64_t V, int64_t D) {
    return guarded("mo_embed", [&](Check& c) -> int {
        c.ctx(ctx).ptr("out", out).ptr("ids", ids).ptr("table", table);
        check_gate_sizes(c, lengths, N, T).dim("V", V).dim("D", D);
        c.elements("out", {N, T, D}).elements("table", {V, D});
        check_lengths(c, ctx, lengths, N, T);
        for (int64_t n = 0; c && on_cpu(ctx) && n < N; ++n)  // only positions t < len are read
            for (int64_t t = 0; c && t < lengths[n]; ++t)
                if (ids[n * T + t] < 0 || ids[n * T + t] >= V)
                    c.fail("ids[%lld] (n=%lld, t=%lld) must be in [0, V=%lld) (got %d)", (long long)(n * T + t),
                           (long long)n, (long long)t, (long long)V, ids[n * T + t]);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, embed, out, ids, lengths, table, N, T, V, D);
    });
}

// ---- 1-D CNN ----

int64_t mo_cnn_param_count(const int32_t* widths, int64_t K, int64_t F, int64_t D, int64_t C) {
    Check c("mo_cnn_param_count");  // returns -1 on invalid arguments
    c.ptr("widths", widths).widths(widths, K).dim("F", F).dim("D", D).dim("C", C);
    c.elements("W_k", {F, 16, D}).elements("fc_W", {C, K, F});
    if (!c) return -1;
    // sum_k (F w_k D + F) + C K F + C; each term is bounded by the element checks above.
    int64_t total = C * K * F + C;
    for (int64_t k = 0; k < K; ++k) total += F * widths[k] * D + F;
    return c.count("the parameter count", total) ? total : -1;
}

int mo_cnn_forward(mo_context* ctx, float* logits, float* feat, int32_t* argmax, const float* x,
                   const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F, int64_t C,
                   int64_t B, int64_t T, int64_t D) {
    return guarded("mo_cnn_forward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("logits", logits).ptr("feat", feat).ptr("argmax", argmax).ptr("x", x);
        if (!check_cnn(c, ctx, lengths, params, widths, K, F, C, B, T, D)) return MO_ERR_INVALID;
        return MO_RUN(ctx, cnn_forward, logits, feat, argmax, x, lengths, params, widths, K, F, C, B, T, D);
    });
}

int mo_cnn_backward_input(mo_context* ctx, float* dx, const float* d_logits, const float* feat,
                          const int32_t* argmax, const int32_t* lengths, const float* params, const int32_t* widths,
                          int64_t K, int64_t F, int64_t C, int64_t B, int64_t T, int64_t D) {
    return guarded("mo_cnn_backward_input", [&](Check& c) -> int {
        c.ctx(ctx).ptr("dx", dx).ptr("d_logits", d_logits).ptr("feat", feat).ptr("argmax", argmax);
        check_cnn(c, ctx, lengths, params, widths, K, F, C, B, T, D);
        if (!check_argmax(c, ctx, argmax, lengths, widths, K, F, B)) return MO_ERR_INVALID;
        return MO_RUN(ctx, cnn_backward_input, dx, d_logits, feat, argmax, lengths, params, widths, K, F, C, B, T, D);
    });
}

int mo_cnn_backward_params(mo_context* ctx, float* d_params, const float* d_logits, const float* feat,
                           const int32_t* argmax, const float* x, const int32_t* lengths, const float* params,
                           const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T, int64_t D) {
    return guarded("mo_cnn_backward_params", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_params", d_params).ptr("d_logits", d_logits).ptr("feat", feat).ptr("argmax", argmax);
        c.ptr("x", x);
        check_cnn(c, ctx, lengths, params, widths, K, F, C, B, T, D);
        if (!check_argmax(c, ctx, argmax, lengths, widths, K, F, B)) return MO_ERR_INVALID;
        return MO_RUN(ctx, cnn_backward_params, d_params, d_logits, feat, argmax, x, lengths, params, widths, K, F, C,
                      B, T, D);
    });
}

// ---- word-level gates ----

int mo_gather_gates(mo_context* ctx, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                    int64_t P, int64_t S, int64_t N, int64_t T, int64_t W) {
    return guarded("mo_gather_gates", [&](Check& c) -> int {
        c.ctx(ctx).ptr("out", out).ptr("in", in).ptr("group", group).dim("P", P).dim("S", S);
        check_gate_sizes(c, lengths, N, T).dim("W", W).elements("out", {P, S, N, T}).elements("in", {P, S, N, W});
        check_lengths(c, ctx, lengths, N, T);
        if (!check_group(c, ctx, group, lengths, N, T, W)) return MO_ERR_INVALID;
        return MO_RUN(ctx, gather_gates, out, in, group, lengths, P, S, N, T, W);
    });
}

int mo_segment_sum(mo_context* ctx, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                   int64_t P, int64_t N, int64_t T, int64_t W) {
    return guarded("mo_segment_sum", [&](Check& c) -> int {
        c.ctx(ctx).ptr("out", out).ptr("in", in).ptr("group", group).dim("P", P);
        check_gate_sizes(c, lengths, N, T).dim("W", W).elements("in", {P, N, T}).elements("out", {P, N, W});
        check_lengths(c, ctx, lengths, N, T);
        if (!check_group(c, ctx, group, lengths, N, T, W)) return MO_ERR_INVALID;
        return MO_RUN(ctx, segment_sum, out, in, group, lengths, P, N, T, W);
    });
}

// ---- transformer encoder ops ----

int mo_set_matmul_precision(mo_context* ctx, int precision) {
    return guarded("mo_set_matmul_precision", [&](Check& c) -> int {
        if (c.ctx(ctx) && precision != MO_PRECISION_FP32 && precision != MO_PRECISION_TF32 &&
            precision != MO_PRECISION_BF16)
            c.fail("precision must be MO_PRECISION_FP32 (0), MO_PRECISION_TF32 (1) or MO_PRECISION_BF16 (2) (got %d)",
                   precision);
        if (!c) return MO_ERR_INVALID;
        ctx->precision = precision;  // the CPU: BF16 where the CPU has AVX512-BF16, otherwise FP32
        return MO_OK;
    });
}

int mo_matmul(mo_context* ctx, float* c_, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
              int64_t K, int trans_b, float beta) {
    return guarded("mo_matmul", [&](Check& c) -> int {
        c.ctx(ctx).ptr("c", c_).ptr("a", a).ptr("b", b).dim("M", M).dim("N", N).dim("K", K);
        c.elements("c", {M, N}).elements("a", {M, K}).elements("b", {K, N}).flag("trans_b", trans_b);
        if (c && beta != 0.0f && beta != 1.0f) c.fail("beta must be 0 or 1 (got %g)", beta);
        if (c && overlap(c_, M * N, a, M * K)) c.fail("c must not overlap a");
        if (c && overlap(c_, M * N, b, K * N)) c.fail("c must not overlap b");
        if (!c) return MO_ERR_INVALID;
#ifdef MASKOPT_WITH_CUDA
        if (ctx->backend == MO_BACKEND_CUDA)  // MO_RUN's arguments plus the context's precision
            return cuda_result(c.op(), cuda_set_device(ctx->device)
                                           ?: cuda_matmul(ctx->stream, c_, a, b, bias, M, N, K, trans_b, beta,
                                                          ctx->precision));
#endif
        if (ctx->precision == MO_PRECISION_BF16 && cpu_matmul_bf16_available())
            cpu_matmul_bf16(c_, a, b, bias, M, N, K, trans_b, beta);
        else
            cpu_matmul(c_, a, b, bias, M, N, K, trans_b, beta);
        return MO_OK;
    });
}

int mo_add(mo_context* ctx, float* y, const float* a, const float* b, int64_t n) {
    return guarded("mo_add", [&](Check& c) -> int {  // y may alias a or b
        if (!c.ctx(ctx).ptr("y", y).ptr("a", a).ptr("b", b).count("n", n)) return MO_ERR_INVALID;
        return MO_RUN(ctx, add, y, a, b, n);
    });
}

int mo_add_position(mo_context* ctx, float* y, const float* x, const float* pos, const float* type,
                    const int32_t* lengths, int64_t B, int64_t T, int64_t D) {
    return guarded("mo_add_position", [&](Check& c) -> int {
        c.ctx(ctx).ptr("y", y).ptr("x", x).ptr("pos", pos).ptr("type", type);
        c.ptr("lengths", lengths).dim("B", B).dim("T", T).dim("D", D).elements("y", {B, T, D});
        if (!check_lengths(c, ctx, lengths, B, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, add_position, y, x, pos, type, lengths, B, T, D);
    });
}

int mo_layernorm_forward(mo_context* ctx, float* y, float* mean, float* rstd, const float* x, const float* gamma,
                         const float* beta, int64_t R, int64_t D, float eps) {
    return guarded("mo_layernorm_forward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("y", y).ptr("mean", mean).ptr("rstd", rstd).ptr("x", x).ptr("gamma", gamma).ptr("beta", beta);
        c.dim("R", R).dim("D", D).elements("x", {R, D}).positive("eps", eps);
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, layernorm_forward, y, mean, rstd, x, gamma, beta, R, D, eps);
    });
}

int mo_layernorm_backward(mo_context* ctx, float* dx, const float* dy, const float* x, const float* mean,
                          const float* rstd, const float* gamma, int64_t R, int64_t D) {
    return guarded("mo_layernorm_backward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("dx", dx).ptr("dy", dy).ptr("x", x).ptr("mean", mean).ptr("rstd", rstd).ptr("gamma", gamma);
        c.dim("R", R).dim("D", D).elements("x", {R, D});
        if (!c) return MO_ERR_INVALID;
        return MO_RUN(ctx, layernorm_backward, dx, dy, x, mean, rstd, gamma, R, D);
    });
}

int mo_gelu_forward(mo_context* ctx, float* y, const float* x, int64_t n) {
    return guarded("mo_gelu_forward", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("y", y).ptr("x", x).count("n", n)) return MO_ERR_INVALID;
        return MO_RUN(ctx, gelu_forward, y, x, n);
    });
}

int mo_gelu_backward(mo_context* ctx, float* dx, const float* dy, const float* x, int64_t n) {
    return guarded("mo_gelu_backward", [&](Check& c) -> int {
        if (!c.ctx(ctx).ptr("dx", dx).ptr("dy", dy).ptr("x", x).count("n", n)) return MO_ERR_INVALID;
        return MO_RUN(ctx, gelu_backward, dx, dy, x, n);
    });
}

int mo_attention_forward(mo_context* ctx, float* out, float* probs, const float* qkv, const int32_t* lengths,
                         int64_t B, int64_t T, int64_t H, int64_t Dh) {
    return guarded("mo_attention_forward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("out", out);
        if (!check_attention(c, ctx, qkv, probs, lengths, B, T, H, Dh)) return MO_ERR_INVALID;
        return MO_RUN(ctx, attention_forward, out, probs, qkv, lengths, B, T, H, Dh);
    });
}

int mo_attention_backward(mo_context* ctx, float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                          const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh) {
    return guarded("mo_attention_backward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("d_qkv", d_qkv).ptr("d_out", d_out);
        if (!check_attention(c, ctx, qkv, probs, lengths, B, T, H, Dh)) return MO_ERR_INVALID;
        return MO_RUN(ctx, attention_backward, d_qkv, d_out, qkv, probs, lengths, B, T, H, Dh);
    });
}

int mo_pool_forward(mo_context* ctx, float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T,
                    int64_t D, int mode) {
    return guarded("mo_pool_forward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("y", y).ptr("x", x);
        c.ptr("lengths", lengths).dim("B", B).dim("T", T).dim("D", D).elements("x", {B, T, D});
        check_pool_mode(c, mode);
        if (!check_lengths(c, ctx, lengths, B, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, pool_forward, y, x, lengths, B, T, D, mode);
    });
}

int mo_pool_backward(mo_context* ctx, float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T,
                     int64_t D, int mode) {
    return guarded("mo_pool_backward", [&](Check& c) -> int {
        c.ctx(ctx).ptr("dx", dx).ptr("dy", dy);
        c.ptr("lengths", lengths).dim("B", B).dim("T", T).dim("D", D).elements("dx", {B, T, D});
        check_pool_mode(c, mode);
        if (!check_lengths(c, ctx, lengths, B, T)) return MO_ERR_INVALID;
        return MO_RUN(ctx, pool_backward, dx, dy, lengths, B, T, D, mode);
    });
}

}  // extern "C"
