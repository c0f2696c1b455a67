package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.maskopt.eval.Faithfulness.Aopc;
import dev.maskopt.eval.Faithfulness.Erasure;
import dev.maskopt.eval.Faithfulness.Levels;
import dev.maskopt.eval.Faithfulness.Selection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Faithfulness against an additive fake model whose answers are known by hand:
 * p(kept words) = 0.05 + sum of the kept words' weights, with the weights below (sum 0.85, so p(x) = 0.90).
 */
class FaithfulnessTest {
    private static final double[] W = {0.30, 0.00, 0.20, 0.05, 0.10, 0.00, 0.15, 0.00, 0.05, 0.00};
    // Ranking by score: word 0 (.9), 2 (.8), 4 (.7), 6 (.6), 9 (.5), 8, 3, 5, 1, 7.
    private static final double[] SCORES = {0.9, 0.1, 0.8, 0.3, 0.7, 0.2, 0.6, 0.0, 0.4, 0.5};
    private static final double EPS = 1e-12;

    /** The fake, recording every call's masks. */
    private static final class Additive implements MaskedModel {
        final List<List<boolean[]>> calls = new ArrayList<>();

        @Override
        public double[] probabilities(List<boolean[]> keep) {
            calls.add(keep);
            double[] out = new double[keep.size()];
            for (int m = 0; m < out.length; m++) {
                out[m] = 0.05;
                for (int i = 0; i < W.length; i++) {
                    out[m] += keep.get(m)[i] ? W[i] : 0;
                }
            }
            return out;
        }
    }

    @Test
    void hardRationaleInOneCall() {
        Additive model = new Additive();
        boolean[] r = new boolean[10];
        r[0] = r[2] = true; // weights 0.30 + 0.20
        Erasure e = Faithfulness.ofRationale(model, r);
        // without r: 0.90 - 0.50 = 0.40, comp = 0.50; r only: 0.05 + 0.50 = 0.55, suff = 0.90 - 0.55 = 0.35
        assertEquals(0.90, e.full(), EPS);
        assertEquals(0.40, e.withoutRationale(), EPS);
        assertEquals(0.55, e.rationaleOnly(), EPS);
        assertEquals(0.50, e.comprehensiveness(), EPS);
        assertEquals(0.35, e.sufficiency(), EPS);
        assertEquals(Selection.RATIONALE, e.selection());
        assertEquals(2, e.selected());
        assertEquals(1, model.calls.size(), "one batched call");
        assertEquals(3, model.calls.get(0).size(), "full, without, only");
    }

    @Test
    void emptyAndFullRationales() {
        // nothing selected: comp = 0.90 - 0.90 = 0; suff = 0.90 - 0.05 = 0.85
        Erasure none = Faithfulness.ofRationale(new Additive(), new boolean[10]);
        assertEquals(0.0, none.comprehensiveness(), EPS);
        assertEquals(0.85, none.sufficiency(), EPS);
        assertEquals(0, none.selected());
        // everything selected: comp = 0.90 - 0.05 = 0.85; suff = 0
        boolean[] all = new boolean[10];
        java.util.Arrays.fill(all, true);
        Erasure every = Faithfulness.ofRationale(new Additive(), all);
        assertEquals(0.85, every.comprehensiveness(), EPS);
        assertEquals(0.0, every.sufficiency(), EPS);
    }

    @Test
    void softScoresAtALevelAndAtTheOracleLength() {
        // 20% of 10 words = 2: words 0 and 2, the same as the hard case above
        Erasure top = Faithfulness.ofTopK(new Additive(), SCORES, 0.2);
        assertEquals(Selection.TOP_K, top.selection());
        assertEquals(0.50, top.comprehensiveness(), EPS);
        assertEquals(0.35, top.sufficiency(), EPS);
        // gold has 5 tokens (wherever they are): top-5 = {0, 2, 4, 6, 9}, weight 0.75
        // comp = 0.75; only: 0.05 + 0.75 = 0.80, suff = 0.10
        boolean[] gold = {false, true, true, true, true, true, false, false, false, false};
        Erasure oracle = Faithfulness.ofOracleLength(new Additive(), SCORES, gold);
        assertEquals(Selection.ORACLE_LENGTH, oracle.selection());
        assertEquals(5, oracle.selected());
        assertEquals(0.75, oracle.comprehensiveness(), EPS);
        assertEquals(0.10, oracle.sufficiency(), EPS);
    }

