package dev.maskopt.attribution;

import static dev.maskopt.attribution.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.internal.Masking;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Occlusion, Shapley sampling and LIME against direct masked forward passes and closed forms. */
class PerturbationAttributionTest {
    private static Device device;
    private static CnnClassifier model;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = Fixtures.cnn(device, List.of("a", "b", "c"), 23);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    /** p_target under a word mask, straight from the shared removal code. */
    private static double[] masked(Encoding e, List<boolean[]> keep, Removal removal, int target) {
        float[][] p = Masking.probabilities(model, e, keep, removal);
        return Arrays.stream(p).mapToDouble(row -> row[target]).toArray();
    }

    @ParameterizedTest
    @EnumSource(Removal.class)
    void occlusionIsTheMeanProbabilityDropOverCoveringWindows(Removal removal) {
        Encoding e = model.encode("the plot was great and his acting dull");
        int words = e.words().size(), target = 1;
        for (int w : new int[] {1, 3, 8, 20}) {
            int span = Math.min(w, words);
            List<boolean[]> masks = new ArrayList<>();
            masks.add(all(words, true));
            for (int s = 0; s + span <= words; s++) {
                boolean[] k = all(words, true);
                Arrays.fill(k, s, s + span, false);
                masks.add(k);
            }
            double[] p = masked(e, masks, removal, target);
            double[] expected = new double[words];
            for (int j = 0; j < words; j++) {
                int covering = 0;
                for (int s = 0; s + span <= words; s++) {
                    if (j >= s && j < s + span) {
                        expected[j] += p[0] - p[1 + s];
                        covering++;
                    }
                }
                expected[j] /= covering;
            }
            Occlusion occ = Occlusion.create().withWindow(w).withRemoval(removal);
            assertClose(expected, occ.attribute(model, e, target), 1e-6, 1e-5, occ.name());
        }
    }

    /** Exact Shapley values of the game v(S) = p_target(only S kept), by enumerating every coalition. */
    private static double[] exactShapley(Encoding e, Removal removal, int target) {
        int n = e.words().size();
        List<boolean[]> masks = new ArrayList<>();
        for (int s = 0; s < 1 << n; s++) {
            boolean[] k = new boolean[n];
            for (int j = 0; j < n; j++) {
                k[j] = (s >> j & 1) == 1;
            }
            masks.add(k);
        }
        double[] v = masked(e, masks, removal, target);
        double[] phi = new double[n];
        for (int s = 0; s < 1 << n; s++) {
            for (int j = 0; j < n; j++) {
                if ((s >> j & 1) == 0) {
                    int size = Integer.bitCount(s);
                    phi[j] += factorial(size) * factorial(n - size - 1) / factorial(n) * (v[s | 1 << j] - v[s]);
                }
            }
        }
        return phi;
    }

    @ParameterizedTest
    @EnumSource(Removal.class)
    void shapleySamplingConvergesToExactShapleyValues(Removal removal) {
        Encoding e = model.encode("a superb but dull");
        int target = 0;
        double[] exact = exactShapley(e, removal, target);
        double range = Arrays.stream(exact).map(Math::abs).max().orElseThrow();
        assertTrue(range > 1e-3, "the test game is not trivial: " + Arrays.toString(exact));
        for (boolean antithetic : new boolean[] {false, true}) {
            ShapleySampling few = ShapleySampling.create().withRemoval(removal).withAntithetic(antithetic)
                    .withPermutations(4).withSeed(3);
            ShapleySampling many = few.withPermutations(4000);
            double[] estimate = many.attribute(model, e, target);
            assertClose(exact, estimate, 0.03 * range, 0, many.name());
            // Efficiency holds for every permutation, so for any number of them.
            assertEquals(Fixtures.sum(exact), Fixtures.sum(few.attribute(model, e, target)), 1e-6, "efficiency");
        }
    }

