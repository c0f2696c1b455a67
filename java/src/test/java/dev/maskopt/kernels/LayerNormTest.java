package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertFinite;
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
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_layernorm_forward and mo_layernorm_backward (population variance, eps inside the square root). */
class LayerNormTest {
    record Case(int R, int D, float eps) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "R=%d D=%d eps=%s", R, D, eps);
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1e-5f),   // one element: var 0, y = beta
        new Case(3, 7, 1e-5f),
        new Case(33, 65, 1e-12f),
        new Case(7, 2, 1e-12f),
        new Case(5, 768, 1e-12f), // BERT's width and eps
        new Case(120, 384, 1e-12f),
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    /**
     * Rows with their own scale (e^N(0,1)) and an offset of a few of their standard deviations, so the mean
     * matters; larger offsets only measure the float rounding of the row sum (tinyVarianceStaysFinite covers them).
     */
    static float[] rows(Random rng, int R, int D) {
        float[] x = new float[R * D];
        for (int r = 0; r < R; r++) {
            double scale = Math.exp(rng.nextGaussian()), offset = 2 * scale * rng.nextGaussian();
            for (int d = 0; d < D; d++) x[r * D + d] = (float) (offset + scale * rng.nextGaussian());
        }
        return x;
    }

    static final class Forward {
        float[] y, mean, rstd;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesReference(Backend backend, Case c) {
        int R = c.R(), D = c.D();
        Random rng = new Random(1001 + R * 7L + D);
        float[] x = rows(rng, R, D);
        float[] gamma = KernelCheck.uniform(rng, D, 0.5, 1.5), beta = KernelCheck.gaussian(rng, D, 0.5);
        try (Device dev = KernelCheck.open(backend)) {
            Forward got = forward(dev, x, gamma, beta, R, D, c.eps());
            double[][] ref = Reference.layernormForward(d(x), d(gamma), d(beta), R, D, c.eps());
            assertClose("layernorm y", ref[0], got.y, 1e-5, 1e-4);
            assertClose("layernorm mean", ref[1], got.mean, 1e-5, 1e-5);
            assertClose("layernorm rstd", ref[2], got.rstd, 0, 1e-4);
            Forward again = forward(dev, x, gamma, beta, R, D, c.eps());
            assertBitsEqual("layernorm y rerun", got.y, again.y);
            assertBitsEqual("layernorm mean rerun", got.mean, again.mean);
            assertBitsEqual("layernorm rstd rerun", got.rstd, again.rstd);
        }
    }

    /** The native backward against the reference's, both given the native forward's mean and rstd. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesReference(Backend backend, Case c) {
        int R = c.R(), D = c.D();
        Random rng = new Random(1009 + R * 7L + D);
        float[] x = rows(rng, R, D);
        float[] gamma = KernelCheck.uniform(rng, D, 0.5, 1.5), beta = KernelCheck.gaussian(rng, D, 0.5);
        float[] dy = KernelCheck.gaussian(rng, R * D, 1);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, x, gamma, beta, R, D, c.eps());
            float[] got = backward(dev, dy, x, fw.mean, fw.rstd, gamma, R, D);
            double[] ref = Reference.layernormBackward(d(dy), d(x), d(fw.mean), d(fw.rstd), d(gamma), R, D);
            // dx scales with rstd (rows have sd up to e^2.5 apart): compare each row relative to its rstd
            assertClose("layernorm dx", scaleRows(ref, fw.rstd, D), scaleRows(d(got), fw.rstd, D), 1e-5, 1e-4, null);
            assertBitsEqual("layernorm dx rerun", got, backward(dev, dy, x, fw.mean, fw.rstd, gamma, R, D));
        }
    }

    private static double[] scaleRows(double[] a, float[] rstd, int D) {
        double[] out = new double[a.length];
        for (int k = 0; k < a.length; k++) out[k] = a[k] / rstd[k / D];
        return out;
    }

    /**
     * eps = 1e-12 with rows whose variance is tiny or zero: every output stays finite, rstd <= 1/sqrt(eps), and
     * y stays within gamma sqrt(D) of beta (|xhat| <= sqrt(D) for any row). Rows at zero offset have no
     * cancellation, so there y must also match the reference, where var and eps are of the same size.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void tinyVarianceStaysFinite(Backend backend) {
        int D = 384;
        float eps = 1e-12f;
        double[] offsets = {0, 3.7, -250, 1e4, 0.1};
        double[] noises = {1e-6, 0}; // equal values plus 1e-6 noise, and exactly equal values
        int R = offsets.length * noises.length;
        Random rng = new Random(1013);
        float[] x = new float[R * D];
        for (int r = 0; r < R; r++)
            for (int k = 0; k < D; k++)
                x[r * D + k] = (float) (offsets[r % offsets.length]
                        + noises[r / offsets.length] * rng.nextGaussian());
        float[] gamma = KernelCheck.uniform(rng, D, 0.5, 1.5), beta = KernelCheck.gaussian(rng, D, 0.5);
        float[] dy = KernelCheck.gaussian(rng, R * D, 1);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, x, gamma, beta, R, D, eps);
            assertFinite("layernorm y (tiny variance)", fw.y);
            assertFinite("layernorm mean (tiny variance)", fw.mean);
            assertFinite("layernorm rstd (tiny variance)", fw.rstd);
            double maxRstd = 1 / Math.sqrt(eps);
            for (int r = 0; r < R; r++) {
                if (!(fw.rstd[r] > 0 && fw.rstd[r] <= maxRstd * (1 + 1e-6)))
                    fail("layernorm rstd of row " + r + " is " + fw.rstd[r] + ", want in (0, " + maxRstd + "]");
                for (int k = 0; k < D; k++) {
                    double bound = gamma[k] * Math.sqrt(D) * 1.01 + 1e-6;
                    if (!(Math.abs(fw.y[r * D + k] - beta[k]) <= bound))
                        fail("layernorm y[" + r + "," + k + "] = " + fw.y[r * D + k] + " is beyond gamma sqrt(D) of "
                                + "beta " + beta[k]);
                }
            }
            float[] dx = backward(dev, dy, x, fw.mean, fw.rstd, gamma, R, D);
            assertFinite("layernorm dx (tiny variance)", dx);

            // offset 0 and noise 1e-6: var ~ 1e-12 ~ eps, no cancellation, so the reference applies
            int r0 = 0;
            double[][] ref = Reference.layernormForward(sub(d(x), r0, D), d(gamma), d(beta), 1, D, eps);
            assertClose("layernorm y (offset 0, noise 1e-6)", ref[0], slice(fw.y, r0, D), 1e-5, 1e-4);
            assertClose("layernorm rstd (offset 0, noise 1e-6)", ref[2], new float[] {fw.rstd[r0]}, 0, 1e-4);
            double[] refDx = Reference.layernormBackward(sub(d(dy), r0, D), sub(d(x), r0, D),
                    new double[] {fw.mean[r0]}, new double[] {fw.rstd[r0]}, d(gamma), 1, D);
            // dx ~ rstd ~ 1e6 here
            assertClose("layernorm dx (offset 0, noise 1e-6)", refDx, slice(dx, r0, D), 1e-5 * fw.rstd[r0], 1e-4);
        }
    }

    private static double[] sub(double[] a, int row, int D) {
        double[] out = new double[D];
        System.arraycopy(a, row * D, out, 0, D);
        return out;
    }

    private static float[] slice(float[] a, int row, int D) {
        float[] out = new float[D];
        System.arraycopy(a, row * D, out, 0, D);
        return out;
    }

    /** The reference backward against central differences of W . y(x), eps included. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rng = new Random(41);
        for (int D : new int[] {1, 2, 7}) {
            int R = 3;
            double eps = 1e-3; // large enough to matter in the gradient
            double[] x = d(rows(rng, R, D));
            double[] gamma = d(KernelCheck.uniform(rng, D, 0.5, 1.5)), beta = d(KernelCheck.gaussian(rng, D, 0.5));
            double[] w = d(KernelCheck.gaussian(rng, R * D, 1));
            double[][] at = Reference.layernormForward(x, gamma, beta, R, D, eps);
            double[] analytic = Reference.layernormBackward(w, x, at[1], at[2], gamma, R, D);
            double[] fd = KernelCheck.numericGradient(
                    v -> KernelCheck.dot(w, Reference.layernormForward(v, gamma, beta, R, D, eps)[0]), x, 1e-6);
            KernelCheck.assertClose("reference layernorm backward vs FD, D=" + D, fd, analytic, 1e-7, 1e-6, null);
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op FORWARD = new KernelCheck.Op("layernorm_forward", "R D eps",
            new double[] {3, 5, 1e-5}, "R D", "ctx out mean rstd x gamma beta",
            (x, a) -> NativeCore.mo_layernorm_forward(x.ctx(), x.f("out", x.out), x.f("mean", x.out2),
                    x.f("rstd", x.out3), x.f("x", x.in), x.f("gamma", x.in), x.f("beta", x.in), (long) a[0],
                    (long) a[1], (float) a[2]));
    static final KernelCheck.Op BACKWARD = new KernelCheck.Op("layernorm_backward", "R D", new double[] {3, 5},
            "R D", "ctx out dy x mean rstd gamma",
            (x, a) -> NativeCore.mo_layernorm_backward(x.ctx(), x.f("out", x.out), x.f("dy", x.in), x.f("x", x.in),
                    x.f("mean", x.in), x.f("rstd", x.in), x.f("gamma", x.in), (long) a[0], (long) a[1]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(FORWARD, BACKWARD);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(FORWARD));
        for (double eps : new double[] {0, -1e-5, Double.NaN, Double.POSITIVE_INFINITY})
            bad.add(new KernelCheck.Bad(FORWARD, "eps", eps, null));
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

    static Forward forward(Device dev, float[] x, float[] gamma, float[] beta, int R, int D, float eps) {
        Tensor xt = dev.upload(x, R, D), g = dev.upload(gamma, D), b = dev.upload(beta, D);
        Tensor y = poison(dev, R, D), mean = poison(dev, R), rstd = poison(dev, R);
        check(NativeCore.mo_layernorm_forward(ctx(dev), f(y), f(mean), f(rstd), f(xt), f(g), f(b), R, D, eps),
                "layernorm_forward");
        Forward out = new Forward();
        out.y = y.toFloatArray();
        out.mean = mean.toFloatArray();
        out.rstd = rstd.toFloatArray();
        closeAll(xt, g, b, y, mean, rstd);
        return out;
    }

    static float[] backward(Device dev, float[] dy, float[] x, float[] mean, float[] rstd, float[] gamma, int R,
            int D) {
        Tensor dyt = dev.upload(dy, R, D), xt = dev.upload(x, R, D), m = dev.upload(mean, R);
        Tensor rs = dev.upload(rstd, R), g = dev.upload(gamma, D), dx = poison(dev, R, D);
        check(NativeCore.mo_layernorm_backward(ctx(dev), f(dx), f(dyt), f(xt), f(m), f(rs), f(g), R, D),
                "layernorm_backward");
        float[] result = dx.toFloatArray();
        closeAll(dyt, xt, m, rs, g, dx);
        return result;
    }
}
