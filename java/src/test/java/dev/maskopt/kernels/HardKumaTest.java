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

/** HardKuma gates: mo_kuma_sample, mo_kuma_probs, mo_kuma_gate, mo_kuma_regularize, mo_kuma_regularize_rows. */
class HardKumaTest {
    /** (l, r): Bastings et al.'s stretch, and an asymmetric one. */
    static final float[][] STRETCH = {{-0.1f, 1.1f}, {-0.2f, 1.05f}};
    static final double ATOL = 1e-5, RTOL = 1e-4;

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    /**
     * params [2,N,T] = (log a, log b): mostly a, b in [0.22, 4.5], and about one in ten beyond a clamp, where
     * the gradient must vanish: a above 100, b above 100 or below 1e-6. (a at its lower clamp is left to
     * probsStayAccurateForTinyA: the float kernels lose most digits of 1 - u^a there.)
     */
    static float[] randomParams(Random rng, int N, int T) {
        int NT = N * T;
        float[] p = KernelCheck.uniform(rng, 2 * NT, -1.5, 1.5);
        float[] clampedA = {5.5f, 7f}, clampedB = {5.5f, 7f, -15f, -18f};
        for (int j = 0; j < NT; j++) if (rng.nextInt(10) == 0) p[j] = clampedA[rng.nextInt(clampedA.length)];
        for (int j = NT; j < 2 * NT; j++) if (rng.nextInt(10) == 0) p[j] = clampedB[rng.nextInt(clampedB.length)];
        return p;
    }

    // ---- native vs reference -----------------------------------------------------------------------

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sampleMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T();
        Random rng = new Random(131 + sh.T() * 3L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = randomParams(rng, N, T);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : STRETCH) {
                long seed = rng.nextLong(), step = rng.nextInt(1000);
                float[][] got = sample(dev, params, len, S, N, T, h[0], h[1], seed, step);
                Reference.Samples ref = Reference.kumaSample(d(params), len, S, N, T, h[0], h[1], seed, step);
                assertClose("kuma_sample z", ref.z, got[0], ATOL, RTOL);
                assertClose("kuma_sample dz", ref.dz, got[1], ATOL, RTOL, ref.dzSkip());
                assertPaddingZero("kuma_sample z", got[0], len, N, T, 1);
                assertPaddingZero("kuma_sample dz", got[1], len, N, T, 1);
                for (float z : got[0]) assertTrue(z >= 0 && z <= 1, "z outside [0, 1]: " + z);
                float[][] again = sample(dev, params, len, S, N, T, h[0], h[1], seed, step);
                assertBitsEqual("kuma_sample z rerun", got[0], again[0]);
                assertBitsEqual("kuma_sample dz rerun", got[1], again[1]);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void probsAndGateMatchReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(171 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = randomParams(rng, N, T);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : STRETCH) {
                float[][] p = probs(dev, params, len, N, T, h[0], h[1]);
                double[][] ref = Reference.kumaProbs(d(params), len, N, T, h[0], h[1]);
                assertClose("kuma_probs p0", ref[0], p[0], ATOL, RTOL);
                assertClose("kuma_probs p1", ref[1], p[1], ATOL, RTOL);
                assertPaddingZero("kuma_probs p0", p[0], len, N, T, 1);
                assertPaddingZero("kuma_probs p1", p[1], len, N, T, 1);

                float[] z = gate(dev, params, len, N, T, h[0], h[1]);
                boolean[] tie = new boolean[N * T]; // float may break a near tie of the three outcomes otherwise
                for (int j = 0; j < N * T; j++)
                    tie[j] = Reference.kumaGateAmbiguous(params[j], params[N * T + j], h[0], h[1], 1e-5);
                assertClose("kuma_gate", Reference.kumaGate(d(params), len, N, T, h[0], h[1]), z, ATOL, RTOL, tie);
                assertPaddingZero("kuma_gate", z, len, N, T, 1);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeAccumulatesAndMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(191 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = randomParams(rng, N, T);
        float[] init = KernelCheck.gaussian(rng, 2 * N * T, 1);
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : STRETCH) {
                float wL0 = 0.7f, wTrans = 1.3f;
                float[][] got = regularize(dev, init, params, len, N, T, h[0], h[1], wL0, wTrans);
                double[][] ref = Reference.kumaRegularize(d(init), d(params), len, N, T, h[0], h[1], wL0, wTrans);
                assertClose("kuma_regularize reg", ref[0], got[1], ATOL, RTOL);
                assertClose("kuma_regularize d_params", ref[1], got[0], ATOL, RTOL);
                assertPadding("kuma_regularize d_params padding", got[0], init, len, N, T, 1);
                float[][] again = regularize(dev, init, params, len, N, T, h[0], h[1], wL0, wTrans);
                assertBitsEqual("kuma_regularize rerun", got[0], again[0]);
            }
        }
    }