    @Test
    void shapleyAndLimeAreExactOnAModelLinearInTheMask() {
        LinearModel lin = new LinearModel(device, 0.3, 16);
        int a = lin.token("a", 0.05f, 0.02f), b = lin.token("b", -0.03f, 0.04f), c = lin.token("c", 0.1f, -0.02f),
                d = lin.token("d", -0.04f, -0.06f);
        Encoding e = lin.encode(true, "a|b", "c", "d", "b", "c|d|a", "a");
        double[] share = {lin.contribution(a) + lin.contribution(b), lin.contribution(c), lin.contribution(d),
            lin.contribution(b), lin.contribution(c) + lin.contribution(d) + lin.contribution(a), lin.contribution(a)};
        for (Removal removal : Removal.values()) {
            // An additive game: every marginal gain is the word's own share, whatever the order.
            ShapleySampling shap = ShapleySampling.create().withPermutations(1).withRemoval(removal);
            assertClose(share, shap.attribute(lin, e, 1), 1e-6, 1e-4, shap.name());
            // Probability exactly linear in the mask: the weighted least-squares fit recovers the coefficients.
            Lime lime = Lime.create().withSamples(300).withRidge(1e-9).withRemoval(removal);
            assertClose(share, lime.attribute(lin, e, 1), 1e-5, 1e-4, lime.name());
            double[] negated = Arrays.stream(share).map(v -> -v).toArray();
            assertClose(negated, lime.attribute(lin, e, 0), 1e-5, 1e-4, lime.name() + ", class 0");
        }
        // The default ridge penalty shrinks the coefficients towards 0, as scikit-learn's Ridge(alpha=1) does.
        double[] shrunk = Lime.create().attribute(lin, e, 1);
        for (int j = 0; j < share.length; j++) {
            assertTrue(Math.abs(shrunk[j]) < Math.abs(share[j]), "shrunk " + Arrays.toString(shrunk));
        }
    }

    @Test
    void weightedRidgeSolvesTheNormalEquationsWithAFreeIntercept() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(4);
        int n = 40, p = 5;
        boolean[][] x = new boolean[n][p];
        double[] y = new double[n], w = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < p; j++) {
                x[i][j] = rng.nextBoolean();
            }
            y[i] = rng.nextDouble();
            w[i] = 0.1 + rng.nextDouble();
        }
        double alpha = 0.7;
        // [X 1]^T W [X 1] + diag(alpha, ..., alpha, 0) times (beta, b) = [X 1]^T W y, by Gaussian elimination.
        double[][] m = new double[p + 1][p + 2];
        for (int i = 0; i < n; i++) {
            double[] row = new double[p + 1];
            for (int j = 0; j < p; j++) {
                row[j] = x[i][j] ? 1 : 0;
            }
            row[p] = 1;
            for (int j = 0; j <= p; j++) {
                for (int k = 0; k <= p; k++) {
                    m[j][k] += w[i] * row[j] * row[k];
                }
                m[j][p + 1] += w[i] * row[j] * y[i];
            }
        }
        for (int j = 0; j < p; j++) {
            m[j][j] += alpha;
        }
        for (int col = 0; col <= p; col++) {
            for (int r = col + 1; r <= p; r++) {
                double f = m[r][col] / m[col][col];
                for (int k = col; k <= p + 1; k++) {
                    m[r][k] -= f * m[col][k];
                }
            }
        }
        double[] expected = new double[p + 1];
        for (int r = p; r >= 0; r--) {
            double s = m[r][p + 1];
            for (int k = r + 1; k <= p; k++) {
                s -= m[r][k] * expected[k];
            }
            expected[r] = s / m[r][r];
        }
        assertClose(expected, WeightedRidge.fit(x, y, w, alpha), 1e-12, 1e-10, "coefficients, then intercept");
    }

    @Test
    void sameSeedSameScoresAndOtherSeedsDiffer() {
        List<Encoding> texts = List.of(model.encode("the plot was great and his acting dull"),
                model.encode("a riveting film"));
        int[] targets = {0, 2};
        for (Attributor m : List.of(Lime.create().withSamples(200).withSeed(9),
                ShapleySampling.create().withPermutations(6).withSeed(9), RandomAttribution.create().withSeed(9))) {
            List<double[]> x = m.attribute(model, texts, targets), again = m.attribute(model, texts, targets);
            for (int k = 0; k < texts.size(); k++) {
                assertArrayEquals(x.get(k), again.get(k), m.name() + " text " + k);
            }
            // A text's scores do not depend on the other texts of the call.
            assertArrayEquals(x.get(1), m.attribute(model, texts.get(1), targets[1]), m.name() + " alone");
        }
        assertFalse(Arrays.equals(Lime.create().withSamples(200).withSeed(1).attribute(model, texts.get(0), 0),
                Lime.create().withSamples(200).withSeed(2).attribute(model, texts.get(0), 0)));
        assertFalse(Arrays.equals(ShapleySampling.create().withPermutations(3).withSeed(1).attribute(model, texts.get(0), 0),
                ShapleySampling.create().withPermutations(3).withSeed(2).attribute(model, texts.get(0), 0)));
        double[] r = RandomAttribution.create().attribute(model, texts.get(0), 0);
        assertTrue(Arrays.stream(r).allMatch(v -> v >= 0 && v < 1), Arrays.toString(r));
    }

    private static boolean[] all(int n, boolean value) {
        boolean[] out = new boolean[n];
        Arrays.fill(out, value);
        return out;
    }

    private static double factorial(int n) {
        double f = 1;
        for (int k = 2; k <= n; k++) {
            f *= k;
        }
        return f;
    }
}
