package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertPaddingZero;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
 * The step counter: mo_hc_sample_at, mo_kuma_sample_at and mo_adam_update_at read the step from device memory and
 * must give, bit for bit, what the by-value op gives at that step; mo_step_increment and mo_trace_write.
 */
class StepCounterTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;
    /** Philox steps: the first, small ones, and the largest 32-bit counter word. */
    static final long[] STEPS = {0, 1, 7, 123_456, 0xFFFF_FFFFL};

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void hardConcreteSamplesEqualTheByValueOp(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T();
        Random rng = new Random(701 + sh.T() * 7L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -4, 4);
        float beta = 2f / 3, l = -0.1f, r = 1.1f;
        long seed = rng.nextLong();
        try (Device dev = KernelCheck.open(backend)) {
            for (long step : STEPS) {
                float[][] byValue = HardConcreteTest.sample(dev, logalpha, len, S, N, T, beta, l, r, seed, step);
                float[][] got = hcSampleAt(dev, logalpha, len, S, N, T, beta, l, r, seed, step);
                assertBitsEqual("hc_sample_at z, step " + step, byValue[0], got[0]);
                assertBitsEqual("hc_sample_at dz, step " + step, byValue[1], got[1]);
                Reference.Samples ref = Reference.hcSample(d(logalpha), len, S, N, T, beta, l, r, seed, step);
                assertClose("hc_sample_at z", ref.z, got[0], ATOL, RTOL);
                assertClose("hc_sample_at dz", ref.dz, got[1], ATOL, RTOL, ref.dzSkip());
                assertPaddingZero("hc_sample_at z", got[0], len, N, T, 1);
                assertPaddingZero("hc_sample_at dz", got[1], len, N, T, 1);
                assertBitsEqual("hc_sample_at rerun", got[0],
                        hcSampleAt(dev, logalpha, len, S, N, T, beta, l, r, seed, step)[0]);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void hardKumaSamplesEqualTheByValueOp(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T();
        Random rng = new Random(709 + sh.T() * 3L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = HardKumaTest.randomParams(rng, N, T);
        float l = -0.1f, r = 1.1f;
        long seed = rng.nextLong();
        try (Device dev = KernelCheck.open(backend)) {
            for (long step : STEPS) {
                float[][] byValue = HardKumaTest.sample(dev, params, len, S, N, T, l, r, seed, step);
                float[][] got = kumaSampleAt(dev, params, len, S, N, T, l, r, seed, step);
                assertBitsEqual("kuma_sample_at z, step " + step, byValue[0], got[0]);
                assertBitsEqual("kuma_sample_at dz, step " + step, byValue[1], got[1]);
                Reference.Samples ref = Reference.kumaSample(d(params), len, S, N, T, l, r, seed, step);
                assertClose("kuma_sample_at z", ref.z, got[0], ATOL, RTOL);
                assertClose("kuma_sample_at dz", ref.dz, got[1], ATOL, RTOL, ref.dzSkip());
                assertPaddingZero("kuma_sample_at z", got[0], len, N, T, 1);
                assertPaddingZero("kuma_sample_at dz", got[1], len, N, T, 1);
                assertBitsEqual("kuma_sample_at rerun", got[1],
                        kumaSampleAt(dev, params, len, S, N, T, l, r, seed, step)[1]);
            }
        }
    }

    static Stream<Arguments> sizes() {
        return KernelCheck.withBackends(1, 7, 1000, 100_003);
    }

    /**
     * An optimizer's loop: Adam at the counter, then the counter advanced on the device; the by-value op at the same
     * steps alongside gives the same bits, and both follow the double reference. From step 1 and from deep in a run.
     */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void adamWithTheCounterEqualsTheByValueOp(Backend backend, int n) {
        Random rng = new Random(719 + n);
        float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
        try (Device dev = KernelCheck.open(backend)) {
            for (long first : new long[] {1, 1000}) {
                float[] param = KernelCheck.gaussian(rng, n, 1);
                float[] m = first == 1 ? new float[n] : KernelCheck.gaussian(rng, n, 0.1);
                float[] v = first == 1 ? new float[n] : KernelCheck.uniform(rng, n, 0.001, 0.1);
                Tensor pA = dev.upload(param, n), mA = dev.upload(m, n), vA = dev.upload(v, n);
                Tensor pB = dev.upload(param, n), mB = dev.upload(m, n), vB = dev.upload(v, n);
                Tensor g = dev.floats(n), counter = dev.upload(new long[] {first}, 1);
                double[] rp = d(param), rm = d(m), rv = d(v);
                for (long step = first; step < first + 4; step++) {
                    float[] grad = KernelCheck.gaussian(rng, n, 1);
                    g.copyFrom(grad);
                    check(NativeCore.mo_adam_update_at(ctx(dev), f(pA), f(mA), f(vA), f(g), n, lr, b1, b2, eps, wd,
                            i64(counter)), "adam_update_at");
                    check(NativeCore.mo_step_increment(ctx(dev), i64(counter)), "step_increment");
                    check(NativeCore.mo_adam_update(ctx(dev), f(pB), f(mB), f(vB), f(g), n, lr, b1, b2, eps, wd, step),
                            "adam_update");
                    Reference.adamUpdate(rp, rm, rv, d(grad), lr, b1, b2, eps, wd, step);
                    String what = "adam_update_at step " + step + " ";
                    float[] got = pA.toFloatArray();
                    assertBitsEqual(what + "param = by value", pB.toFloatArray(), got);
                    assertBitsEqual(what + "m = by value", mB.toFloatArray(), mA.toFloatArray());
                    assertBitsEqual(what + "v = by value", vB.toFloatArray(), vA.toFloatArray());
                    assertClose(what + "param", rp, got, 1e-6, 1e-5);
                    assertClose(what + "m", rm, mA.toFloatArray(), 1e-7, 1e-5);
                    assertClose(what + "v", rv, vA.toFloatArray(), 1e-8, 1e-5);
                }
                assertEquals(first + 4, counter.toLongArray()[0], "counter after 4 increments");
                closeAll(pA, mA, vA, pB, mB, vB, g, counter);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void incrementAddsOneExactly(Backend backend) {
        try (Device dev = KernelCheck.open(backend)) {
            for (long start : new long[] {0, 41, 1L << 40, Long.MAX_VALUE - 3}) {
                try (Tensor counter = dev.upload(new long[] {start}, 1)) {
                    for (int k = 0; k < 3; k++) {
                        check(NativeCore.mo_step_increment(ctx(dev), i64(counter)), "step_increment");
                    }
                    assertEquals(start + 3, counter.toLongArray()[0]);
                }
            }
        }
    }

    /** Rows written in counter order build the table; rows not yet reached keep their poison. */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void traceWriteFillsTheCountersRow(Backend backend, int n) {
        int rows = 5, written = 3;
        Random rng = new Random(727 + n);
        try (Device dev = KernelCheck.open(backend); Tensor trace = poison(dev, rows, n);
                Tensor counter = dev.upload(new long[] {0}, 1); Tensor values = dev.floats(n)) {
            float[] want = new float[rows * n];
            Arrays.fill(want, Float.NaN);
            for (int r = 0; r < written; r++) {
                float[] row = KernelCheck.gaussian(rng, n, 1);
                values.copyFrom(row);
                check(NativeCore.mo_trace_write(ctx(dev), f(trace), f(values), i64(counter), rows, n), "trace_write");
                check(NativeCore.mo_step_increment(ctx(dev), i64(counter)), "step_increment");
                System.arraycopy(row, 0, want, r * n, n);
            }
            assertBitsEqual("trace_write", want, trace.toFloatArray());
            float[] again = trace.toFloatArray();
            check(NativeCore.mo_trace_write(ctx(dev), f(trace), f(values), i64(counter), rows, n), "trace_write");
            System.arraycopy(values.toFloatArray(), 0, again, written * n, n);
            assertBitsEqual("trace_write next row", again, trace.toFloatArray());
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op HC_AT = new KernelCheck.Op("hc_sample_at", "S N T", new double[] {2, 3, 4}, "S N T",
            "ctx out out2 in lengths step",
            (x, a) -> NativeCore.mo_hc_sample_at(x.ctx(), x.f("out", x.out), x.f("out2", x.out2), x.f("in", x.in),
                    x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], 2f / 3, -0.1f, 1.1f, 5,
                    x.i64("step", x.step)));
    static final KernelCheck.Op KUMA_AT = new KernelCheck.Op("kuma_sample_at", "S N T", new double[] {2, 3, 4},
            "S N T", "ctx out out2 in lengths step",
            (x, a) -> NativeCore.mo_kuma_sample_at(x.ctx(), x.f("out", x.out), x.f("out2", x.out2), x.f("in", x.in),
                    x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], -0.1f, 1.1f, 5,
                    x.i64("step", x.step)));
    static final KernelCheck.Op ADAM_AT = new KernelCheck.Op("adam_update_at", "n", new double[] {16}, "n",
            "ctx out out2 out3 in step",
            (x, a) -> NativeCore.mo_adam_update_at(x.ctx(), x.f("out", x.out), x.f("out2", x.out2),
                    x.f("out3", x.out3), x.f("in", x.in), (long) a[0], 1e-2f, 0.9f, 0.999f, 1e-8f, 0f,
                    x.i64("step", x.step)));
    static final KernelCheck.Op TRACE = new KernelCheck.Op("trace_write", "R n", new double[] {4, 6}, "R n",
            "ctx out in step",
            (x, a) -> NativeCore.mo_trace_write(x.ctx(), x.f("out", x.out), x.f("in", x.in), x.i64("step", x.step),
                    (long) a[0], (long) a[1]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(HC_AT, KUMA_AT, ADAM_AT, TRACE);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>();
        for (KernelCheck.Op op : List.of(HC_AT, KUMA_AT, ADAM_AT, TRACE)) {
            bad.addAll(KernelCheck.sizeAndPointerCases(op));
        }
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

    /** On the CPU the counter is host memory, so its value is checked like the by-value argument. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void counterOutOfRangeIsRejectedOnTheCpu(Backend backend, KernelCheck.Op op) {
        if (backend != Backend.CPU) return;
        long[] badSteps =
                op == ADAM_AT ? new long[] {0, -1} : op == TRACE ? new long[] {-1, 4} : new long[] {-1, 1L << 32};
        for (long value : badSteps) {
            try (KernelCheck.Buffers x = new KernelCheck.Buffers(backend)) {
                x.step.copyFrom(new long[] {value});
                int status = op.call().run(x, op.defaults().clone());
                assertEquals(NativeCore.MO_ERR_INVALID, status, op + " with step[0] = " + value);
                String message = NativeCore.mo_last_error();
                assertTrue(message.startsWith("mo_" + op.name() + ": step[0]"), message);
                assertEquals(x.out.numel(), x.out.countNonFinite(), op + ": output written");
            }
        }
        try (Device dev = Device.cpu(); Tensor counter = dev.upload(new long[] {Long.MAX_VALUE}, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> check(NativeCore.mo_step_increment(ctx(dev), i64(counter)), "step_increment"));
            assertTrue(e.getMessage().contains("overflow"), e.getMessage());
            assertArrayEquals(new long[] {Long.MAX_VALUE}, counter.toLongArray());
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    static float[][] hcSampleAt(Device dev, float[] logalpha, int[] len, int S, int N, int T, float beta, float l,
            float r, long seed, long step) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N), counter = dev.upload(new long[] {step}, 1);
        Tensor z = poison(dev, S, N, T), dz = poison(dev, S, N, T);
        check(NativeCore.mo_hc_sample_at(ctx(dev), f(z), f(dz), f(la), i(lens), S, N, T, beta, l, r, seed,
                i64(counter)), "hc_sample_at");
        float[][] out = {z.toFloatArray(), dz.toFloatArray()};
        assertEquals(step, counter.toLongArray()[0], "the sampler does not advance the counter");
        closeAll(la, lens, counter, z, dz);
        return out;
    }

    static float[][] kumaSampleAt(Device dev, float[] params, int[] len, int S, int N, int T, float l, float r,
            long seed, long step) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N), counter = dev.upload(new long[] {step}, 1);
        Tensor z = poison(dev, S, N, T), dz = poison(dev, 2, S, N, T);
        check(NativeCore.mo_kuma_sample_at(ctx(dev), f(z), f(dz), f(p), i(lens), S, N, T, l, r, seed, i64(counter)),
                "kuma_sample_at");
        float[][] out = {z.toFloatArray(), dz.toFloatArray()};
        closeAll(p, lens, counter, z, dz);
        return out;
    }
}