    @Test
    void aopcAtEraserLevels() {
        Additive model = new Additive();
        // ERASER levels on 10 words: k = 1 (1%, raised), 1 (5%: 0.5 rounds up), 1, 2, 5
        // top1 {0}: comp 0.30, suff 0.90 - 0.35 = 0.55; top2 {0,2}: 0.50, 0.35; top5: 0.75, 0.10
        Aopc a = Faithfulness.aopc(model, SCORES, Levels.ERASER);
        assertArrayEquals(new double[] {0.30, 0.30, 0.30, 0.50, 0.75}, a.comprehensivenessPoints(), EPS);
        assertArrayEquals(new double[] {0.55, 0.55, 0.55, 0.35, 0.10}, a.sufficiencyPoints(), EPS);
        assertEquals(2.15 / 5, a.comprehensiveness(), EPS); // 0.43
        assertEquals(2.10 / 5, a.sufficiency(), EPS); // 0.42
        assertEquals(1, model.calls.size());
        assertEquals(11, model.calls.get(0).size(), "1 + 2 x 5 masks");
    }

    @Test
    void aopcAtCustomLevelsAndDatasetAverage() {
        Aopc a = Faithfulness.aopc(new Additive(), SCORES, 0.1, 0.2, 0.5);
        assertEquals((0.30 + 0.50 + 0.75) / 3, a.comprehensiveness(), EPS); // 0.516667
        assertEquals((0.55 + 0.35 + 0.10) / 3, a.sufficiency(), EPS); // 0.333333
        // A second document with every score equal picks prefixes: {0}, {0,1}, {0..4} with weights 0.30, 0.30,
        // 0.65: comp 0.30, 0.30, 0.65 (mean 0.416667); suff 0.55, 0.55, 0.90 - 0.70 = 0.20 (mean 0.433333)
        Aopc flat = Faithfulness.aopc(new Additive(), new double[10], 0.1, 0.2, 0.5);
        assertArrayEquals(new double[] {0.30, 0.30, 0.65}, flat.comprehensivenessPoints(), EPS);
        Aopc mean = Faithfulness.average(List.of(a, flat));
        assertArrayEquals(new double[] {0.30, 0.40, 0.70}, mean.comprehensivenessPoints(), EPS);
        assertEquals((1.55 / 3 + 1.25 / 3) / 2, mean.comprehensiveness(), EPS);
        assertEquals((1.0 / 3 + 1.30 / 3) / 2, mean.sufficiency(), EPS);
    }

    @Test
    void marcLevelsAreFiveToNinetyFive() {
        double[] l = Levels.MARC.fractions();
        assertEquals(19, l.length);
        for (int i = 0; i < l.length; i++) {
            assertEquals(0.05 * (i + 1), l[i], 1e-12);
        }
        assertArrayEquals(new double[] {0.01, 0.05, 0.10, 0.20, 0.50}, Levels.ERASER.fractions());
        // 95% of 10 words rounds to all of them: comp = 0.85 and suff = 0 at the last level
        Aopc a = Faithfulness.aopc(new Additive(), SCORES, Levels.MARC);
        assertEquals(0.85, a.comprehensivenessPoints()[18], EPS);
        assertEquals(0.0, a.sufficiencyPoints()[18], EPS);
    }

    @Test
    void summarizesErasures() {
        boolean[] r = new boolean[10];
        r[0] = true; // comp 0.30, suff 0.55
        Faithfulness.Summary s = Faithfulness.summarize(List.of(Faithfulness.ofRationale(new Additive(), r),
                Faithfulness.ofRationale(new Additive(), new boolean[10]))); // comp 0, suff 0.85
        assertEquals(0.15, s.comprehensiveness(), EPS);
        assertEquals(0.70, s.sufficiency(), EPS);
        assertEquals(2, s.documents());
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.summarize(List.of(
                Faithfulness.ofRationale(new Additive(), r), Faithfulness.ofTopK(new Additive(), SCORES, 0.1)))),
                "cannot average");
    }

    @Test
    void rejectsBadInputAndBadModels() {
        Additive m = new Additive();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.ofRationale(m, new boolean[0])),
                "no words");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Faithfulness.ofTopK(m, new double[] {1, Double.NaN}, 0.5)), "finite");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.ofTopK(m, SCORES, 2)), "[0, 1]");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Faithfulness.ofOracleLength(m, SCORES, new boolean[3])), "3 words");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.aopc(m, SCORES)), "no levels");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.aopc(null, SCORES, 0.1)), "model");
        assertMessage(assertThrows(IllegalStateException.class,
                () -> Faithfulness.ofRationale(keep -> new double[1], new boolean[2])), "1 values for 3 masks");
        assertMessage(assertThrows(IllegalStateException.class,
                () -> Faithfulness.ofRationale(keep -> new double[] {0.5, 1.5, 0.1}, new boolean[2])), "[0, 1]");
    }
}
