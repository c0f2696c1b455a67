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
import static dev.maskopt.kernels.KernelCheck.poisonInts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The 1-D CNN classifier: mo_cnn_param_count, mo_cnn_forward, mo_cnn_backward_input, mo_cnn_backward_params. */
class CnnKernelTest {
    record Case(int B, int T, int D, int F, int C, int[] widths, KernelCheck.Lengths lengths) {
        @Override
        public String toString() {
            return "B=" + B + " T=" + T + " D=" + D + " F=" + F + " C=" + C + " widths=" + Arrays.toString(widths) + " "
                    + lengths;
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1, 1, 2, new int[] {1}, KernelCheck.Lengths.FULL),
        new Case(3, 7, 5, 4, 3, new int[] {1, 2, 3}, KernelCheck.Lengths.RAGGED),
        new Case(4, 37, 19, 6, 5, new int[] {3, 4, 5}, KernelCheck.Lengths.RAGGED),
        new Case(5, 12, 8, 3, 2, new int[] {16, 1, 7}, KernelCheck.Lengths.RAGGED),     // windows longer than rows
        new Case(2, 9, 3, 2, 2, new int[] {1, 2, 3, 4, 5, 6, 7, 8}, KernelCheck.Lengths.ONES), // K at its maximum
        new Case(3, 16, 4, 2, 3, new int[] {2, 16}, KernelCheck.Lengths.FULL),
        new Case(16, 64, 32, 16, 4, new int[] {3, 4, 5}, KernelCheck.Lengths.RAGGED),
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    /** Random data for a case: x with junk in the padding rows (which must read as 0), params, lengths. */
    static final class Data {
        final int[] len;
        final float[] x, params;
        final Reference.Cnn net;

        Data(Case c, long seed) {
            Random rng = new Random(seed);
            net = new Reference.Cnn(c.widths(), c.F(), c.C(), c.D());
            len = KernelCheck.lengths(rng, c.lengths(), c.B(), c.T());
            x = KernelCheck.gaussian(rng, c.B() * c.T() * c.D(), 1);
            for (int b = 0; b < c.B(); b++)
                for (int t = len[b]; t < c.T(); t++)
                    for (int d = 0; d < c.D(); d++)
                        x[(b * c.T() + t) * c.D() + d] = 100 + 50 * (float) rng.nextGaussian();
            params = randomParams(rng, net);
        }
    }

    /** Weights scaled by fan-in; biases shifted down so some filters stay off (relu'(0) = 0 matters). */
    static float[] randomParams(Random rng, Reference.Cnn net) {
        float[] p = new float[net.count];
        for (int k = 0; k < net.K; k++) {
            double sd = 1 / Math.sqrt(net.widths[k] * net.D);
            for (int j = net.wOff[k]; j < net.bOff[k]; j++) p[j] = (float) (sd * rng.nextGaussian());
            for (int f = 0; f < net.F; f++) p[net.bOff[k] + f] = (float) (rng.nextGaussian() - 1);
        }
        for (int j = net.fcW; j < net.count; j++) p[j] = (float) (rng.nextGaussian() / Math.sqrt(net.KF));
        return p;
    }

