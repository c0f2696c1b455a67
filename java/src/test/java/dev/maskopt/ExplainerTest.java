package dev.maskopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.Vocabulary;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The explainer's contract on an untrained CNN: determinism, result shape, input validation, memory. */
class ExplainerTest {
    private static Device device;
    private static CnnClassifier model;
    private static final ExplainerConfig FAST = ExplainerConfig.builder().optSteps(20).build();

    @BeforeAll
    static void setUp() {
        device = Device.cpu();
        Vocabulary vocab = PlantedTask.vocabulary();
        model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, 16, 3), 16, PlantedTask.LABELS,
                CnnClassifier.DEFAULT_WIDTHS, 8, 40, 5);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    @Test
    void sameSeedGivesIdenticalExplanations() {
        for (Gate gate : Gate.values()) {
            ExplainerConfig cfg = FAST.toBuilder().optGate(gate).optSeed(11).build();
            List<String> texts = List.of("the plot was great and the acting superb", "a dull film", "boring");
            try (Explainer a = Explainer.create(model, cfg); Explainer b = Explainer.create(model, cfg)) {
                List<Explanation> x = a.explain(texts), y = b.explain(texts);
                for (int k = 0; k < texts.size(); k++) {
                    assertArrayEquals(x.get(k).gates(), y.get(k).gates(), gate + " gates of text " + k);
                    assertArrayEquals(x.get(k).keepProbabilities(), y.get(k).keepProbabilities());
                    assertArrayEquals(x.get(k).rationale(), y.get(k).rationale());
                    assertEquals(x.get(k).trace(), y.get(k).trace());
                }
            }
        }
    }

    @Test
    void explanationDescribesEveryTokenAndItsCertificate() {
        try (Explainer explainer = Explainer.create(model, FAST)) {
            Explanation e = explainer.explain("the movie was not very dull at all");
            assertEquals(8, e.words().size());
            assertEquals(8, e.gates().length);
            assertEquals(FAST.steps(), e.trace().size());
            for (double g : e.gates()) {
                assertTrue(g >= 0 && g <= 1, "gate in [0,1]: " + g);
            }
            for (double p : e.keepProbabilities()) {
                assertTrue(p >= 0 && p <= 1, "probability in [0,1]: " + p);
            }
            assertEquals(1.0, Arrays.stream(e.probabilities()).sum(), 1e-5);
            assertEquals(e.predicted(), e.target());
            int inSpans = e.spans().stream().mapToInt(s -> s.end() - s.start()).sum();
            assertEquals(e.rationaleSize(), inSpans);
            assertTrue(Double.isFinite(e.sufficiency()) && Double.isFinite(e.comprehensiveness()));
            for (Explanation.Step step : e.trace()) {
                assertTrue(Double.isFinite(step.objective()), "finite objective");
            }
        }
    }

    @Test
    void explainsAGivenTarget() {
        try (Explainer explainer = Explainer.create(model, FAST)) {
            List<Explanation> out = explainer.explain(List.of("great film", "dull film"), new int[] {0, 1});
            assertEquals(0, out.get(0).target());
            assertEquals(1, out.get(1).target());
        }
    }

    @Test
    void rejectsBadInputWithClearMessages() {
        try (Explainer explainer = Explainer.create(model, FAST)) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> explainer.explain("")), "empty");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> explainer.explain("   ")), "empty");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> explainer.explain(List.of())), "no texts");
            String tooLong = String.join(" ", java.util.Collections.nCopies(41, "film"));
            assertMessage(assertThrows(IllegalArgumentException.class, () -> explainer.explain(tooLong)), "at most 40");
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> explainer.explain(List.of("a film"), new int[] {2})), "target 2");
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> explainer.explain(List.of("a film", "b"), new int[] {0})), "2 texts but 1 targets");
        }
        Explainer closed = Explainer.create(model, FAST);
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.explain("a film"));
    }

    @Test
    void rejectsNonFiniteEmbeddings() {
        Vocabulary vocab = Vocabulary.of(List.of("good", "bad"));
        float[] table = new float[vocab.size() * 4];
        table[vocab.id("bad") * 4 + 2] = Float.NaN;
        try (CnnClassifier broken = CnnClassifier.create(device, vocab, table, 4, PlantedTask.LABELS, new int[] {2}, 3,
                10, 1); Explainer explainer = Explainer.create(broken, FAST)) {
            explainer.explain("good good");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> explainer.explain("good bad")), "NaN");
        }
    }

    @Test
    void rejectsBadConfiguration() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ExplainerConfig.builder().optSteps(0).build()),
                "steps");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> ExplainerConfig.builder().optStretch(0.1, 1.1).build()), "stretch");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> ExplainerConfig.builder().optLearningRate(Double.NaN).build()), "learningRate");
    }

    @Test
    void releasesAllNativeMemoryAfterEachCall() {
        int before = device.liveTensors();
        try (Explainer explainer = Explainer.create(model, FAST)) {
            for (int k = 0; k < 5; k++) {
                explainer.explain(List.of("a great film", "the plot was dull"));
            }
        }
        // The model keeps its own forward buffers (allocated once); nothing else stays.
        assertTrue(device.liveTensors() <= before + 2, "tensors left: " + (device.liveTensors() - before));
        int steady = device.liveTensors();
        try (Explainer explainer = Explainer.create(model, FAST)) {
            explainer.explain(List.of("a great film", "the plot was dull"));
        }
        assertEquals(steady, device.liveTensors());
    }

    private static void assertMessage(Exception e, String fragment) {
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
