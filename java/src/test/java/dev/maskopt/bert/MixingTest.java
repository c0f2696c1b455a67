package dev.maskopt.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Removal;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Masking;
import dev.maskopt.text.WordPieceTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Mixing at the embedding module's output instead of the word embeddings. */
class MixingTest {
    private static final BertWeights.Config CFG = new BertWeights.Config(2, 8, 2, 16, 12, 2, 20, 1e-12);

    private static BertClassifier model(Device dev, BertClassifier.Mixing mixing) {
        float[] head = new float[16];
        for (int k = 0; k < head.length; k++) head[k] = (k % 3) - 1;
        return new BertClassifier(dev, BertEncoderTest.randomWeights(CFG, 6), tokenizer(), List.of("neg", "pos"), head,
                new float[] {0.2f, -0.1f}, mixing);
    }

    @Test
    void hardMasksAgreeAtBothMixingPointsSoftMasksDoNot() {
        try (Device dev = Device.cpu(); BertClassifier word = model(dev, BertClassifier.Mixing.WORD_EMBEDDINGS);
                BertClassifier out = model(dev, BertClassifier.Mixing.EMBEDDING_OUTPUT)) {
            Encoding e = word.encode("good bad w9 good");
            boolean[] all = new boolean[e.words().size()];
            Arrays.fill(all, true);
            float[] a = Masking.probabilities(word, e, List.of(all), Removal.DELETE)[0];
            float[] b = Masking.probabilities(out, e, List.of(all), Removal.DELETE)[0];
            assertArrayEquals(a, b, 1e-6f);
            // A removed word is LayerNorm([PAD] + position + type) either way; a half-kept one is not.
            boolean[] some = all.clone();
            some[1] = false;
            assertArrayEquals(Masking.probabilities(word, e, List.of(some), Removal.BASELINE)[0],
                    Masking.probabilities(out, e, List.of(some), Removal.BASELINE)[0], 1e-6f);
            float[][] half = {{1f, 0.5f, 1f, 1f}};
            float[] c = Masking.probabilities(word, e, half)[0][0], d = Masking.probabilities(out, e, half)[0][0];
            assertTrue(Math.abs(c[0] - d[0]) > 1e-6, "soft masks mix different vectors: " + c[0] + " vs " + d[0]);
        }
    }

    @Test
    void gradientsWithRespectToTheEmbeddingOutputMatchFiniteDifferences() {
        int n = 2, t = 5, d = 8, c = 2;
        int[] lens = {5, 3};
        SplittableRandom rng = new SplittableRandom(2);
        float[] x = new float[n * t * d], probe = new float[n * c];
        for (int k = 0; k < x.length; k++) x[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int k = 0; k < probe.length; k++) probe[k] = (float) (rng.nextDouble() * 2 - 1);
        try (Device dev = Device.cpu(); BertClassifier m = model(dev, BertClassifier.Mixing.EMBEDDING_OUTPUT);
                Tensor lensT = dev.upload(lens, n); Tensor logits = dev.floats(n, c);
                Tensor dLogits = dev.upload(probe, n, c); Tensor dx = dev.floats(n, t, d)) {
            try (Tensor in = dev.upload(x, n, t, d)) {
                m.forward(in, lensT, logits);
                m.backward(dLogits, dx);
            }
            float[] grad = dx.toFloatArray();
            double h = 1e-2, worst = 0;
            for (int idx = 0; idx < x.length; idx++) {
                double fd = (objective(m, dev, x, idx, h, lensT, logits, probe)
                        - objective(m, dev, x, idx, -h, lensT, logits, probe)) / (2 * h);
                worst = Math.max(worst, Math.abs(fd - grad[idx]) / (1e-3 + Math.abs(fd)));
            }
            assertTrue(worst < 2e-2, "worst relative error " + worst);
        }
    }

    @Test
    void explainsAndRejectsTextsBeyondThePositions() {
        try (Device dev = Device.cpu(); BertClassifier m = model(dev, BertClassifier.Mixing.EMBEDDING_OUTPUT);
                Explainer ex = Explainer.create(m, ExplainerConfig.builder().optSteps(10).optSamples(2).build())) {
            assertEquals(CFG.maxPositions(), m.maxLength());
            assertEquals(4, ex.explain("good bad w9 good").words().size());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ex.explain("good ".repeat(20)));
            assertTrue(e.getMessage().contains("at most 12"), e.getMessage());
        }
    }

    private static double objective(BertClassifier m, Device dev, float[] x, int idx, double h, Tensor lensT,
            Tensor logits, float[] probe) {
        float[] y = x.clone();
        y[idx] += (float) h;
        try (Tensor in = dev.upload(y, 2, 5, 8)) {
            m.forward(in, lensT, logits);
        }
        float[] l = logits.toFloatArray();
        double s = 0;
        for (int k = 0; k < l.length; k++) s += l[k] * probe[k];
        return s;
    }

    private static WordPieceTokenizer tokenizer() {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"));
        while (vocab.size() < 20) vocab.add("w" + vocab.size());
        return WordPieceTokenizer.fromVocabTxt(new java.io.ByteArrayInputStream(
                String.join("\n", vocab).getBytes(java.nio.charset.StandardCharsets.UTF_8)), true);
    }
}
