package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Removal;
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
        List<boolean[]> masks = List.of(new boolean[] {true, true, true, true, true, true},
                new boolean[] {true, false, true, false, true, false}, new boolean[6]);
        for (Removal removal : Removal.values()) {
            float[][] ref = Masking.probabilities(model, enc, masks, removal);
            for (int target = 0; target < 2; target++) {
                double[] p = MaskedModel.of(model, enc, target, removal).probabilities(masks);
                for (int m = 0; m < masks.size(); m++) {
                    assertEquals(ref[m][target], p[m], 0.0, removal + " mask " + m);
                }
            }
            double[][] dist = MaskedModel.distributions(model, enc, masks, removal);
            for (double[] row : dist) {
                assertEquals(1.0, row[0] + row[1], 1e-5);
            }
        }
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
