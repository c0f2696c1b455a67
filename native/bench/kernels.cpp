// kernels: the native benchmark of maskopt's kernels alone (maskopt_bench; design.md "bench/"), through the public
// header only, on the CPU backend and, when a GPU is usable, on CUDA.
// Each kernel's achieved rate is set against two yardsticks measured in the same run on the same backend:
//   - bandwidth: a plain copy of a large buffer (mo_copy: memcpy on the CPU, device-to-device on CUDA), counted as
//     bytes read + bytes written; a kernel's GB/s counts the bytes it must read and write at least once.
//   - compute: the matrix product (mo_matmul) on a large square shape, in FP32 (the percentages), BF16 (on the CPU
//     with AVX512-BF16, else FP32) and TF32 (CUDA).
// Mask kernels (methods.md sections 1-3): hard-concrete and HardKuma sampling, mix forward/backward, expected-L0
// regularizers, Adam; encoder ops: matmul on MiniLM's shapes, attention, LayerNorm, GELU.
// Shapes: S samples, N texts, T tokens, D width (mask kernels); R = 2 S N T rows for the encoder ops, as one
// optimization step feeds the encoder keep and drop rows of every sample.
//
// Usage: maskopt_bench [--smoke] [--backend cpu|cuda|all] [--min-time SECONDS]
//   Prints one Markdown table per backend; the yardsticks are measured before and after the kernels and the better
//   measurement is used (a shared machine's available rate drifts). Time: the median of 5 batches after a warm-up,
//   each batch repeating the call until it takes at least --min-time (default 0.2 s; --smoke: one call per batch,
//   tiny sizes).
//   Threads on the CPU: MASKOPT_THREADS (default: every core).
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "maskopt.h"

