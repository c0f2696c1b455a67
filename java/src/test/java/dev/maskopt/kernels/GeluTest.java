package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_gelu_forward and mo_gelu_backward: the exact (erf) GELU, not the tanh approximation. */
class GeluTest {
    /** Values where the tails, the sign change and the saturation show. */
    static final float[] SPECIAL = {0f, -0f, 1e-30f, -1e-30f, 0.5f, -0.5f, 1f, -1f, 3f, -3f, 5f, -5f, 8f, -8f, 10f,
        -10f, 20f, -20f, 100f, -100f, 1e4f, -1e4f};

    static Stream<Arguments> sizes() {
        return KernelCheck.withBackends(1, 7, SPECIAL.length, 1000, 4099);
    }

    /** The special values first, then N(0, 3^2) (the tanh approximation is off by up to ~5e-4 in there). */
    static float[] inputs(Random rng, int n) {
        float[] x = KernelCheck.gaussian(rng, n, 3);
        System.arraycopy(SPECIAL, 0, x, 0, Math.min(n, SPECIAL.length));
        return x;
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void forwardMatchesReference(Backend backend, int n) {
        float[] x = inputs(new Random(1101 + n), n);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = forward(dev, x);
            assertClose("gelu_forward", Reference.geluForward(d(x)), got, 1e-6, 1e-5);
            assertBitsEqual("gelu_forward rerun", got, forward(dev, x));
        }
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void backwardMatchesReference(Backend backend, int n) {
        Random rng = new Random(1109 + n);
        float[] x = inputs(rng, n), dy = KernelCheck.gaussian(rng, n, 1);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = backward(dev, dy, x);
            assertClose("gelu_backward", Reference.geluBackward(d(dy), d(x)), got, 1e-6, 1e-5);
            assertBitsEqual("gelu_backward rerun", got, backward(dev, dy, x));
        }
    }

    /** The reference backward against central differences of W . gelu(x), tails included. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rng = new Random(43);
        double[] x = d(KernelCheck.gaussian(rng, 64, 3));
        double[] special = {0, 0.5, -0.5, 1, -1, 3, -3, 5, -5, 8, -8, 1.5, -1.5, 2.99, -3.01};
        System.arraycopy(special, 0, x, 0, special.length); // 1.5 and 3: where the erf reference switches method
        double[] w = d(KernelCheck.gaussian(rng, x.length, 1));
        double[] fd = KernelCheck.numericGradient(v -> KernelCheck.dot(w, Reference.geluForward(v)), x, 1e-6);
        KernelCheck.assertClose("reference gelu backward vs FD", fd, Reference.geluBackward(w, x), 1e-8, 1e-6, null);
    }

    /** The reference erf and erfc against published values (Abramowitz and Stegun table 7.1, and beyond). */
    @Test
    void referenceErfMatchesKnownValues() {
        double[][] erf = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
            {1.5, 0.9661051464753108}, {2, 0.9953222650189527}, {-1, -0.8427007929497149}, {0, 0}};
        for (double[] p : erf) assertEquals(p[1], Reference.erf(p[0]), 2e-15, "erf(" + p[0] + ")");
        double[][] erfc = {{0.5, 0.4795001221869535}, {1.5, 0.033894853524689274}, {3, 2.2090496998585438e-05},
            {5, 1.5374597944280351e-12}, {10, 2.088487583762545e-45}, {20, 5.3958656116079005e-176},
            {-1.5, 1.9661051464753108}};
        for (double[] p : erfc)
            assertEquals(p[1], Reference.erfc(p[0]), 1e-14 * p[1], "erfc(" + p[0] + ")");
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op FORWARD = new KernelCheck.Op("gelu_forward", "n", new double[] {16}, "n",
            "ctx out x", (x, a) -> NativeCore.mo_gelu_forward(x.ctx(), x.f("out", x.out), x.f("x", x.in), (long) a[0]));
    static final KernelCheck.Op BACKWARD = new KernelCheck.Op("gelu_backward", "n", new double[] {16}, "n",
            "ctx out dy x", (x, a) -> NativeCore.mo_gelu_backward(x.ctx(), x.f("out", x.out), x.f("dy", x.in),
                    x.f("x", x.in), (long) a[0]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(FORWARD, BACKWARD);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(FORWARD));
        bad.addAll(KernelCheck.sizeAndPointerCases(BACKWARD));
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

    static float[] forward(Device dev, float[] x) {
        int n = x.length;
        Tensor xt = dev.upload(x, n), y = poison(dev, n);
        check(NativeCore.mo_gelu_forward(ctx(dev), f(y), f(xt), n), "gelu_forward");
        float[] result = y.toFloatArray();
        closeAll(xt, y);
        return result;
    }

    static float[] backward(Device dev, float[] dy, float[] x) {
        int n = x.length;
        Tensor dyt = dev.upload(dy, n), xt = dev.upload(x, n), dx = poison(dev, n);
        check(NativeCore.mo_gelu_backward(ctx(dev), f(dx), f(dyt), f(xt), n), "gelu_backward");
        float[] result = dx.toFloatArray();
        closeAll(dyt, xt, dx);
        return result;
    }
}
