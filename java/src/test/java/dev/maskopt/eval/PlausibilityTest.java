package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Span;
import dev.maskopt.eval.Plausibility.Averaged;
import dev.maskopt.eval.Plausibility.Ranking;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlausibilityTest {
    private static final double EPS = 1e-12;

    private static boolean[] mask(String bits) {
        boolean[] out = new boolean[bits.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bits.charAt(i) == '1';
        }
        return out;
    }

    private static Span span(int start, int end) {
        return new Span(start, end, "");
    }

    @Test
    void tokenScoresMicroAndMacro() {
        // A: gold 11100010, pred 01110000 -> TP 2, P 2/3, R 2/4, F1 4/7
        // B: no gold, pred 1000 -> P 0, R 0, F1 0 (counted: it has a prediction)
        // C: nothing at all -> left out of the macro average, as in ERASER
        // D: gold 01100, no prediction -> P 0, R 0, F1 0
        List<boolean[]> gold = List.of(mask("11100010"), mask("0000"), mask("000"), mask("01100"));
        List<boolean[]> pred = List.of(mask("01110000"), mask("1000"), mask("000"), mask("00000"));
        Averaged s = Plausibility.tokens(gold, pred);
        // micro: TP 2, predicted 4, gold 6 -> P 1/2, R 1/3, F1 2(1/6)/(5/6) = 0.4
        assertEquals(0.5, s.micro().precision(), EPS);
        assertEquals(1.0 / 3, s.micro().recall(), EPS);
        assertEquals(0.4, s.micro().f1(), EPS);
        // macro over A, B, D: P (2/3)/3 = 2/9, R 0.5/3 = 1/6, F1 (4/7)/3 = 4/21 (mean of F1s, not F1 of means)
        assertEquals(2.0 / 9, s.macro().precision(), EPS);
        assertEquals(1.0 / 6, s.macro().recall(), EPS);
        assertEquals(4.0 / 21, s.macro().f1(), EPS);
        assertEquals(3, s.documents());
    }

    @Test
    void tokenEdgeCases() {
        // everything selected: P = gold share 2/4, R 1, F1 2(1/2)/(3/2) = 2/3
        Averaged all = Plausibility.tokens(List.of(mask("0110")), List.of(mask("1111")));
        assertEquals(0.5, all.micro().precision(), EPS);
        assertEquals(1.0, all.micro().recall(), EPS);
        assertEquals(2.0 / 3, all.micro().f1(), EPS);
        // nothing predicted anywhere: 0 rather than ERASER's division by zero
        Averaged none = Plausibility.tokens(List.of(mask("0110")), List.of(mask("0000")));
        assertEquals(0.0, none.micro().precision(), EPS);
        assertEquals(0.0, none.macro().f1(), EPS);
        // perfect
        Averaged same = Plausibility.tokens(List.of(mask("0110")), List.of(mask("0110")));
        assertEquals(1.0, same.micro().f1(), EPS);
        assertEquals(1.0, same.macro().f1(), EPS);
    }

    @Test
    void iouF1WithTheHalfRule() {
        // A (10 tokens): gold [0,4) and [6,8) (listed twice: counts once); pred 1110001001 -> runs [0,3), [6,7), [9,10)
        //   IOUs 3/4 (TP), 1/2 (TP: >= 0.5), 0 -> TP 2 of 3 predicted, 2 gold
        // B (5 tokens): gold [1,3), no prediction -> TP 0, 1 gold
        // C (4 tokens): no gold, pred 1100 -> one run, TP 0
        List<List<Span>> gold = List.of(List.of(span(0, 4), span(6, 8), span(0, 4)), List.of(span(1, 3)), List.of());
        List<boolean[]> pred = List.of(mask("1110001001"), mask("00000"), mask("1100"));
        Averaged s = Plausibility.iou(gold, pred);
        // micro: P 2/4, R 2/3, F1 2(1/3)/(7/6) = 4/7
        assertEquals(0.5, s.micro().precision(), EPS);
        assertEquals(2.0 / 3, s.micro().recall(), EPS);
        assertEquals(4.0 / 7, s.micro().f1(), EPS);
        // macro: R over documents with gold (A, B) = (1 + 0)/2; P over documents with predictions (A, C) = (2/3 + 0)/2;
        // F1 of the two means = 2(1/3)(1/2)/(5/6) = 0.4
        assertEquals(1.0 / 3, s.macro().precision(), EPS);
        assertEquals(0.5, s.macro().recall(), EPS);
        assertEquals(0.4, s.macro().f1(), EPS);
        assertEquals(2, s.documents());
        // at 0.6 the 1/2 match fails: micro P 1/4, R 1/3, F1 2(1/12)/(7/12) = 2/7
        assertEquals(2.0 / 7, Plausibility.iou(gold, pred, 0.6).micro().f1(), EPS);
    }

    @Test
    void iouOfAdjacentTokensIsOneSpan() {
        // gold [0,2) and [2,4) are two spans; the prediction 1111 is one run [0,4) with IOU 1/2 against each -> TP 1
        Averaged s = Plausibility.iou(List.of(List.of(span(0, 2), span(2, 4))), List.of(mask("1111")));
        assertEquals(1.0, s.micro().precision(), EPS);
        assertEquals(0.5, s.micro().recall(), EPS);
        // an empty gold span (ERASER Movies has some) is still a gold span that nothing matches: R = 1/2
        Averaged withEmpty = Plausibility.iou(List.of(List.of(span(0, 4), span(2, 2))), List.of(mask("1111")));
        assertEquals(1.0, withEmpty.micro().precision(), EPS);
        assertEquals(0.5, withEmpty.micro().recall(), EPS);
        // spans of a gold mask are its runs: 0110 0 11 -> [1,3), [5,7)
        List<Span> runs = Plausibility.spans(mask("0110011"), List.of("a", "b", "c", "d", "e", "f", "g"));
        assertEquals(List.of(new Span(1, 3, "b c"), new Span(5, 7, "f g")), runs);
    }

    @Test
    void rankingMatchesScikitLearn() {
        // doc 1: gold 1010, scores .9 .8 .7 .1. Points (R, P) from the top: (1/2, 1), (1/2, 1/2), (1, 2/3), (1, 1/2)
        //   AUPRC: trapezoids from (0, 1): 1/2 * (1 + 1)/2 + 0 + 1/2 * (1/2 + 2/3)/2 + 0 = 1/2 + 7/24 = 19/24
        //   AP: 1/2 * 1 + 1/2 * 2/3 = 5/6; ROC AUC: 3 of 4 (pos, neg) pairs ordered = 3/4
        // doc 2: gold 1100, scores .5 .5 .5 .1 (a tie across classes): points (1, 2/3), (1, 1/2)
        //   AUPRC: 1 * (1 + 2/3)/2 = 5/6; AP: 1 * 2/3; ROC: pairs (.5,.5) tie 1/2, (.5,.1) 1, twice -> 3/4
        boolean[] g1 = mask("1010"), g2 = mask("1100");
        double[] s1 = {0.9, 0.8, 0.7, 0.1}, s2 = {0.5, 0.5, 0.5, 0.1};
        assertEquals(19.0 / 24, Plausibility.auprc(g1, s1), EPS);
        assertEquals(5.0 / 6, Plausibility.averagePrecision(g1, s1), EPS);
        assertEquals(5.0 / 6, Plausibility.auprc(g2, s2), EPS);
        assertEquals(2.0 / 3, Plausibility.averagePrecision(g2, s2), EPS);
        // doc 3 (no gold token) and doc 4 (all gold) are skipped
        Ranking r = Plausibility.ranking(List.of(g1, g2, mask("000"), mask("11")),
                List.of(s1, s2, new double[] {1, 2, 3}, new double[] {1, 1}));
        assertEquals((19.0 / 24 + 5.0 / 6) / 2, r.auprc(), EPS); // 0.8125
        assertEquals((5.0 / 6 + 2.0 / 3) / 2, r.averagePrecision(), EPS); // 0.75
        assertEquals(0.75, r.rocAuc(), EPS);
        assertEquals(2, r.documents());
        assertEquals(2, r.skipped());
        assertTrue(Double.isNaN(Plausibility.auprc(mask("000"), new double[3])));
        assertTrue(Double.isNaN(Plausibility.averagePrecision(mask("00"), new double[2])));
        assertEquals(1.0, Plausibility.averagePrecision(mask("11"), new double[] {0.3, 0.1}), EPS);
    }

    @Test
    void rankingOfConstantAndPerfectScores() {
        // constant scores: one point (R 1, P = 2/5): AUPRC (1 + 2/5)/2 = 0.7, AP 0.4, ROC 0.5
        boolean[] g = mask("11000");
        double[] flat = new double[5];
        assertEquals(0.7, Plausibility.auprc(g, flat), EPS);
        assertEquals(0.4, Plausibility.averagePrecision(g, flat), EPS);
        assertEquals(0.5, Plausibility.ranking(List.of(g), List.of(flat)).rocAuc(), EPS);
        // perfect ranking: 1 everywhere
        Ranking r = Plausibility.ranking(List.of(g), List.of(new double[] {5, 4, 3, 2, 1}));
        assertEquals(1.0, r.auprc(), EPS);
        assertEquals(1.0, r.averagePrecision(), EPS);
        assertEquals(1.0, r.rocAuc(), EPS);
        // only single-class documents: nothing to average
        assertTrue(Double.isNaN(Plausibility.ranking(List.of(mask("00")), List.of(new double[2])).auprc()));
    }

    @Test
    void rejectsBadInput() {
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.tokens(List.of(mask("01")), List.of(mask("011")))), "document 0");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.tokens(List.of(mask("01")), List.of())), "1 gold rationales but 0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Plausibility.tokens(List.of(), List.of())),
                "no documents");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.iou(List.of(List.of(span(1, 5))), List.of(mask("0110")))), "gold span");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.iou(List.of(List.of(span(1, 2))), List.of(mask("0110")), 0)), "threshold");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.ranking(List.of(mask("01")), List.of(new double[] {0, Double.NaN}))), "finite");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.ranking(List.of(mask("01")), List.of(new double[3]))), "3 entries for 2 tokens");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Plausibility.spans(mask("01"), List.of("a"))), "2 selection entries for 1 words");
    }
}
