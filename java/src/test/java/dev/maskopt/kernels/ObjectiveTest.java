package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertFinite;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertEquals;

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

/** mo_objective (sufficiency + comprehensiveness), mo_cross_entropy and mo_softmax. */
class ObjectiveTest {
    /** S samples, N sequences (or B rows, with S ignored), C classes. */
    record Case(int S, int N, int C) {
        @Override
        public String toString() {
            return "S=" + S + " N=" + N + " C=" + C;
        }
    }

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends(new Case(1, 1, 2), new Case(3, 5, 2), new Case(2, 4, 37), new Case(1, 7, 3),
                new Case(8, 16, 10), new Case(16, 64, 5));
    }

    static final float W_SUFF = 0.8f, W_COMP = 1.7f;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void objectiveMatchesReference(Backend backend, Case c) {
        Random rng = new Random(301 + c.C() * 13L + c.N());
        float[] logits = KernelCheck.gaussian(rng, 2 * c.S() * c.N() * c.C(), 3);
        int[] target = KernelCheck.ints(rng, c.N(), c.C());
        try (Device dev = KernelCheck.open(backend)) {
            float[][] got = objective(dev, logits, target, c.S(), c.N(), c.C(), W_SUFF, W_COMP);
            double[][] ref = Reference.objective(d(logits), target, c.S(), c.N(), c.C(), W_SUFF, W_COMP);
            assertClose("objective loss", ref[0], got[0], 1e-5, 1e-5);
            assertClose("objective d_logits", ref[1], got[1], 1e-6, 1e-4);
            float[][] again = objective(dev, logits, target, c.S(), c.N(), c.C(), W_SUFF, W_COMP);
            assertBitsEqual("objective loss rerun", got[0], again[0]);
            assertBitsEqual("objective d_logits rerun", got[1], again[1]);
        }
    }

    /** Logits of +-80 make p_y round to 0 or 1 in float: log-sum-exp keeps losses and gradients finite. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void extremeLogitsStayFinite(Backend backend) {
        int S = 2, N = 3, C = 4;
        Random rng = new Random(17);
        float[] logits = KernelCheck.gaussian(rng, 2 * S * N * C, 1);
        int[] target = {0, 3, 1};
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++) {
                logits[(s * N + n) * C + target[n]] = -80f;       // keep rows: the target is hopeless
                logits[((S + s) * N + n) * C + target[n]] = 80f;  // drop rows: the target is certain
            }
        try (Device dev = KernelCheck.open(backend)) {
            float[][] got = objective(dev, logits, target, S, N, C, W_SUFF, W_COMP);
            assertFinite("objective loss", got[0]);
            assertFinite("objective d_logits", got[1]);
            double[][] ref = Reference.objective(d(logits), target, S, N, C, W_SUFF, W_COMP);
            assertClose("extreme objective loss", ref[0], got[0], 1e-5, 1e-5);
            assertClose("extreme objective d_logits", ref[1], got[1], 1e-6, 1e-4);

            float[] ce = Arrays.copyOfRange(logits, 0, N * C); // the keep rows of s = 0: target logit -80
            float[][] ceGot = crossEntropy(dev, ce, target, N, C, 1f);
            assertFinite("cross_entropy loss", ceGot[0]);
            assertFinite("cross_entropy d_logits", ceGot[1]);
            double[][] ceRef = Reference.crossEntropy(d(ce), target, N, C, 1);
            assertClose("extreme cross_entropy loss", ceRef[0], ceGot[0], 1e-5, 1e-5);
            assertClose("extreme cross_entropy d_logits", ceRef[1], ceGot[1], 1e-6, 1e-4);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void crossEntropyAndSoftmaxMatchReference(Backend backend, Case c) {
        int B = c.S() * c.N(), C = c.C();
        Random rng = new Random(331 + C * 13L + B);
        float[] logits = KernelCheck.gaussian(rng, B * C, 3);
        int[] labels = KernelCheck.ints(rng, B, C);
        float scale = 1f / B;
        try (Device dev = KernelCheck.open(backend)) {
            float[][] got = crossEntropy(dev, logits, labels, B, C, scale);
            double[][] ref = Reference.crossEntropy(d(logits), labels, B, C, scale);
            assertClose("cross_entropy loss", ref[0], got[0], 1e-5, 1e-5);
            assertClose("cross_entropy d_logits", ref[1], got[1], 1e-6, 1e-4);

            float[] p = softmax(dev, logits, B, C);
            assertClose("softmax", Reference.softmax(d(logits), B, C), p, 1e-6, 1e-5);
            for (int b = 0; b < B; b++) {
                double sum = 0;
                for (int k = 0; k < C; k++) sum += p[b * C + k];
                assertEquals(1.0, sum, 1e-5, "softmax row " + b + " sum");
            }
            assertBitsEqual("softmax rerun", p, softmax(dev, logits, B, C));
        }
    }

    // ---- the reference's gradients by central differences -----------------------------------------

    @Test
    void referenceObjectiveGradientMatchesFiniteDifferences() {
        Random rng = new Random(13);
        int S = 3, N = 2, C = 5;
        double[] logits = d(KernelCheck.gaussian(rng, 2 * S * N * C, 2));
        int[] target = {4, 1};
        double[] analytic = Reference.objective(logits, target, S, N, C, W_SUFF, W_COMP)[1];
        double[] fd = KernelCheck.numericGradient(x -> {
            double[] loss = Reference.objective(x, target, S, N, C, W_SUFF, W_COMP)[0];
            double sum = 0;
            for (int n = 0; n < N; n++) sum += W_SUFF * loss[2 * n] + W_COMP * loss[2 * n + 1];
            return sum;
        }, logits, 1e-5);
        KernelCheck.assertClose("reference objective d_logits vs FD", fd, analytic, 1e-9, 1e-6, null);
    }

    @Test
    void referenceCrossEntropyGradientMatchesFiniteDifferences() {
        Random rng = new Random(14);
        int B = 4, C = 6;
        double scale = 0.37;
        double[] logits = d(KernelCheck.gaussian(rng, B * C, 2));
        int[] labels = {0, 5, 2, 2};
        double[] analytic = Reference.crossEntropy(logits, labels, B, C, scale)[1];
        double[] fd = KernelCheck.numericGradient(x -> {
            double sum = 0;
            for (double v : Reference.crossEntropy(x, labels, B, C, scale)[0]) sum += scale * v;
            return sum;
        }, logits, 1e-5);
        KernelCheck.assertClose("reference cross-entropy d_logits vs FD", fd, analytic, 1e-9, 1e-6, null);
    }

    /** Closed form: with two classes and logits (0, 0), every loss is ln 2. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void uniformLogitsGiveLn2(Backend backend) {
        try (Device dev = KernelCheck.open(backend)) {
            float[][] got = objective(dev, new float[4], new int[] {1}, 1, 1, 2, 1f, 1f);
            assertEquals(Math.log(2), got[0][0], 1e-6);
            assertEquals(Math.log(2), got[0][1], 1e-6);
            // keep row: softmax - onehot = (0.5, -0.5); drop row: softmax - (1, 0) = (-0.5, 0.5)
            assertClose("objective d_logits", new double[] {0.5, -0.5, -0.5, 0.5}, got[1], 1e-7, 0);
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    /** {loss [N,2], d_logits [2,S,N,C]}. */
    static float[][] objective(Device dev, float[] logits, int[] target, int S, int N, int C, float wSuff,
            float wComp) {
        Tensor x = dev.upload(logits, 2, S, N, C), y = dev.upload(target, N);
        Tensor loss = poison(dev, N, 2), dx = poison(dev, 2, S, N, C);
        check(NativeCore.mo_objective(ctx(dev), f(loss), f(dx), f(x), i(y), S, N, C, wSuff, wComp), "objective");
        float[][] out = {loss.toFloatArray(), dx.toFloatArray()};
        closeAll(x, y, loss, dx);
        return out;
    }

    /** {loss [B], d_logits [B,C]}. */
    static float[][] crossEntropy(Device dev, float[] logits, int[] labels, int B, int C, float scale) {
        Tensor x = dev.upload(logits, B, C), y = dev.upload(labels, B);
        Tensor loss = poison(dev, B), dx = poison(dev, B, C);
        check(NativeCore.mo_cross_entropy(ctx(dev), f(loss), f(dx), f(x), i(y), B, C, scale), "cross_entropy");
        float[][] out = {loss.toFloatArray(), dx.toFloatArray()};
        closeAll(x, y, loss, dx);
        return out;
    }

    static float[] softmax(Device dev, float[] logits, int B, int C) {
        Tensor x = dev.upload(logits, B, C), p = poison(dev, B, C);
        check(NativeCore.mo_softmax(ctx(dev), f(p), f(x), B, C), "softmax");
        float[] out = p.toFloatArray();
        closeAll(x, p);
        return out;
    }
}
