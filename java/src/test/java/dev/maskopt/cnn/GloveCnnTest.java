package dev.maskopt.cnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Batch;
import dev.maskopt.text.GloVe;
import dev.maskopt.text.Vocabulary;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vocabulary, unknown words and the table-free model file, on a GloVe file written here. */
class GloveCnnTest {
    private static final List<String> WORDS = List.of("the", "film", "was", "great", "dull", "plot", "acting", "a");
    private static final List<String> TEXTS = List.of("The film was great", "a dull plot , n't it ?",
            "acting was GREAT but the plot -- dull");

    @Test
    void vocabularyKeepsTheCoveredWordsAndUnknownsShareOneVector() throws IOException {
        GloVe glove = glove(WORDS, 0f);
        Vocabulary v = GloveCnn.vocabulary(glove, Vocabulary.tokenize(String.join(" ", TEXTS)));
        assertEquals(List.of(Vocabulary.PAD, Vocabulary.UNK, "the", "film", "was", "great", "a", "dull", "plot",
                "acting"), v.words(), "covered words, normalized, in order of first appearance");
        assertEquals(1, v.id("n't"));
        assertEquals(1, v.id("--"));
        float[] unk = GloveCnn.unknownVector(glove, v, 7);
        assertArrayEquals(unk, GloveCnn.unknownVector(glove, v, 7), "reproducible from the seed");
        assertNotEquals(unk[0], GloveCnn.unknownVector(glove, v, 8)[0]);
        float[] table = GloveCnn.table(glove, v, unk);
        assertEquals(v.size() * 4, table.length);
        assertArrayEquals(new float[4], java.util.Arrays.copyOfRange(table, 0, 4), "<pad> is the zero vector");
        assertArrayEquals(unk, java.util.Arrays.copyOfRange(table, 4, 8));
        int id = v.id("plot");
        assertArrayEquals(glove.vector("plot"), java.util.Arrays.copyOfRange(table, id * 4, id * 4 + 4));
        for (int d = 0; d < 4; d++) { // within the spread of the GloVe values (uniform in [-1, 1) here)
            assertTrue(Math.abs(unk[d]) < Math.sqrt(3) * 0.75, "unknown vector " + unk[d]);
        }
        assertThrows(IllegalArgumentException.class, () -> GloveCnn.table(glove, Vocabulary.of(List.of("zzz")), unk));
        assertThrows(IllegalArgumentException.class, () -> GloveCnn.table(glove, v, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> GloveCnn.unknownVector(glove, Vocabulary.of(List.of()), 1));
    }

    @Test
    void saveLoadRoundTripGivesIdenticalLogitsWithoutStoringTheTable(@TempDir Path dir) throws IOException {
        GloVe glove = glove(WORDS, 0f);
        Vocabulary v = GloveCnn.vocabulary(glove, Vocabulary.tokenize(String.join(" ", TEXTS)));
        try (Device d = Device.cpu();
                CnnClassifier m = GloveCnn.create(d, glove, v, MoviesCnn.LABELS, new int[] {2, 3}, 5, 64, 3)) {
            List<CnnTrainer.Example> data = List.of(new CnnTrainer.Example(TEXTS.get(0), 1),
                    new CnnTrainer.Example(TEXTS.get(1), 0), new CnnTrainer.Example(TEXTS.get(2), 1));
            CnnTrainer.train(m, data, new CnnTrainer.Options(3, 2, 1e-2, 0, 1), null);
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            GloveCnn.save(m, buf);
            byte[] bytes = buf.toByteArray();
            // Header, vocabulary, unknown vector, digest and weights: far less than with the table.
            assertTrue(bytes.length < 4 * m.parameterCount() + 400, bytes.length + " bytes");
            try (CnnClassifier loaded = GloveCnn.load(new ByteArrayInputStream(bytes), glove, d)) {
                assertArrayEquals(logits(m), logits(loaded));
                assertEquals(v.words(), loaded.vocabulary().words());
                assertArrayEquals(m.widths(), loaded.widths());
                assertEquals(m.maxLength(), loaded.maxLength());
            }
            Path modelFile = dir.resolve("m.bin"), gloveFile = dir.resolve("g.txt");
            GloveCnn.save(m, modelFile);
            writeGlove(gloveFile, WORDS, 0f, List.of("unrelated", "words"));
            try (CnnClassifier loaded = GloveCnn.load(modelFile, gloveFile, d)) {
                assertArrayEquals(logits(m), logits(loaded));
            }

            IOException e = assertThrows(IOException.class,
                    () -> GloveCnn.load(new ByteArrayInputStream(bytes), glove(WORDS, 1e-6f), d));
            assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
            e = assertThrows(IOException.class,
                    () -> GloveCnn.load(new ByteArrayInputStream(bytes), glove(WORDS.subList(0, 5), 0f), d));
            assertTrue(e.getMessage().contains("'a'"), e.getMessage());
            assertThrows(IOException.class, () -> GloveCnn.load(new ByteArrayInputStream(new byte[64]), glove, d));
            assertThrows(IOException.class, () -> GloveCnn.load(
                    new ByteArrayInputStream(java.util.Arrays.copyOf(bytes, bytes.length - 5)), glove, d));
        }
    }

    @Test
    void trainingWithValidationKeepsTheBestEpochsWeights() throws IOException {
        GloVe glove = glove(WORDS, 0f);
        Vocabulary v = GloveCnn.vocabulary(glove, WORDS);
        List<CnnTrainer.Example> train = List.of(new CnnTrainer.Example("the film was great", 1),
                new CnnTrainer.Example("a dull plot", 0), new CnnTrainer.Example("great acting", 1),
                new CnnTrainer.Example("the plot was dull", 0));
        List<CnnTrainer.Example> val = List.of(new CnnTrainer.Example("great film", 1),
                new CnnTrainer.Example("dull acting", 0));
        try (Device d = Device.cpu();
                CnnClassifier m = GloveCnn.create(d, glove, v, MoviesCnn.LABELS, new int[] {1, 2}, 4, 16, 5)) {
            CnnTrainer.Options options = new CnnTrainer.Options(6, 2, 5e-2, 1e-4, 2, 0.2);
            List<CnnTrainer.Epoch> seen = new java.util.ArrayList<>();
            CnnTrainer.History h = CnnTrainer.train(m, train, val, options, seen::add);
            assertEquals(seen, h.epochs());
            assertEquals(6, h.epochs().size());
            double best = h.epochs().stream().mapToDouble(CnnTrainer.Epoch::validationAccuracy).max().orElseThrow();
            assertEquals(best, h.best().validationAccuracy());
            assertEquals(h.best(), h.epochs().stream().filter(e -> e.validationAccuracy() == best).findFirst().get());
            assertEquals(best, MoviesCnn.accuracy(m, val, 1), "the model holds the best epoch's weights");
            float[] first = m.params().toFloatArray();
            try (CnnClassifier again = GloveCnn.create(d, glove, v, MoviesCnn.LABELS, new int[] {1, 2}, 4, 16, 5)) {
                CnnTrainer.History h2 = CnnTrainer.train(again, train, val, options, null);
                assertEquals(trace(h), trace(h2), "reproducible from the seeds");
                assertEquals(h.best().epoch(), h2.best().epoch());
                assertArrayEquals(first, again.params().toFloatArray());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new CnnTrainer.Options(1, 1, 1e-3, 0, 1, 1.0));
    }

    private static List<String> trace(CnnTrainer.History h) {
        return h.epochs().stream().map(e -> e.trainLoss() + "/" + e.validationAccuracy()).toList();
    }

    private static float[] logits(CnnClassifier m) {
        List<dev.maskopt.Encoding> enc = TEXTS.stream().map(m::encode).toList();
        try (Batch b = Batch.of(m, enc); Tensor out = m.device().floats(b.rows, 2)) {
            m.forward(b.embeddings, b.lengthsTensor, out);
            return out.toFloatArray();
        }
    }

    /** Vectors uniform in [-1, 1) from a fixed seed, {@code shift} added to every value. */
    private static GloVe glove(List<String> words, float shift) throws IOException {
        return GloVe.read(new ByteArrayInputStream(text(words, shift, List.of()).getBytes(StandardCharsets.UTF_8)),
                w -> true);
    }

    private static void writeGlove(Path file, List<String> words, float shift, List<String> extra) throws IOException {
        Files.writeString(file, text(words, shift, extra));
    }

    private static String text(List<String> words, float shift, List<String> extra) {
        SplittableRandom rng = new SplittableRandom(11);
        StringBuilder sb = new StringBuilder();
        for (String w : words) {
            sb.append(w);
            for (int d = 0; d < 4; d++) {
                sb.append(' ').append((float) (rng.nextDouble() * 2 - 1) + shift);
            }
            sb.append('\n');
        }
        for (String w : extra) {
            sb.append(w).append(" 1 1 1 1\n");
        }
        return sb.toString();
    }
}
