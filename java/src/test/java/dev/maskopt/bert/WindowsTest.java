package dev.maskopt.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Tensor;
import dev.maskopt.text.WordPieceTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Texts longer than the encoder's positions: overlapping windows, averaged logits, summed gradients. */
class WindowsTest {
    // 12 positions: windows of 10 content pieces, at most 5 pieces between starts.
    private static final BertWeights.Config CFG = new BertWeights.Config(2, 8, 2, 16, 12, 2, 20, 1e-12);

    /** Window starts by the documented rule, written out independently of the plan. */
    private static List<int[]> windows(int length) {
        int pieces = length - 2, content = 10, stride = 5;
        List<int[]> out = new ArrayList<>();
        if (pieces <= content) {
            out.add(new int[] {0, pieces});
            return out;
        }
        int n = (int) Math.ceil((pieces - content) / (double) stride) + 1;
        for (int j = 0; j < n; j++) {
            out.add(new int[] {(int) Math.round(j * (pieces - content) / (double) (n - 1)), content});
        }
        return out;
    }

    @Test
    void logitsAreTheMeanOfTheWindowsAndGradientsTheirSum() {
        int[] lens = {30, 7, 13};
        int n = lens.length, t = 30, d = 8, c = 3;
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = new float[n * t * d], head = new float[d * c], bias = {0.1f, -0.2f, 0.3f}, probe = new float[n * c];
        for (int k = 0; k < x.length; k++) x[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int k = 0; k < head.length; k++) head[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int k = 0; k < probe.length; k++) probe[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int b = 0; b < n; b++) { // padding carries garbage that must not matter
            for (int j = lens[b] * d; j < t * d; j++) x[b * t * d + j] = 1e3f;
        }
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, BertEncoderTest.randomWeights(CFG, 3), tokenizer(),
                        List.of("a", "b", "c"), head, bias);
                Tensor in = dev.upload(x, n, t, d); Tensor lensT = dev.upload(lens, n);
                Tensor logits = dev.floats(n, c); Tensor dLogits = dev.upload(probe, n, c);
                Tensor dx = dev.floats(n, t, d)) {
            m.forward(in, lensT, logits);
            m.backward(dLogits, dx);
            float[] got = logits.toFloatArray(), grad = dx.toFloatArray();

            for (int b = 0; b < n; b++) {
                List<int[]> wins = windows(lens[b]);
                double[] mean = new double[c];
                double[] expectGrad = new double[t * d];
                for (int[] w : wins) {
                    int len = w[1] + 2;
                    int[] pos = new int[len]; // document position of each window position
                    for (int j = 0; j < len; j++) pos[j] = j == 0 ? 0 : j == len - 1 ? lens[b] - 1 : w[0] + j;
                    float[] wx = new float[len * d], dl = new float[c];
                    for (int j = 0; j < len; j++) System.arraycopy(x, (b * t + pos[j]) * d, wx, j * d, d);
                    for (int k = 0; k < c; k++) dl[k] = probe[b * c + k] / wins.size();
                    try (Tensor wi = dev.upload(wx, 1, len, d); Tensor wl = dev.upload(new int[] {len}, 1);
                            Tensor lo = dev.floats(1, c); Tensor dlo = dev.upload(dl, 1, c);
                            Tensor dwi = dev.floats(1, len, d)) {
                        m.forward(wi, wl, lo);
                        m.backward(dlo, dwi);
                        float[] l = lo.toFloatArray(), g = dwi.toFloatArray();
                        for (int k = 0; k < c; k++) mean[k] += l[k] / wins.size();
                        for (int j = 0; j < len; j++) {
                            for (int e = 0; e < d; e++) expectGrad[pos[j] * d + e] += g[j * d + e];
                        }
                    }
                }
                for (int k = 0; k < c; k++) {
                    assertEquals(mean[k], got[b * c + k], 1e-5, "logit " + k + " of text " + b);
                }
                for (int j = 0; j < t * d; j++) {
                    assertEquals(expectGrad[j], grad[b * t * d + j], 1e-5, "gradient at " + j / d + " of text " + b);
                }
            }
        }
    }

    @Test
    void explainsATextLongerThanThePositionsWithOneMask() {
        float[] head = new float[16];
        for (int k = 0; k < head.length; k++) head[k] = (k % 3) - 1;
        String text = "good bad " + "w7 w8 w9 ".repeat(8) + "bad good";
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, BertEncoderTest.randomWeights(CFG, 4), tokenizer(),
                        List.of("neg", "pos"), head, new float[2]);
                Explainer ex = Explainer.create(m, ExplainerConfig.builder().optSteps(20).optSamples(2).build())) {
            Encoding e = m.encode(text);
            assertTrue(e.length() > CFG.maxPositions(), "the text must need windows: " + e.length());
            Explanation a = ex.explain(text), again = ex.explain(text);
            assertEquals(e.words().size(), a.words().size());
            assertEquals(a.gates().length, again.gates().length);
            for (int k = 0; k < a.gates().length; k++) {
                assertEquals(a.gates()[k], again.gates()[k], 0.0, "same seed, same gates");
            }
            assertTrue(Double.isFinite(a.sufficiency()) && Double.isFinite(a.comprehensiveness()), a.toString());
        }
    }

    @Test
    void aReusedExplainerPlansEachLongTextAfresh() {
        float[] head = new float[16];
        for (int k = 0; k < head.length; k++) head[k] = (k % 3) - 1;
        String a = "good bad " + "w7 w8 w9 ".repeat(8) + "bad good", b = "bad " + "w9 w8 ".repeat(11) + "good";
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(10).optSamples(2).build();
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, BertEncoderTest.randomWeights(CFG, 4), tokenizer(),
                        List.of("neg", "pos"), head, new float[2]);
                Explainer reused = Explainer.create(m, cfg)) {
            reused.explain(a);
            double[] again = reused.explain(b).gates();
            try (Explainer fresh = Explainer.create(m, cfg)) {
                double[] once = fresh.explain(b).gates();
                assertEquals(once.length, again.length);
                for (int k = 0; k < once.length; k++) {
                    assertEquals(once[k], again[k], 0.0, "gate " + k);
                }
            }
        }
    }

    @Test
    void rejectsTextsBeyondTheLimit() {
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, BertEncoderTest.randomWeights(CFG, 4), tokenizer(),
                        List.of("neg", "pos"), new float[16], new float[2]);
                Explainer ex = Explainer.create(m)) {
            String text = "good ".repeat(BertClassifier.MAX_PIECES);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ex.explain(text));
            assertTrue(e.getMessage().contains("at most " + BertClassifier.MAX_PIECES), e.getMessage());
        }
    }

    private static WordPieceTokenizer tokenizer() {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"));
        while (vocab.size() < 20) vocab.add("w" + vocab.size());
        return WordPieceTokenizer.fromVocabTxt(new java.io.ByteArrayInputStream(
                String.join("\n", vocab).getBytes(java.nio.charset.StandardCharsets.UTF_8)), true);
    }
}
