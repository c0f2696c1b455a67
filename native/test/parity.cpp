// parity: CPU-vs-CUDA parity test of every operation of maskopt.h (CTest "parity"; design.md "Tests").
// Uses only the public header. Exit 77 ("skipped") when no usable GPU, 0 when every check passes, 1 otherwise.
// For each shape (ragged lengths in [1, T]; tiny and odd sizes such as T = 1, D = 1, S = 1, up to
// S = 8, N = 16, T = 137, D = 384), each op runs on a CPU and a CUDA context with the same inputs from a
// fixed seed; outputs are poisoned with NaN (ints with INT32_MIN) before each call, downloaded and compared
// with |cpu - gpu| <= atol + rtol |cpu|. Uniforms and plain copies must match bit for bit; CNN argmax must
// match exactly unless the two windows tie within float noise (checked in double on the host), and exactly
// where windows tie bit for bit (constant rows: the first window must win on both). Samples
// whose clamp state differs because z sits within float noise of 0 or 1 are excused for dz (reported).
// One line per check: op, shape, max |diff|, PASS/FAIL, and on failure the first mismatching indices.
// Word gates and encoder ops (own shape lists after the per-Shape loop): gather_gates bit-exact; the
// elementwise ops on aligned, unaligned (one float in) and in-place arrays; LayerNorm with shifted and narrow
// rows (eps 1e-12 and 1e-5, D up to 1500); pooling in both modes; attention with ragged lengths for Dh = 1,
// odd Dh, T = 512 and the BERT-like B=8 T=128 H=12 Dh=32 (the backward gets the CPU's probs); matmul on odd
// and BERT-like shapes with trans_b 0/1, bias NULL/non-NULL, beta 0 (c poisoned) / 1, in FP32 (1e-4), TF32
// (2e-3) and BF16 (2e-2), each tolerance relative to the row scale, reported as "max rel".
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "maskopt.h"

