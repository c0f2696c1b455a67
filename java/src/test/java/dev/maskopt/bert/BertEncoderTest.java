package dev.maskopt.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Tensor;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The native encoder against ONNX Runtime (real MiniLM), and its input gradients against finite differences. */
class BertEncoderTest {
    private static final List<String> SENTENCES = List.of("Hello, world!",
            "The acting was superb, but the plot dragged on far too long.",
            "A dull, lifeless film.", "Mask optimization explains unaffable classifiers quickly.");

    @Test
    void lastHiddenStatesMatchOnnxRuntimeOnAPaddedBatch() throws Exception {
        byte[] onnx;
        WordPieceTokenizer tok;
        try (InputStream in = getClass().getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = in.readAllBytes();
        }
        try (InputStream in = getClass().getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            tok = WordPieceTokenizer.fromTokenizerJson(in);
        }
        BertWeights weights = BertWeights.fromOnnx(new java.io.ByteArrayInputStream(onnx));
        int n = SENTENCES.size(), t = 0;
        List<int[]> ids = new ArrayList<>();
        for (String s : SENTENCES) {
            ids.add(tok.tokenize(s).ids());
            t = Math.max(t, ids.get(ids.size() - 1).length);
        }
        long[][] inputIds = new long[n][t], mask = new long[n][t], types = new long[n][t];
        int[] flat = new int[n * t], lens = new int[n];
        for (int k = 0; k < n; k++) {
            lens[k] = ids.get(k).length;
            for (int j = 0; j < lens[k]; j++) {
                inputIds[k][j] = ids.get(k)[j];
                mask[k][j] = 1;
                flat[k * t + j] = ids.get(k)[j];
            }
        }
        float[][][] expected;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions());
                OnnxTensor a = OnnxTensor.createTensor(env, inputIds);
                OnnxTensor b = OnnxTensor.createTensor(env, mask);
                OnnxTensor c = OnnxTensor.createTensor(env, types);
                OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            expected = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
        }
        try (Device dev = Device.cpu(); BertEncoder enc = new BertEncoder(dev, weights);
                Tensor idsT = dev.upload(flat, n, t); Tensor lensT = dev.upload(lens, n);
                Tensor words = dev.floats(n, t, 384)) {
            enc.embedWords(idsT, lensT, words);
            float[] got = enc.forward(words, lensT).toFloatArray();
            double maxDiff = 0;
            for (int k = 0; k < n; k++) {
                for (int j = 0; j < lens[k]; j++) { // padded rows are not part of the contract
                    for (int d = 0; d < 384; d++) {
                        maxDiff = Math.max(maxDiff, Math.abs(got[(k * t + j) * 384 + d] - expected[k][j][d]));
                    }
                }
            }
            System.out.println("MiniLM last hidden state, max |maskopt - onnxruntime| = " + maxDiff);
            assertTrue(maxDiff < 1e-4, "max abs difference " + maxDiff);
        }
    }

    @Test
    void inputGradientsMatchFiniteDifferences() {
        BertWeights.Config cfg = new BertWeights.Config(2, 8, 2, 16, 12, 2, 20, 1e-12);
        BertWeights w = randomWeights(cfg, 3);
        int n = 2, t = 5, d = 8, c = 3;
        int[] lens = {5, 3};
        SplittableRandom rng = new SplittableRandom(9);
        float[] x = new float[n * t * d], head = new float[d * c], bias = new float[c], probe = new float[n * c];
        for (int k = 0; k < x.length; k++) x[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int k = 0; k < head.length; k++) head[k] = (float) (rng.nextDouble() * 2 - 1);
        for (int k = 0; k < probe.length; k++) probe[k] = (float) (rng.nextDouble() * 2 - 1);
        WordPieceTokenizer tok = tinyTokenizer();
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, w, tok, List.of("a", "b", "c"), head, bias);
                Tensor lensT = dev.upload(lens, n); Tensor logits = dev.floats(n, c);
                Tensor dLogits = dev.upload(probe, n, c); Tensor dx = dev.floats(n, t, d)) {
            try (Tensor in = dev.upload(x, n, t, d)) {
                m.forward(in, lensT, logits);
                m.backward(dLogits, dx);
            }
            float[] grad = dx.toFloatArray();
            double h = 1e-2, worst = 0;
            for (int k = 0; k < n; k++) {
                for (int j = 0; j < t; j++) {
                    for (int e = 0; e < d; e++) {
                        int idx = (k * t + j) * d + e;
                        double fd = (objective(m, dev, x, idx, h, lensT, logits, probe)
                                - objective(m, dev, x, idx, -h, lensT, logits, probe)) / (2 * h);
                        if (j >= lens[k]) {
                            assertEquals(0.0, grad[idx], 0.0, "padding gradient");
                        }
                        worst = Math.max(worst, Math.abs(fd - grad[idx]) / (1e-3 + Math.abs(fd)));
                    }
                }
            }
            assertTrue(worst < 2e-2, "worst relative error " + worst);
        }
    }

    @Test
    void explainsWithWordPieceGates() {
        BertWeights w = randomWeights(new BertWeights.Config(1, 8, 2, 16, 16, 2, 20, 1e-12), 4);
        float[] head = new float[16];
        for (int k = 0; k < head.length; k++) head[k] = (k % 3) - 1;
        try (Device dev = Device.cpu();
                BertClassifier m = new BertClassifier(dev, w, tinyTokenizer(), List.of("neg", "pos"), head, new float[2]);
                Explainer ex = Explainer.create(m, ExplainerConfig.builder().optSteps(10).build())) {
            Encoding e = m.encode("good bad good");
            assertEquals(List.of("good", "bad", "good"), e.words());
            assertEquals(-1, e.wordOfToken()[0]);
            Explanation x = ex.explain("good bad good");
            assertEquals(3, x.words().size());
        }
    }

    @Test
    void shippedSentimentHeadClassifiesAndExplainsObviousReviews() {
        try (Device dev = Device.cpu(); BertClassifier m = MiniLm.sentiment(dev);
                Explainer ex = Explainer.create(m, ExplainerConfig.builder().optSteps(60).optSamples(2).build())) {
            List<Explanation> out = ex.explain(List.of("a wonderful , moving and beautifully acted film",
                    "a dull , boring and tedious mess"));
            assertEquals("positive", out.get(0).targetLabel());
            assertEquals("negative", out.get(1).targetLabel());
            for (Explanation e : out) {
                assertTrue(e.rationaleSize() > 0 && e.rationaleSize() < e.words().size(), e.toString());
                assertTrue(e.comprehensiveness() > e.sufficiency(), e.toString());
            }
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

    private static WordPieceTokenizer tinyTokenizer() {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"));
        while (vocab.size() < 20) vocab.add("w" + vocab.size());
        return WordPieceTokenizer.fromVocabTxt(
                new java.io.ByteArrayInputStream(String.join("\n", vocab).getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                true);
    }

    static BertWeights randomWeights(BertWeights.Config cfg, long seed) {
        return BertWeights.random(cfg, seed, 0.3);
    }
}