    @Test
    void paramCountMatchesLayout() {
        for (Case c : CASES) {
            Reference.Cnn net = new Reference.Cnn(c.widths(), c.F(), c.C(), c.D());
            assertEquals(net.count, NativeCore.mo_cnn_param_count(c.widths(), c.widths().length, c.F(), c.D(), c.C()),
                    "param count of " + c);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesReference(Backend backend, Case c) {
        Data data = new Data(c, 601 + c.T() * 7L + c.B());
        Reference.CnnForward ref = Reference.cnnForward(d(data.x), data.len, d(data.params), data.net, c.B(), c.T());
        try (Device dev = KernelCheck.open(backend)) {
            Forward got = forward(dev, c, data);
            assertClose("cnn logits", ref.logits, got.logits, 1e-4, 1e-4);
            assertClose("cnn feat", ref.feat, got.feat, 1e-4, 1e-4);
            int KF = data.net.KF;
            for (int j = 0; j < c.B() * KF; j++) {
                int b = j / KF, w = c.widths()[(j % KF) / c.F()];
                int windows = Reference.Cnn.windows(data.len[b], w);
                assertTrue(got.argmax[j] >= 0 && got.argmax[j] < windows, "argmax " + got.argmax[j] + " at " + j);
                // a near tie of two windows may go either way in float
                if (ref.gap[j] > 1e-4 && got.argmax[j] != ref.argmax[j])
                    fail("cnn argmax at [" + j + "]: got " + got.argmax[j] + ", ref " + ref.argmax[j]
                            + " (gap " + ref.gap[j] + ")");
            }
            Forward again = forward(dev, c, data);
            assertBitsEqual("cnn logits rerun", got.logits, again.logits);
            assertBitsEqual("cnn feat rerun", got.feat, again.feat);
            assertArrayEquals(got.argmax, again.argmax, "cnn argmax rerun");
        }
    }

    /**
     * A hand-computed net: one row x = (1, 3, 2) (D = 1), a width-1 filter W = (1) and a width-2 filter
     * W = (1, -1), no biases. Windows score (1, 3, 2) and (1 - 3, 3 - 2) = (-2, 1): feat (3, 1), argmax (1, 1).
     * fc_W = [[2, 10], [0, 1]], fc_b = (1, -1): logits (1 + 6 + 10, -1 + 1) = (17, 0).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void handSetNetGivesKnownOutputs(Backend backend) {
        Case c = new Case(1, 3, 1, 1, 2, new int[] {1, 2}, KernelCheck.Lengths.FULL);
        // layout: W_0 (1), b_0 (1), W_1 (2), b_1 (1), fc_W (2 x 2), fc_b (2)
        float[] params = {1, 0, 1, -1, 0, 2, 10, 0, 1, 1, -1};
        Data data = new Data(c, 1);
        System.arraycopy(new float[] {1, 3, 2}, 0, data.x, 0, 3);
        System.arraycopy(params, 0, data.params, 0, params.length);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, c, data);
            assertArrayEquals(new float[] {3, 1}, fw.feat);
            assertArrayEquals(new int[] {1, 1}, fw.argmax);
            assertArrayEquals(new float[] {17, 0}, fw.logits);
        }
    }

    /** With x = 0 every window scores exactly its bias: the first window must win, and feat = relu(bias). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void tiesGoToTheFirstWindow(Backend backend) {
        Case c = new Case(3, 11, 4, 5, 3, new int[] {1, 3, 4}, KernelCheck.Lengths.RAGGED);
        Data data = new Data(c, 23);
        Arrays.fill(data.x, 0f);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, c, data);
            for (int j = 0; j < fw.argmax.length; j++) {
                int k = (j % data.net.KF) / c.F(), f = j % c.F();
                assertEquals(0, fw.argmax[j], "argmax at " + j);
                assertEquals(Math.max(data.params[data.net.bOff[k] + f], 0f), fw.feat[j], "feat at " + j);
            }
        }
    }

    /** Both backward ops against the reference, fed the same forward state (the native feat and argmax). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesReference(Backend backend, Case c) {
        Data data = new Data(c, 641 + c.T() * 7L + c.B());
        float[] dLogits = KernelCheck.gaussian(new Random(c.C()), c.B() * c.C(), 1);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, c, data);
            double[] refDx = Reference.cnnBackwardInput(d(dLogits), d(fw.feat), fw.argmax, data.len, d(data.params),
                    data.net, c.B(), c.T());
            double[] refDp = Reference.cnnBackwardParams(d(dLogits), d(fw.feat), fw.argmax, d(data.x), data.len,
                    d(data.params), data.net, c.B(), c.T());
            float[] dx = backwardInput(dev, c, data, dLogits, fw);
            float[] dp = backwardParams(dev, c, data, dLogits, fw);
            assertClose("cnn dx", refDx, dx, 1e-5, 1e-4);
            assertPaddingZero("cnn dx", dx, data.len, c.B(), c.T(), c.D());
            // filter gradients sum over rows and window entries: looser
            assertClose("cnn d_params", refDp, dp, 1e-4, 1e-3);
            assertBitsEqual("cnn dx rerun", dx, backwardInput(dev, c, data, dLogits, fw));
            assertBitsEqual("cnn d_params rerun", dp, backwardParams(dev, c, data, dLogits, fw));
        }
    }

    /**
     * The reference's backward against central differences of L = W . logits, over x and over params.
     * Coordinates whose perturbation moves an argmax or flips a relu are skipped (a kink, not a slope).
     */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Case c = new Case(3, 6, 3, 3, 3, new int[] {1, 2, 7}, KernelCheck.Lengths.RAGGED);
        Data data = new Data(c, 17);
        int B = c.B(), T = c.T();
        double[] x = d(data.x), params = d(data.params);
        double[] w = d(KernelCheck.gaussian(new Random(18), B * c.C(), 1));
        Reference.CnnForward at = Reference.cnnForward(x, data.len, params, data.net, B, T);
        double[] dx = Reference.cnnBackwardInput(w, at.feat, at.argmax, data.len, params, data.net, B, T);
        double[] dp = Reference.cnnBackwardParams(w, at.feat, at.argmax, x, data.len, params, data.net, B, T);
        double h = 1e-6;

        boolean[] skipX = kinks(at, x, h, v -> Reference.cnnForward(v, data.len, params, data.net, B, T));
        double[] fdX = KernelCheck.numericGradient(
                v -> KernelCheck.dot(w, Reference.cnnForward(v, data.len, params, data.net, B, T).logits), x, h);
        KernelCheck.assertClose("reference cnn dx vs FD", fdX, dx, 1e-7, 1e-6, skipX);

        boolean[] skipP = kinks(at, params, h, v -> Reference.cnnForward(x, data.len, v, data.net, B, T));
        double[] fdP = KernelCheck.numericGradient(
                v -> KernelCheck.dot(w, Reference.cnnForward(x, data.len, v, data.net, B, T).logits), params, h);
        KernelCheck.assertClose("reference cnn d_params vs FD", fdP, dp, 1e-7, 1e-6, skipP);
    }

    /** Coordinates i where forward(v +- h e_i) picks other windows or flips a relu; at most a few. */
    private static boolean[] kinks(Reference.CnnForward at, double[] v, double h,
            java.util.function.Function<double[], Reference.CnnForward> fw) {
        boolean[] skip = new boolean[v.length];
        int count = 0;
        double[] p = v.clone();
        for (int i = 0; i < v.length; i++) {
            for (double s : new double[] {h, -h}) {
                p[i] = v[i] + s;
                Reference.CnnForward moved = fw.apply(p);
                for (int j = 0; j < at.argmax.length; j++)
                    if (moved.argmax[j] != at.argmax[j] || (moved.pre[j] > 0) != (at.pre[j] > 0)) skip[i] = true;
            }
            p[i] = v[i];
            if (skip[i]) count++;
        }
        assertTrue(count <= v.length / 20, "too many kinks: " + count);
        return skip;
    }

    // ---- native calls ------------------------------------------------------------------------------

    static final class Forward {
        float[] logits, feat;
        int[] argmax;
    }

    static Forward forward(Device dev, Case c, Data data) {
        int B = c.B(), T = c.T(), D = c.D(), K = c.widths().length, KF = K * c.F();
        Tensor x = dev.upload(data.x, B, T, D), lens = dev.upload(data.len, B);
        Tensor p = dev.upload(data.params, data.params.length);
        Tensor logits = poison(dev, B, c.C()), feat = poison(dev, B, KF), argmax = poisonInts(dev, B, KF);
        check(NativeCore.mo_cnn_forward(ctx(dev), f(logits), f(feat), i(argmax), f(x), i(lens), f(p), c.widths(), K,
                c.F(), c.C(), B, T, D), "cnn_forward");
        Forward out = new Forward();
        out.logits = logits.toFloatArray();
        out.feat = feat.toFloatArray();
        out.argmax = argmax.toIntArray();
        closeAll(x, lens, p, logits, feat, argmax);
        return out;
    }

    static float[] backwardInput(Device dev, Case c, Data data, float[] dLogits, Forward fw) {
        int B = c.B(), T = c.T(), D = c.D(), K = c.widths().length, KF = K * c.F();
        Tensor dl = dev.upload(dLogits, B, c.C()), feat = dev.upload(fw.feat, B, KF);
        Tensor arg = dev.upload(fw.argmax, B, KF);
        Tensor lens = dev.upload(data.len, B), p = dev.upload(data.params, data.params.length);
        Tensor dx = poison(dev, B, T, D);
        check(NativeCore.mo_cnn_backward_input(ctx(dev), f(dx), f(dl), f(feat), i(arg), i(lens), f(p), c.widths(), K,
                c.F(), c.C(), B, T, D), "cnn_backward_input");
        float[] out = dx.toFloatArray();
        closeAll(dl, feat, arg, lens, p, dx);
        return out;
    }

    static float[] backwardParams(Device dev, Case c, Data data, float[] dLogits, Forward fw) {
        int B = c.B(), T = c.T(), D = c.D(), K = c.widths().length, KF = K * c.F();
        Tensor dl = dev.upload(dLogits, B, c.C()), feat = dev.upload(fw.feat, B, KF);
        Tensor arg = dev.upload(fw.argmax, B, KF);
        Tensor x = dev.upload(data.x, B, T, D), lens = dev.upload(data.len, B);
        Tensor p = dev.upload(data.params, data.params.length), dp = poison(dev, data.params.length);
        check(NativeCore.mo_cnn_backward_params(ctx(dev), f(dp), f(dl), f(feat), i(arg), f(x), i(lens), f(p),
                c.widths(), K, c.F(), c.C(), B, T, D), "cnn_backward_params");
        float[] out = dp.toFloatArray();
        closeAll(dl, feat, arg, x, lens, p, dp);
        return out;
    }
}
