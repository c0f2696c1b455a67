package dev.maskopt.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.cnn.CnnClassifier;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What every method promises: result shape, target handling, input validation, released memory. */
class AttributorContractTest {
    private static Device device;
    private static CnnClassifier model;
    private static List<Attributor> methods;

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        model = Fixtures.cnn(device, List.of("a", "b", "c"), 7);
        methods = List.of(RandomAttribution.create(), Saliency.create(), InputXGradient.create(),
                IntegratedGradients.create().withSteps(10), Occlusion.create().withWindow(2),
                Lime.create().withSamples(50), ShapleySampling.create().withPermutations(3).withAntithetic(true),
                InputMarginalization.create(UnigramDistribution.fromTexts(model, List.of("a great film", "the dull plot"))));
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    @Test
    void oneFiniteScorePerWordAndPredictionsAsDefaultTargets() {
        List<Encoding> texts = List.of(model.encode("the plot was great"), model.encode("dull"),
                model.encode("a superb and touching film with a stellar cast"));
        int[] predicted = Inputs.targets(model, texts, null);
        for (Attributor m : methods) {
            List<double[]> out = m.attribute(model, texts, null);
            assertEquals(texts.size(), out.size(), m.name());
            for (int k = 0; k < texts.size(); k++) {
                assertEquals(texts.get(k).words().size(), out.get(k).length, m.name() + " text " + k);
                assertTrue(Arrays.stream(out.get(k)).allMatch(Double::isFinite), m.name() + " " + Arrays.toString(out.get(k)));
                assertTrue(Arrays.equals(out.get(k), m.attribute(model, texts.get(k), predicted[k])),
                        m.name() + ": null targets explain the prediction");
            }
        }
    }

    @Test
    void rejectsBadCallsWithClearMessages() {
        Encoding ok = model.encode("a great film");
        Encoding tooLong = model.encode(String.join(" ", Collections.nCopies(41, "film")));
        Encoding noWords = new Encoding(List.of("<pad>"), new int[] {0}, List.of(), new int[] {-1}, new int[] {0});
        for (Attributor m : methods) {
            expect(() -> m.attribute(null, List.of(ok), null), "model must be given", m);
            expect(() -> m.attribute(model, List.of(), null), "no texts", m);
            expect(() -> m.attribute(model, null, null), "no texts", m);
            expect(() -> m.attribute(model, Arrays.asList(ok, null), null), "text 1 is null", m);
            expect(() -> m.attribute(model, (Encoding) null, 0), "text 0 is null", m);
            expect(() -> m.attribute(model, List.of(ok, ok), new int[] {0}), "2 texts but 1 targets", m);
            expect(() -> m.attribute(model, List.of(ok), new int[] {3}), "target 3 of text 0 is not a class index in [0, 3)", m);
            expect(() -> m.attribute(model, List.of(ok), new int[] {-1}), "target -1", m);
            expect(() -> m.attribute(model, List.of(ok, tooLong), null), "text 1 has 41 tokens; the model accepts at most 40", m);
            expect(() -> m.attribute(model, List.of(noWords), null), "text 0 has no maskable word", m);
        }
    }

    @Test
    void rejectsBadSettings() {
        expect(() -> IntegratedGradients.create().withSteps(0), "steps must be positive");
        expect(() -> IntegratedGradients.create().withRule(null), "rule must be given");
        expect(() -> Saliency.create().withOutput(null), "output must be given");
        expect(() -> InputXGradient.create().withReduction(null), "reduction must be given");
        expect(() -> Occlusion.create().withWindow(0), "window must be positive");
        expect(() -> Occlusion.create().withRemoval(null), "removal must be given");
        expect(() -> Lime.create().withSamples(1), "samples must be at least 2");
        expect(() -> Lime.create().withKernelWidth(Double.NaN), "kernelWidth must be positive");
        expect(() -> Lime.create().withRidge(0), "ridge must be positive");
        expect(() -> ShapleySampling.create().withPermutations(0), "permutations must be positive");
        expect(() -> InputMarginalization.create(null), "distribution must be given");
        UnigramDistribution u = UnigramDistribution.fromTexts(model, List.of("a film"));
        expect(() -> InputMarginalization.create(u).withCandidates(0), "candidates must be positive");
        expect(() -> UnigramDistribution.fromTexts(model, List.of()), "no training texts");
        expect(() -> UnigramDistribution.fromTexts(model, Arrays.asList("a", null)), "training text 1 is null");
        expect(() -> UnigramDistribution.fromEncodings(List.of(
                new Encoding(List.of("<pad>"), new int[] {0}, List.of(), new int[] {-1}, new int[] {0}))), "no words");
    }

    @Test
    void releasesAllNativeMemory() {
        List<Encoding> texts = List.of(model.encode("the plot was great"), model.encode("a dull and boring film"));
        for (Attributor m : methods) {
            m.attribute(model, texts, null); // the model grows its own forward buffers once
        }
        int steady = Fixtures.liveTensors(device);
        for (Attributor m : methods) {
            m.attribute(model, texts, null);
            assertEquals(steady, Fixtures.liveTensors(device), m.name() + " leaves tensors open");
        }
    }

    @Test
    void namesCarryTheSettings() {
        assertEquals("occlusion(w=3, DELETE)", Occlusion.create().withWindow(3).withRemoval(Removal.DELETE).name());
        assertEquals("integrated-gradients(20 TRAPEZOID, LOGIT)", IntegratedGradients.create().withSteps(20)
                .withRule(IntegratedGradients.Rule.TRAPEZOID).withOutput(Output.LOGIT).name());
        assertEquals("shapley-sampling(10 antithetic, BASELINE)",
                ShapleySampling.create().withPermutations(10).withAntithetic(true).name());
    }

    private static void expect(Executable call, String fragment, Attributor m) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, m.name() + ": " + fragment);
        assertTrue(e.getMessage().contains(fragment), m.name() + ": message '" + e.getMessage() + "' should mention '"
                + fragment + "'");
    }

    private static void expect(Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, fragment);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
