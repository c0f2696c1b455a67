package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.eval.Diagnostics.ConfidenceIndication;
import dev.maskopt.eval.Diagnostics.MaskingCurve;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DiagnosticsTest {
    private static final double EPS = 1e-12;

    @Test
    void humanAgreementIsMeanAveragePrecision() {
        // AP 5/6 (see PlausibilityTest), 2/3, an all-rationale instance 1; the instance without rationale is left out
        double map = Diagnostics.humanAgreement(
                List.of(new boolean[] {true, false, true, false}, new boolean[] {true, true, false, false},
                        new boolean[] {false, false}, new boolean[] {true, true}),
                List.of(new double[] {0.9, 0.8, 0.7, 0.1}, new double[] {0.5, 0.5, 0.5, 0.1}, new double[] {1, 2},
                        new double[] {0.2, 0.1}));
        assertEquals((5.0 / 6 + 2.0 / 3 + 1) / 3, map, EPS);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.humanAgreement(
                List.of(new boolean[2]), List.of(new double[2]))), "no instance");
    }

    @Test
    void macroF1AsScikitLearn() {
        // gold 0 0 1 1 2, pred 0 1 1 1 0: F1 per class 2/4, 4/5, 0 -> mean 1.3/3
        assertEquals(1.3 / 3, Diagnostics.macroF1(new int[] {0, 0, 1, 1, 2}, new int[] {0, 1, 1, 1, 0}), EPS);
        // a label only predicted still counts (F1 0): gold 0 0, pred 0 1 -> class 0: 2/3, class 1: 0 -> 1/3
        assertEquals(1.0 / 3, Diagnostics.macroF1(new int[] {0, 0}, new int[] {0, 1}), EPS);
        assertEquals(1.0, Diagnostics.macroF1(new int[] {1, 0}, new int[] {1, 0}), EPS);
    }

    @Test
    void faithfulnessIsTheAreaUnderTheMaskingCurve() {
        // perfect up to 40% masked (F1 1), then everything predicted 0: class 0 F1 = 4/6, class 1 F1 = 0 -> 1/3
        int[] gold = {0, 0, 1, 1};
        List<Integer> asked = new ArrayList<>();
        MaskingCurve c = Diagnostics.faithfulness(gold, k -> {
            asked.add(k);
            return k <= 40 ? gold.clone() : new int[4];
        });
        assertEquals(List.of(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100), asked);
        assertArrayEquals(new int[] {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, c.percents());
        assertEquals(1.0, c.macroF1()[4], EPS);
        assertEquals(1.0 / 3, c.macroF1()[5], EPS);
        // 4 segments at 1 (40) + one from 1 to 1/3 (10 x 2/3 = 20/3) + 5 at 1/3 (50/3) = 63.333
        assertEquals(40 + 20.0 / 3 + 50.0 / 3, c.auc(), 1e-9);
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Diagnostics.faithfulness(gold, k -> new int[3])), "4 gold labels but 3");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.faithfulness(gold, k -> null)),
                "no predictions at 0%");
    }

    @Test
    void confidenceFeaturesReduceOverOtherClasses() {
        // predicted class 0 with saliency [1, 2]; class 1 [0, 1]; class 2 [2, 0]
        // differences: vs 1 [1, 1], vs 2 [-1, 2]; per token max [1, 2], mean [0, 1.5], min [-1, 1] -> sums 3, 1.5, 0
        double[][][] sal = {{{1, 2}, {0, 1}, {2, 0}}};
        double[] f = Diagnostics.confidenceFeatures(sal[0], 0, 0);
        assertArrayEquals(new double[] {3, 1.5, 0}, f, EPS);
        // two classes, predicted class 1: three copies of sum(s_pred - s_other) = (3 - 0.5) + (1 - 0) = 3.5
        assertArrayEquals(new double[] {3.5, 3.5, 3.5},
                Diagnostics.confidenceFeatures(new double[][] {{0.5, 0}, {3, 1}}, 1, 0), EPS);
    }

    @Test
    void confidenceIndicationFitsALinearRelation() {
        // 20 two-class instances whose feature is i (three identical columns: a rank-deficient regression) and whose
        // confidence is 0.5 + 0.02 i: the fit is exact, so every held-out error is 0
        int n = 20;
        double[][][] sal = new double[n][][];
        int[] pred = new int[n];
        double[] conf = new double[n];
        for (int i = 0; i < n; i++) {
            pred[i] = i % 2;
            sal[i] = new double[2][2];
            sal[i][pred[i]][0] = i; // sum(s_pred - s_other) = i
            conf[i] = 0.5 + 0.02 * i;
        }
        for (boolean up : new boolean[] {false, true}) {
            ConfidenceIndication c = Diagnostics.confidenceIndication(sal, pred, conf, 7, up);
            assertEquals(0.0, c.mae(), 1e-9, "upsample " + up);
            assertEquals(0.0, c.maxError(), 1e-9);
        }
    }

    @Test
    void leastSquaresTakesTheMinimumNormSolution() {
        // two identical columns x = 1, 2, 3 and y = 1, 2, 4: centred x -1 0 1, centred y -4/3 -1/3 5/3, so the slope
        // on one column is (4/3 + 5/3)/2 = 3/2; the minimum-norm split gives 3/4 to each column, intercept
        // 7/3 - (3/2) 2 = -2/3 (scikit-learn's LinearRegression agrees, also off the training span)
        double[][] x = {{1, 1}, {2, 2}, {3, 3}};
        LeastSquares fit = LeastSquares.fit(x, new double[] {1, 2, 4}, new int[] {0, 1, 2});
        assertEquals(1.5 * 4 - 2.0 / 3, fit.predict(new double[] {4, 4}), 1e-12);
        assertEquals(0.75 * 2 - 2.0 / 3, fit.predict(new double[] {2, 0}), 1e-12);
        // full rank: y = 1 + 2 a - b exactly
        double[][] z = {{0, 0}, {1, 0}, {0, 1}, {2, 3}};
        LeastSquares exact = LeastSquares.fit(z, new double[] {1, 3, 0, 2}, new int[] {0, 1, 2, 3});
        assertEquals(1 + 2 * 5 - 7, exact.predict(new double[] {5, 7}), 1e-12);
    }

    @Test
    void confidenceIndicationOfTwoInstancesPredictsTheOther() {
        // one instance held out, the other trains an intercept-only model: error |0.6 - 0.9| = 0.3 in every fold
        double[][][] sal = {{{1}, {0}}, {{1}, {0}}};
        ConfidenceIndication c = Diagnostics.confidenceIndication(sal, new int[] {0, 0}, new double[] {0.6, 0.9}, 1, false);
        assertEquals(0.3, c.mae(), 1e-12);
        assertEquals(0.3, c.maxError(), 1e-12);
    }

    @Test
    void confidenceIndicationIsSeeded() {
        int n = 40;
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        double[][][] sal = new double[n][2][5];
        int[] pred = new int[n];
        double[] conf = new double[n];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < 5; t++) {
                sal[i][0][t] = r.nextDouble();
                sal[i][1][t] = r.nextDouble();
            }
            conf[i] = 0.5 + 0.5 * r.nextDouble();
        }
        ConfidenceIndication a = Diagnostics.confidenceIndication(sal, pred, conf, 11, true);
        assertEquals(a, Diagnostics.confidenceIndication(sal, pred, conf, 11, true));
        assertTrue(a.mae() > 0 && a.mae() < 0.5 && a.maxError() >= a.mae(), a.toString());
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.confidenceIndication(
                new double[][][] {{{1}, {0}}}, new int[] {0}, new double[] {0.5}, 1, false)), "at least 2");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.confidenceIndication(
                new double[][][] {{{1}, {0}}, {{1}, {0, 2}}}, new int[] {0, 0}, new double[] {0.5, 0.6}, 1, false)),
                "instance 1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.confidenceIndication(
                new double[][][] {{{1}, {0}}, {{1}, {0}}}, new int[] {0, 2}, new double[] {0.5, 0.6}, 1, false)),
                "predicted class 2");
    }

    @Test
    void consistencyIsSpearmansRho() {
        // ranks of x: 1..5; of y (5 6 7 8 7): 1 2 3.5 5 3.5 -> sum dx dy = 8, sum dx^2 = 10, sum dy^2 = 9.5
        double rho = 8 / Math.sqrt(95); // 0.820783, scipy.stats.spearmanr agrees
        assertEquals(rho, Diagnostics.rationaleConsistency(new double[] {1, 2, 3, 4, 5}, new double[] {5, 6, 7, 8, 7}), EPS);
        assertEquals(rho, Diagnostics.datasetConsistency(new double[] {1, 2, 3, 4, 5}, new double[] {5, 6, 7, 8, 7}), EPS);
        // monotone but not linear: 1; reversed: -1; min-max scaling would change neither
        assertEquals(1.0, Diagnostics.rationaleConsistency(new double[] {0.1, 0.2, 0.3}, new double[] {1, 10, 100}), EPS);
        assertEquals(-1.0, Diagnostics.rationaleConsistency(new double[] {0.1, 0.2, 0.3}, new double[] {3, 2, 1}), EPS);
        assertTrue(Double.isNaN(Diagnostics.rationaleConsistency(new double[] {1, 1, 1}, new double[] {1, 2, 3})));
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Diagnostics.rationaleConsistency(new double[] {1}, new double[] {1})), "at least 2");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Diagnostics.datasetConsistency(new double[] {1, 2}, new double[] {1})), "2 activation distances");
    }

    @Test
    void distances() {
        // |1-1| + |2-0| + |3-4| = 3 over 3 tokens
        assertEquals(1.0, Diagnostics.saliencyDistance(new double[] {1, 2, 3}, new double[] {1, 0, 4}), EPS);
        // layer 0: mean difference (1 + 2)/2 = 1.5; layer 1: (-1 - 1 + 2)/3 = 0 -> mean of magnitudes 0.75
        assertEquals(0.75, Diagnostics.activationDistance(new double[][] {{1, 2}, {0, 0, 3}},
                new double[][] {{0, 0}, {1, 1, 1}}), EPS);
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Diagnostics.saliencyDistance(new double[] {1}, new double[] {1, 2})), "equal length");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Diagnostics.activationDistance(
                new double[][] {{1}}, new double[][] {{1, 2}})), "layer 0");
    }

    @Test
    void scoresRecordCarriesTime() {
        Diagnostics.Scores s = new Diagnostics.Scores(0.5, 60, 0.1, 0.3, Double.NaN, 2.5);
        assertEquals(2.5, s.secondsPerExplanation());
        assertTrue(Double.isNaN(s.datasetConsistency()));
    }
}
