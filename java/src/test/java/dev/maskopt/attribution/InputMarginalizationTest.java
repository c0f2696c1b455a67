package dev.maskopt.attribution;

import static dev.maskopt.attribution.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.cnn.CnnClassifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Input marginalization with a unigram candidate distribution, against a direct computation. */
class InputMarginalizationTest {
    private static final List<String> TRAINING = List.of("a great film", "A film", "the film was great",
            "the plot was dull and the acting bland", "a superb cast", "it was a boring film");
    private static Device device;
    private static CnnClassifier model;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = Fixtures.cnn(device, List.of("neg", "pos"), 31);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    @Test
    void unigramCountsWordsAsTheEncoderSplitsThem() {
        UnigramDistribution u = UnigramDistribution.fromTexts(model, TRAINING.subList(0, 3));
        // "a" and "A" have the same id under the lowercasing vocabulary: one word, first seen as "a".
        assertEquals(5, u.size());
        assertEquals(List.of("film", "a", "great", "the", "was"), List.of(u.word(0), u.word(1), u.word(2), u.word(3), u.word(4)));
        assertClose(new double[] {3 / 9.0, 2 / 9.0, 2 / 9.0, 1 / 9.0, 1 / 9.0},
                new double[] {u.probability(0), u.probability(1), u.probability(2), u.probability(3), u.probability(4)},
                1e-15, 0, "relative frequencies");
    }

    @Test
    void weightOfEvidenceMatchesReplacingEachWordByHand() {
        UnigramDistribution u = UnigramDistribution.fromTexts(model, TRAINING);
        int k = 4, target = 1;
        List<String> words = List.of("the", "plot", "was", "great", "and", "his", "acting", "dull");
        Encoding e = model.encodeWords(words);
        double logOddsX = logOdds(pTarget(e, target));
        double mass = 0;
        for (int j = 0; j < k; j++) {
            mass += u.probability(j);
        }
        double[] expected = new double[words.size()];
        for (int i = 0; i < words.size(); i++) {
            double marginal = 0;
            for (int j = 0; j < k; j++) {
                List<String> replaced = new ArrayList<>(words);
                replaced.set(i, u.word(j));
                marginal += u.probability(j) / mass * pTarget(model.encodeWords(replaced), target);
            }
            expected[i] = (logOddsX - logOdds(marginal)) / Math.log(2);
        }
        InputMarginalization im = InputMarginalization.create(u).withCandidates(k);
        assertClose(expected, im.attribute(model, e, target), 1e-5, 1e-4, im.name());
    }

    @Test
    void multiTokenCandidatesAreSplicedAndTooLongOnesLeftOut() {
        LinearModel lin = new LinearModel(device, 0.3, 5);
        int a = lin.token("a", 0.05f, 0.02f), b = lin.token("b", -0.03f, 0.04f), c = lin.token("c", 0.1f, -0.02f),
                d = lin.token("d", -0.04f, -0.06f);
        // Candidates: "c|d|a" (3 tokens, twice as frequent) and "b" (1 token).
        UnigramDistribution u = UnigramDistribution.fromEncodings(List.of(lin.encode(true, "c|d|a", "b", "c|d|a")));
        Encoding e = lin.encode(true, "a|b", "c"); // 4 tokens; the model takes 5
        double p = lin.bias() + lin.contribution(LinearModel.CLS) + lin.contribution(a) + lin.contribution(b)
                + lin.contribution(c);
        double big = lin.contribution(c) + lin.contribution(d) + lin.contribution(a), small = lin.contribution(b);
        // Word 0 ("a|b", 2 tokens): both candidates fit (5 and 3 tokens).
        double p0 = (2 * (p - lin.contribution(a) - lin.contribution(b) + big)
                + (p - lin.contribution(a) - lin.contribution(b) + small)) / 3;
        // Word 1 ("c"): the 3-token candidate would make 6 tokens; only "b" remains, renormalized to q = 1.
        double p1 = p - lin.contribution(c) + small;
        double[] expected = {(logOdds(p) - logOdds(p0)) / Math.log(2), (logOdds(p) - logOdds(p1)) / Math.log(2)};
        assertClose(expected, InputMarginalization.create(u).attribute(lin, e, 1), 1e-5, 1e-4, "spliced candidates");
    }

    private static double pTarget(Encoding e, int target) {
        float[] x = Fixtures.embed(model, e.ids());
        return Fixtures.outputs(model, List.of(x), e.length(), target, Output.PROBABILITY)[0];
    }

    private static double logOdds(double p) {
        return Math.log(p / (1 - p));
    }
}
