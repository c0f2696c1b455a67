package dev.maskopt.attribution;

import static dev.maskopt.attribution.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.cnn.CnnClassifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Saliency and input x gradient against central finite differences of the model's output, in double. */
class GradientAttributionTest {
    private static final double H = 1e-3;
    private static Device device;
    private static CnnClassifier model;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = Fixtures.cnn(device, List.of("a", "b", "c"), 11);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    /** dF/dx [T*D] by central differences, all perturbed inputs in one forward pass. */
    private static double[] finiteDifferences(Encoding e, int target, Output output) {
        float[] x = Fixtures.embed(model, e.ids());
        int n = x.length, t = e.length();
        List<float[]> rows = new ArrayList<>(2 * n);
        for (int k = 0; k < n; k++) {
            for (int sign : new int[] {1, -1}) {
                float[] r = x.clone();
                r[k] += (float) (sign * H);
                rows.add(r);
            }
        }
        double[] f = Fixtures.outputs(model, rows, t, target, output);
        double[] g = new double[n];
        for (int k = 0; k < n; k++) {
            double step = ((double) (x[k] + (float) H) - (double) (x[k] - (float) H));
            g[k] = (f[2 * k] - f[2 * k + 1]) / step;
        }
        return g;
    }

    @ParameterizedTest
    @EnumSource(Output.class)
    void saliencyAndInputXGradientMatchFiniteDifferences(Output output) {
        // Distinct words: a repeated word ties in max pooling, where the model is not differentiable.
        Encoding e = model.encode("the plot was great and his acting dull");
        int target = 2, d = model.embeddingDim(), words = e.words().size();
        double[] g = finiteDifferences(e, target, output);
        float[] x = Fixtures.embed(model, e.ids());
        double[] l2 = new double[words], mean = new double[words], dot = new double[words];
        for (int w = 0; w < words; w++) {
            for (int k = 0; k < d; k++) {
                double gk = g[w * d + k];
                l2[w] += gk * gk;
                mean[w] += Math.abs(gk) / d;
                dot[w] += x[w * d + k] * gk;
            }
            l2[w] = Math.sqrt(l2[w]);
        }
        Saliency sal = Saliency.create().withOutput(output);
        double scale = java.util.Arrays.stream(l2).max().orElseThrow();
        assertClose(l2, sal.attribute(model, e, target), 1e-3 * scale, 5e-3, "saliency L2 " + output);
        assertClose(mean, sal.withReduction(Reduction.MEAN).attribute(model, e, target), 1e-3 * scale, 5e-3,
                "saliency mean " + output);
        assertClose(dot, InputXGradient.create().withOutput(output).attribute(model, e, target), 1e-3 * scale, 5e-3,
                "input x gradient " + output);
    }

    @Test
    void tokenScoresAreSummedPerWordAndSpecialTokensSkipped() {
        LinearModel lin = new LinearModel(device, 0.3, 16);
        int a = lin.token("a", 0.05f, 0.02f), b = lin.token("b", -0.03f, 0.04f), c = lin.token("c", 0.01f, -0.02f);
        Encoding e = lin.encode(true, "a|b", "c", "b|c|a");
        double norm = Math.sqrt(1 + 0.25);
        // dp/dx_t = u for every token, so |gradient| is the same vector at each token: L2 = |u| per token.
        assertClose(new double[] {2 * norm, norm, 3 * norm}, Saliency.create().attribute(lin, e, 1), 1e-6, 1e-6, "L2");
        assertClose(new double[] {2 * 0.75, 0.75, 3 * 0.75},
                Saliency.create().withReduction(Reduction.MEAN).attribute(lin, e, 0), 1e-6, 1e-6, "mean of |g|");
        // x . dp/dx_t = u . e_t: each word's share of p (and the opposite for class 0).
        double[] share = {lin.contribution(a) + lin.contribution(b), lin.contribution(c),
            lin.contribution(b) + lin.contribution(c) + lin.contribution(a)};
        assertClose(share, InputXGradient.create().attribute(lin, e, 1), 1e-6, 1e-5, "input x gradient, class 1");
        assertClose(java.util.Arrays.stream(share).map(v -> -v).toArray(), InputXGradient.create().attribute(lin, e, 0),
                1e-6, 1e-5, "input x gradient, class 0");
    }

    @Test
    void batchedCallsMatchSingleTextCallsAndRepeat() {
        List<Encoding> texts = new ArrayList<>();
        for (int k = 0; k < 150; k++) { // several passes of 4096 tokens
            texts.add(model.encode("the film was " + (k % 2 == 0 ? "great" : "dull") + " and the story " + "quite ".repeat(k % 30)
                    + "long"));
        }
        int[] targets = new int[texts.size()];
        for (int k = 0; k < targets.length; k++) {
            targets[k] = k % 3;
        }
        for (Attributor m : List.of(Saliency.create(), InputXGradient.create().withOutput(Output.LOGIT))) {
            List<double[]> all = m.attribute(model, texts, targets);
            assertArrayEquals(all.get(0), m.attribute(model, texts, targets).get(0), m.name() + " repeats exactly");
            for (int k : new int[] {0, 37, 149}) {
                assertClose(m.attribute(model, texts.get(k), targets[k]), all.get(k), 1e-6, 1e-4, m.name() + " text " + k);
            }
        }
    }
}
