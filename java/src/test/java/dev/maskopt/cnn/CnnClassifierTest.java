package dev.maskopt.cnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.Vocabulary;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class CnnClassifierTest {
    @Test
    void encodesWordsAndUnknowns() {
        try (Device d = Device.cpu(); CnnClassifier m = tiny(d)) {
            var e = m.encode("  Great   zzzz film ");
            assertEquals(List.of("Great", "zzzz", "film"), e.tokens());
            assertEquals(m.vocabulary().id("great"), e.ids()[0]);
            assertEquals(1, e.ids()[1], "unknown word");
        }
    }

    @Test
    void trainingLowersTheLossAndSaveLoadRoundTrips() throws IOException {
        try (Device d = Device.cpu(); CnnClassifier m = tiny(d)) {
            List<CnnTrainer.Example> data = PlantedTask.standard().generate(400, 3).stream()
                    .map(e -> new CnnTrainer.Example(e.text(), e.label())).toList();
            double[] losses = CnnTrainer.train(m, data, new CnnTrainer.Options(8, 32, 2e-2, 0, 1), null);
            assertTrue(losses[7] < 0.5 * losses[0], "loss falls: " + java.util.Arrays.toString(losses));
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            m.save(buf);
            List<String> texts = List.of("a great film", "the dull plot", "it was quite boring and messy");
            try (CnnClassifier loaded = CnnClassifier.load(new ByteArrayInputStream(buf.toByteArray()), d)) {
                assertArrayEquals(CnnTrainer.predict(m, texts, 2), CnnTrainer.predict(loaded, texts, 2));
                assertEquals(m.parameterCount(), loaded.parameterCount());
            }
            assertThrows(IOException.class, () -> CnnClassifier.load(new ByteArrayInputStream(new byte[8]), d));
        }
    }

    @Test
    void rejectsInconsistentShapes() {
        try (Device d = Device.cpu()) {
            Vocabulary v = Vocabulary.of(List.of("a"));
            assertThrows(IllegalArgumentException.class,
                    () -> CnnClassifier.create(d, v, new float[5], 4, PlantedTask.LABELS, new int[] {3}, 2, 10, 1));
            assertThrows(IllegalArgumentException.class,
                    () -> CnnClassifier.create(d, v, new float[12], 4, List.of("one"), new int[] {3}, 2, 10, 1));
        }
    }

    private static CnnClassifier tiny(Device d) {
        Vocabulary v = PlantedTask.vocabulary();
        return CnnClassifier.create(d, v, PlantedTask.embeddings(v, 16, 2), 16, PlantedTask.LABELS,
                CnnClassifier.DEFAULT_WIDTHS, 8, 40, 4);
    }
}
