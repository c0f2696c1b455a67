package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_matmul (c = a op(b) + bias + beta c) and mo_set_matmul_precision. */
class MatmulTest {
    record Case(int M, int N, int K) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "M=%d N=%d K=%d", M, N, K);
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1),
        new Case(33, 65, 17),
        new Case(7, 1, 5),
        new Case(1, 9, 3),
        new Case(5, 300, 2),
        new Case(64, 64, 64),
        new Case(40, 96, 1536),  // the FFN output projection's K range
        new Case(120, 1152, 384), // BERT-like qkv projection: B T = 3 x 40 rows, 3 D columns
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    /** FP32 sums of K products: the tolerance grows with K. */
    static double atol(int K) {
        return K <= 64 ? 1e-5 : 1e-4;
    }

    static double rtol(int K) {
        return K <= 64 ? 1e-4 : 1e-3;
    }

    /** Random a [M,K], b [K,N] or [N,K] scaled by 1/sqrt(K) (so c stays O(1)), bias [N], initial c [M,N]. */
    static final class Data {
        final float[] a, b, bias, c0;

        Data(Case c, long seed) {
            Random rng = new Random(seed);
            a = KernelCheck.gaussian(rng, c.M() * c.K(), 1);
            b = KernelCheck.gaussian(rng, c.K() * c.N(), 1 / Math.sqrt(c.K()));
            bias = KernelCheck.gaussian(rng, c.N(), 1);
            c0 = KernelCheck.gaussian(rng, c.M() * c.N(), 1);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matmulMatchesReference(Backend backend, Case c) {
        int M = c.M(), N = c.N(), K = c.K();
        Data data = new Data(c, 801 + M * 7L + N * 3L + K);
        try (Device dev = KernelCheck.open(backend)) {
            for (int transB = 0; transB <= 1; transB++)
                for (boolean withBias : new boolean[] {false, true})
                    for (float beta : new float[] {0, 1}) {
                        float[] bias = withBias ? data.bias : null;
                        String what = String.format(Locale.ROOT, "matmul trans_b=%d bias=%s beta=%s", transB,
                                withBias ? "yes" : "NULL", beta);
                        // beta = 0 overwrites a NaN-poisoned c; beta = 1 accumulates into the random c0
                        float[] got = matmul(dev, beta == 0 ? null : data.c0, data.a, data.b, bias, M, N, K, transB,
                                beta);
                        double[] ref = Reference.matmul(d(data.c0), d(data.a), d(data.b), withBias ? d(bias) : null,
                                M, N, K, transB == 1, beta);
                        assertClose(what, ref, got, atol(K), rtol(K));
                        float[] again = matmul(dev, beta == 0 ? null : data.c0, data.a, data.b, bias, M, N, K, transB,
                                beta);
                        assertBitsEqual(what + " rerun", got, again);
                    }
        }
    }

    /**
     * The CPU accepts TF32 but computes it in FP32: bit-identical to FP32; it computes BF16 with bfloat16 inputs
     * on CPUs with AVX512-BF16 (in FP32 elsewhere). On CUDA the tensor-core precisions round the inputs (TF32 10,
     * BF16 7 mantissa bits), so they, and the CPU's BF16, are only held to a loose bound.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void precisionSettings(Backend backend, Case c) {
        int M = c.M(), N = c.N(), K = c.K();
        Data data = new Data(c, 811 + M * 7L + N * 3L + K);
        try (Device dev = KernelCheck.open(backend)) {
            for (int transB = 0; transB <= 1; transB++) {
                double[] ref = Reference.matmul(d(data.c0), d(data.a), d(data.b), d(data.bias), M, N, K, transB == 1,
                        1);
                check(NativeCore.mo_set_matmul_precision(ctx(dev), NativeCore.MO_PRECISION_FP32),
                        "set_matmul_precision");
                float[] fp32 = matmul(dev, data.c0, data.a, data.b, data.bias, M, N, K, transB, 1);
                assertClose("matmul FP32 trans_b=" + transB, ref, fp32, atol(K), rtol(K));
                for (int precision : new int[] {NativeCore.MO_PRECISION_TF32, NativeCore.MO_PRECISION_BF16}) {
                    String name = precision == NativeCore.MO_PRECISION_TF32 ? "TF32" : "BF16";
                    check(NativeCore.mo_set_matmul_precision(ctx(dev), precision), "set_matmul_precision");
                    float[] got = matmul(dev, data.c0, data.a, data.b, data.bias, M, N, K, transB, 1);
                    String what = "matmul " + name + " trans_b=" + transB;
                    if (backend == Backend.CPU && precision == NativeCore.MO_PRECISION_TF32) {
                        assertBitsEqual(what + " (CPU: computed in FP32)", fp32, got);
                    } else {
                        // inputs rounded to 2^-11 (TF32) or 2^-8 (BF16) relative; c is O(1) and the sum of K
                        // rounding errors of size |a b| ~ 1/sqrt(K) grows like a random walk
                        double unit = precision == NativeCore.MO_PRECISION_TF32 ? 0x1p-10 : 0x1p-7;
                        assertClose(what, ref, got, 4 * unit, 4 * unit);
                    }
                    assertBitsEqual(what + " rerun", got,
                            matmul(dev, data.c0, data.a, data.b, data.bias, M, N, K, transB, 1));
                }
                // back to FP32: the precision is a setting, not a one-shot
                check(NativeCore.mo_set_matmul_precision(ctx(dev), NativeCore.MO_PRECISION_FP32),
                        "set_matmul_precision");
                assertBitsEqual("matmul FP32 again trans_b=" + transB, fp32,
                        matmul(dev, data.c0, data.a, data.b, data.bias, M, N, K, transB, 1));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void invalidPrecisionIsRejected(Backend backend) {
        try (Device dev = KernelCheck.open(backend)) {
            for (int precision : new int[] {-1, 3, 99}) {
                int status = NativeCore.mo_set_matmul_precision(ctx(dev), precision);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> check(status, "set_matmul_precision"), "precision " + precision);
                assertTrue(NativeCore.mo_last_error().startsWith("mo_set_matmul_precision: "),
                        "mo_last_error is '" + NativeCore.mo_last_error() + "'");
                assertTrue(e.getMessage().contains("set_matmul_precision"), e.getMessage());
            }
            // the rejected settings left FP32 in place: a small product is still FP32-exact
            Case c = new Case(3, 5, 7);
            Data data = new Data(c, 5);
            assertClose("matmul after rejected precisions",
                    Reference.matmul(null, d(data.a), d(data.b), null, 3, 5, 7, false, 0),
                    matmul(dev, null, data.a, data.b, null, 3, 5, 7, 0, 0), 1e-6, 1e-5);
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op MATMUL = new KernelCheck.Op("matmul", "M N K trans_b beta",
            new double[] {3, 4, 5, 1, 1}, "M N K", "ctx out a b",
            (x, a) -> NativeCore.mo_matmul(x.ctx(), x.f("out", x.out), x.f("a", x.in), x.f("b", x.in), f(x.in),
                    (long) a[0], (long) a[1], (long) a[2], (int) a[3], (float) a[4]));
    static final KernelCheck.Op MATMUL_NO_BIAS = new KernelCheck.Op("matmul", "M N K trans_b beta",
            new double[] {3, 4, 5, 0, 0}, "M N K", "ctx out a b",
            (x, a) -> NativeCore.mo_matmul(x.ctx(), x.f("out", x.out), x.f("a", x.in), x.f("b", x.in), null,
                    (long) a[0], (long) a[1], (long) a[2], (int) a[3], (float) a[4]));
    static final KernelCheck.Op SET_PRECISION = new KernelCheck.Op("set_matmul_precision", "precision",
            new double[] {NativeCore.MO_PRECISION_TF32}, "", "ctx",
            (x, a) -> NativeCore.mo_set_matmul_precision(x.ctx(), (int) a[0]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(MATMUL, MATMUL_NO_BIAS, SET_PRECISION);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(MATMUL));
        for (KernelCheck.Op op : new KernelCheck.Op[] {MATMUL, MATMUL_NO_BIAS}) {
            for (double t : new double[] {2, -1}) bad.add(new KernelCheck.Bad(op, "trans_b", t, null));
            for (double beta : new double[] {0.5, -1, 2, Double.NaN})
                bad.add(new KernelCheck.Bad(op, "beta", beta, null));
        }
        for (double p : new double[] {3, -1}) bad.add(new KernelCheck.Bad(SET_PRECISION, "precision", p, null));
        bad.add(new KernelCheck.Bad(SET_PRECISION, null, 0, "ctx"));
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

    // ---- native calls ------------------------------------------------------------------------------

    /** c0 null: c starts NaN-poisoned (beta must be 0). bias null: a NULL bias pointer. */
    static float[] matmul(Device dev, float[] c0, float[] a, float[] b, float[] bias, int M, int N, int K, int transB,
            float beta) {
        Tensor cT = c0 == null ? poison(dev, M, N) : dev.upload(c0, M, N);
        Tensor aT = dev.upload(a, M, K), bT = dev.upload(b, b.length);
        Tensor biasT = bias == null ? null : dev.upload(bias, N);
        FloatPointer biasP = biasT == null ? null : f(biasT);
        check(NativeCore.mo_matmul(ctx(dev), f(cT), f(aT), f(bT), biasP, M, N, K, transB, beta), "matmul");
        float[] result = cT.toFloatArray();
        closeAll(cT, aT, bT);
        if (biasT != null) biasT.close();
        return result;
    }
}
