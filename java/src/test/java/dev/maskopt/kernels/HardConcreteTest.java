package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertFinite;
import static dev.maskopt.kernels.KernelCheck.assertPadding;
import static dev.maskopt.kernels.KernelCheck.assertPaddingZero;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** Hard-concrete gates: mo_hc_sample, mo_hc_gate, mo_hc_prob_open, mo_hc_regularize, mo_hc_regularize_rows. */
class HardConcreteTest {
    /** (beta, l, r): Louizos et al.'s constants, and a colder, asymmetric stretch. */
    static final float[][] HYPER = {{2f / 3, -0.1f, 1.1f}, {0.3f, -0.2f, 1.05f}};
    static final double ATOL = 1e-5, RTOL = 1e-4;

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    // ---- native vs reference -----------------------------------------------------------------------

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sampleMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T();
        Random rng = new Random(31 + sh.T() * 7L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -4, 4);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : HYPER) {
                long seed = rng.nextLong(), step = rng.nextInt(1000);
                float[][] got = sample(dev, logalpha, len, S, N, T, h[0], h[1], h[2], seed, step);
                Reference.Samples ref = Reference.hcSample(d(logalpha), len, S, N, T, h[0], h[1], h[2], seed, step);
                assertClose("hc_sample z", ref.z, got[0], ATOL, RTOL);
                assertClose("hc_sample dz", ref.dz, got[1], ATOL, RTOL, ref.dzSkip());
                assertPaddingZero("hc_sample z", got[0], len, N, T, 1);
                assertPaddingZero("hc_sample dz", got[1], len, N, T, 1);
                for (float z : got[0]) assertTrue(z >= 0 && z <= 1, "z outside [0, 1]: " + z);
                // same seed and step: bit-identical
                float[][] again = sample(dev, logalpha, len, S, N, T, h[0], h[1], h[2], seed, step);
                assertBitsEqual("hc_sample z rerun", got[0], again[0]);
                assertBitsEqual("hc_sample dz rerun", got[1], again[1]);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void gateAndProbOpenMatchReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(57 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -6, 6);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : HYPER) {
                float[] z = gate(dev, logalpha, len, N, T, h[1], h[2]);
                assertClose("hc_gate", Reference.hcGate(d(logalpha), len, N, T, h[1], h[2]), z, ATOL, RTOL);
                assertPaddingZero("hc_gate", z, len, N, T, 1);
                float[] p = probOpen(dev, logalpha, len, N, T, h[0], h[1], h[2]);
                double[] refP = Reference.hcProbOpen(d(logalpha), len, N, T, h[0], h[1], h[2]);
                assertClose("hc_prob_open", refP, p, ATOL, RTOL);
                assertPaddingZero("hc_prob_open", p, len, N, T, 1);
            }
        }
    }

    /** The regularizer adds onto d_logalpha: init + contribution for t < len, padding untouched. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeAccumulatesAndMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(91 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -4, 4);
        float[] init = KernelCheck.gaussian(rng, N * T, 1);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : HYPER) {
                float wL0 = 0.7f, wTrans = 1.3f;
                float[][] got = regularize(dev, init, logalpha, len, N, T, h[0], h[1], h[2], wL0, wTrans);
                double[][] ref = Reference.hcRegularize(d(init), d(logalpha), len, N, T, h[0], h[1], h[2], wL0, wTrans);
                assertClose("hc_regularize reg", ref[0], got[1], ATOL, RTOL);
                assertClose("hc_regularize d_logalpha", ref[1], got[0], ATOL, RTOL);
                assertPadding("hc_regularize d_logalpha padding", got[0], init, len, N, T, 1);
                float[][] again = regularize(dev, init, logalpha, len, N, T, h[0], h[1], h[2], wL0, wTrans);
                assertBitsEqual("hc_regularize rerun", got[0], again[0]);
            }
        }
    }

    /**
     * Per-row L0 weights (mixed signs, a zero): d_logalpha and reg match the double reference, padding keeps its
     * initial values; a reg output poisoned with NaN is fully written.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeRowsMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(191 + sh.T() * 3L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -4, 4);
        float[] init = KernelCheck.gaussian(rng, N * T, 1);
        float[] rows = KernelCheck.uniform(rng, N, -2, 30);
        rows[0] = 0f;
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : HYPER) {
                float wTrans = 0.8f;
                float[][] got = regularizeRows(dev, init, logalpha, len, rows, N, T, h[0], h[1], h[2], wTrans);
                double[][] ref = Reference.hcRegularizeRows(d(init), d(logalpha), len, d(rows), N, T, h[0], h[1], h[2],
                        wTrans);
                assertClose("hc_regularize_rows reg", ref[0], got[1], ATOL, RTOL);
                assertClose("hc_regularize_rows d_logalpha", ref[1], got[0], ATOL, RTOL);
                assertPadding("hc_regularize_rows d_logalpha padding", got[0], init, len, N, T, 1);
                float[][] again = regularizeRows(dev, init, logalpha, len, rows, N, T, h[0], h[1], h[2], wTrans);
                assertBitsEqual("hc_regularize_rows rerun", got[0], again[0]);
            }
        }
    }

    /** The same weight in every row gives mo_hc_regularize's bits (one implementation behind both). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeRowsWithOneWeightIsRegularize(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(7 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] logalpha = KernelCheck.uniform(rng, N * T, -4, 4);
        float[] init = KernelCheck.gaussian(rng, N * T, 1);
        float[] rows = new float[N];
        Arrays.fill(rows, 3.7f);
        try (Device dev = KernelCheck.open(backend)) {
            float[][] a = regularize(dev, init, logalpha, len, N, T, 2f / 3, -0.1f, 1.1f, 3.7f, 0.4f);
            float[][] b = regularizeRows(dev, init, logalpha, len, rows, N, T, 2f / 3, -0.1f, 1.1f, 0.4f);
            assertBitsEqual("d_logalpha", a[0], b[0]);
            assertBitsEqual("reg", a[1], b[1]);
        }
    }

    // ---- the reference's own gradients, by central differences in double ---------------------------

    @Test
    void referenceRegularizeRowsGradientMatchesFiniteDifferences() {
        Random rng = new Random(16);
        int N = 5, T = 8;
        int[] len = {1, 8, 4, 2, 7};
        double[] logalpha = d(KernelCheck.uniform(rng, N * T, -3, 3));
        double[] rows = {0.3, 12.0, -1.5, 0.0, 4.0};
        for (float[] h : HYPER) {
            double wTrans = 0.9;
            double[] zero = new double[N * T];
            double[] analytic = Reference.hcRegularizeRows(zero, logalpha, len, rows, N, T, h[0], h[1], h[2],
                    wTrans)[1];
            double[] fd = KernelCheck.numericGradient(la -> {
                double[] reg = Reference.hcRegularizeRows(zero, la, len, rows, N, T, h[0], h[1], h[2], wTrans)[0];
                double sum = 0;
                for (int n = 0; n < N; n++) sum += rows[n] * reg[2 * n] + wTrans * reg[2 * n + 1];
                return sum;
            }, logalpha, 1e-5);
            KernelCheck.assertClose("reference d reg / d logalpha (rows) vs FD", fd, analytic, 1e-9, 1e-6, null);
        }
    }

    @Test
    void referenceSampleGradientMatchesFiniteDifferences() {
        Random rng = new Random(5);
        double hStep = 1e-6;
        int checked = 0;
        for (float[] h : HYPER) {
            for (int k = 0; k < 400; k++) {
                double u = Reference.uniform(rng.nextLong(), 0, 0, 0, 0);
                double la = -5 + 10 * rng.nextDouble();
                double[] at = Reference.hcSample(u, la, h[0], h[1], h[2]);
                if (Math.abs(at[2]) < 1e-4 || Math.abs(at[2] - 1) < 1e-4) continue; // a kink of the clamp
                double fd = (Reference.hcSample(u, la + hStep, h[0], h[1], h[2])[0]
                        - Reference.hcSample(u, la - hStep, h[0], h[1], h[2])[0]) / (2 * hStep);
                assertEquals(fd, at[1], 1e-8 + 1e-6 * Math.abs(fd), "dz/dlogalpha at u=" + u + " la=" + la);
                checked++;
            }
        }
        assertTrue(checked > 600, "too few points checked: " + checked);
    }

    @Test
    void referenceRegularizeGradientMatchesFiniteDifferences() {
        Random rng = new Random(6);
        int N = 4, T = 9;
        int[] len = {1, 9, 4, 2};
        double[] logalpha = d(KernelCheck.uniform(rng, N * T, -3, 3));
        for (float[] h : HYPER) {
            double wL0 = 0.7, wTrans = 1.3;
            double[] zero = new double[N * T];
            double[] analytic = Reference.hcRegularize(zero, logalpha, len, N, T, h[0], h[1], h[2], wL0, wTrans)[1];
            double[] fd = KernelCheck.numericGradient(la -> {
                double[] reg = Reference.hcRegularize(zero, la, len, N, T, h[0], h[1], h[2], wL0, wTrans)[0];
                double sum = 0;
                for (int n = 0; n < N; n++) sum += wL0 * reg[2 * n] + wTrans * reg[2 * n + 1];
                return sum;
            }, logalpha, 1e-5);
            KernelCheck.assertClose("reference d reg / d logalpha vs FD", fd, analytic, 1e-9, 1e-6, null);
        }
    }

    // ---- closed forms and Monte Carlo -------------------------------------------------------------

    /** P(z != 0) = sigmoid(0.4 - (2/3) ln(0.1/1.1)) = 0.88065 for Louizos et al.'s constants. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void probOpenClosedForm(Backend backend) {
        assertEquals(0.88065, Reference.hcProbOpen(0.4, 2.0 / 3, -0.1, 1.1), 1e-5);
        try (Device dev = KernelCheck.open(backend)) {
            float[] p = probOpen(dev, new float[] {0.4f}, new int[] {1}, 1, 1, 2f / 3, -0.1f, 1.1f);
            assertEquals(0.88065, p[0], 1e-5);
            // the deterministic gate: clamp(sigmoid(0.4) 1.2 - 0.1, 0, 1) = 0.618426
            float[] z = gate(dev, new float[] {0.4f, 10f, -10f}, new int[] {3}, 1, 3, -0.1f, 1.1f);
            assertEquals(1.2 / (1 + Math.exp(-0.4)) - 0.1, z[0], 1e-6);
            assertEquals(1.0f, z[1]);
            assertEquals(0.0f, z[2]);
        }
    }

    /** 2e5 samples at log alpha = 0.4: the fraction of z != 0 and the mean of z, within 4 standard errors. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void monteCarloAgreesWithClosedForms(Backend backend) {
        int S = 1000, N = 4, T = 50;
        float beta = 2f / 3, l = -0.1f, r = 1.1f;
        float[] logalpha = new float[N * T];
        Arrays.fill(logalpha, 0.4f);
        int[] len = {T, T, T, T};
        try (Device dev = KernelCheck.open(backend)) {
            float[] z = sample(dev, logalpha, len, S, N, T, beta, l, r, 2024, 0)[0];
            int open = 0;
            double sum = 0, sumSq = 0;
            for (float v : z) {
                if (v != 0) open++;
                sum += v;
                sumSq += v * (double) v;
            }
            int n = z.length;
            double p = Reference.hcProbOpen(0.4, beta, l, r);
            assertEquals(p, open / (double) n, 4 * Math.sqrt(p * (1 - p) / n), "fraction of z != 0");
            // E[z] by the midpoint rule over the uniform: the sampler is z(u), so E[z] = integral of z(u) du
            double mean = 0;
            int grid = 1_000_000;
            for (int k = 0; k < grid; k++) mean += Reference.hcSample((k + 0.5) / grid, 0.4, beta, l, r)[0];
            mean /= grid;
            double sd = Math.sqrt(sumSq / n - (sum / n) * (sum / n));
            assertEquals(mean, sum / n, 4 * sd / Math.sqrt(n), "mean of z");
        }
    }

    /** log alpha = +-50 pins every sample to 0 or 1 with zero gradient; nothing becomes NaN. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void saturatedGatesStayFinite(Backend backend) {
        int S = 3, N = 2, T = 8;
        int[] len = {T, 5};
        float[] logalpha = new float[N * T];
        for (int j = 0; j < N * T; j++) logalpha[j] = j % 2 == 0 ? 50f : -50f;
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : HYPER) {
                float[][] got = sample(dev, logalpha, len, S, N, T, h[0], h[1], h[2], 77, 1);
                assertFinite("hc_sample z", got[0]);
                assertFinite("hc_sample dz", got[1]);
                for (int s = 0; s < S; s++)
                    for (int n = 0; n < N; n++)
                        for (int t = 0; t < len[n]; t++) {
                            int i = (s * N + n) * T + t;
                            assertEquals(logalpha[n * T + t] > 0 ? 1f : 0f, got[0][i], "saturated z at " + i);
                            assertEquals(0f, got[1][i], "saturated dz at " + i);
                        }
                float[] z = gate(dev, logalpha, len, N, T, h[1], h[2]);
                float[] p = probOpen(dev, logalpha, len, N, T, h[0], h[1], h[2]);
                float[][] reg = regularize(dev, new float[N * T], logalpha, len, N, T, h[0], h[1], h[2], 1f, 1f);
                assertFinite("hc_gate", z);
                assertFinite("hc_prob_open", p);
                assertFinite("hc_regularize d", reg[0]);
                assertFinite("hc_regularize reg", reg[1]);
                assertClose("saturated hc_gate", Reference.hcGate(d(logalpha), len, N, T, h[1], h[2]), z, ATOL, RTOL);
                assertClose("saturated hc_prob_open", Reference.hcProbOpen(d(logalpha), len, N, T, h[0], h[1], h[2]), p,
                        ATOL, RTOL);
                double[][] ref = Reference.hcRegularize(new double[N * T], d(logalpha), len, N, T, h[0], h[1], h[2],
                        1, 1);
                assertClose("saturated hc_regularize d", ref[1], reg[0], ATOL, RTOL);
                assertClose("saturated hc_regularize reg", ref[0], reg[1], ATOL, RTOL);
            }
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    /** {z, dz} [S,N,T]. */
    static float[][] sample(Device dev, float[] logalpha, int[] len, int S, int N, int T, float beta, float l, float r,
            long seed, long step) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N);
        Tensor z = poison(dev, S, N, T), dz = poison(dev, S, N, T);
        check(NativeCore.mo_hc_sample(ctx(dev), f(z), f(dz), f(la), i(lens), S, N, T, beta, l, r, seed, step),
                "hc_sample");
        float[][] out = {z.toFloatArray(), dz.toFloatArray()};
        closeAll(la, lens, z, dz);
        return out;
    }

    static float[] gate(Device dev, float[] logalpha, int[] len, int N, int T, float l, float r) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N), z = poison(dev, N, T);
        check(NativeCore.mo_hc_gate(ctx(dev), f(z), f(la), i(lens), N, T, l, r), "hc_gate");
        float[] out = z.toFloatArray();
        closeAll(la, lens, z);
        return out;
    }

    static float[] probOpen(Device dev, float[] logalpha, int[] len, int N, int T, float beta, float l, float r) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N), p = poison(dev, N, T);
        check(NativeCore.mo_hc_prob_open(ctx(dev), f(p), f(la), i(lens), N, T, beta, l, r), "hc_prob_open");
        float[] out = p.toFloatArray();
        closeAll(la, lens, p);
        return out;
    }

    /** {d_logalpha (init + contribution), reg [N,2]} with the L0 weights per row. */
    static float[][] regularizeRows(Device dev, float[] init, float[] logalpha, int[] len, float[] rows, int N, int T,
            float beta, float l, float r, float wTrans) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N), w = dev.upload(rows, N);
        Tensor dla = dev.upload(init, N, T), reg = poison(dev, N, 2);
        check(NativeCore.mo_hc_regularize_rows(ctx(dev), f(dla), f(reg), f(la), i(lens), f(w), N, T, beta, l, r,
                wTrans), "hc_regularize_rows");
        float[][] out = {dla.toFloatArray(), reg.toFloatArray()};
        closeAll(la, lens, w, dla, reg);
        return out;
    }

    /** {d_logalpha (init + contribution), reg [N,2]}. */
    static float[][] regularize(Device dev, float[] init, float[] logalpha, int[] len, int N, int T, float beta,
            float l, float r, float wL0, float wTrans) {
        Tensor la = dev.upload(logalpha, N, T), lens = dev.upload(len, N);
        Tensor dla = dev.upload(init, N, T), reg = poison(dev, N, 2);
        check(NativeCore.mo_hc_regularize(ctx(dev), f(dla), f(reg), f(la), i(lens), N, T, beta, l, r, wL0, wTrans),
                "hc_regularize");
        float[][] out = {dla.toFloatArray(), reg.toFloatArray()};
        closeAll(la, lens, dla, reg);
        return out;
    }
}