namespace {

bool g_smoke = false;
double g_min_time = 0.2;

[[noreturn]] void die(const char* what) {
    fprintf(stderr, "maskopt_bench: %s failed: %s\n", what, mo_last_error());
    exit(1);
}

void ok(int status, const char* what) {
    if (status != MO_OK) die(what);
}

// A device (or host, on the CPU) buffer filled from the host.
struct Buf {
    mo_context* ctx;
    void* p;
    int64_t bytes;
    Buf(mo_context* c, int64_t b) : ctx(c), p(mo_malloc(c, b)), bytes(b) {
        if (!p) die("mo_malloc");
    }
    ~Buf() { mo_free(ctx, p); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    float* f() const { return static_cast<float*>(p); }
    int32_t* i() const { return static_cast<int32_t*>(p); }
    int64_t* l() const { return static_cast<int64_t*>(p); }
};

struct Rng {
    uint64_t s;
    float next(float a, float b) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return a + (b - a) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
};

Buf* floats(mo_context* ctx, int64_t n, float a, float b, uint64_t seed) {
    std::vector<float> h((size_t)n);
    Rng r{seed};
    for (auto& x : h) x = r.next(a, b);
    Buf* buf = new Buf(ctx, n * 4);
    ok(mo_upload(ctx, buf->p, h.data(), n * 4), "mo_upload");
    return buf;
}

Buf* ints(mo_context* ctx, int64_t n, int32_t value) {
    std::vector<int32_t> h((size_t)n, value);
    Buf* buf = new Buf(ctx, n * 4);
    ok(mo_upload(ctx, buf->p, h.data(), n * 4), "mo_upload");
    return buf;
}

// Seconds per call: median over 5 batches (after one warm-up batch), each batch at least g_min_time long.
double seconds_per_call(mo_context* ctx, const std::function<void()>& fn) {
    using clock = std::chrono::steady_clock;
    fn();
    ok(mo_synchronize(ctx), "mo_synchronize");
    int64_t reps = 1;
    if (!g_smoke) {  // calibrate
        for (;;) {
            auto t0 = clock::now();
            for (int64_t k = 0; k < reps; ++k) fn();
            ok(mo_synchronize(ctx), "mo_synchronize");
            double dt = std::chrono::duration<double>(clock::now() - t0).count();
            if (dt >= g_min_time || reps >= (int64_t)1 << 30) break;
            reps = dt <= 0 ? reps * 10 : std::max(reps + 1, (int64_t)(reps * 1.2 * g_min_time / dt));
        }
    }
    std::vector<double> t;
    for (int b = 0; b < 5; ++b) {
        auto t0 = clock::now();
        for (int64_t k = 0; k < reps; ++k) fn();
        ok(mo_synchronize(ctx), "mo_synchronize");
        t.push_back(std::chrono::duration<double>(clock::now() - t0).count() / reps);
        if (g_smoke) break;
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

struct Row {
    std::string kernel, size;
    double seconds, bytes, flops;
};

std::vector<Row> g_rows;

void record(const std::string& kernel, const std::string& size, double s, double bytes, double flops) {
    g_rows.push_back({kernel, size, s, bytes, flops});
    fprintf(stderr, "  %-28s %-36s %10.2f us\n", kernel.c_str(), size.c_str(), s * 1e6);
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
    char b[256];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof b, f, ap);
    va_end(ap);
    return b;
}

// ---- yardsticks ----

double copy_bandwidth(mo_context* ctx) {
    const int64_t bytes = g_smoke ? (4 << 20) : (mo_context_backend(ctx) == MO_BACKEND_CUDA ? (1ll << 30) : (256ll << 20));
    Buf a(ctx, bytes), b(ctx, bytes);
    ok(mo_fill(ctx, a.f(), 1.0f, bytes / 4), "mo_fill");
    ok(mo_fill(ctx, b.f(), 0.0f, bytes / 4), "mo_fill");
    double s = seconds_per_call(ctx, [&] { ok(mo_copy(ctx, b.p, a.p, bytes), "mo_copy"); });
    record("copy (yardstick)", fmt("%lld MiB", (long long)(bytes >> 20)), s, 2.0 * bytes, 0);
    return 2.0 * bytes / s;
}

double matmul_rate(mo_context* ctx, int precision, const char* name) {
    const int64_t n = g_smoke ? 128 : (mo_context_backend(ctx) == MO_BACKEND_CUDA ? 4096 : 1024);
    std::unique_ptr<Buf> a(floats(ctx, n * n, -1, 1, 1)), b(floats(ctx, n * n, -1, 1, 2)), c(new Buf(ctx, n * n * 4));
    ok(mo_set_matmul_precision(ctx, precision), "mo_set_matmul_precision");
    double s = seconds_per_call(ctx, [&] {
        ok(mo_matmul(ctx, c->f(), a->f(), b->f(), nullptr, n, n, n, 0, 0.0f), "mo_matmul");
    });
    ok(mo_set_matmul_precision(ctx, MO_PRECISION_FP32), "mo_set_matmul_precision");
    record(std::string("matmul ") + name + " (yardstick)", fmt("%lld^3", (long long)n), s, 3.0 * n * n * 4, 2.0 * n * n * n);
    return 2.0 * n * n * n / s;
}

// ---- mask kernels ----

void mask_kernels(mo_context* ctx, int64_t S, int64_t N, int64_t T, int64_t D) {
    const std::string size = fmt("S=%lld N=%lld T=%lld D=%lld", (long long)S, (long long)N, (long long)T, (long long)D);
    const int64_t NT = N * T, SNT = S * NT, NTD = NT * D;
    std::unique_ptr<Buf> len(ints(ctx, N, (int32_t)T));
    std::unique_ptr<Buf> theta(floats(ctx, 2 * NT, -1, 2, 3));
    std::unique_ptr<Buf> z(floats(ctx, SNT, 0, 1, 4)), dz(floats(ctx, 2 * SNT, 0, 1, 5));
    std::unique_ptr<Buf> emb(floats(ctx, NTD, -1, 1, 6)), base(floats(ctx, NTD, -1, 1, 7));
    std::unique_ptr<Buf> mixed(new Buf(ctx, 2 * SNT * D * 4)), dmixed(floats(ctx, 2 * SNT * D, -1, 1, 8));
    std::unique_ptr<Buf> dtheta(floats(ctx, 2 * NT, 0, 0, 9)), reg(new Buf(ctx, 2 * N * 4));
    std::unique_ptr<Buf> m(floats(ctx, 2 * NT, 0, 0, 10)), v(floats(ctx, 2 * NT, 0, 0, 11)), g(floats(ctx, 2 * NT, -1, 1, 12));
    const double f4 = 4.0;
    int64_t step = 0;
    double s;
    s = seconds_per_call(ctx, [&] {
        ok(mo_hc_sample(ctx, z->f(), dz->f(), theta->f(), len->i(), S, N, T, 2.0f / 3, -0.1f, 1.1f, 7, step++), "hc_sample");
    });
    record("hc_sample", size, s, f4 * (NT + 2 * SNT), 0);
    s = seconds_per_call(ctx, [&] {
        ok(mo_kuma_sample(ctx, z->f(), dz->f(), theta->f(), len->i(), S, N, T, -0.1f, 1.1f, 7, step++), "kuma_sample");
    });
    record("kuma_sample", size, s, f4 * (2 * NT + 3 * SNT), 0);
    s = seconds_per_call(ctx, [&] {
        ok(mo_mix_forward(ctx, mixed->f(), z->f(), emb->f(), base->f(), len->i(), S, N, T, D, 1), "mix_forward");
    });
    record("mix_forward", size, s, f4 * (SNT + 2 * NTD + 2 * SNT * D), 0);
    s = seconds_per_call(ctx, [&] {
        ok(mo_mix_backward(ctx, dtheta->f(), dmixed->f(), dz->f(), emb->f(), base->f(), len->i(), 1, S, N, T, D, 1),
           "mix_backward");
    });
    record("mix_backward (P=1)", size, s, f4 * (2 * SNT * D + SNT + 2 * NTD + NT), 4.0 * SNT * D);
    s = seconds_per_call(ctx, [&] {
        ok(mo_hc_regularize(ctx, dtheta->f(), reg->f(), theta->f(), len->i(), N, T, 2.0f / 3, -0.1f, 1.1f, 10, 0),
           "hc_regularize");
    });
    record("hc_regularize (expected L0)", size, s, f4 * 3 * NT, 0);
    s = seconds_per_call(ctx, [&] {
        ok(mo_kuma_regularize(ctx, dtheta->f(), reg->f(), theta->f(), len->i(), N, T, -0.1f, 1.1f, 10, 0),
           "kuma_regularize");
    });
    record("kuma_regularize (expected L0)", size, s, f4 * 6 * NT, 0);
    int64_t adam_step = 1;
    s = seconds_per_call(ctx, [&] {
        ok(mo_adam_update(ctx, theta->f(), m->f(), v->f(), g->f(), NT, 0.1f, 0.9f, 0.999f, 1e-8f, 0, adam_step++),
           "adam_update");
    });
    record("adam_update", fmt("n=%lld", (long long)NT), s, f4 * 7 * NT, 0);
    if (NT >= (1 << 16)) {  // Adam alone at a size that fills the machine
        const int64_t n = g_smoke ? (1 << 16) : (1 << 24);
        std::unique_ptr<Buf> p2(floats(ctx, n, -1, 1, 13)), m2(floats(ctx, n, 0, 0, 14)), v2(floats(ctx, n, 0, 0, 15)),
            g2(floats(ctx, n, -1, 1, 16));
        s = seconds_per_call(ctx, [&] {
            ok(mo_adam_update(ctx, p2->f(), m2->f(), v2->f(), g2->f(), n, 0.1f, 0.9f, 0.999f, 1e-8f, 0, adam_step++),
               "adam_update");
        });
        record("adam_update", fmt("n=%lld", (long long)n), s, f4 * 7 * n, 0);
    }
}

// ---- encoder ops (MiniLM: D = 384, H = 12, Dh = 32, FFN 1536) ----

void encoder_ops(mo_context* ctx, int64_t B, int64_t T) {
    const int64_t D = 384, H = 12, Dh = 32, F = 1536, R = B * T;
    const std::string size = fmt("B=%lld T=%lld", (long long)B, (long long)T);
    std::unique_ptr<Buf> x(floats(ctx, R * F, -1, 1, 20)), y(new Buf(ctx, R * F * 4)), dy(floats(ctx, R * F, -1, 1, 21));
    std::unique_ptr<Buf> w(floats(ctx, F * 3 * D, -0.05f, 0.05f, 22)), bias(floats(ctx, F, -0.1f, 0.1f, 23));
    std::unique_ptr<Buf> len(ints(ctx, B, (int32_t)T));
    std::unique_ptr<Buf> probs(new Buf(ctx, B * H * T * T * 4)), qkv(floats(ctx, R * 3 * D, -1, 1, 24));
    std::unique_ptr<Buf> mean(new Buf(ctx, R * 4)), rstd(new Buf(ctx, R * 4));
    std::unique_ptr<Buf> gamma(floats(ctx, D, 0.5f, 1.5f, 25)), beta(floats(ctx, D, -0.1f, 0.1f, 26));
    struct Mm {
        const char* name;
        int64_t n, k;
        int trans_b;
    };
    // Forward: x W (+ bias); backward (input gradients): dY W^T.
    const Mm mms[] = {{"matmul qkv fwd", 3 * D, D, 0}, {"matmul ffn-in fwd", F, D, 0},  {"matmul ffn-out fwd", D, F, 0},
                      {"matmul qkv bwd (W^T)", D, 3 * D, 1}, {"matmul ffn-in bwd (W^T)", D, F, 1},
                      {"matmul ffn-out bwd (W^T)", F, D, 1}};
    for (int precision : {MO_PRECISION_FP32, MO_PRECISION_BF16})
        for (const Mm& mm : mms) {
            ok(mo_set_matmul_precision(ctx, precision), "mo_set_matmul_precision");
            double s = seconds_per_call(ctx, [&] {
                ok(mo_matmul(ctx, y->f(), x->f(), w->f(), mm.trans_b ? nullptr : bias->f(), R, mm.n, mm.k, mm.trans_b,
                             0.0f),
                   "mo_matmul");
            });
            ok(mo_set_matmul_precision(ctx, MO_PRECISION_FP32), "mo_set_matmul_precision");
            record(std::string(mm.name) + (precision == MO_PRECISION_BF16 ? " BF16" : ""),
                   fmt("%s (%lldx%lldx%lld)", size.c_str(), (long long)R, (long long)mm.n, (long long)mm.k), s,
                   4.0 * (R * mm.k + mm.k * mm.n + R * mm.n), 2.0 * R * mm.n * mm.k);
        }
    const double att_flops = 4.0 * B * H * T * T * Dh;
    double s = seconds_per_call(ctx, [&] {
        ok(mo_attention_forward(ctx, y->f(), probs->f(), qkv->f(), len->i(), B, T, H, Dh), "attention_forward");
    });
    record("attention_forward", size, s, 4.0 * (R * 3 * D + B * H * T * T + R * D), att_flops);
    s = seconds_per_call(ctx, [&] {
        ok(mo_attention_backward(ctx, x->f(), dy->f(), qkv->f(), probs->f(), len->i(), B, T, H, Dh), "attention_backward");
    });
    record("attention_backward", size, s, 4.0 * (R * 3 * D * 2 + B * H * T * T + R * D), 2 * att_flops);
    s = seconds_per_call(ctx, [&] {
        ok(mo_layernorm_forward(ctx, y->f(), mean->f(), rstd->f(), x->f(), gamma->f(), beta->f(), R, D, 1e-12f),
           "layernorm_forward");
    });
    record("layernorm_forward", size, s, 4.0 * (2 * R * D + 2 * R), 0);
    s = seconds_per_call(ctx, [&] {
        ok(mo_layernorm_backward(ctx, y->f(), dy->f(), x->f(), mean->f(), rstd->f(), gamma->f(), R, D),
           "layernorm_backward");
    });
    record("layernorm_backward", size, s, 4.0 * (3 * R * D + 2 * R), 0);
    s = seconds_per_call(ctx, [&] { ok(mo_gelu_forward(ctx, y->f(), x->f(), R * F), "gelu_forward"); });
    record("gelu_forward", fmt("%s (n=%lld)", size.c_str(), (long long)(R * F)), s, 4.0 * 2 * R * F, 0);
    s = seconds_per_call(ctx, [&] { ok(mo_gelu_backward(ctx, y->f(), dy->f(), x->f(), R * F), "gelu_backward"); });
    record("gelu_backward", fmt("%s (n=%lld)", size.c_str(), (long long)(R * F)), s, 4.0 * 3 * R * F, 0);
}

void run(int backend, const char* name) {
    mo_context* ctx = mo_context_create(backend, 0);
    if (!ctx) die("mo_context_create");
    fprintf(stderr, "%s:\n", name);
    g_rows.clear();
    double bw = copy_bandwidth(ctx);
    double peak = matmul_rate(ctx, MO_PRECISION_FP32, "FP32");
    double peak_tf32 = 0, peak_bf16 = 0;
    if (backend == MO_BACKEND_CUDA) peak_tf32 = matmul_rate(ctx, MO_PRECISION_TF32, "TF32");
    peak_bf16 = matmul_rate(ctx, MO_PRECISION_BF16, "BF16");  // the CPU: AVX512-BF16 where present, else FP32
    if (g_smoke) {
        mask_kernels(ctx, 2, 1, 16, 8);
        encoder_ops(ctx, 2, 8);
    } else {
        mask_kernels(ctx, 4, 1, 128, 384);  // one explanation, MiniLM width, 128 pieces
        mask_kernels(ctx, 4, 64, 128, 384); // a batch of 64
        if (backend == MO_BACKEND_CUDA) mask_kernels(ctx, 4, 64, 512, 384);  // fills a large GPU
        encoder_ops(ctx, 8, 16);    // batch 1, a short sentence: 2 S N = 8 rows
        encoder_ops(ctx, 8, 128);   // batch 1, 128 pieces
        if (backend == MO_BACKEND_CUDA) encoder_ops(ctx, 256, 128);  // a batch of 32 texts
    }
    // The yardsticks again at the end: on a shared machine the available rate drifts, so the better of the two
    // measurements is the reference (both are printed).
    const double bw2 = copy_bandwidth(ctx), peak2 = matmul_rate(ctx, MO_PRECISION_FP32, "FP32");
    const double bw_first = bw, peak_first = peak;
    bw = std::max(bw, bw2);
    peak = std::max(peak, peak2);
    const char* threads = getenv("MASKOPT_THREADS");
    printf("### %s backend%s%s\n\n", name, backend == MO_BACKEND_CPU ? ", MASKOPT_THREADS=" : "",
           backend == MO_BACKEND_CPU ? (threads ? threads : "all cores") : "");
    printf("Yardsticks (the better of a measurement before and after the kernels): copy %.1f GB/s (read + write; "
           "%.1f, %.1f); matmul FP32 %.1f GFLOP/s (%.1f, %.1f)", bw / 1e9, bw_first / 1e9, bw2 / 1e9, peak / 1e9,
           peak_first / 1e9, peak2 / 1e9);
    if (backend == MO_BACKEND_CUDA) printf(", TF32 %.1f", peak_tf32 / 1e9);
    printf(", BF16 %.1f GFLOP/s", peak_bf16 / 1e9);
    printf(".\n\n| kernel | size | time (us) | GB/s | %% of copy | GFLOP/s | %% of FP32 matmul |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (const Row& r : g_rows) {
        double gbs = r.bytes / r.seconds / 1e9, gfs = r.flops / r.seconds / 1e9;
        printf("| %s | %s | %.2f | %.1f | %.0f%% | %s | %s |\n", r.kernel.c_str(), r.size.c_str(), r.seconds * 1e6, gbs,
               100.0 * gbs * 1e9 / bw, r.flops > 0 ? fmt("%.1f", gfs).c_str() : "-",
               r.flops > 0 ? fmt("%.0f%%", 100.0 * gfs * 1e9 / peak).c_str() : "-");
    }
    printf("\n");
    mo_context_destroy(ctx);
}

}  // namespace

int main(int argc, char** argv) {
    std::string backend = "all";
    for (int k = 1; k < argc; ++k) {
        if (!strcmp(argv[k], "--smoke")) {
            g_smoke = true;
        } else if (!strcmp(argv[k], "--backend") && k + 1 < argc) {
            backend = argv[++k];
        } else if (!strcmp(argv[k], "--min-time") && k + 1 < argc) {
            g_min_time = atof(argv[++k]);
        } else {
            fprintf(stderr, "usage: maskopt_bench [--smoke] [--backend cpu|cuda|all] [--min-time SECONDS]\n");
            return 2;
        }
    }
    printf("maskopt_bench: %s\n%s\n\n", mo_build_info(), mo_cuda_status());
    if (backend == "cpu" || backend == "all") run(MO_BACKEND_CPU, "CPU");
    if (backend == "cuda" || backend == "all") {
        if (mo_cuda_device_count() > 0) {
            run(MO_BACKEND_CUDA, "CUDA");
        } else if (backend == "cuda") {
            fprintf(stderr, "no usable GPU: %s\n", mo_cuda_status());
            return 77;
        }
    }
    return 0;
}
