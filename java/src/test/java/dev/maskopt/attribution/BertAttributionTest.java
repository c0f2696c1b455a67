package dev.maskopt.attribution;

import static dev.maskopt.attribution.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.bert.BertClassifier;
import dev.maskopt.bert.MiniLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The methods on a word-piece model with special tokens: the default MiniLM sentiment classifier. */
class BertAttributionTest {
    private static Device device;
    private static BertClassifier model;
    private static Encoding text;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = MiniLm.sentiment(device);
        text = model.encode("an unflinchingly bleak and desperate film");
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    @Test
    void theTextHasWordPiecesAndSpecialTokens() {
        assertTrue(text.length() > text.words().size() + 2, "word pieces: " + text.tokens());
        assertEquals(-1, text.wordOfToken()[0], "[CLS] is never masked");
    }

    @Test
    void inputXGradientIsTheDerivativeOfScalingEachWord() {
        // Scaling the embeddings of word w by (1 + h) moves F by h * sum over its tokens of x . dF/dx.
        double h = 1e-2;
        float[] x = Fixtures.embed(model, text.ids());
        int d = model.embeddingDim(), words = text.words().size();
        int[] wordOf = text.wordOfToken();
        List<float[]> rows = new ArrayList<>();
        for (int w = 0; w < words; w++) {
            for (double s : new double[] {1 + h, 1 - h}) {
                float[] r = x.clone();
                for (int k = 0; k < r.length; k++) {
                    if (wordOf[k / d] == w) {
                        r[k] = (float) (x[k] * s);
                    }
                }
                rows.add(r);
            }
        }
        double[] f = Fixtures.outputs(model, rows, text.length(), 1, Output.PROBABILITY);
        double[] expected = new double[words];
        for (int w = 0; w < words; w++) {
            expected[w] = (f[2 * w] - f[2 * w + 1]) / (2 * h);
        }
        double scale = Arrays.stream(expected).map(Math::abs).max().orElseThrow();
        assertClose(expected, InputXGradient.create().attribute(model, text, 1), 1e-3 * scale, 1e-2, "input x gradient");
    }

    @Test
    void integratedGradientsAreComplete() {
        IntegratedGradients ig = IntegratedGradients.create().withSteps(64);
        double sum = Fixtures.sum(ig.attribute(model, text, 1));
        double delta = ig.outputDifferences(model, List.of(text), new int[] {1})[0];
        assertEquals(delta, sum, 0.02 * Math.abs(delta) + 1e-4, "sum of IG vs F(x) - F(x')");
    }

    @Test
    void everyMethodScoresEachWord() {
        UnigramDistribution u = UnigramDistribution.fromTexts(model, List.of("a gripping and moving film",
                "the plot is thin", "unflinchingly honest"));
        for (Attributor m : List.of(Saliency.create(), Occlusion.create(), Lime.create().withSamples(64),
                ShapleySampling.create().withPermutations(4), InputMarginalization.create(u).withCandidates(3))) {
            double[] s = m.attribute(model, text, 0);
            assertEquals(text.words().size(), s.length, m.name());
            assertTrue(Arrays.stream(s).allMatch(Double::isFinite), m.name() + " " + Arrays.toString(s));
        }
    }
}