    /** Per-row L0 weights (mixed signs, a zero) against the double reference; padding untouched; reg poisoned. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeRowsMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(291 + sh.T() * 5L + sh.N());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = randomParams(rng, N, T);
        float[] init = KernelCheck.gaussian(rng, 2 * N * T, 1);
        float[] rows = KernelCheck.uniform(rng, N, -2, 30);
        rows[N - 1] = 0f;
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : STRETCH) {
                float wTrans = 0.8f;
                float[][] got = regularizeRows(dev, init, params, len, rows, N, T, h[0], h[1], wTrans);
                double[][] ref = Reference.kumaRegularizeRows(d(init), d(params), len, d(rows), N, T, h[0], h[1],
                        wTrans);
                assertClose("kuma_regularize_rows reg", ref[0], got[1], ATOL, RTOL);
                assertClose("kuma_regularize_rows d_params", ref[1], got[0], ATOL, RTOL);
                assertPadding("kuma_regularize_rows d_params padding", got[0], init, len, N, T, 1);
                float[][] again = regularizeRows(dev, init, params, len, rows, N, T, h[0], h[1], wTrans);
                assertBitsEqual("kuma_regularize_rows rerun", got[0], again[0]);
            }
        }
    }

    /** The same weight in every row gives mo_kuma_regularize's bits (one implementation behind both). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void regularizeRowsWithOneWeightIsRegularize(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T();
        Random rng = new Random(17 + sh.T());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] params = randomParams(rng, N, T);
        float[] init = KernelCheck.gaussian(rng, 2 * N * T, 1);
        float[] rows = new float[N];
        java.util.Arrays.fill(rows, 3.7f);
        try (Device dev = KernelCheck.open(backend)) {
            float[][] a = regularize(dev, init, params, len, N, T, -0.1f, 1.1f, 3.7f, 0.4f);
            float[][] b = regularizeRows(dev, init, params, len, rows, N, T, -0.1f, 1.1f, 0.4f);
            assertBitsEqual("d_params", a[0], b[0]);
            assertBitsEqual("reg", a[1], b[1]);
        }
    }

    @Test
    void referenceRegularizeRowsGradientMatchesFiniteDifferences() {
        Random rng = new Random(19);
        int N = 5, T = 8, NT = N * T;
        int[] len = {1, 8, 4, 2, 7};
        double[] params = d(KernelCheck.uniform(rng, 2 * NT, -2, 2));
        double[] rows = {0.3, 12.0, -1.5, 0.0, 4.0};
        for (float[] h : STRETCH) {
            double wTrans = 0.9;
            double[] analytic = Reference.kumaRegularizeRows(new double[2 * NT], params, len, rows, N, T, h[0], h[1],
                    wTrans)[1];
            double[] fd = KernelCheck.numericGradient(x -> {
                double[] reg = Reference.kumaRegularizeRows(new double[2 * NT], x, len, rows, N, T, h[0], h[1],
                        wTrans)[0];
                double sum = 0;
                for (int n = 0; n < N; n++) sum += rows[n] * reg[2 * n] + wTrans * reg[2 * n + 1];
                return sum;
            }, params, 1e-5);
            KernelCheck.assertClose("reference d reg / d (log a, log b) (rows) vs FD", fd, analytic, 1e-9, 1e-6, null);
        }
    }

    // ---- the reference itself: lgamma, the Kuma mean, and gradients by central differences ----------

    @Test
    void referenceLgammaMatchesKnownValues() {
        assertEquals(0, Reference.lgamma(1), 1e-14);
        assertEquals(0, Reference.lgamma(2), 1e-14);
        assertEquals(0.5 * Math.log(Math.PI), Reference.lgamma(0.5), 1e-14);
        assertEquals(Math.log(362880), Reference.lgamma(10), 1e-12);
        assertEquals(363.73937555556347, Reference.lgamma(101), 1e-10); // ln 100!
        // lgamma(x) = -ln x - gamma x + O(x^2) near 0 (gamma: Euler-Mascheroni)
        assertEquals(-Math.log(1e-6) - 0.5772156649015329e-6, Reference.lgamma(1e-6), 1e-11);
    }

    /** E[K] = b B(1 + 1/a, b) against the integral of the inverse CDF, and two exact cases. */
    @Test
    void referenceKumaMeanMatchesIntegral() {
        assertEquals(0.5, Reference.kumaMean(1, 1), 1e-13);
        assertEquals(2.0 / 3, Reference.kumaMean(2, 1), 1e-13); // b = 1: a / (a + 1)
        assertEquals(0.25, Reference.kumaMean(1, 3), 1e-13);    // a = 1: 1 / (b + 1)
        double[][] ab = {{0.7, 1.3}, {0.3, 4}, {3, 0.4}, {5, 5}};
        for (double[] p : ab) {
            int grid = 200_000;
            double mean = 0;
            for (int k = 0; k < grid; k++) {
                double u = (k + 0.5) / grid;
                mean += Math.pow(1 - Math.pow(1 - u, 1 / p[1]), 1 / p[0]);
            }
            assertEquals(mean / grid, Reference.kumaMean(p[0], p[1]), 1e-5, "a=" + p[0] + " b=" + p[1]);
        }
    }

