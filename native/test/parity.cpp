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
#include <inttypes.h>
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
            int64_t nbad, int64_t excused) {
    ++g_checks;
    const bool pass = nbad == 0;
    if (!pass) ++g_failures;
    char extra[64] = "";
    if (excused > 0) snprintf(extra, sizeof extra, "  (%" PRId64 " excused)", excused);
    printf("%-30s %-36s max|diff| %.3e  %s%s\n", name.c_str(), shape.c_str(), maxdiff, pass ? "PASS" : "FAIL",
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
        test_embed(sh, rng);
        test_cnn(sh, rng);
    }

    mo_context_destroy(g_gpu);
    mo_context_destroy(g_cpu);
    printf("%d checks, %d failed: %s\n", g_checks, g_failures, g_failures ? "FAIL" : "PASS");
    return g_failures ? 1 : 0;
}
