package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertPaddingZero;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.fail;

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

/** Sequence pooling: mo_pool_forward and mo_pool_backward, mean over real rows or the first ([CLS]) row. */
class PoolTest {
    /** KernelCheck's shapes with N as the batch B (S unused), each with both modes. */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        KernelCheck.backends().forEach(b -> {
            for (KernelCheck.Shape sh : KernelCheck.SHAPES)
                for (int mode : new int[] {NativeCore.MO_POOL_MEAN, NativeCore.MO_POOL_FIRST})
                    out.add(Arguments.of(b, sh, mode == NativeCore.MO_POOL_MEAN ? "MEAN" : "FIRST", mode));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void forwardMatchesReference(Backend backend, KernelCheck.Shape sh, String name, int mode) {
        int B = sh.N(), T = sh.T(), D = sh.D();
        Random rng = new Random(1301 + T * 7L + D + mode);
        int[] len = KernelCheck.lengths(rng, sh);
        float[] x = KernelCheck.gaussian(rng, B * T * D, 1);
        for (int b = 0; b < B; b++) // junk at padding: must not be pooled
            for (int k = len[b] * D; k < T * D; k++) x[b * T * D + k] = 1e4f + 100 * (float) rng.nextGaussian();
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = forward(dev, x, len, B, T, D, mode);
            double[] ref = Reference.poolForward(d(x), len, B, T, D, mode);
            if (mode == NativeCore.MO_POOL_FIRST) assertClose("pool_forward FIRST", ref, got, 0, 0); // a copy
            else assertClose("pool_forward MEAN", ref, got, 1e-6, 1e-5);
            assertBitsEqual("pool_forward " + name + " rerun", got, forward(dev, x, len, B, T, D, mode));
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void backwardMatchesReference(Backend backend, KernelCheck.Shape sh, String name, int mode) {
        int B = sh.N(), T = sh.T(), D = sh.D();
        Random rng = new Random(1307 + T * 7L + D + mode);
        int[] len = KernelCheck.lengths(rng, sh);
        float[] dy = KernelCheck.gaussian(rng, B * D, 1);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = backward(dev, dy, len, B, T, D, mode);
            double[] ref = Reference.poolBackward(d(dy), len, B, T, D, mode);
            // dy / len: one rounding (or two, as dy * (1 / len))
            assertClose("pool_backward " + name, ref, got, 0, mode == NativeCore.MO_POOL_FIRST ? 0 : 2.5e-7);
            assertPaddingZero("pool_backward " + name, got, len, B, T, D);
            if (mode == NativeCore.MO_POOL_FIRST) { // rows t > 0 are exactly +0 even when real
                for (int b = 0; b < B; b++)
                    for (int k = D; k < T * D; k++)
                        if (Float.floatToRawIntBits(got[b * T * D + k]) != 0)
                            fail("pool_backward FIRST: dx[b=" + b + ", t=" + k / D + ", d=" + k % D + "] is "
                                    + got[b * T * D + k] + ", want +0");
            }
            assertBitsEqual("pool_backward " + name + " rerun", got, backward(dev, dy, len, B, T, D, mode));
        }
    }

    /** The reference backward against central differences of W . pool(x), for both modes. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rng = new Random(53);
        int B = 3, T = 5, D = 2;
        int[] len = {5, 1, 3};
        double[] x = d(KernelCheck.gaussian(rng, B * T * D, 1));
        for (int mode : new int[] {Reference.POOL_MEAN, Reference.POOL_FIRST}) {
            double[] w = d(KernelCheck.gaussian(rng, B * D, 1));
            double[] fd = KernelCheck.numericGradient(
                    v -> KernelCheck.dot(w, Reference.poolForward(v, len, B, T, D, mode)), x, 1e-6);
            KernelCheck.assertClose("reference pool backward vs FD, mode " + mode, fd,
                    Reference.poolBackward(w, len, B, T, D, mode), 1e-8, 1e-6, null);
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op FORWARD = new KernelCheck.Op("pool_forward", "B T D mode", new double[] {3, 4, 5, 0},
            "B T D", "ctx out x lengths",
            (x, a) -> NativeCore.mo_pool_forward(x.ctx(), x.f("out", x.out), x.f("x", x.in), x.i("lengths", x.lengths),
                    (long) a[0], (long) a[1], (long) a[2], (int) a[3]));
    static final KernelCheck.Op BACKWARD = new KernelCheck.Op("pool_backward", "B T D mode", new double[] {3, 4, 5, 1},
            "B T D", "ctx out dy lengths",
            (x, a) -> NativeCore.mo_pool_backward(x.ctx(), x.f("out", x.out), x.f("dy", x.in),
                    x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], (int) a[3]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(FORWARD, BACKWARD);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>();
        for (KernelCheck.Op op : new KernelCheck.Op[] {FORWARD, BACKWARD}) {
            bad.addAll(KernelCheck.sizeAndPointerCases(op));
            for (double mode : new double[] {2, -1}) bad.add(new KernelCheck.Bad(op, "mode", mode, null));
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

    // ---- native calls ------------------------------------------------------------------------------

    static float[] forward(Device dev, float[] x, int[] len, int B, int T, int D, int mode) {
        Tensor xt = dev.upload(x, B, T, D), lens = dev.upload(len, B), y = poison(dev, B, D);
        check(NativeCore.mo_pool_forward(ctx(dev), f(y), f(xt), i(lens), B, T, D, mode), "pool_forward");
        float[] result = y.toFloatArray();
        closeAll(xt, lens, y);
        return result;
    }

    static float[] backward(Device dev, float[] dy, int[] len, int B, int T, int D, int mode) {
        Tensor dyt = dev.upload(dy, B, D), lens = dev.upload(len, B), dx = poison(dev, B, T, D);
        check(NativeCore.mo_pool_backward(ctx(dev), f(dx), f(dyt), i(lens), B, T, D, mode), "pool_backward");
        float[] result = dx.toFloatArray();
        closeAll(dyt, lens, dx);
        return result;
    }
}