    @Test
    void referenceSampleGradientsMatchFiniteDifferences() {
        Random rng = new Random(8);
        double hStep = 1e-6;
        int checked = 0;
        for (float[] h : STRETCH) {
            for (int k = 0; k < 600; k++) {
                double u = Reference.uniform(rng.nextLong(), 0, 0, 0, 0);
                // mostly free parameters; some beyond a clamp, where both the analytic and the FD slope are 0
                double loga = rng.nextInt(10) == 0 ? 6 : -2.5 + 5 * rng.nextDouble();
                double logb = rng.nextInt(10) == 0 ? -15 : -2.5 + 5 * rng.nextDouble();
                double[] at = Reference.kumaSample(u, loga, logb, h[0], h[1]);
                if (Math.abs(at[3]) < 1e-4 || Math.abs(at[3] - 1) < 1e-4) continue; // a kink of the clamp
                double fda = (Reference.kumaSample(u, loga + hStep, logb, h[0], h[1])[0]
                        - Reference.kumaSample(u, loga - hStep, logb, h[0], h[1])[0]) / (2 * hStep);
                double fdb = (Reference.kumaSample(u, loga, logb + hStep, h[0], h[1])[0]
                        - Reference.kumaSample(u, loga, logb - hStep, h[0], h[1])[0]) / (2 * hStep);
                String where = " at u=" + u + " loga=" + loga + " logb=" + logb;
                assertEquals(fda, at[1], 1e-7 + 1e-6 * Math.abs(fda), "dz/dlog a" + where);
                assertEquals(fdb, at[2], 1e-7 + 1e-6 * Math.abs(fdb), "dz/dlog b" + where);
                checked++;
            }
        }
        assertTrue(checked > 300, "too few points checked: " + checked);
    }

