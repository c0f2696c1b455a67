package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The target selection rate (methods.md section 1, GECO-style): mo_rate_multiplier and mo_rate_control against the
 * double reference (one step and closed loops of many, clamps at both ends), and the validation of them and of the
 * per-row regularizers mo_hc_regularize_rows / mo_kuma_regularize_rows.
 */
class RateMultiplierTest {
    static final double ATOL = 1e-6, RTOL = 1e-5;

    static Stream<Arguments> sizes() {
        return KernelCheck.withBackends(1, 7, 300, 1025);
    }

    /** One step from random states; reg's column 1 is NaN (never read), rates and moving averages of both signs. */
    @ParameterizedTest(name = "{0} N={1}")
    @MethodSource("sizes")
    void oneStepMatchesReference(Backend backend, int N) {
        Random rng = new Random(41 + N);
        float[] lambda = KernelCheck.uniform(rng, N, 1e-3, 20);
        float[] cma = KernelCheck.uniform(rng, N, -0.5, 0.5);
        float[] reg = new float[2 * N];
        for (int n = 0; n < N; n++) {
            reg[2 * n] = (float) rng.nextDouble();
            reg[2 * n + 1] = Float.NaN;
        }
        // {rho, eta, alpha, lo, hi}: typical, alpha = 0 (no averaging), rho = 1, and narrow clamps that bind
        float[][] hyper = {{0.2f, 0.5f, 0.5f, 1e-3f, 100f}, {0.4f, 2f, 0f, 1e-4f, 50f}, {1f, 0.05f, 0.99f, 1e-12f, 5f},
            {0.3f, 8f, 0.2f, 0.5f, 2f}};
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : hyper) {
                float[][] got = step(dev, lambda, cma, reg, N, h, 1);
                double[][] ref = Reference.rateMultiplier(d(lambda), d(cma), d(reg), N, h[0], h[1], h[2], h[3], h[4]);
                assertClose("rate_multiplier cma", ref[1], got[1], ATOL, RTOL);
                assertClose("rate_multiplier lambda", ref[0], got[0], ATOL, RTOL);
                for (float v : got[0]) assertTrue(v >= h[3] && v <= h[4], "lambda outside [lo, hi]: " + v);
                float[][] again = step(dev, lambda, cma, reg, N, h, 1);
                assertBitsEqual("rate_multiplier rerun lambda", got[0], again[0]);
                assertBitsEqual("rate_multiplier rerun cma", got[1], again[1]);
            }
        }
    }

    /**
     * 60 steps in place against the reference iterated in double: the states carry over between calls. Rates above
     * the target drive lambda to hi, below it to lo, and the clamps hold it there exactly.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void closedLoopMatchesReferenceAndClamps(Backend backend) {
        int N = 3, steps = 60;
        float[] h = {0.25f, 1.5f, 0.5f, 0.01f, 40f};
        float[] lambda = {1f, 1f, 1f}, cma = new float[N];
        float[] reg = {0.9f, 0f, 0.05f, 0f, 0.25f, 0f}; // above, below and at the target
        double[] refL = d(lambda), refC = d(cma);
        try (Device dev = KernelCheck.open(backend)) {
            Tensor l = dev.upload(lambda, N), c = dev.upload(cma, N), r = dev.upload(reg, N, 2);
            for (int k = 0; k < steps; k++) {
                check(NativeCore.mo_rate_multiplier(ctx(dev), f(l), f(c), f(r), N, h[0], h[1], h[2], h[3], h[4]),
                        "rate_multiplier");
                double[][] ref = Reference.rateMultiplier(refL, refC, d(reg), N, h[0], h[1], h[2], h[3], h[4]);
                refL = ref[0];
                refC = ref[1];
            }
            float[] gotL = l.toFloatArray(), gotC = c.toFloatArray();
            closeAll(l, c, r);
            assertClose("closed loop lambda", refL, gotL, ATOL, 1e-4);
            assertClose("closed loop cma", refC, gotC, ATOL, 1e-4);
            assertEquals(h[4], gotL[0], "a rate above the target: lambda at hi");
            assertEquals(h[3], gotL[1], "a rate below the target: lambda at lo");
            assertEquals(1f, gotL[2], "a rate at the target: lambda unchanged");
        }
    }

    /**
     * The proportional controller: one step from random states (w poisoned: fully written; reg's column 1 NaN: never
     * read), then 40 steps in place; signed weights, clamps at both ends.
     */
    @ParameterizedTest(name = "{0} N={1}")
    @MethodSource("sizes")
    void controlMatchesReference(Backend backend, int N) {
        Random rng = new Random(73 + N);
        float[] cma = KernelCheck.uniform(rng, N, -0.5, 0.5);
        float[] reg = new float[2 * N];
        for (int n = 0; n < N; n++) {
            reg[2 * n] = (float) rng.nextDouble();
            reg[2 * n + 1] = Float.NaN;
        }
        // {rho, gain, alpha, lo, hi}: the explainer's defaults, smoothing, and clamps that bind on both sides
        float[][] hyper = {{0.2f, 50f, 0f, -1e4f, 1e4f}, {0.4f, 100f, 0.5f, -1e4f, 1e4f}, {1f, 10f, 0.9f, -3f, 3f},
            {0.3f, 200f, 0.2f, -5f, 20f}};
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : hyper) {
                Tensor w = KernelCheck.poison(dev, N), c = dev.upload(cma, N), r = dev.upload(reg, N, 2);
                double[] refC = d(cma), refW = null;
                for (int k = 0; k < 40; k++) {
                    check(NativeCore.mo_rate_control(ctx(dev), f(w), f(c), f(r), N, h[0], h[1], h[2], h[3], h[4]),
                            "rate_control");
                    double[][] ref = Reference.rateControl(refC, d(reg), N, h[0], h[1], h[2], h[3], h[4]);
                    refW = ref[0];
                    refC = ref[1];
                    if (k == 0) {
                        assertClose("rate_control w (one step)", refW, w.toFloatArray(), 1e-4, RTOL);
                        assertClose("rate_control cma (one step)", refC, c.toFloatArray(), ATOL, RTOL);
                    }
                }
                float[] gotW = w.toFloatArray();
                assertClose("rate_control w", refW, gotW, 1e-4, 1e-4);
                assertClose("rate_control cma", refC, c.toFloatArray(), ATOL, 1e-4);
                for (float v : gotW) assertTrue(v >= h[3] && v <= h[4], "w outside [lo, hi]: " + v);
                closeAll(w, c, r);
            }
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    /** {lambda, cma} after `times` updates from the given states; h = {rho, eta, alpha, lo, hi}. */
    static float[][] step(Device dev, float[] lambda, float[] cma, float[] reg, int N, float[] h, int times) {
        Tensor l = dev.upload(lambda, N), c = dev.upload(cma, N), r = dev.upload(reg, N, 2);
        for (int k = 0; k < times; k++) {
            check(NativeCore.mo_rate_multiplier(ctx(dev), f(l), f(c), f(r), N, h[0], h[1], h[2], h[3], h[4]),
                    "rate_multiplier");
        }
        float[][] out = {l.toFloatArray(), c.toFloatArray()};
        closeAll(l, c, r);
        return out;
    }

    // ---- validation --------------------------------------------------------------------------------

    static final KernelCheck.Op RATE = new KernelCheck.Op("rate_multiplier", "N rho eta alpha lo hi",
            new double[] {3, 0.2, 0.5, 0.5, 1e-3, 100}, "N", "ctx out out2 in",
            (x, a) -> NativeCore.mo_rate_multiplier(x.ctx(), x.f("out", x.out), x.f("out2", x.out2), x.f("in", x.in),
                    (long) a[0], (float) a[1], (float) a[2], (float) a[3], (float) a[4], (float) a[5]));
    static final KernelCheck.Op HC_ROWS = new KernelCheck.Op("hc_regularize_rows", "N T beta l r w_trans",
            new double[] {3, 4, 2.0 / 3, -0.1, 1.1, 1}, "N T", "ctx out out2 in lengths w",
            (x, a) -> NativeCore.mo_hc_regularize_rows(x.ctx(), x.f("out", x.out), x.f("out2", x.out2),
                    x.f("in", x.in), x.i("lengths", x.lengths), x.f("w", x.in), (long) a[0], (long) a[1], (float) a[2],
                    (float) a[3], (float) a[4], (float) a[5]));
    static final KernelCheck.Op KUMA_ROWS = new KernelCheck.Op("kuma_regularize_rows", "N T l r w_trans",
            new double[] {3, 4, -0.1, 1.1, 1}, "N T", "ctx out out2 in lengths w",
            (x, a) -> NativeCore.mo_kuma_regularize_rows(x.ctx(), x.f("out", x.out), x.f("out2", x.out2),
                    x.f("in", x.in), x.i("lengths", x.lengths), x.f("w", x.in), (long) a[0], (long) a[1], (float) a[2],
                    (float) a[3], (float) a[4]));

    static final KernelCheck.Op CONTROL = new KernelCheck.Op("rate_control", "N rho gain alpha lo hi",
            new double[] {3, 0.2, 50, 0, -100, 100}, "N", "ctx out out2 in",
            (x, a) -> NativeCore.mo_rate_control(x.ctx(), x.f("out", x.out), x.f("out2", x.out2), x.f("in", x.in),
                    (long) a[0], (float) a[1], (float) a[2], (float) a[3], (float) a[4], (float) a[5]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(RATE, CONTROL, HC_ROWS, KUMA_ROWS);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>();
        for (KernelCheck.Op op : List.of(RATE, CONTROL, HC_ROWS, KUMA_ROWS)) {
            bad.addAll(KernelCheck.sizeAndPointerCases(op));
        }
        double nan = Double.NaN, inf = Double.POSITIVE_INFINITY;
        for (double v : new double[] {0, -0.1, 1.5, nan, inf}) bad.add(new KernelCheck.Bad(RATE, "rho", v, null));
        for (double v : new double[] {0, -1, nan, inf}) bad.add(new KernelCheck.Bad(RATE, "eta", v, null));
        for (double v : new double[] {-0.1, 1, 2, nan}) bad.add(new KernelCheck.Bad(RATE, "alpha", v, null));
        for (double v : new double[] {0, -1, nan, inf, 200}) bad.add(new KernelCheck.Bad(RATE, "lo", v, null));
        for (double v : new double[] {0, -1, nan, inf, 1e-4}) bad.add(new KernelCheck.Bad(RATE, "hi", v, null));
        for (double v : new double[] {0, -0.1, 1.5, nan}) bad.add(new KernelCheck.Bad(CONTROL, "rho", v, null));
        for (double v : new double[] {0, -1, nan, inf}) bad.add(new KernelCheck.Bad(CONTROL, "gain", v, null));
        for (double v : new double[] {-0.1, 1, nan}) bad.add(new KernelCheck.Bad(CONTROL, "alpha", v, null));
        for (double v : new double[] {nan, -inf, 200}) bad.add(new KernelCheck.Bad(CONTROL, "lo", v, null));
        for (double v : new double[] {nan, inf, -200}) bad.add(new KernelCheck.Bad(CONTROL, "hi", v, null));
        for (KernelCheck.Op op : List.of(HC_ROWS, KUMA_ROWS)) {
            bad.add(new KernelCheck.Bad(op, "l", 0, null));
            bad.add(new KernelCheck.Bad(op, "r", 0.9, null));
            bad.add(new KernelCheck.Bad(op, "w_trans", nan, null));
            bad.add(new KernelCheck.Bad(op, "w_trans", inf, null));
        }
        bad.add(new KernelCheck.Bad(HC_ROWS, "beta", 0, null));
        bad.add(new KernelCheck.Bad(HC_ROWS, "beta", nan, null));
        return KernelCheck.withBackends(bad.toArray());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("ops")
    void defaultArgumentsAreAccepted(Backend backend, KernelCheck.Op op) {
        KernelCheck.assertAccepted(backend, op);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bad")
    void badArgumentIsRejectedBeforeAnyKernelRuns(Backend backend, KernelCheck.Bad bad) {
        KernelCheck.assertRejected(backend, bad);
    }

    /** lambda and cma sharing memory would make the update read its own output. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void overlappingStatesAreRejected(Backend backend) {
        try (Device dev = KernelCheck.open(backend)) {
            Tensor s = dev.floats(8), r = dev.floats(8);
            s.fill(1f);
            r.fill(0.5f);
            int status = NativeCore.mo_rate_multiplier(ctx(dev), f(s), f(s, 2), f(r), 4, 0.2f, 0.5f, 0.5f, 1e-3f, 10f);
            assertEquals(NativeCore.MO_ERR_INVALID, status);
            assertTrue(NativeCore.mo_last_error().contains("overlap"), NativeCore.mo_last_error());
            float[] after = s.toFloatArray();
            float[] ones = new float[8];
            Arrays.fill(ones, 1f);
            assertBitsEqual("states untouched", ones, after);
            closeAll(s, r);
        }
    }

    /** On the CPU the row weights are host memory and must be finite, like the scalar weight of the old call. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void nonFiniteRowWeightIsRejectedOnTheCpu(Backend backend) {
        if (backend != Backend.CPU) return;
        try (Device dev = KernelCheck.open(backend)) {
            int N = 3, T = 4;
            Tensor theta = dev.floats(2, N, T), d = KernelCheck.poison(dev, 2, N, T);
            Tensor reg = KernelCheck.poison(dev, N, 2);
            Tensor lens = dev.upload(new int[] {4, 2, 1}, N);
            theta.fill(0f);
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                Tensor w = dev.upload(new float[] {1f, bad, 1f}, N);
                int hc = NativeCore.mo_hc_regularize_rows(ctx(dev), f(d), f(reg), f(theta), i(lens), f(w), N, T,
                        2f / 3, -0.1f, 1.1f, 0f);
                assertEquals(NativeCore.MO_ERR_INVALID, hc);
                assertTrue(NativeCore.mo_last_error().startsWith("mo_hc_regularize_rows: w_l0_rows[1]"),
                        NativeCore.mo_last_error());
                int kuma = NativeCore.mo_kuma_regularize_rows(ctx(dev), f(d), f(reg), f(theta), i(lens), f(w), N, T,
                        -0.1f, 1.1f, 0f);
                assertEquals(NativeCore.MO_ERR_INVALID, kuma);
                assertTrue(NativeCore.mo_last_error().startsWith("mo_kuma_regularize_rows: w_l0_rows[1]"),
                        NativeCore.mo_last_error());
                assertEquals(reg.numel(), reg.countNonFinite(), "reg written");
                w.close();
            }
            closeAll(theta, d, reg, lens);
        }
    }
}
