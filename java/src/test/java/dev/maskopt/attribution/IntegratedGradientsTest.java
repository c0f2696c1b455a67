package dev.maskopt.attribution;

import static dev.maskopt.attribution.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.cnn.CnnClassifier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Integrated gradients: against a plain Riemann sum of host-built interpolations, and completeness. */
class IntegratedGradientsTest {
    private static Device device;
    private static CnnClassifier model;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = Fixtures.cnn(device, List.of("a", "b", "c"), 5);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    /** IG per word by the textbook sum over nodes, one interpolated input per node, built on the host. */
    private static double[] reference(Encoding e, int target, IntegratedGradients.Rule rule, int steps, Output output) {
        float[] x = Fixtures.embed(model, e.ids()), base = Fixtures.embed(model, e.baselineIds());
        int nodes = rule == IntegratedGradients.Rule.MIDPOINT ? steps : steps + 1, t = e.length(), d = model.embeddingDim();
        List<float[]> rows = new ArrayList<>();
        double[] weight = new double[nodes];
        for (int j = 0; j < nodes; j++) {
            double a = rule == IntegratedGradients.Rule.MIDPOINT ? (j + 0.5) / steps : (double) j / steps;
            weight[j] = rule == IntegratedGradients.Rule.TRAPEZOID && (j == 0 || j == steps) ? 0.5 / steps : 1.0 / steps;
            float[] r = new float[x.length];
            for (int k = 0; k < r.length; k++) {
                r[k] = (float) (base[k] + a * (x[k] - base[k]));
            }
            rows.add(r);
        }
        List<float[]> g = Fixtures.gradients(model, rows, t, target, output);
        double[] tokens = new double[t];
        for (int j = 0; j < nodes; j++) {
            for (int k = 0; k < t * d; k++) {
                tokens[k / d] += weight[j] * (x[k] - base[k]) * g.get(j)[k];
            }
        }
        return Inputs.toWords(e, tokens);
    }

    static Stream<Arguments> rules() {
        return Stream.of(Arguments.of(IntegratedGradients.Rule.MIDPOINT, 1), Arguments.of(IntegratedGradients.Rule.MIDPOINT, 7),
                Arguments.of(IntegratedGradients.Rule.MIDPOINT, 8), Arguments.of(IntegratedGradients.Rule.TRAPEZOID, 1),
                Arguments.of(IntegratedGradients.Rule.TRAPEZOID, 5), Arguments.of(IntegratedGradients.Rule.TRAPEZOID, 6));
    }

    @ParameterizedTest
    @MethodSource("rules")
    void matchesAPlainRiemannSum(IntegratedGradients.Rule rule, int steps) {
        Encoding e = model.encode("the plot was great and his acting dull");
        for (Output output : Output.values()) {
            IntegratedGradients ig = IntegratedGradients.create().withRule(rule).withSteps(steps).withOutput(output);
            double[] expected = reference(e, 1, rule, steps, output);
            double scale = java.util.Arrays.stream(expected).map(Math::abs).max().orElseThrow();
            assertClose(expected, ig.attribute(model, e, 1), 1e-5 * scale, 1e-4, ig.name());
        }
    }

    @Test
    void attributionsAddUpToTheOutputDifference() {
        List<Encoding> texts = List.of(model.encode("a great film with a superb cast"), model.encode("the plot was dull"),
                model.encode("boring"));
        int[] targets = {0, 1, 2};
        for (IntegratedGradients.Rule rule : IntegratedGradients.Rule.values()) {
            for (Output output : Output.values()) {
                IntegratedGradients ig = IntegratedGradients.create().withRule(rule).withSteps(400).withOutput(output);
                List<double[]> a = ig.attribute(model, texts, targets);
                double[] delta = ig.outputDifferences(model, texts, targets);
                for (int k = 0; k < texts.size(); k++) {
                    double gap = Math.abs(Fixtures.sum(a.get(k)) - delta[k]);
                    assertTrue(gap <= 5e-3 * Math.abs(delta[k]) + 1e-5,
                            ig.name() + " text " + k + ": sum " + Fixtures.sum(a.get(k)) + " vs F(x) - F(x') " + delta[k]);
                }
            }
        }
    }

    @Test
    void outputDifferenceIsTheTextMinusItsBaseline() {
        Encoding e = model.encode("a superb and touching film");
        float[] x = Fixtures.embed(model, e.ids()), base = Fixtures.embed(model, e.baselineIds());
        double[] f = Fixtures.outputs(model, List.of(x, base), e.length(), 2, Output.PROBABILITY);
        assertEquals(f[0] - f[1], IntegratedGradients.create().outputDifferences(model, List.of(e), new int[] {2})[0], 1e-7);
    }

    @Test
    void exactOnAModelLinearInItsInputs() {
        LinearModel lin = new LinearModel(device, 0.4, 16);
        int a = lin.token("a", 0.05f, 0.02f), b = lin.token("b", -0.03f, 0.04f), c = lin.token("c", 0.1f, -0.02f);
        Encoding e = lin.encode(true, "a|b", "c", "b");
        double[] share = {lin.contribution(a) + lin.contribution(b), lin.contribution(c), lin.contribution(b)};
        for (IntegratedGradients.Rule rule : IntegratedGradients.Rule.values()) {
            IntegratedGradients ig = IntegratedGradients.create().withRule(rule).withSteps(1);
            assertClose(share, ig.attribute(lin, e, 1), 1e-7, 1e-5, ig.name() + " (the never-masked [CLS] gets nothing)");
            assertEquals(Fixtures.sum(share), ig.outputDifferences(lin, List.of(e), new int[] {1})[0], 1e-6);
        }
    }

    @Test
    void batchedAndChunkedCallsMatchSingleTextCalls() {
        List<Encoding> texts = new ArrayList<>();
        for (int k = 0; k < 9; k++) {
            texts.add(model.encode("the story was " + (k % 2 == 0 ? "riveting" : "tedious") + " and " + "quite ".repeat(3 * k)
                    + "long"));
        }
        int[] targets = {0, 1, 2, 0, 1, 2, 0, 1, 2};
        IntegratedGradients ig = IntegratedGradients.create().withSteps(301); // 151 pairs: several passes per text
        List<double[]> all = ig.attribute(model, texts, targets);
        assertArrayEquals(all.get(4), ig.attribute(model, texts, targets).get(4), "repeats exactly");
        for (int k = 0; k < texts.size(); k++) {
            double[] one = ig.attribute(model, texts.get(k), targets[k]);
            double scale = java.util.Arrays.stream(one).map(Math::abs).max().orElseThrow();
            assertClose(one, all.get(k), 1e-6 * scale, 1e-5, "text " + k);
        }
    }
}