    @Test
    void referenceRegularizeGradientMatchesFiniteDifferences() {
        Random rng = new Random(9);
        int N = 4, T = 9, NT = N * T;
        int[] len = {1, 9, 4, 2};
        double[] params = d(KernelCheck.uniform(rng, 2 * NT, -2, 2));
        params[3] = 6;        // log a beyond the upper clamp
        params[NT + 10] = -15; // log b beyond the lower clamp
        for (float[] h : STRETCH) {
            double wL0 = 0.7, wTrans = 1.3;
            double[][] at = Reference.kumaRegularize(new double[2 * NT], params, len, N, T, h[0], h[1], wL0, wTrans);
            // the regularizer's p is 1 - P0 of the closed form
            double[] p0 = Reference.kumaProbs(params, len, N, T, h[0], h[1])[0];
            for (int n = 0; n < N; n++) {
                double l0 = 0;
                for (int t = 0; t < len[n]; t++) l0 += 1 - p0[n * T + t];
                assertEquals(l0 / len[n], at[0][2 * n], 1e-12, "reg0 of sequence " + n);
            }
            double[] fd = KernelCheck.numericGradient(x -> {
                double[] reg = Reference.kumaRegularize(new double[2 * NT], x, len, N, T, h[0], h[1], wL0, wTrans)[0];
                double sum = 0;
                for (int n = 0; n < N; n++) sum += wL0 * reg[2 * n] + wTrans * reg[2 * n + 1];
                return sum;
            }, params, 1e-5);
            KernelCheck.assertClose("reference d reg / d (log a, log b) vs FD", fd, at[1], 1e-9, 1e-6, null);
        }
    }

    // ---- closed forms and Monte Carlo -------------------------------------------------------------