namespace {

mo_context* g_cpu = nullptr;
mo_context* g_gpu = nullptr;
int g_checks = 0, g_failures = 0;

[[noreturn]] void die(const char* what) {
    fprintf(stderr, "parity: %s failed: %s\n", what, mo_last_error());
    exit(1);
}

void ok(int status, const char* what) {
    if (status != MO_OK) die(what);
}

// ---- deterministic inputs (own generator: identical on every platform and standard library) ----

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {  // splitmix64
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double unit() { return ((next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }  // (0, 1)
    float uniform(double a, double b) { return (float)(a + (b - a) * unit()); }
    float normal(double sd = 1.0) {
        double u1 = unit(), u2 = unit();
        return (float)(sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
    int32_t below(int64_t n) { return (int32_t)(next() % (uint64_t)n); }
};

std::vector<float> normals(Rng& rng, int64_t n, double sd = 1.0) {
    std::vector<float> v((size_t)n);
    for (auto& x : v) x = rng.normal(sd);
    return v;
}
std::vector<float> uniforms(Rng& rng, int64_t n, double a, double b) {
    std::vector<float> v((size_t)n);
    for (auto& x : v) x = rng.uniform(a, b);
    return v;
}

// ---- one array on both backends ----

template <class T>
T poison_value();
template <>
float poison_value<float>() {
    return NAN;
}
template <>
int32_t poison_value<int32_t>() {
    return INT32_MIN;
}
template <>
int64_t poison_value<int64_t>() {
    return INT64_MIN;
}

// h: the CPU context's buffer (plain host memory); d: device memory of the CUDA context.
template <class T>
class Both {
public:
    explicit Both(std::vector<T> v) : h(std::move(v)), n_((int64_t)h.size()) {  // an input: same data on both
        alloc();
        ok(mo_upload(g_gpu, d_, h.data(), bytes()), "mo_upload");
    }
    explicit Both(int64_t n) : h((size_t)n), n_(n) {  // an output: poisoned on both
        alloc();
        poison();
    }
    Both(const Both&) = delete;
    Both& operator=(const Both&) = delete;
    ~Both() { mo_free(g_gpu, d_); }

    void poison() {
        std::fill(h.begin(), h.end(), poison_value<T>());
        if (std::is_same<T, float>::value) {
            ok(mo_fill(g_gpu, reinterpret_cast<float*>(d_), NAN, n_), "mo_fill");
        } else {
            std::vector<T> p((size_t)n_, poison_value<T>());
            ok(mo_upload(g_gpu, d_, p.data(), bytes()), "mo_upload");
        }
    }
    // Both sides get the same contents again (accumulating outputs).
    void set(const std::vector<T>& v) {
        h = v;
        ok(mo_upload(g_gpu, d_, h.data(), bytes()), "mo_upload");
    }
    T* at(bool gpu) { return gpu ? d_ : h.data(); }
    std::vector<T> gpu() const {
        std::vector<T> v((size_t)n_);
        ok(mo_download(g_gpu, v.data(), d_, bytes()), "mo_download");
        return v;
    }
    int64_t size() const { return n_; }

    std::vector<T> h;

private:
    void alloc() {
        d_ = static_cast<T*>(mo_malloc(g_gpu, bytes()));
        if (!d_) die("mo_malloc");
    }
    int64_t bytes() const { return n_ * (int64_t)sizeof(T); }
    int64_t n_;
    T* d_ = nullptr;
};

// Runs f(ctx, gpu) on the CPU context, then on the CUDA context, and waits for the GPU.
template <class F>
void both(const char* op, F&& f) {
    ok(f(g_cpu, false), op);
    ok(f(g_gpu, true), op);
    ok(mo_synchronize(g_gpu), op);
}

// ---- comparisons ----

using Excuse = std::function<bool(int64_t)>;

void report(const std::string& name, const std::string& shape, double maxdiff, const std::vector<std::string>& bad,
            int64_t nbad, int64_t excused, const char* what = "max|diff|") {
    ++g_checks;
    const bool pass = nbad == 0;
    if (!pass) ++g_failures;
    char extra[64] = "";
    if (excused > 0) snprintf(extra, sizeof extra, "  (%" PRId64 " excused)", excused);
    printf("%-30s %-36s %s %.3e  %s%s\n", name.c_str(), shape.c_str(), what, maxdiff, pass ? "PASS" : "FAIL",
           extra);
    if (!pass) {
        printf("    %" PRId64 " mismatches; first:\n", nbad);
        for (const auto& s : bad) printf("      %s\n", s.c_str());
    }
    fflush(stdout);
}

// |cpu - gpu| <= atol + rtol |cpu| everywhere, except where excuse(i) holds; any NaN/Inf mismatches.
void compare(const std::string& name, const std::string& shape, const std::vector<float>& cpu,
             const std::vector<float>& gpu, double atol, double rtol, const Excuse& excuse = nullptr) {
    double maxdiff = 0.0;
    int64_t nbad = 0, excused = 0;
    std::vector<std::string> bad;
    for (size_t i = 0; i < cpu.size(); ++i) {
        const double c = cpu[i], g = gpu[i];
        const bool finite = isfinite(c) && isfinite(g);
        const double diff = finite ? fabs(c - g) : INFINITY;
        if (finite && diff <= atol + rtol * fabs(c)) {
            if (diff > maxdiff) maxdiff = diff;
            continue;
        }
        if (excuse && finite && excuse((int64_t)i)) {
            ++excused;
            continue;
        }
        if (finite && diff > maxdiff) maxdiff = diff;
        if (!finite) maxdiff = INFINITY;
        if (nbad++ < 6) {
            char s[160];
            snprintf(s, sizeof s, "[%zu] cpu %.9g gpu %.9g diff %.3e", i, c, g, diff);
            bad.push_back(s);
        }
    }
    report(name, shape, maxdiff, bad, nbad, excused);
}

// Bit-exact comparison (uniforms, copies, fills, embeddings).
void compare_bits(const std::string& name, const std::string& shape, const std::vector<float>& cpu,
                  const std::vector<float>& gpu) {
    double maxdiff = 0.0;
    int64_t nbad = 0;
    std::vector<std::string> bad;
    for (size_t i = 0; i < cpu.size(); ++i) {
        uint32_t a, b;
        memcpy(&a, &cpu[i], 4);
        memcpy(&b, &gpu[i], 4);
        if (a == b) continue;
        const double diff = fabs((double)cpu[i] - (double)gpu[i]);
        maxdiff = isfinite(diff) && diff > maxdiff ? diff : (isfinite(diff) ? maxdiff : INFINITY);
        if (nbad++ < 6) {
            char s[160];
            snprintf(s, sizeof s, "[%zu] cpu %.9g (0x%08x) gpu %.9g (0x%08x)", i, cpu[i], a, gpu[i], b);
            bad.push_back(s);
        }
    }
    report(name, shape, maxdiff, bad, nbad, 0);
}

void compare_ints(const std::string& name, const std::string& shape, const std::vector<int32_t>& cpu,
                  const std::vector<int32_t>& gpu, const Excuse& excuse = nullptr) {
    double maxdiff = 0.0;
    int64_t nbad = 0, excused = 0;
    std::vector<std::string> bad;
    for (size_t i = 0; i < cpu.size(); ++i) {
        if (cpu[i] == gpu[i]) continue;
        if (excuse && excuse((int64_t)i)) {
            ++excused;
            continue;
        }
        const double diff = fabs((double)cpu[i] - (double)gpu[i]);
        if (diff > maxdiff) maxdiff = diff;
        if (nbad++ < 6) {
            char s[160];
            snprintf(s, sizeof s, "[%zu] cpu %d gpu %d", i, cpu[i], gpu[i]);
            bad.push_back(s);
        }
    }
    report(name, shape, maxdiff, bad, nbad, excused);
}

// A pass/fail check on statuses (graph API rules, refusals): `what` explains a failure.
__attribute__((format(printf, 3, 4))) void expect_status(const std::string& name, bool pass, const char* fmt, ...) {
    std::vector<std::string> bad;
    if (!pass) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        bad.push_back(std::string(msg) + " (last error: " + mo_last_error() + ")");
    }
    report(name, "", 0.0, bad, pass ? 0 : 1, 0, "        ");
}

// ---- shapes ----

struct Shape {
    int64_t S, N, T, D, C;
    int64_t step;                 // Philox step
    std::vector<int32_t> widths;  // CNN widths
    int64_t F;                    // CNN filters per width
    int64_t B;                    // CNN batch rows (0: N)
};

std::string describe(const Shape& s) {
    char b[96];
    snprintf(b, sizeof b, "S=%" PRId64 " N=%" PRId64 " T=%" PRId64 " D=%" PRId64 " C=%" PRId64, s.S, s.N, s.T, s.D,
             s.C);
    return b;
}

// Ragged lengths in [1, T]; with N >= 2 one sequence has length T and one has length 1.
std::vector<int32_t> make_lengths(Rng& rng, int64_t N, int64_t T) {
    std::vector<int32_t> len((size_t)N);
    for (auto& l : len) l = 1 + rng.below(T);
    if (N >= 2) {
        len[0] = (int32_t)T;
        len[(size_t)N - 1] = 1;
    }
    return len;
}

// ---- the checks, one group per op family ----

void test_plumbing(const Shape& sh, Rng& rng) {
    const std::string shape = describe(sh);
    const int64_t n = sh.S * sh.N * sh.T + sh.D;  // arbitrary, not a multiple of anything in particular

    {  // mo_fill
        Both<float> x(n);
        both("mo_fill", [&](mo_context* c, bool g) { return mo_fill(c, x.at(g), -3.25f, n); });
        compare_bits("fill", shape, x.h, x.gpu());
    }
    {  // mo_copy (upload + copy + download round trip)
        Both<float> src(normals(rng, n));
        Both<float> dst(n);
        both("mo_copy", [&](mo_context* c, bool g) {
            return mo_copy(c, dst.at(g), src.at(g), n * (int64_t)sizeof(float));
        });
        compare_bits("copy", shape, dst.h, dst.gpu());
    }
    {  // mo_count_nonfinite
        std::vector<float> v = normals(rng, n);
        int64_t expect = 0;
        for (int64_t i = 0; i < n; i += 1 + rng.below(97)) {
            const int kind = rng.below(3);
            v[(size_t)i] = kind == 0 ? NAN : (kind == 1 ? INFINITY : -INFINITY);
            ++expect;
        }
        Both<float> x(v);
        int64_t cc = -1, cg = -1;
        ok(mo_count_nonfinite(g_cpu, &cc, x.at(false), n), "mo_count_nonfinite");
        ok(mo_count_nonfinite(g_gpu, &cg, x.at(true), n), "mo_count_nonfinite");
        std::vector<std::string> bad;
        int64_t nbad = 0;
        if (cc != expect || cg != expect) {
            char s[160];
            snprintf(s, sizeof s, "expected %" PRId64 ", cpu %" PRId64 ", gpu %" PRId64, expect, cc, cg);
            bad.push_back(s);
            nbad = 1;
        }
        report("count_nonfinite", shape, (double)llabs((long long)(cc - cg)), bad, nbad, 0);
    }
}

void test_uniform(const Shape& sh, uint64_t seed) {
    const int64_t S = sh.S, N = sh.N, T = sh.T;
    Both<float> u(S * N * T);
    both("mo_uniform", [&](mo_context* c, bool g) { return mo_uniform(c, u.at(g), seed, sh.step, S, N, T); });
    compare_bits("uniform", describe(sh), u.h, u.gpu());
}

// dz may legitimately differ where z sits within float noise of the clamp bounds 0 or 1 (one backend clamps,
// the other does not): excuse those when the two z agree and are within 1e-5 of a bound.
Excuse clamp_excuse(const std::vector<float>& zc, const std::vector<float>& zg, int64_t period) {
    return [&zc, &zg, period](int64_t i) {
        const int64_t j = i % period;
        const float a = zc[(size_t)j], b = zg[(size_t)j];
        const bool near = fminf(a, 1.0f - a) < 1e-5f || fminf(b, 1.0f - b) < 1e-5f;
        return near && fabsf(a - b) < 1e-5f;
    };
}

void test_hard_concrete(const Shape& sh, Rng& rng, uint64_t seed) {
    const int64_t S = sh.S, N = sh.N, T = sh.T;
    const std::string shape = describe(sh);
    Both<int32_t> len(make_lengths(rng, N, T));
    Both<float> la(normals(rng, N * T, 2.0));
    struct Consts {
        float beta, l, r;
        const char* tag;
    };
    const Consts consts[] = {{2.0f / 3.0f, -0.1f, 1.1f, ""}, {0.5f, -0.2f, 1.05f, "[b.5]"}};
    for (const Consts& k : consts) {
        const std::string sfx = k.tag;
        {
            Both<float> z(S * N * T), dz(S * N * T);
            both("mo_hc_sample", [&](mo_context* c, bool g) {
                return mo_hc_sample(c, z.at(g), dz.at(g), la.at(g), len.at(g), S, N, T, k.beta, k.l, k.r, seed,
                                    sh.step);
            });
            const std::vector<float> zg = z.gpu();
            compare("hc_sample.z" + sfx, shape, z.h, zg, 1e-5, 1e-4);
            compare("hc_sample.dz" + sfx, shape, dz.h, dz.gpu(), 1e-5, 1e-4, clamp_excuse(z.h, zg, S * N * T));
        }
        {
            Both<float> z(N * T);
            both("mo_hc_gate",
                 [&](mo_context* c, bool g) { return mo_hc_gate(c, z.at(g), la.at(g), len.at(g), N, T, k.l, k.r); });
            compare("hc_gate" + sfx, shape, z.h, z.gpu(), 1e-6, 1e-5);
        }
        {
            Both<float> p(N * T);
            both("mo_hc_prob_open", [&](mo_context* c, bool g) {
                return mo_hc_prob_open(c, p.at(g), la.at(g), len.at(g), N, T, k.beta, k.l, k.r);
            });
            compare("hc_prob_open" + sfx, shape, p.h, p.gpu(), 1e-6, 1e-5);
        }
        {
            // Accumulating output: the same random start on both sides (padding must stay untouched).
            Both<float> dla(normals(rng, N * T));
            Both<float> reg(N * 2);
            both("mo_hc_regularize", [&](mo_context* c, bool g) {
                return mo_hc_regularize(c, dla.at(g), reg.at(g), la.at(g), len.at(g), N, T, k.beta, k.l, k.r, 0.7f,
                                        0.3f);
            });
            compare("hc_regularize.d_logalpha" + sfx, shape, dla.h, dla.gpu(), 1e-5, 1e-4);
            compare("hc_regularize.reg" + sfx, shape, reg.h, reg.gpu(), 1e-5, 1e-4);
        }
        {
            // Per-row L0 weights (the target-rate multiplier), accumulating like mo_hc_regularize.
            Both<float> dla(normals(rng, N * T));
            Both<float> reg(N * 2);
            Both<float> w(uniforms(rng, N, 0.0, 20.0));
            both("mo_hc_regularize_rows", [&](mo_context* c, bool g) {
                return mo_hc_regularize_rows(c, dla.at(g), reg.at(g), la.at(g), len.at(g), w.at(g), N, T, k.beta, k.l,
                                             k.r, 0.3f);
            });
            compare("hc_regularize_rows.d_logalpha" + sfx, shape, dla.h, dla.gpu(), 1e-5, 1e-4);
            compare("hc_regularize_rows.reg" + sfx, shape, reg.h, reg.gpu(), 1e-5, 1e-4);
        }
    }
}

void test_kuma(const Shape& sh, Rng& rng, uint64_t seed) {
    const int64_t S = sh.S, N = sh.N, T = sh.T, NT = N * T;
    const std::string shape = describe(sh);
    const float l = -0.1f, r = 1.1f;
    Both<int32_t> len(make_lengths(rng, N, T));
    // log a in (-2.5, 2.5), log b in (-2.5, 3), and a few far outside the clamp [1e-6, 100] (zero gradient).
    std::vector<float> params((size_t)(2 * NT));
    for (int64_t i = 0; i < NT; ++i) {
        params[(size_t)i] = rng.uniform(-2.5, 2.5);
        params[(size_t)(NT + i)] = rng.uniform(-2.5, 3.0);
        if (rng.below(40) == 0) params[(size_t)i] = rng.below(2) ? 20.0f : -20.0f;
        if (rng.below(40) == 0) params[(size_t)(NT + i)] = rng.below(2) ? 20.0f : -20.0f;
    }
    Both<float> prm(params);
    {
        Both<float> z(S * NT), dz(2 * S * NT);
        both("mo_kuma_sample", [&](mo_context* c, bool g) {
            return mo_kuma_sample(c, z.at(g), dz.at(g), prm.at(g), len.at(g), S, N, T, l, r, seed, sh.step);
        });
        const std::vector<float> zg = z.gpu();
        compare("kuma_sample.z", shape, z.h, zg, 2e-5, 2e-4);
        compare("kuma_sample.dz", shape, dz.h, dz.gpu(), 2e-5, 2e-4, clamp_excuse(z.h, zg, S * NT));
    }
    std::vector<float> p0c, p1c;
    {
        Both<float> p0(NT), p1(NT);
        both("mo_kuma_probs", [&](mo_context* c, bool g) {
            return mo_kuma_probs(c, p0.at(g), p1.at(g), prm.at(g), len.at(g), N, T, l, r);
        });
        compare("kuma_probs.p0", shape, p0.h, p0.gpu(), 1e-5, 1e-4);
        compare("kuma_probs.p1", shape, p1.h, p1.gpu(), 1e-5, 1e-4);
        p0c = p0.h;
        p1c = p1.h;
    }
    {
        Both<float> z(NT);
        both("mo_kuma_gate",
             [&](mo_context* c, bool g) { return mo_kuma_gate(c, z.at(g), prm.at(g), len.at(g), N, T, l, r); });
        // The decision is discontinuous: excuse positions where it is a near tie.
        Excuse tie = [&p0c, &p1c](int64_t i) {
            const float a = p0c[(size_t)i], b = p1c[(size_t)i], pc = 1.0f - a - b;
            return fabsf(a - b) < 1e-4f || fabsf(pc - fmaxf(a, b)) < 1e-4f;
        };
        compare("kuma_gate", shape, z.h, z.gpu(), 1e-5, 1e-4, tie);
    }
    {
        Both<float> dprm(normals(rng, 2 * NT));
        Both<float> reg(N * 2);
        both("mo_kuma_regularize", [&](mo_context* c, bool g) {
            return mo_kuma_regularize(c, dprm.at(g), reg.at(g), prm.at(g), len.at(g), N, T, l, r, 0.6f, 0.4f);
        });
        compare("kuma_regularize.d_params", shape, dprm.h, dprm.gpu(), 1e-5, 1e-4);
        compare("kuma_regularize.reg", shape, reg.h, reg.gpu(), 1e-5, 1e-4);
    }
    {
        Both<float> dprm(normals(rng, 2 * NT));
        Both<float> reg(N * 2);
        Both<float> w(uniforms(rng, N, 0.0, 20.0));
        both("mo_kuma_regularize_rows", [&](mo_context* c, bool g) {
            return mo_kuma_regularize_rows(c, dprm.at(g), reg.at(g), prm.at(g), len.at(g), w.at(g), N, T, l, r, 0.4f);
        });
        compare("kuma_regularize_rows.d_params", shape, dprm.h, dprm.gpu(), 1e-5, 1e-4);
        compare("kuma_regularize_rows.reg", shape, reg.h, reg.gpu(), 1e-5, 1e-4);
        // The multiplier update from that reg (column 1 is not read), in place, a few steps.
        Both<float> lambda(uniforms(rng, N, 0.01, 10.0)), cma(uniforms(rng, N, -0.3, 0.3));
        Both<float> rates(reg.h);
        for (int step = 0; step < 3; ++step)
            both("mo_rate_multiplier", [&](mo_context* c, bool g) {
                return mo_rate_multiplier(c, lambda.at(g), cma.at(g), rates.at(g), N, 0.2f, 1.0f, 0.5f, 1e-3f, 50.0f);
            });
        compare("rate_multiplier.lambda", shape, lambda.h, lambda.gpu(), 1e-6, 1e-5);
        compare("rate_multiplier.cma", shape, cma.h, cma.gpu(), 1e-6, 1e-5);
        Both<float> wc(N), cma2(uniforms(rng, N, -0.3, 0.3));
        for (int step = 0; step < 3; ++step)
            both("mo_rate_control", [&](mo_context* c, bool g) {
                return mo_rate_control(c, wc.at(g), cma2.at(g), rates.at(g), N, 0.2f, 100.0f, 0.5f, -50.0f, 50.0f);
            });
        compare("rate_control.w", shape, wc.h, wc.gpu(), 1e-5, 1e-5);
        compare("rate_control.cma", shape, cma2.h, cma2.gpu(), 1e-6, 1e-5);
    }
}

void test_mix(const Shape& sh, Rng& rng) {
    const int64_t S = sh.S, N = sh.N, T = sh.T, D = sh.D, SNT = S * N * T;
    const std::string shape = describe(sh);
    Both<int32_t> len(make_lengths(rng, N, T));
    std::vector<float> zv = uniforms(rng, SNT, 0.0, 1.0);
    for (auto& x : zv) {
        const int32_t k = rng.below(8);
        if (k == 0) x = 0.0f;
        if (k == 1) x = 1.0f;
    }
    Both<float> z(zv);
    Both<float> emb(uniforms(rng, N * T * D, -1.0, 1.0));
    Both<float> base_pos(uniforms(rng, N * T * D, -1.0, 1.0));
    Both<float> base_one(uniforms(rng, D, -1.0, 1.0));
    Both<float> d_out(uniforms(rng, 2 * SNT * D, -1.0, 1.0));
    Both<float> dz(uniforms(rng, 2 * SNT, -1.0, 1.0));  // room for P = 2
    for (int bpp = 1; bpp >= 0; --bpp) {
        Both<float>& base = bpp ? base_pos : base_one;
        const std::string tag = bpp ? "[base NTD]" : "[base D]";
        {
            Both<float> out(2 * SNT * D);
            both("mo_mix_forward", [&](mo_context* c, bool g) {
                return mo_mix_forward(c, out.at(g), z.at(g), emb.at(g), base.at(g), len.at(g), S, N, T, D, bpp);
            });
            compare("mix_forward" + tag, shape, out.h, out.gpu(), 1e-6, 1e-5);
        }
        for (int64_t P = 1; P <= 2; ++P) {
            Both<float> dth(P * N * T);
            both("mo_mix_backward", [&](mo_context* c, bool g) {
                return mo_mix_backward(c, dth.at(g), d_out.at(g), dz.at(g), emb.at(g), base.at(g), len.at(g), P, S, N,
                                       T, D, bpp);
            });
            // Long sums (S D terms): tolerance scales with sqrt(S D).
            const double atol = 2e-6 * sqrt((double)(S * D)) * 4.0;
            compare("mix_backward[P=" + std::to_string(P) + "]" + tag, shape, dth.h, dth.gpu(), atol, 1e-4);
        }
    }
}

void test_objectives(const Shape& sh, Rng& rng, int variant) {
    const int64_t S = sh.S, N = sh.N, C = sh.C;
    const std::string shape = describe(sh);
    const double sd = variant % 2 ? 12.0 : 2.0;  // odd shapes: large logits (stability)
    {
        std::vector<int32_t> target((size_t)N);
        for (auto& y : target) y = rng.below(C);
        Both<int32_t> tgt(target);
        Both<float> logits(normals(rng, 2 * S * N * C, sd));
        Both<float> loss(N * 2), dl(2 * S * N * C);
        both("mo_objective", [&](mo_context* c, bool g) {
            return mo_objective(c, loss.at(g), dl.at(g), logits.at(g), tgt.at(g), S, N, C, 1.0f, 0.8f);
        });
        compare("objective.loss", shape, loss.h, loss.gpu(), 2e-5, 1e-4);
        compare("objective.d_logits", shape, dl.h, dl.gpu(), 5e-6, 1e-4);
    }
    const int64_t B = S * N;
    {
        std::vector<int32_t> labels((size_t)B);
        for (auto& y : labels) y = rng.below(C);
        Both<int32_t> lab(labels);
        Both<float> logits(normals(rng, B * C, sd));
        Both<float> loss(B), dl(B * C);
        both("mo_cross_entropy", [&](mo_context* c, bool g) {
            return mo_cross_entropy(c, loss.at(g), dl.at(g), logits.at(g), lab.at(g), B, C, 0.5f);
        });
        compare("cross_entropy.loss", shape, loss.h, loss.gpu(), 2e-5, 1e-4);
        compare("cross_entropy.d_logits", shape, dl.h, dl.gpu(), 5e-6, 1e-4);
    }
    {
        Both<float> logits(normals(rng, B * C, sd));
        Both<float> probs(B * C);
        both("mo_softmax", [&](mo_context* c, bool g) { return mo_softmax(c, probs.at(g), logits.at(g), B, C); });
        compare("softmax", shape, probs.h, probs.gpu(), 2e-6, 1e-4);
    }
}

void test_adam(const Shape& sh, Rng& rng, int variant) {
    const int64_t n = 2 * sh.N * sh.T + variant;  // various n % 4
    const int64_t off = variant % 2;            // odd variants: arrays start one float in (unaligned path)
    const std::string shape = describe(sh) + " n=" + std::to_string(n) + (off ? " +1" : "");
    std::vector<float> v0 = uniforms(rng, n + off, 0.0, 1e-2);
    Both<float> param(normals(rng, n + off)), m(normals(rng, n + off, 0.1)), v(v0), grad(normals(rng, n + off));
    for (int64_t step = 1; step <= 3; step += 2) {  // steps 1 and 3, in place, twice
        both("mo_adam_update", [&](mo_context* c, bool g) {
            return mo_adam_update(c, param.at(g) + off, m.at(g) + off, v.at(g) + off, grad.at(g) + off, n, 1e-2f,
                                  0.9f, 0.999f, 1e-8f, 0.01f, step);
        });
    }
    compare("adam_update.param", shape, param.h, param.gpu(), 1e-6, 1e-5);
    compare("adam_update.m", shape, m.h, m.gpu(), 1e-7, 1e-5);
    compare("adam_update.v", shape, v.h, v.gpu(), 1e-9, 1e-5);
}

// The step-counter variants: CPU vs CUDA as their by-value ops, and on CUDA bit for bit equal to the by-value
// op at the same step (the counter is read on the device).
void test_step_counter(const Shape& sh, Rng& rng, uint64_t seed) {
    const int64_t S = sh.S, N = sh.N, T = sh.T, NT = N * T;
    const std::string shape = describe(sh);
    Both<int32_t> len(make_lengths(rng, N, T));
    Both<int64_t> step(std::vector<int64_t>(1, sh.step));
    {
        Both<float> la(normals(rng, NT, 2.0));
        Both<float> z(S * NT), dz(S * NT), zv(S * NT), dzv(S * NT);
        both("mo_hc_sample_at", [&](mo_context* c, bool g) {
            return mo_hc_sample_at(c, z.at(g), dz.at(g), la.at(g), len.at(g), S, N, T, 2.0f / 3.0f, -0.1f, 1.1f,
                                   seed, step.at(g));
        });
        ok(mo_hc_sample(g_gpu, zv.at(true), dzv.at(true), la.at(true), len.at(true), S, N, T, 2.0f / 3.0f, -0.1f,
                        1.1f, seed, sh.step),
           "mo_hc_sample");
        const std::vector<float> zg = z.gpu();
        compare("hc_sample_at.z", shape, z.h, zg, 1e-5, 1e-4);
        compare("hc_sample_at.dz", shape, dz.h, dz.gpu(), 1e-5, 1e-4, clamp_excuse(z.h, zg, S * NT));
        compare_bits("hc_sample_at.z = by value (cuda)", shape, zv.gpu(), zg);
        compare_bits("hc_sample_at.dz = by value (cuda)", shape, dzv.gpu(), dz.gpu());
    }
    {
        std::vector<float> params((size_t)(2 * NT));
        for (int64_t i = 0; i < NT; ++i) {
            params[(size_t)i] = rng.uniform(-2.5, 2.5);
            params[(size_t)(NT + i)] = rng.uniform(-2.5, 3.0);
        }
        Both<float> prm(params);
        Both<float> z(S * NT), dz(2 * S * NT), zv(S * NT), dzv(2 * S * NT);
        both("mo_kuma_sample_at", [&](mo_context* c, bool g) {
            return mo_kuma_sample_at(c, z.at(g), dz.at(g), prm.at(g), len.at(g), S, N, T, -0.1f, 1.1f, seed,
                                     step.at(g));
        });
        ok(mo_kuma_sample(g_gpu, zv.at(true), dzv.at(true), prm.at(true), len.at(true), S, N, T, -0.1f, 1.1f, seed,
                          sh.step),
           "mo_kuma_sample");
        const std::vector<float> zg = z.gpu();
        compare("kuma_sample_at.z", shape, z.h, zg, 2e-5, 2e-4);
        compare("kuma_sample_at.dz", shape, dz.h, dz.gpu(), 2e-5, 2e-4, clamp_excuse(z.h, zg, S * NT));
        compare_bits("kuma_sample_at.z = by value (cuda)", shape, zv.gpu(), zg);
        compare_bits("kuma_sample_at.dz = by value (cuda)", shape, dzv.gpu(), dz.gpu());
    }
    {  // three Adam steps from step 1, the counter advanced on the device between them; the by-value twin alongside
        const int64_t n = 2 * NT + 3;
        std::vector<float> p0 = normals(rng, n), g0 = normals(rng, n);
        Both<float> param(p0), m(std::vector<float>((size_t)n, 0.0f)), v(std::vector<float>((size_t)n, 0.0f));
        Both<float> pv(p0), mv(std::vector<float>((size_t)n, 0.0f)), vv(std::vector<float>((size_t)n, 0.0f));
        Both<float> grad(g0);
        Both<int64_t> counter(std::vector<int64_t>(1, 1));
        for (int64_t k = 1; k <= 3; ++k) {
            both("mo_adam_update_at", [&](mo_context* c, bool g) {
                int st = mo_adam_update_at(c, param.at(g), m.at(g), v.at(g), grad.at(g), n, 1e-2f, 0.9f, 0.999f,
                                           1e-8f, 0.01f, counter.at(g));
                return st != MO_OK ? st : mo_step_increment(c, counter.at(g));
            });
            ok(mo_adam_update(g_gpu, pv.at(true), mv.at(true), vv.at(true), grad.at(true), n, 1e-2f, 0.9f, 0.999f,
                              1e-8f, 0.01f, k),
               "mo_adam_update");
        }
        compare("adam_update_at.param", shape, param.h, param.gpu(), 1e-6, 1e-5);
        compare("adam_update_at.m", shape, m.h, m.gpu(), 1e-7, 1e-5);
        compare("adam_update_at.v", shape, v.h, v.gpu(), 1e-9, 1e-5);
        compare_bits("adam_update_at.param = by value (cuda)", shape, pv.gpu(), param.gpu());
        compare_bits("adam_update_at.m = by value (cuda)", shape, mv.gpu(), m.gpu());
        const std::vector<int64_t> cg = counter.gpu();
        expect_status("step_increment", cg[0] == 4 && counter.h[0] == 4, "counter cpu %lld, gpu %lld, want 4",
                      (long long)counter.h[0], (long long)cg[0]);
    }
    {  // trace_write: R rows, one per counter value; a counter outside [0, R) writes nothing on CUDA
        const int64_t R = 3, w = 2 * N + 1;
        Both<float> trace(R * w);
        Both<int64_t> counter(std::vector<int64_t>(1, 0));
        for (int64_t r = 0; r < R; ++r) {
            Both<float> values(normals(rng, w));
            both("mo_trace_write", [&](mo_context* c, bool g) {
                int st = mo_trace_write(c, trace.at(g), values.at(g), counter.at(g), R, w);
                return st != MO_OK ? st : mo_step_increment(c, counter.at(g));
            });
        }
        compare_bits("trace_write", shape, trace.h, trace.gpu());
        Both<float> values(normals(rng, w));
        ok(mo_trace_write(g_gpu, trace.at(true), values.at(true), counter.at(true), R, w), "mo_trace_write");
        compare_bits("trace_write out of range (cuda)", shape, trace.h, trace.gpu());
    }
}

void test_embed(const Shape& sh, Rng& rng) {
    const int64_t N = sh.N, T = sh.T, D = sh.D, V = 50;
    Both<int32_t> len(make_lengths(rng, N, T));
    std::vector<int32_t> idv((size_t)(N * T));
    for (auto& i : idv) i = rng.below(V);
    Both<int32_t> ids(idv);
    Both<float> table(normals(rng, V * D));
    Both<float> out(N * T * D);
    both("mo_embed", [&](mo_context* c, bool g) {
        return mo_embed(c, out.at(g), ids.at(g), len.at(g), table.at(g), N, T, V, D);
    });
    compare_bits("embed", describe(sh), out.h, out.gpu());
}

void test_cnn(const Shape& sh, Rng& rng) {
    const int64_t B = sh.B > 0 ? sh.B : sh.N, T = sh.T, D = sh.D, C = sh.C, F = sh.F, K = (int64_t)sh.widths.size(),
                  KF = K * F;
    const int32_t* widths = sh.widths.data();
    std::string shape = describe(sh) + " B=" + std::to_string(B) + " F=" + std::to_string(F) + " w=";
    for (int64_t k = 0; k < K; ++k) shape += (k ? "," : "") + std::to_string(widths[k]);

    const int64_t np = mo_cnn_param_count(widths, K, F, D, C);
    if (np < 0) die("mo_cnn_param_count");
    // Parameters laid out as maskopt.h says, scaled so window scores are O(1).
    std::vector<float> pv;
    pv.reserve((size_t)np);
    std::vector<int64_t> off_w((size_t)K), off_b((size_t)K);
    for (int64_t k = 0; k < K; ++k) {
        off_w[(size_t)k] = (int64_t)pv.size();
        for (int64_t i = 0; i < F * widths[k] * D; ++i) pv.push_back(rng.normal(1.0 / sqrt((double)(widths[k] * D))));
        off_b[(size_t)k] = (int64_t)pv.size();
        for (int64_t i = 0; i < F; ++i) pv.push_back(rng.normal(0.3));
    }
    for (int64_t i = 0; i < C * KF + C; ++i) pv.push_back(rng.normal(1.0 / sqrt((double)KF)));
    if ((int64_t)pv.size() != np) {
        fprintf(stderr, "parity: mo_cnn_param_count %" PRId64 " != %zu\n", np, pv.size());
        exit(1);
    }
    std::vector<int32_t> lv = make_lengths(rng, B, T);
    Both<int32_t> len(lv);
    Both<float> params(pv);
    std::vector<float> xv = normals(rng, B * T * D);
    Both<float> x(xv);

    Both<float> logits(B * C), feat(B * KF);
    Both<int32_t> argmax(B * KF);
    both("mo_cnn_forward", [&](mo_context* c, bool g) {
        return mo_cnn_forward(c, logits.at(g), feat.at(g), argmax.at(g), x.at(g), len.at(g), params.at(g), widths, K,
                              F, C, B, T, D);
    });
    // Window score in double, for judging argmax disagreements.
    auto score = [&](int64_t b, int64_t kf, int64_t p) {
        const int64_t k = kf / F, f = kf % F, w = widths[k], L = lv[(size_t)b];
        double s = pv[(size_t)(off_b[(size_t)k] + f)];
        for (int64_t i = 0; i < w && p + i < L; ++i)
            for (int64_t d = 0; d < D; ++d)
                s += (double)pv[(size_t)(off_w[(size_t)k] + (f * w + i) * D + d)] *
                     xv[(size_t)((b * T + p + i) * D + d)];
        return s;
    };
    const std::vector<int32_t> amg = argmax.gpu();
    Excuse tie = [&](int64_t i) {
        const int64_t b = i / KF, kf = i % KF;
        const int64_t pc = argmax.h[(size_t)i], pg = amg[(size_t)i];
        const int64_t L = lv[(size_t)b], npos = L - widths[kf / F] + 1 > 1 ? L - widths[kf / F] + 1 : 1;
        if (pg < 0 || pg >= npos) return false;
        const double a = score(b, kf, pc), g = score(b, kf, pg);
        return fabs(a - g) <= 1e-5 * (1.0 + fabs(a));
    };
    compare_ints("cnn_forward.argmax", shape, argmax.h, amg, tie);
    compare("cnn_forward.feat", shape, feat.h, feat.gpu(), 1e-5, 1e-4);
    compare("cnn_forward.logits", shape, logits.h, logits.gpu(), 1e-5, 1e-4);

    {
        // Exact ties: every row of x[b] is the same vector, so all full windows of a row score the same bits
        // on each backend and argmax must be the first window on both (no excuse).
        std::vector<float> xt((size_t)(B * T * D));
        for (int64_t b = 0; b < B; ++b) {
            const std::vector<float> row = normals(rng, D);
            for (int64_t t = 0; t < T; ++t) std::copy(row.begin(), row.end(), xt.begin() + (b * T + t) * D);
        }
        Both<float> xtie(xt);
        Both<float> lt(B * C), ft(B * KF);
        Both<int32_t> at(B * KF);
        both("mo_cnn_forward", [&](mo_context* c, bool g) {
            return mo_cnn_forward(c, lt.at(g), ft.at(g), at.at(g), xtie.at(g), len.at(g), params.at(g), widths, K, F,
                                  C, B, T, D);
        });
        compare_ints("cnn_forward.argmax[ties]", shape, at.h, at.gpu());
        compare("cnn_forward.feat[ties]", shape, ft.h, ft.gpu(), 1e-5, 1e-4);
    }

    // The backward passes get the CPU forward's feat and argmax on both sides (no tie can propagate).
    Both<float> feat_in(feat.h);
    Both<int32_t> am_in(argmax.h);
    Both<float> dlog(normals(rng, B * C));
    {
        Both<float> dx(B * T * D);
        both("mo_cnn_backward_input", [&](mo_context* c, bool g) {
            return mo_cnn_backward_input(c, dx.at(g), dlog.at(g), feat_in.at(g), am_in.at(g), len.at(g),
                                         params.at(g), widths, K, F, C, B, T, D);
        });
        compare("cnn_backward_input.dx", shape, dx.h, dx.gpu(), 1e-5, 1e-4);
    }
    {
        Both<float> dp(np);
        both("mo_cnn_backward_params", [&](mo_context* c, bool g) {
            return mo_cnn_backward_params(c, dp.at(g), dlog.at(g), feat_in.at(g), am_in.at(g), x.at(g), len.at(g),
                                          params.at(g), widths, K, F, C, B, T, D);
        });
        compare("cnn_backward_params", shape, dp.h, dp.gpu(), 1e-5, 1e-4);
    }
}

// ---- word gates and transformer encoder ops ----

std::string dims(std::initializer_list<std::pair<const char*, int64_t>> kv) {
    std::string s;
    for (const auto& p : kv) {
        if (!s.empty()) s += " ";
        s += p.first;
        s += "=";
        s += std::to_string(p.second);
    }
    return s;
}

// Word groups of a BERT-like tokenization: t = 0 is [CLS] and the last real token [SEP] (both -1, when
// len > 2), words of 1..3 pieces numbered from 0 in between (ids past W - 1 become -1); padding holds junk
// in [-1, W) that must be ignored.
std::vector<int32_t> make_groups(Rng& rng, const std::vector<int32_t>& len, int64_t T, int64_t W) {
    std::vector<int32_t> g((size_t)(len.size() * T));
    for (size_t n = 0; n < len.size(); ++n) {
        int32_t* row = g.data() + n * T;
        int32_t next = 0, word = -1, left = 0;
        for (int64_t t = 0; t < T; ++t) {
            if (t >= len[n]) {
                row[t] = (int32_t)rng.below(W + 1) - 1;
            } else if (len[n] > 2 && (t == 0 || t == len[n] - 1)) {
                row[t] = -1;
            } else {
                if (left == 0) {
                    word = next++;
                    left = 1 + rng.below(3);
                }
                --left;
                row[t] = word < W ? word : -1;
            }
        }
    }
    return g;
}

void test_word_gates(Rng& rng) {
    struct S {
        int64_t P, S, N, T, W;
    };
    const S shapes[] = {{1, 1, 1, 1, 1}, {2, 3, 4, 17, 9}, {1, 8, 16, 137, 60}, {2, 2, 5, 128, 40}, {1, 1, 3, 300, 7}};
    for (const S& sh : shapes) {
        const std::string shape = dims({{"P", sh.P}, {"S", sh.S}, {"N", sh.N}, {"T", sh.T}, {"W", sh.W}});
        const std::vector<int32_t> lv = make_lengths(rng, sh.N, sh.T);
        Both<int32_t> len(lv);
        Both<int32_t> grp(make_groups(rng, lv, sh.T, sh.W));
        {
            Both<float> in(normals(rng, sh.P * sh.S * sh.N * sh.W));
            Both<float> out(sh.P * sh.S * sh.N * sh.T);
            both("mo_gather_gates", [&](mo_context* c, bool g) {
                return mo_gather_gates(c, out.at(g), in.at(g), grp.at(g), len.at(g), sh.P, sh.S, sh.N, sh.T, sh.W);
            });
            compare_bits("gather_gates", shape, out.h, out.gpu());
        }
        {
            Both<float> in(normals(rng, sh.P * sh.N * sh.T));
            Both<float> out(sh.P * sh.N * sh.W);
            both("mo_segment_sum", [&](mo_context* c, bool g) {
                return mo_segment_sum(c, out.at(g), in.at(g), grp.at(g), len.at(g), sh.P, sh.N, sh.T, sh.W);
            });
            compare("segment_sum", shape, out.h, out.gpu(), 1e-6, 1e-6);
        }
    }
}

// mo_add (aligned, unaligned and in place), mo_add_position, mo_gelu_forward/backward.
void test_elementwise(Rng& rng) {
    for (int64_t n : {1ll, 3ll, 4ll, 1023ll, 100003ll}) {
        for (int64_t off : {0ll, 1ll}) {  // off = 1: arrays start one float in (the scalar path)
            const std::string shape = dims({{"n", n}, {"off", off}});
            Both<float> a(normals(rng, n + off)), b(normals(rng, n + off));
            {
                Both<float> y(n + off);
                both("mo_add", [&](mo_context* c, bool g) { return mo_add(c, y.at(g) + off, a.at(g) + off, b.at(g) + off, n); });
                std::vector<float> yc(y.h.begin() + off, y.h.end()), yg = y.gpu();
                compare_bits("add", shape, yc, std::vector<float>(yg.begin() + off, yg.end()));
            }
            {  // y aliases a
                Both<float> y(a.h);
                both("mo_add", [&](mo_context* c, bool g) { return mo_add(c, y.at(g) + off, y.at(g) + off, b.at(g) + off, n); });
                compare_bits("add[in place]", shape, y.h, y.gpu());
            }
            std::vector<float> xv = normals(rng, n + off, 3.0);
            const float specials[] = {0.0f, -0.0f, 10.0f, -10.0f, -5.5f, 1e-20f, 30.0f, -30.0f};
            for (size_t i = 0; i < 8 && i < xv.size(); ++i) xv[i * 7 % xv.size()] = specials[i];
            Both<float> x(xv), dy(normals(rng, n + off));
            {
                Both<float> y(n + off);
                both("mo_gelu_forward",
                     [&](mo_context* c, bool g) { return mo_gelu_forward(c, y.at(g) + off, x.at(g) + off, n); });
                std::vector<float> yg = y.gpu();
                yg.erase(yg.begin(), yg.begin() + off);
                compare("gelu_forward", shape, std::vector<float>(y.h.begin() + off, y.h.end()), yg, 1e-6, 1e-5);
            }
            {
                Both<float> dx(n + off);
                both("mo_gelu_backward", [&](mo_context* c, bool g) {
                    return mo_gelu_backward(c, dx.at(g) + off, dy.at(g) + off, x.at(g) + off, n);
                });
                std::vector<float> dg = dx.gpu();
                dg.erase(dg.begin(), dg.begin() + off);
                compare("gelu_backward", shape, std::vector<float>(dx.h.begin() + off, dx.h.end()), dg, 1e-6, 1e-5);
            }
        }
    }
    struct S {
        int64_t B, T, D, P;  // P >= T position rows
    };
    for (const S& sh : {S{1, 1, 1, 1}, S{3, 7, 5, 9}, S{8, 128, 384, 512}, S{2, 33, 768, 40}, S{4, 19, 6, 19}}) {
        const std::string shape = dims({{"B", sh.B}, {"T", sh.T}, {"D", sh.D}, {"Ppos", sh.P}});
        Both<int32_t> len(make_lengths(rng, sh.B, sh.T));
        Both<float> x(normals(rng, sh.B * sh.T * sh.D)), pos(normals(rng, sh.P * sh.D)), type(normals(rng, sh.D));
        Both<float> y(sh.B * sh.T * sh.D);
        both("mo_add_position", [&](mo_context* c, bool g) {
            return mo_add_position(c, y.at(g), x.at(g), pos.at(g), type.at(g), len.at(g), sh.B, sh.T, sh.D);
        });
        compare("add_position", shape, y.h, y.gpu(), 1e-6, 1e-6);
    }
}

void test_layernorm(Rng& rng) {
    struct S {
        int64_t R, D;
        float eps;
    };
    const S shapes[] = {{1, 1, 1e-12f}, {5, 7, 1e-12f},    {64, 33, 1e-5f},    {1024, 384, 1e-12f},
                        {37, 768, 1e-12f}, {9, 1024, 1e-12f}, {3, 1500, 1e-12f}, {200, 128, 1e-5f}};
    for (const S& sh : shapes) {
        const std::string shape = dims({{"R", sh.R}, {"D", sh.D}}) + (sh.eps < 1e-6f ? " eps=1e-12" : " eps=1e-5");
        std::vector<float> xv = normals(rng, sh.R * sh.D, 2.0);
        for (int64_t r = 0; r < sh.R; ++r) {  // rows with large offsets (two-pass variance) and tiny spread
            const float shift = rng.uniform(-5.0, 5.0), spread = r % 3 == 2 ? 0.1f : 1.0f;
            for (int64_t d = 0; d < sh.D; ++d) xv[(size_t)(r * sh.D + d)] = shift + spread * xv[(size_t)(r * sh.D + d)];
        }
        Both<float> x(xv), gamma(normals(rng, sh.D, 0.5)), beta(normals(rng, sh.D, 0.5));
        Both<float> y(sh.R * sh.D), mean(sh.R), rstd(sh.R);
        both("mo_layernorm_forward", [&](mo_context* c, bool g) {
            return mo_layernorm_forward(c, y.at(g), mean.at(g), rstd.at(g), x.at(g), gamma.at(g), beta.at(g), sh.R,
                                        sh.D, sh.eps);
        });
        compare("layernorm_forward.y", shape, y.h, y.gpu(), 2e-5, 1e-4);
        compare("layernorm_forward.mean", shape, mean.h, mean.gpu(), 1e-6, 1e-5);
        compare("layernorm_forward.rstd", shape, rstd.h, rstd.gpu(), 1e-6, 1e-4);
        // The backward gets the CPU's saved statistics on both sides.
        Both<float> mu(mean.h), rs(rstd.h), dy(normals(rng, sh.R * sh.D));
        Both<float> dx(sh.R * sh.D);
        both("mo_layernorm_backward", [&](mo_context* c, bool g) {
            return mo_layernorm_backward(c, dx.at(g), dy.at(g), x.at(g), mu.at(g), rs.at(g), gamma.at(g), sh.R, sh.D);
        });
        // dx scales with rstd (up to 1e2 on the narrow rows): tolerance relative to each row's rstd.
        std::vector<float> dxg = dx.gpu();
        std::vector<float> dxc_s(dx.h.size()), dxg_s(dx.h.size());
        for (int64_t r = 0; r < sh.R; ++r)
            for (int64_t d = 0; d < sh.D; ++d) {
                const size_t i = (size_t)(r * sh.D + d);
                const float k = 1.0f / std::max(1.0f, rs.h[(size_t)r]);
                dxc_s[i] = dx.h[i] * k;
                dxg_s[i] = dxg[i] * k;
            }
        compare("layernorm_backward.dx/rstd", shape, dxc_s, dxg_s, 2e-5, 1e-4);
    }
}

void test_pool(Rng& rng) {
    struct S {
        int64_t B, T, D;
    };
    for (const S& sh : {S{1, 1, 1}, S{3, 7, 5}, S{8, 128, 768}, S{5, 300, 3}, S{16, 64, 384}}) {
        Both<int32_t> len(make_lengths(rng, sh.B, sh.T));
        Both<float> x(normals(rng, sh.B * sh.T * sh.D)), dy(normals(rng, sh.B * sh.D));
        for (int mode : {MO_POOL_MEAN, MO_POOL_FIRST}) {
            const std::string shape =
                dims({{"B", sh.B}, {"T", sh.T}, {"D", sh.D}}) + (mode == MO_POOL_MEAN ? " mean" : " first");
            Both<float> y(sh.B * sh.D);
            both("mo_pool_forward", [&](mo_context* c, bool g) {
                return mo_pool_forward(c, y.at(g), x.at(g), len.at(g), sh.B, sh.T, sh.D, mode);
            });
            compare("pool_forward", shape, y.h, y.gpu(), 1e-6, 1e-5);
            Both<float> dx(sh.B * sh.T * sh.D);
            both("mo_pool_backward", [&](mo_context* c, bool g) {
                return mo_pool_backward(c, dx.at(g), dy.at(g), len.at(g), sh.B, sh.T, sh.D, mode);
            });
            compare("pool_backward", shape, dx.h, dx.gpu(), 1e-7, 1e-6);
        }
    }
}

void test_attention(Rng& rng) {
    struct S {
        int64_t B, T, H, Dh;
    };
    // Covers Dh = 1, odd Dh, Dh > 32 (several column chunks), T not a multiple of the 16-row / 8-key / 64-key
    // tiles, T > 256, T = 512 (the largest shared-memory rows), and the BERT-base-like B=8 T=128 H=12 Dh=32.
    const S shapes[] = {{1, 1, 1, 1},   {2, 5, 3, 7},    {3, 17, 2, 33},  {8, 128, 12, 32},
                        {2, 64, 4, 64}, {2, 300, 2, 16}, {1, 512, 2, 64}, {4, 77, 3, 40},
                        {1, MO_CUDA_ATTENTION_MAX_T, 2, 16}};
    for (const S& sh : shapes) {
        const int64_t B = sh.B, T = sh.T, H = sh.H, Dh = sh.Dh, D = H * Dh;
        const std::string shape = dims({{"B", B}, {"T", T}, {"H", H}, {"Dh", Dh}});
        Both<int32_t> len(make_lengths(rng, B, T));
        Both<float> qkv(normals(rng, B * T * 3 * D));
        Both<float> out(B * T * D), probs(B * H * T * T);
        both("mo_attention_forward", [&](mo_context* c, bool g) {
            return mo_attention_forward(c, out.at(g), probs.at(g), qkv.at(g), len.at(g), B, T, H, Dh);
        });
        compare("attention_forward.out", shape, out.h, out.gpu(), 1e-5, 1e-4);
        compare("attention_forward.probs", shape, probs.h, probs.gpu(), 1e-6, 1e-4);
        // The backward gets the CPU's probabilities on both sides; d_out is nonzero at padding rows too
        // (they must be ignored).
        Both<float> p_in(probs.h), dout(normals(rng, B * T * D));
        Both<float> dqkv(B * T * 3 * D);
        both("mo_attention_backward", [&](mo_context* c, bool g) {
            return mo_attention_backward(c, dqkv.at(g), dout.at(g), qkv.at(g), p_in.at(g), len.at(g), B, T, H, Dh);
        });
        compare("attention_backward.d_qkv", shape, dqkv.h, dqkv.gpu(), 2e-5, 2e-4);
    }
    {  // one past the CUDA limit: refused before any kernel runs (the CPU accepts it)
        const int64_t T = MO_CUDA_ATTENTION_MAX_T + 1;
        Both<int32_t> len(std::vector<int32_t>(1, (int32_t)T));
        Both<float> qkv(normals(rng, T * 3)), out(T), probs(T * T);
        const int sf =
            mo_attention_forward(g_gpu, out.at(true), probs.at(true), qkv.at(true), len.at(true), 1, T, 1, 1);
        const int sb = mo_attention_backward(g_gpu, qkv.at(true), out.at(true), qkv.at(true), probs.at(true),
                                             len.at(true), 1, T, 1, 1);
        const int sc = mo_attention_forward(g_cpu, out.at(false), probs.at(false), qkv.at(false), len.at(false), 1, T,
                                            1, 1);
        expect_status("attention T=MAX+1 rejected on CUDA", sf == MO_ERR_INVALID && sb == MO_ERR_INVALID && sc == MO_OK,
                      "forward %d, backward %d (want %d), cpu %d (want %d)", sf, sb, MO_ERR_INVALID, sc, MO_OK);
    }
}

// |gpu - cpu| <= rtol * scale[m] for c [M,N]; the reported number is the largest |gpu - cpu| / scale[m].
void compare_rows(const std::string& name, const std::string& shape, const std::vector<float>& cpu,
                  const std::vector<float>& gpu, const std::vector<double>& scale, int64_t M, int64_t N, double rtol) {
    double maxrel = 0.0;
    int64_t nbad = 0;
    std::vector<std::string> bad;
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            const size_t i = (size_t)(m * N + n);
            const double c = cpu[i], g = gpu[i];
            const double rel = (isfinite(c) && isfinite(g)) ? fabs(c - g) / scale[(size_t)m] : INFINITY;
            if (rel > maxrel) maxrel = rel;
            if (rel <= rtol) continue;
            if (nbad++ < 6) {
                char s[200];
                snprintf(s, sizeof s, "[%" PRId64 ",%" PRId64 "] cpu %.9g gpu %.9g rel %.3e (row scale %.3e)", m, n,
                         c, g, rel, scale[(size_t)m]);
                bad.push_back(s);
            }
        }
    report(name, shape, maxrel, bad, nbad, 0, "max rel ");
}

void test_matmul(Rng& rng) {
    struct S {
        int64_t M, N, K;
        bool all;  // every (trans_b, bias, beta) combination; else two of them
    };
    const S shapes[] = {{1, 1, 1, true},     {3, 5, 7, true},      {17, 33, 65, true},  {129, 67, 31, true},
                        {64, 64, 64, true},  {1000, 37, 1, true},  {8, 2, 768, true},   {130, 129, 257, true},
                        {300, 200, 96, true}, {1024, 1536, 384, false}, {512, 384, 1536, false}};
    const char* pname[] = {"fp32", "tf32", "bf16"};
    const double ptol[] = {1e-4, 2e-3, 2e-2};
    for (const S& sh : shapes) {
        const int64_t M = sh.M, N = sh.N, K = sh.K;
        std::vector<float> av = normals(rng, M * K);
        Both<float> a(av), bias(normals(rng, N));
        const std::vector<float> c0 = normals(rng, M * N);
        // Row scale for the tolerance: the row's largest |c| on the CPU, but at least the typical size of a
        // dot product of this row of a with a column of op(b) (rows of a few outputs can cancel).
        std::vector<double> anorm((size_t)M);
        for (int64_t m = 0; m < M; ++m) {
            double s = 0.0;
            for (int64_t k = 0; k < K; ++k) s += (double)av[(size_t)(m * K + k)] * av[(size_t)(m * K + k)];
            anorm[(size_t)m] = sqrt(s);
        }
        for (int trans_b = 0; trans_b <= 1; ++trans_b) {
            std::vector<float> bv = normals(rng, K * N);
            double bnorm = 0.0;  // rms over the N columns of op(b) of their norms (b is random: ~ sqrt(K))
            for (float v : bv) bnorm += (double)v * v;
            bnorm = sqrt(bnorm / (double)N);
            Both<float> b(bv);
            for (int combo = 0; combo < 4; ++combo) {
                const bool with_bias = combo & 1;
                const float beta = (combo & 2) ? 1.0f : 0.0f;
                if (!sh.all && combo != (trans_b ? 1 : 2)) continue;
                char tag[96];
                snprintf(tag, sizeof tag, " tb=%d bias=%d beta=%g", trans_b, (int)with_bias, beta);
                const std::string shape = dims({{"M", M}, {"N", N}, {"K", K}}) + tag;
                for (int prec = MO_PRECISION_FP32; prec <= MO_PRECISION_BF16; ++prec) {
                    Both<float> c(M * N);  // poisoned: beta = 0 must not read it
                    if (beta != 0.0f) c.set(c0);
                    ok(mo_set_matmul_precision(g_gpu, prec), "mo_set_matmul_precision");
                    both("mo_matmul", [&](mo_context* ctx, bool g) {
                        return mo_matmul(ctx, c.at(g), a.at(g), b.at(g), with_bias ? bias.at(g) : nullptr, M, N, K,
                                         trans_b, beta);
                    });
                    ok(mo_set_matmul_precision(g_gpu, MO_PRECISION_FP32), "mo_set_matmul_precision");
                    std::vector<double> scale((size_t)M);
                    for (int64_t m = 0; m < M; ++m) {
                        double mx = anorm[(size_t)m] * bnorm / sqrt((double)K);
                        for (int64_t n = 0; n < N; ++n) mx = std::max(mx, (double)fabsf(c.h[(size_t)(m * N + n)]));
                        scale[(size_t)m] = mx > 0.0 ? mx : 1.0;
                    }
                    compare_rows(std::string("matmul.") + pname[prec], shape, c.h, c.gpu(), scale, M, N, ptol[prec]);
                }
            }
        }
    }
}

// ---- graphs ----

// Device memory on the CUDA context only (the graph checks compare CUDA with CUDA).
template <class T>
class Dev {
public:
    explicit Dev(const std::vector<T>& v) : n_((int64_t)v.size()) {
        p_ = static_cast<T*>(mo_malloc(g_gpu, bytes()));
        if (!p_) die("mo_malloc");
        ok(mo_upload(g_gpu, p_, v.data(), bytes()), "mo_upload");
    }
    explicit Dev(int64_t n) : Dev(std::vector<T>((size_t)n)) {}
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    ~Dev() { mo_free(g_gpu, p_); }
    T* p() { return p_; }
    void set(const std::vector<T>& v) { ok(mo_upload(g_gpu, p_, v.data(), bytes()), "mo_upload"); }
    std::vector<T> get() const {
        std::vector<T> v((size_t)n_);
        ok(mo_download(g_gpu, v.data(), p_, bytes()), "mo_download");
        return v;
    }

private:
    int64_t bytes() const { return n_ * (int64_t)sizeof(T); }
    int64_t n_;
    T* p_ = nullptr;
};

// The explainer's optimization loop on a tiny differentiable model (mean pooling + a linear layer), with every
// step-dependent value either passed by value or read from the device step counter.
class Chain {
public:
    enum Mode { BY_VALUE, COUNTER, GRAPH };

    Chain(bool kuma, Rng& rng)
        : kuma_(kuma), P_(kuma ? 2 : 1), len_(make_lengths(rng, N, T)), emb_(uniforms(rng, N * T * D, -1.0, 1.0)),
          base_(uniforms(rng, N * T * D, -0.2, 0.2)), w_(normals(rng, D * C)), target_(std::vector<int32_t>(N)),
          row_len_(std::vector<int32_t>(2 * S * N)), theta_(P_ * N * T), m_(P_ * N * T), v_(P_ * N * T),
          dtheta_(P_ * N * T), z_(S * N * T), dz_(P_ * S * N * T), mixed_(2 * S * N * T * D),
          dmixed_(2 * S * N * T * D), pooled_(2 * S * N * D), dpooled_(2 * S * N * D), logits_(2 * S * N * C),
          dlogits_(2 * S * N * C), scratch_(4 * N), trace_(K * 4 * N), counter_(1) {
        std::vector<int32_t> tg((size_t)N), rl((size_t)(2 * S * N));
        for (auto& y : tg) y = rng.below(C);
        for (int64_t r = 0; r < 2 * S * N; ++r) rl[(size_t)r] = len_.h[(size_t)(r % N)];
        target_.set(tg);
        row_len_.set(rl);
        theta0_ = uniforms(rng, P_ * N * T, -0.5, 1.5);
    }

    // Runs K steps from the same start; returns theta, m, v and the trace, concatenated.
    std::vector<float> run(Mode mode, mo_graph** keep = nullptr) {
        theta_.set(theta0_);
        const std::vector<float> zeros((size_t)(P_ * N * T), 0.0f);
        m_.set(zeros);
        v_.set(zeros);
        trace_.set(std::vector<float>((size_t)(K * 4 * N), NAN));
        counter_.set(std::vector<int64_t>(1, 0));
        if (mode == GRAPH) {
            ok(step(COUNTER, 0), "eager step 0");  // warm-up: a model allocates its buffers here
            ok(mo_capture_begin(g_gpu), "mo_capture_begin");
            const int st = step(COUNTER, 1);  // recorded, not run
            mo_graph* graph = nullptr;
            const int end = mo_capture_end(g_gpu, &graph);
            ok(st, "captured step");
            ok(end, "mo_capture_end");
            // Replayed in two chunks with a wait between them, as the explainer does for progress callbacks.
            ok(mo_graph_launch(g_gpu, graph, 2), "mo_graph_launch");
            ok(mo_synchronize(g_gpu), "mo_synchronize");
            ok(mo_graph_launch(g_gpu, graph, K - 3), "mo_graph_launch");
            if (keep) *keep = graph;
            else ok(mo_graph_destroy(graph), "mo_graph_destroy");
        } else {
            for (int64_t k = 0; k < K; ++k) ok(step(mode, k), "eager step");
        }
        ok(mo_synchronize(g_gpu), "mo_synchronize");
        std::vector<float> out = theta_.get();
        for (const auto* t : {&m_, &v_, &trace_}) {
            const std::vector<float> x = t->get();
            out.insert(out.end(), x.begin(), x.end());
        }
        return out;
    }

    std::string describe() const {
        return std::string(kuma_ ? "kuma" : "hc") + " S=" + std::to_string(S) + " N=" + std::to_string(N) +
               " T=" + std::to_string(T) + " K=" + std::to_string(K);
    }

    static constexpr int64_t S = 3, N = 4, T = 19, D = 24, C = 3, K = 12;

private:
    // One optimization step; `k` is used only by the by-value mode.
    int step(Mode mode, int64_t k) {
        const float l = -0.1f, r = 1.1f, beta = 2.0f / 3.0f;
        const int64_t B = 2 * S * N;
        const bool at = mode != BY_VALUE;
        int st = MO_OK;
        auto call = [&st](int s) {
            if (st == MO_OK) st = s;
        };
        float* loss = at ? scratch_.p() : trace_.p() + k * 4 * N;
        float* reg = loss + 2 * N;
        if (kuma_)
            call(at ? mo_kuma_sample_at(g_gpu, z_.p(), dz_.p(), theta_.p(), len_.at(true), S, N, T, l, r, kSeed,
                                       counter_.p())
                   : mo_kuma_sample(g_gpu, z_.p(), dz_.p(), theta_.p(), len_.at(true), S, N, T, l, r, kSeed, k));
        else
            call(at ? mo_hc_sample_at(g_gpu, z_.p(), dz_.p(), theta_.p(), len_.at(true), S, N, T, beta, l, r, kSeed,
                                     counter_.p())
                   : mo_hc_sample(g_gpu, z_.p(), dz_.p(), theta_.p(), len_.at(true), S, N, T, beta, l, r, kSeed, k));
        call(mo_mix_forward(g_gpu, mixed_.p(), z_.p(), emb_.at(true), base_.at(true), len_.at(true), S, N, T, D, 1));
        call(mo_pool_forward(g_gpu, pooled_.p(), mixed_.p(), row_len_.p(), B, T, D, MO_POOL_MEAN));
        call(mo_matmul(g_gpu, logits_.p(), pooled_.p(), w_.at(true), nullptr, B, C, D, 0, 0.0f));
        call(mo_objective(g_gpu, loss, dlogits_.p(), logits_.p(), target_.p(), S, N, C, 1.0f, 0.8f));
        call(mo_matmul(g_gpu, dpooled_.p(), dlogits_.p(), w_.at(true), nullptr, B, D, C, 1, 0.0f));
        call(mo_pool_backward(g_gpu, dmixed_.p(), dpooled_.p(), row_len_.p(), B, T, D, MO_POOL_MEAN));
        call(mo_mix_backward(g_gpu, dtheta_.p(), dmixed_.p(), dz_.p(), emb_.at(true), base_.at(true), len_.at(true), P_,
                            S, N, T, D, 1));
        if (kuma_)
            call(mo_kuma_regularize(g_gpu, dtheta_.p(), reg, theta_.p(), len_.at(true), N, T, l, r, 0.5f, 0.3f));
        else
            call(mo_hc_regularize(g_gpu, dtheta_.p(), reg, theta_.p(), len_.at(true), N, T, beta, l, r, 0.5f, 0.3f));
        if (at) {
            call(mo_trace_write(g_gpu, trace_.p(), scratch_.p(), counter_.p(), K, 4 * N));
            call(mo_step_increment(g_gpu, counter_.p()));
            call(mo_adam_update_at(g_gpu, theta_.p(), m_.p(), v_.p(), dtheta_.p(), P_ * N * T, 0.05f, 0.9f, 0.999f,
                                  1e-8f, 0.0f, counter_.p()));
        } else {
            call(mo_adam_update(g_gpu, theta_.p(), m_.p(), v_.p(), dtheta_.p(), P_ * N * T, 0.05f, 0.9f, 0.999f, 1e-8f,
                               0.0f, k + 1));
        }
        return st;
    }

    static constexpr uint64_t kSeed = 0xC0FFEEull;
    bool kuma_;
    int64_t P_;
    Both<int32_t> len_;
    Both<float> emb_, base_, w_;
    Dev<int32_t> target_, row_len_;
    Dev<float> theta_, m_, v_, dtheta_, z_, dz_, mixed_, dmixed_, pooled_, dpooled_, logits_, dlogits_, scratch_,
        trace_;
    Dev<int64_t> counter_;
    std::vector<float> theta0_;
};

// A captured and replayed loop gives, bit for bit, what the same loop gives eagerly (step counter) and what the
// by-value loop gives; the graph API's rules hold (refusals while capturing, ownership, the CPU has no graphs).
void test_graphs(Rng& rng) {
    for (bool kuma : {false, true}) {
        Chain chain(kuma, rng);
        const std::vector<float> by_value = chain.run(Chain::BY_VALUE);
        const std::vector<float> counter = chain.run(Chain::COUNTER);
        mo_graph* graph = nullptr;
        const std::vector<float> replayed = chain.run(Chain::GRAPH, &graph);
        compare_bits("loop: counter = by value", chain.describe(), by_value, counter);
        compare_bits("loop: graph replay = eager", chain.describe(), counter, replayed);
        // The graph stays valid: a second run from the same start through a new capture matches too.
        const std::vector<float> again = chain.run(Chain::GRAPH);
        compare_bits("loop: second capture = eager", chain.describe(), counter, again);
        ok(mo_graph_destroy(graph), "mo_graph_destroy");
    }

    // Calls that cannot be captured are refused while capturing, and the capture survives them.
    {
        Dev<float> x(std::vector<float>(64, 1.0f));
        float host[64];
        int64_t count = -1;
        ok(mo_capture_begin(g_gpu), "mo_capture_begin");
        const int again = mo_capture_begin(g_gpu);
        ok(mo_fill(g_gpu, x.p(), 2.0f, 64), "mo_fill (captured)");
        void* p = mo_malloc(g_gpu, 256);
        const int s_free = mo_free(g_gpu, x.p());
        const int s_up = mo_upload(g_gpu, x.p(), host, sizeof host);
        const int s_down = mo_download(g_gpu, host, x.p(), sizeof host);
        const int s_sync = mo_synchronize(g_gpu);
        const int s_count = mo_count_nonfinite(g_gpu, &count, x.p(), 64);
        mo_graph* graph = nullptr;
        const int end = mo_capture_end(g_gpu, &graph);
        expect_status("graph: refusals while capturing",
                      again == MO_ERR_STATE && p == nullptr && s_free == MO_ERR_STATE && s_up == MO_ERR_STATE &&
                          s_down == MO_ERR_STATE && s_sync == MO_ERR_STATE && s_count == MO_ERR_STATE,
                      "begin twice %d, malloc %p, free %d, upload %d, download %d, synchronize %d, count %d (want %d)",
                      again, p, s_free, s_up, s_down, s_sync, s_count, MO_ERR_STATE);
        expect_status("graph: capture survives refusals", end == MO_OK && graph != nullptr, "end %d", end);
        const std::vector<float> before = x.get();  // the captured fill has not run
        ok(mo_graph_launch(g_gpu, graph, 1), "mo_graph_launch");
        const std::vector<float> after = x.get();
        expect_status("graph: capture records, launch runs", before[0] == 1.0f && after[63] == 2.0f,
                      "before %g (want 1), after %g (want 2)", before[0], after[63]);
        mo_context* other = mo_context_create(MO_BACKEND_CUDA, 0);
        if (!other) die("mo_context_create(CUDA)");
        const int foreign = mo_graph_launch(other, graph, 1);
        const int zero = mo_graph_launch(g_gpu, graph, 0);
        mo_graph* none = nullptr;
        const int end_idle = mo_capture_end(g_gpu, &none);
        expect_status("graph: ownership and arguments",
                      foreign == MO_ERR_INVALID && zero == MO_ERR_INVALID && end_idle == MO_ERR_STATE,
                      "other context %d, times 0 %d (want %d), end without begin %d (want %d)", foreign, zero,
                      MO_ERR_INVALID, end_idle, MO_ERR_STATE);
        mo_context_destroy(other);
        ok(mo_graph_destroy(graph), "mo_graph_destroy");
        ok(mo_graph_destroy(none), "mo_graph_destroy(NULL)");
    }
    {
        mo_graph* graph = nullptr;
        const int b = mo_capture_begin(g_cpu), e = mo_capture_end(g_cpu, &graph);
        expect_status("graph: unavailable on the CPU", b == MO_ERR_UNAVAILABLE && e == MO_ERR_UNAVAILABLE,
                      "begin %d, end %d (want %d)", b, e, MO_ERR_UNAVAILABLE);
    }
}

// A context on a stream the caller owns (here the legacy default stream): work runs there, and destroying the context
// leaves the stream alone (a second context on the same stream still works).
void test_external_stream() {
    for (int round = 0; round < 2; ++round) {
        mo_context* ext = mo_context_create_on_stream(0, nullptr);
        if (!ext) die("mo_context_create_on_stream");
        float* p = static_cast<float*>(mo_malloc(ext, 64 * sizeof(float)));
        std::vector<float> host(64, 0.0f);
        const int fill = mo_fill(ext, p, 3.0f, 64);
        const int down = mo_download(ext, host.data(), p, 64 * sizeof(float));
        expect_status("external stream: work runs on it", fill == MO_OK && down == MO_OK && host[0] == 3.0f &&
                      host[63] == 3.0f, "fill %d, download %d, values %g %g (round %d)", fill, down, host[0],
                      host[63], round);
        ok(mo_free(ext, p), "mo_free");
        mo_context_destroy(ext);
    }
    mo_context* bad = mo_context_create_on_stream(mo_cuda_device_count(), nullptr);
    expect_status("external stream: device out of range", bad == nullptr, "got a context");
}

}  // namespace

int main() {
    if (mo_cuda_device_count() == 0) {
        printf("skipped: no usable GPU: %s\n", mo_cuda_status());
        return 77;
    }
    printf("%s\n%s\n", mo_build_info(), mo_cuda_status());
    g_cpu = mo_context_create(MO_BACKEND_CPU, 0);
    if (!g_cpu) die("mo_context_create(CPU)");
    g_gpu = mo_context_create(MO_BACKEND_CUDA, 0);
    if (!g_gpu) die("mo_context_create(CUDA)");

    // S, N, T, D, C, Philox step, CNN widths, CNN F, CNN B (0: N). The fifth shape covers the kernels'
    // chunked paths: S > 8 (objective), T > 256 (regularize), B > 128 and K F > 128 (CNN).
    const std::vector<Shape> shapes = {
        {1, 1, 1, 1, 2, 0, {1}, 1, 0},
        {2, 3, 5, 1, 3, 1, {2, 5}, 3, 0},
        {3, 2, 7, 16, 2, 7, {3, 4, 5}, 4, 0},
        {1, 5, 33, 7, 4, 123456, {1, 2, 3, 16}, 5, 0},
        {5, 1, 64, 65, 2, 4000000000ll, {16}, 2, 0},
        {19, 3, 300, 3, 3, 99, {2, 7}, 70, 130},
        {8, 16, 137, 384, 5, 42, {3, 4, 5}, 16, 0},
    };
    for (size_t i = 0; i < shapes.size(); ++i) {
        const Shape& sh = shapes[i];
        const uint64_t seed = 0x9E3779B97F4A7C15ull * (i + 1);  // high and low key words both vary
        Rng rng(0x5EED0000ull + i);
        test_plumbing(sh, rng);
        test_uniform(sh, seed);
        test_hard_concrete(sh, rng, seed);
        test_kuma(sh, rng, seed);
        test_mix(sh, rng);
        test_objectives(sh, rng, (int)i);
        test_adam(sh, rng, (int)i);
        test_step_counter(sh, rng, seed);
        test_embed(sh, rng);
        test_cnn(sh, rng);
    }
    // Word gates and the encoder ops: their own shape lists (ragged lengths, odd and BERT-like sizes).
    {
        Rng rng(0xE2C0DE00ull);
        test_word_gates(rng);
        test_elementwise(rng);
        test_layernorm(rng);
        test_pool(rng);
        test_attention(rng);
        test_matmul(rng);
    }
    {
        Rng rng(0x6EA9F000ull);
        test_graphs(rng);
    }
    test_external_stream();

    mo_context_destroy(g_gpu);
    mo_context_destroy(g_cpu);
    printf("%d checks, %d failed: %s\n", g_checks, g_failures, g_failures ? "FAIL" : "PASS");
    return g_failures ? 1 : 0;
}
