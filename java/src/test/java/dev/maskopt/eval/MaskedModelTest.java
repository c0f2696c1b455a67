package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Removal;
import dev.maskopt.Tensor;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.internal.Masking;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.Vocabulary;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The classifier adapter on an untrained CNN: the same numbers as the shared masking and the explainer. */
class MaskedModelTest {
    private static Device device;
    private static CnnClassifier model;

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
    void picksTheTargetColumnOfTheSharedMasking() {
        Encoding enc = model.encodeWords(List.of("the", "plot", "was", "great", "but", "dull"));
        // complementary and repeated masks share forward passes under BASELINE removal
        List<boolean[]> masks = List.of(new boolean[] {true, true, true, true, true, true},
                new boolean[] {true, false, true, false, true, false}, new boolean[6],
                new boolean[] {false, true, false, true, false, true}, new boolean[] {true, false, true, false, true, false},
                new boolean[] {false, false, true, true, true, false});
        for (Removal removal : Removal.values()) {
            float[][] ref = Masking.probabilities(model, enc, masks, removal);
            for (int target = 0; target < 2; target++) {
                double[] p = MaskedModel.of(model, enc, target, removal).probabilities(masks);
                for (int m = 0; m < masks.size(); m++) {
                    float[] alone = Masking.probabilities(model, enc, List.of(masks.get(m)), removal)[0];
                    assertEquals(ref[m][target], p[m], 1e-6, removal + " mask " + m);
                    assertEquals(alone[target], p[m], 1e-6, removal + " mask " + m + " on its own");
                }
            }
            double[][] dist = MaskedModel.distributions(model, enc, masks, removal);
            for (double[] row : dist) {
                assertEquals(1.0, row[0] + row[1], 1e-5);
            }
        }
    }

    /** Counts the rows of every forward pass. */
    private static final class Counting implements Classifier {
        final Classifier inner;
        long rows;

        Counting(Classifier inner) {
            this.inner = inner;
        }

        @Override public Device device() { return inner.device(); }
        @Override public int embeddingDim() { return inner.embeddingDim(); }
        @Override public List<String> labels() { return inner.labels(); }
        @Override public int maxLength() { return inner.maxLength(); }
        @Override public Encoding encode(String text) { return inner.encode(text); }
        @Override public Encoding encodeWords(List<String> words) { return inner.encodeWords(words); }
        @Override public void embed(Tensor ids, Tensor lengths, Tensor out) { inner.embed(ids, lengths, out); }
        @Override public void backward(Tensor dLogits, Tensor dInputs) { inner.backward(dLogits, dInputs); }
        @Override public void close() {}

        @Override
        public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
            rows += inputs.dim(0);
            inner.forward(inputs, lengths, logits);
        }
    }

    @Test
    void baselineRemovalSharesPassesBetweenComplements() {
        Counting counting = new Counting(model);
        Encoding enc = model.encodeWords(List.of("a", "dull", "film", "with", "great", "acting", "and", "music"));
        double[] scores = {0.1, 0.9, 0.2, 0.3, 0.8, 0.4, 0.0, 0.5};
        // ERASER levels on 8 words: k = 1, 1, 1, 2, 4. The 11 masks (full, then without/only top-k per level)
        // hold 7 distinct ones: full and without/only top-1, top-2, top-4. DELETE runs those 7 rows; BASELINE
        // runs one row pair per {mask, complement}: full, top-1, top-2, top-4, so 8 rows
        Faithfulness.aopc(MaskedModel.of(counting, enc, 0, Removal.BASELINE), scores, Faithfulness.Levels.ERASER);
        assertEquals(8, counting.rows);
        counting.rows = 0;
        Faithfulness.aopc(MaskedModel.of(counting, enc, 0, Removal.DELETE), scores, Faithfulness.Levels.ERASER);
        assertEquals(7, counting.rows);
        // at 10%, 20%, 50% (k = 1, 2, 4) the BASELINE masks pair up the same way: 4 pairs
        counting.rows = 0;
        Faithfulness.aopc(MaskedModel.of(counting, enc, 0, Removal.BASELINE), scores, 0.1, 0.2, 0.5);
        assertEquals(8, counting.rows);
    }

    @Test
    void agreesWithTheExplainersCertificate() {
        Encoding enc = model.encodeWords(List.of("a", "dull", "film", "with", "great", "acting"));
        try (Explainer explainer = Explainer.create(model, ExplainerConfig.builder().optSteps(20).build())) {
            Explanation e = explainer.explainEncoded(List.of(enc), null).get(0);
            Faithfulness.Erasure f = Faithfulness.ofRationale(MaskedModel.of(model, enc, e.target(), Removal.BASELINE),
                    e.rationale());
            assertEquals(e.probabilities()[e.target()], f.full(), 1e-5);
            assertEquals(e.sufficiency(), f.sufficiency(), 1e-5);
            assertEquals(e.comprehensiveness(), f.comprehensiveness(), 1e-5);
        }
    }

    @Test
    void eraserLineFromAClassifierMatchesTheMetrics() {
        List<String> words = List.of("a", "dull", "film", "with", "great", "acting", "and", "music");
        Encoding enc = model.encodeWords(words);
        boolean[] hard = {false, true, false, false, true, false, false, false};
        double[] soft = {0.1, 0.9, 0.2, 0.3, 0.8, 0.4, 0.0, 0.5};
        for (Removal removal : Removal.values()) {
            EraserPrediction p = EraserPrediction.builder("doc", hard).soft(soft)
                    .scoredBy(model, enc, removal, Faithfulness.Levels.ERASER).build();
            double[] full = MaskedModel.distributions(model, enc, List.of(new boolean[] {true, true, true, true, true,
                    true, true, true}), removal)[0];
            int y = full[1] > full[0] ? 1 : 0;
            String label = PlantedTask.LABELS.get(y);
            assertEquals(label, p.classification().orElseThrow());
            MaskedModel m = MaskedModel.of(model, enc, y, removal);
            Faithfulness.Erasure e = Faithfulness.ofRationale(m, hard);
            assertEquals(e.full(), p.classificationScores().get(label), 1e-6);
            assertEquals(e.withoutRationale(), p.comprehensivenessScores().get(label), 1e-6);
            assertEquals(e.rationaleOnly(), p.sufficiencyScores().get(label), 1e-6);
            Faithfulness.Aopc a = Faithfulness.aopc(m, soft, Faithfulness.Levels.ERASER);
            assertEquals(5, p.thresholds().size());
            for (int i = 0; i < 5; i++) {
                EraserPrediction.Threshold t = p.thresholds().get(i);
                assertEquals(a.levels()[i], t.level());
                assertEquals(a.withoutTop()[i], t.comprehensiveness().get(label), 1e-6);
                assertEquals(a.onlyTop()[i], t.sufficiency().get(label), 1e-6);
            }
        }
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("doc", new boolean[3])
                .scoredBy(model, enc, Removal.DELETE, Faithfulness.Levels.ERASER)), "8 words");
    }

    @Test
    void rejectsBadArguments() {
        Encoding enc = model.encodeWords(List.of("a", "film"));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> MaskedModel.of(model, enc, 2, Removal.DELETE)),
                "target 2");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> MaskedModel.of(model, enc, 0, null)), "removal");
        MaskedModel m = MaskedModel.of(model, enc, 0, Removal.DELETE);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Faithfulness.ofRationale(m, new boolean[3])),
                "one value per word");
    }
}