    /** HardKuma(a=0.7, b=1.3), l=-0.1, r=1.1: P(z=0) = 0.22202, P(z=1) = 0.02529; and each gate branch. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void closedForms(Backend backend) {
        float loga = (float) Math.log(0.7), logb = (float) Math.log(1.3);
        double[] ref = Reference.kumaProbs(loga, logb, -0.1, 1.1);
        assertEquals(0.22202, ref[0], 1e-5);
        assertEquals(0.02529, ref[1], 1e-5);
        try (Device dev = KernelCheck.open(backend)) {
            float[][] p = probs(dev, new float[] {loga, logb}, new int[] {1}, 1, 1, -0.1f, 1.1f);
            assertEquals(0.22202, p[0][0], 1e-5);
            assertEquals(0.02529, p[1][0], 1e-5);
            // the deterministic gate: 0 when P0 wins, 1 when P1 wins, else E[K] = b B(1 + 1/a, b)
            double[][] ab = {{0.2, 2}, {5, 0.2}, {1, 1}, {2, 1}, {1, 3}};
            double[] want = {0, 1, 0.5, 2.0 / 3, 0.25};
            int K = ab.length;
            float[] params = new float[2 * K];
            for (int k = 0; k < K; k++) {
                params[k] = (float) Math.log(ab[k][0]);
                params[K + k] = (float) Math.log(ab[k][1]);
            }
            float[] z = gate(dev, params, new int[] {K}, 1, K, -0.1f, 1.1f);
            for (int k = 0; k < K; k++) assertEquals(want[k], z[k], 1e-5, "gate at a=" + ab[k][0] + " b=" + ab[k][1]);
        }
    }

    /** 2e5 samples at a=0.7, b=1.3: fractions of z == 0 and z == 1, and the mean of z, within 4 standard errors. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void monteCarloAgreesWithClosedForms(Backend backend) {
        int S = 1000, N = 4, T = 50, NT = N * T;
        float l = -0.1f, r = 1.1f;
        float loga = (float) Math.log(0.7), logb = (float) Math.log(1.3);
        float[] params = new float[2 * NT];
        Arrays.fill(params, 0, NT, loga);
        Arrays.fill(params, NT, 2 * NT, logb);
        int[] len = {T, T, T, T};
        try (Device dev = KernelCheck.open(backend)) {
            float[] z = sample(dev, params, len, S, N, T, l, r, 99, 3)[0];
            int zeros = 0, ones = 0;
            double sum = 0, sumSq = 0;
            for (float v : z) {
                if (v == 0) zeros++;
                if (v == 1) ones++;
                sum += v;
                sumSq += v * (double) v;
            }
            int n = z.length;
            double[] p = Reference.kumaProbs(loga, logb, l, r);
            assertEquals(p[0], zeros / (double) n, 4 * Math.sqrt(p[0] * (1 - p[0]) / n), "fraction of z == 0");
            assertEquals(p[1], ones / (double) n, 4 * Math.sqrt(p[1] * (1 - p[1]) / n), "fraction of z == 1");
            double mean = 0;
            int grid = 1_000_000;
            for (int k = 0; k < grid; k++) mean += Reference.kumaSample((k + 0.5) / grid, loga, logb, l, r)[0];
            mean /= grid;
            double sd = Math.sqrt(sumSq / n - (sum / n) * (sum / n));
            assertEquals(mean, sum / n, 4 * sd / Math.sqrt(n), "mean of z");
        }
    }

    /**
     * For tiny a, 1 - u^a is about a |ln u|: computing it as 1 - exp(a ln u) in float keeps only a few digits
     * (exp rounds to a float next to 1), while -expm1(a ln u) is exact to float precision.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void probsStayAccurateForTinyA(Backend backend) {
        float[] logas = {-15f, (float) Math.log(1e-6), (float) Math.log(1e-5), (float) Math.log(1e-4)};
        float[] logbs = {(float) Math.log(0.277), 0f, (float) Math.log(0.5), (float) Math.log(2)};
        int K = logas.length * logbs.length;
        float[] params = new float[2 * K];
        for (int k = 0; k < K; k++) {
            params[k] = logas[k / logbs.length];
            params[K + k] = logbs[k % logbs.length];
        }
        int[] len = {K};
        try (Device dev = KernelCheck.open(backend)) {
            float[][] p = probs(dev, params, len, 1, K, -0.1f, 1.1f);
            double[][] ref = Reference.kumaProbs(d(params), len, 1, K, -0.1f, 1.1f);
            assertClose("kuma_probs p0 at tiny a", ref[0], p[0], 1e-7, 1e-4);
            assertClose("kuma_probs p1 at tiny a", ref[1], p[1], 1e-7, 1e-4);
            float[][] reg = regularize(dev, new float[2 * K], params, len, 1, K, -0.1f, 1.1f, 1f, 0f);
            double[][] refReg = Reference.kumaRegularize(new double[2 * K], d(params), len, 1, K, -0.1f, 1.1f, 1, 0);
            assertClose("kuma_regularize d_params at tiny a", refReg[1], reg[0], 1e-7, 1e-4);
        }
    }

    /** Parameters +-20 (far beyond both clamps): finite z in [0, 1], zero gradients, finite probabilities. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void saturatedGatesStayFinite(Backend backend) {
        int S = 64, N = 1, T = 8, NT = N * T;
        int[] len = {T};
        float[] params = new float[2 * NT];
        for (int j = 0; j < NT; j++) {
            params[j] = j % 2 == 0 ? 20f : -20f;
            params[NT + j] = (j / 2) % 2 == 0 ? 20f : -20f;
        }
        params[4] = 0.3f; // a free, b pinned at 100 (j = 4) and at 1e-6 (j = 6): dz/dlog a may flow, dz/dlog b not
        params[6] = -0.4f;
        try (Device dev = KernelCheck.open(backend)) {
            for (float[] h : STRETCH) {
                float[][] got = sample(dev, params, len, S, N, T, h[0], h[1], 5, 0);
                assertFinite("kuma_sample z", got[0]);
                assertFinite("kuma_sample dz", got[1]);
                int SNT = S * NT;
                for (int s = 0; s < S; s++)
                    for (int j = 0; j < NT; j++) {
                        int i = s * NT + j;
                        assertTrue(got[0][i] >= 0 && got[0][i] <= 1, "z at " + i);
                        // == rather than assertEquals: -0.0 is a zero gradient too
                        if (j != 4 && j != 6) assertTrue(got[1][i] == 0, "dz/dlog a at " + i + ": " + got[1][i]);
                        assertTrue(got[1][SNT + i] == 0, "dz/dlog b at " + i + ": " + got[1][SNT + i]);
                    }
                Reference.Samples ref = Reference.kumaSample(d(params), len, S, N, T, h[0], h[1], 5, 0);
                assertClose("saturated kuma_sample z", ref.z, got[0], ATOL, RTOL);
                assertClose("saturated kuma_sample dz", ref.dz, got[1], ATOL, RTOL, ref.dzSkip());

                float[][] p = probs(dev, params, len, N, T, h[0], h[1]);
                float[] z = gate(dev, params, len, N, T, h[0], h[1]);
                float[][] reg = regularize(dev, new float[2 * NT], params, len, N, T, h[0], h[1], 1f, 1f);
                assertFinite("kuma_probs p0", p[0]);
                assertFinite("kuma_probs p1", p[1]);
                assertFinite("kuma_gate", z);
                assertFinite("kuma_regularize d", reg[0]);
                assertFinite("kuma_regularize reg", reg[1]);
                double[][] refP = Reference.kumaProbs(d(params), len, N, T, h[0], h[1]);
                assertClose("saturated kuma_probs p0", refP[0], p[0], ATOL, RTOL);
                assertClose("saturated kuma_probs p1", refP[1], p[1], ATOL, RTOL);
                assertClose("saturated kuma_gate", Reference.kumaGate(d(params), len, N, T, h[0], h[1]), z, ATOL, RTOL);
                double[][] refReg = Reference.kumaRegularize(new double[2 * NT], d(params), len, N, T, h[0], h[1],
                        1, 1);
                assertClose("saturated kuma_regularize d", refReg[1], reg[0], ATOL, RTOL);
                assertClose("saturated kuma_regularize reg", refReg[0], reg[1], ATOL, RTOL);
            }
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    /** {z [S,N,T], dz [2,S,N,T]}. */
    static float[][] sample(Device dev, float[] params, int[] len, int S, int N, int T, float l, float r, long seed,
            long step) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N);
        Tensor z = poison(dev, S, N, T), dz = poison(dev, 2, S, N, T);
        check(NativeCore.mo_kuma_sample(ctx(dev), f(z), f(dz), f(p), i(lens), S, N, T, l, r, seed, step),
                "kuma_sample");
        float[][] out = {z.toFloatArray(), dz.toFloatArray()};
        closeAll(p, lens, z, dz);
        return out;
    }

    /** {p0, p1} [N,T]. */
    static float[][] probs(Device dev, float[] params, int[] len, int N, int T, float l, float r) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N);
        Tensor p0 = poison(dev, N, T), p1 = poison(dev, N, T);
        check(NativeCore.mo_kuma_probs(ctx(dev), f(p0), f(p1), f(p), i(lens), N, T, l, r), "kuma_probs");
        float[][] out = {p0.toFloatArray(), p1.toFloatArray()};
        closeAll(p, lens, p0, p1);
        return out;
    }

    static float[] gate(Device dev, float[] params, int[] len, int N, int T, float l, float r) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N), z = poison(dev, N, T);
        check(NativeCore.mo_kuma_gate(ctx(dev), f(z), f(p), i(lens), N, T, l, r), "kuma_gate");
        float[] out = z.toFloatArray();
        closeAll(p, lens, z);
        return out;
    }

    /** {d_params [2,N,T] (init + contribution), reg [N,2]} with the L0 weights per row. */
    static float[][] regularizeRows(Device dev, float[] init, float[] params, int[] len, float[] rows, int N, int T,
            float l, float r, float wTrans) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N), w = dev.upload(rows, N);
        Tensor dp = dev.upload(init, 2, N, T), reg = poison(dev, N, 2);
        check(NativeCore.mo_kuma_regularize_rows(ctx(dev), f(dp), f(reg), f(p), i(lens), f(w), N, T, l, r, wTrans),
                "kuma_regularize_rows");
        float[][] out = {dp.toFloatArray(), reg.toFloatArray()};
        closeAll(p, lens, w, dp, reg);
        return out;
    }

    /** {d_params [2,N,T] (init + contribution), reg [N,2]}. */
    static float[][] regularize(Device dev, float[] init, float[] params, int[] len, int N, int T, float l, float r,
            float wL0, float wTrans) {
        Tensor p = dev.upload(params, 2, N, T), lens = dev.upload(len, N);
        Tensor dp = dev.upload(init, 2, N, T), reg = poison(dev, N, 2);
        check(NativeCore.mo_kuma_regularize(ctx(dev), f(dp), f(reg), f(p), i(lens), N, T, l, r, wL0, wTrans),
                "kuma_regularize");
        float[][] out = {dp.toFloatArray(), reg.toFloatArray()};
        closeAll(p, lens, dp, reg);
        return out;
    }
}
