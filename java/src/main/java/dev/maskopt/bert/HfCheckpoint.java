package dev.maskopt.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.bert.BertWeights.Config;
import dev.maskopt.bert.BertWeights.Part;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face BERT checkpoint directory: {@code config.json}, {@code model.safetensors} (float32, one file),
 * and {@code tokenizer.json} or {@code vocab.txt} (with {@code tokenizer_config.json}'s {@code do_lower_case},
 * true when absent). Tensor names may carry the {@code bert.} prefix of a {@code BertFor…} model. PyTorch
 * {@code Linear} weights are {@code [out, in]}; they are transposed into {@link BertWeights}' {@code [in, out]}.
 *
 * <p>A {@code BertForSequenceClassification} checkpoint also yields its {@link Head}.
 */
public final class HfCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BertWeights weights;
    private final WordPieceTokenizer tokenizer;
    private final Head head;

    private HfCheckpoint(BertWeights weights, WordPieceTokenizer tokenizer, Head head) {
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.head = head;
    }

    public BertWeights weights() {
        return weights;
    }

    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    /** The classification head, when the checkpoint has {@code classifier.weight}. */
    public Optional<Head> head() {
        return Optional.ofNullable(head);
    }

    /**
     * BertForSequenceClassification's head on the final [CLS] state {@code h}:
     * {@code logits = tanh(h·poolerWeight + poolerBias)·weight + bias}. Matrices are {@code [in, out]}, row-major.
     */
    public static final class Head {
        private final float[] poolerWeight;
        private final float[] poolerBias;
        private final float[] weight;
        private final float[] bias;
        private final List<String> labels;

        private Head(float[] poolerWeight, float[] poolerBias, float[] weight, float[] bias, List<String> labels) {
            this.poolerWeight = poolerWeight;
            this.poolerBias = poolerBias;
            this.weight = weight;
            this.bias = bias;
            this.labels = List.copyOf(labels);
        }

        /** {@code [hidden, hidden]}. */
        public float[] poolerWeight() {
            return poolerWeight.clone();
        }

        /** {@code [hidden]}. */
        public float[] poolerBias() {
            return poolerBias.clone();
        }

        /** {@code [hidden, labels]}. */
        public float[] weight() {
            return weight.clone();
        }

        /** {@code [labels]}. */
        public float[] bias() {
            return bias.clone();
        }

        /** Class names by index, from {@code config.id2label} ({@code LABEL_i} when it has none). */
        public List<String> labels() {
            return labels;
        }
    }

    /** Reads the checkpoint in {@code dir}. */
    public static HfCheckpoint read(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a directory");
        }
        JsonNode cfg = json(dir.resolve("config.json"));
        Config config = config(cfg);
        Safetensors st = Safetensors.open(weightsFile(dir));

        BertWeights.Builder b = BertWeights.builder(config);
        int h = config.hidden();
        b.put(Part.WORD_EMBEDDINGS, -1, st.get("embeddings.word_embeddings.weight", config.vocab(), h));
        b.put(Part.POSITION_EMBEDDINGS, -1, st.get("embeddings.position_embeddings.weight", config.maxPositions(), h));
        b.put(Part.TYPE_EMBEDDINGS, -1, st.get("embeddings.token_type_embeddings.weight", config.typeVocab(), h));
        b.put(Part.EMBEDDING_LN_GAMMA, -1, st.layerNorm("embeddings.LayerNorm", true, h));
        b.put(Part.EMBEDDING_LN_BETA, -1, st.layerNorm("embeddings.LayerNorm", false, h));
        for (int l = 0; l < config.layers(); l++) {
            String p = "encoder.layer." + l + ".";
            b.put(Part.WQKV, l, BertWeights.fuseColumns(st.linear(p + "attention.self.query.weight", h, h),
                    st.linear(p + "attention.self.key.weight", h, h),
                    st.linear(p + "attention.self.value.weight", h, h), h, h));
            b.put(Part.BQKV, l, BertWeights.concat(st.get(p + "attention.self.query.bias", h),
                    st.get(p + "attention.self.key.bias", h), st.get(p + "attention.self.value.bias", h)));
            b.put(Part.WO, l, st.linear(p + "attention.output.dense.weight", h, h));
            b.put(Part.BO, l, st.get(p + "attention.output.dense.bias", h));
            b.put(Part.LN1_GAMMA, l, st.layerNorm(p + "attention.output.LayerNorm", true, h));
            b.put(Part.LN1_BETA, l, st.layerNorm(p + "attention.output.LayerNorm", false, h));
            b.put(Part.W1, l, st.linear(p + "intermediate.dense.weight", h, config.intermediate()));
            b.put(Part.B1, l, st.get(p + "intermediate.dense.bias", config.intermediate()));
            b.put(Part.W2, l, st.linear(p + "output.dense.weight", config.intermediate(), h));
            b.put(Part.B2, l, st.get(p + "output.dense.bias", h));
            b.put(Part.LN2_GAMMA, l, st.layerNorm(p + "output.LayerNorm", true, h));
            b.put(Part.LN2_BETA, l, st.layerNorm(p + "output.LayerNorm", false, h));
        }
        BertWeights weights = b.build();

        Head head = null;
        if (st.has("classifier.weight")) {
            long[] shape = st.shape("classifier.weight");
            if (shape.length != 2 || shape[1] != h) {
                throw new IllegalArgumentException("classifier.weight has shape " + Arrays.toString(shape)
                        + ", expected [labels, " + h + "]");
            }
            int n = (int) shape[0];
            if (!st.has("pooler.dense.weight")) {
                throw new IllegalArgumentException("the checkpoint has a classifier but no pooler.dense.weight");
            }
            head = new Head(st.linear("pooler.dense.weight", h, h), st.get("pooler.dense.bias", h),
                    st.linear("classifier.weight", h, n), st.get("classifier.bias", n), labels(cfg, n));
        }

        WordPieceTokenizer tokenizer = tokenizer(dir);
        if (tokenizer.vocabSize() > config.vocab()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " tokens but the model's "
                    + "word embedding only " + config.vocab() + " rows");
        }
        return new HfCheckpoint(weights, tokenizer, head);
    }

    private static Config config(JsonNode c) {
        String type = c.path("model_type").asText("bert");
        if (!type.equals("bert")) {
            throw new IllegalArgumentException("config.json model_type is '" + type + "'; only bert is supported");
        }
        String act = c.path("hidden_act").asText("gelu");
        if (!act.equals("gelu")) {
            throw new IllegalArgumentException("config.json hidden_act is '" + act + "'; only gelu (exact, erf) is supported");
        }
        String pos = c.path("position_embedding_type").asText("absolute");
        if (!pos.equals("absolute")) {
            throw new IllegalArgumentException("config.json position_embedding_type is '" + pos
                    + "'; only absolute is supported");
        }
        return new Config(intField(c, "num_hidden_layers"), intField(c, "hidden_size"),
                intField(c, "num_attention_heads"), intField(c, "intermediate_size"),
                intField(c, "max_position_embeddings"), c.path("type_vocab_size").asInt(2), intField(c, "vocab_size"),
                c.path("layer_norm_eps").asDouble(1e-12));
    }

    private static int intField(JsonNode c, String name) {
        JsonNode v = c.get(name);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException("config.json has no integer " + name);
        }
        return v.asInt();
    }

    private static List<String> labels(JsonNode cfg, int n) {
        JsonNode map = cfg.path("id2label");
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            labels.add(map.isObject() ? map.path(Integer.toString(i)).asText(null) : "LABEL_" + i);
            if (labels.get(i) == null) {
                throw new IllegalArgumentException("config.json id2label has no label " + i + " of " + n);
            }
        }
        if (map.isObject() && map.size() != n) {
            throw new IllegalArgumentException("config.json id2label has " + map.size() + " labels but the classifier " + n);
        }
        return labels;
    }

    private static Path weightsFile(Path dir) {
        Path f = dir.resolve("model.safetensors");
        if (Files.isRegularFile(f)) {
            return f;
        }
        if (Files.exists(dir.resolve("model.safetensors.index.json"))) {
            throw new IllegalArgumentException(dir + " holds a sharded checkpoint; only a single model.safetensors "
                    + "is supported");
        }
        throw new IllegalArgumentException(dir + " has no model.safetensors (pytorch_model.bin is not supported: "
                + "save the model with safe_serialization=True)");
    }

    private static WordPieceTokenizer tokenizer(Path dir) {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return WordPieceTokenizer.fromTokenizerJson(dir.resolve("tokenizer.json"));
        }
        if (!Files.isRegularFile(dir.resolve("vocab.txt"))) {
            throw new IllegalArgumentException(dir + " has neither tokenizer.json nor vocab.txt");
        }
        boolean lower = true;
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tc)) {
            JsonNode t = json(tc);
            lower = t.path("do_lower_case").asBoolean(true);
            JsonNode strip = t.path("strip_accents");
            if (strip.isBoolean() && strip.asBoolean() != lower) {
                throw new IllegalArgumentException("tokenizer_config.json strip_accents=" + strip.asBoolean()
                        + " with do_lower_case=" + lower + " is not supported");
            }
        }
        return WordPieceTokenizer.fromVocabTxt(dir.resolve("vocab.txt"), lower);
    }

    private static JsonNode json(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("missing " + file);
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(file + " is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse " + file, e);
        }
    }

    /**
     * A safetensors file: an 8-byte little-endian header length, a JSON header mapping each tensor name to its
     * dtype, shape and [begin, end) byte range in the data that follows, then the data (little-endian).
     */
    private static final class Safetensors {
        private record Entry(String dtype, long[] shape, long begin, long end) {}

        private final Path file;
        private final ByteBuffer data;
        private final Map<String, Entry> entries = new HashMap<>();

        private Safetensors(Path file, ByteBuffer data) {
            this.file = file;
            this.data = data;
        }

        static Safetensors open(Path file) {
            ByteBuffer all;
            try (FileChannel ch = FileChannel.open(file)) {
                if (ch.size() > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(file + " is larger than 2 GiB, which is not supported");
                }
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
            if (all.remaining() < 8) {
                throw new IllegalArgumentException(file + " is too short for a safetensors file");
            }
            long n = all.getLong(0);
            if (n <= 0 || n > all.remaining() - 8) {
                throw new IllegalArgumentException(file + " has a safetensors header of " + n + " bytes in a file of "
                        + all.remaining());
            }
            byte[] header = new byte[(int) n];
            all.get(8, header);
            Safetensors st = new Safetensors(file, all.slice(8 + (int) n, all.remaining() - 8 - (int) n)
                    .order(ByteOrder.LITTLE_ENDIAN));
            JsonNode h;
            try {
                h = JSON.readTree(header);
            } catch (IOException e) {
                throw new IllegalArgumentException(file + " has a malformed safetensors header", e);
            }
            for (Map.Entry<String, JsonNode> e : h.properties()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode v = e.getValue();
                long[] shape = new long[v.path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = v.path("shape").get(i).asLong();
                }
                JsonNode off = v.path("data_offsets");
                long begin = off.path(0).asLong(-1);
                long end = off.path(1).asLong(-1);
                if (begin < 0 || end < begin || end > st.data.remaining()) {
                    throw new IllegalArgumentException(file + ": tensor '" + e.getKey() + "' has data_offsets " + off
                            + " outside the " + st.data.remaining() + " data bytes");
                }
                // Drop the "bert." of BertFor… checkpoints so that one name serves both layouts.
                String key = e.getKey().startsWith("bert.") ? e.getKey().substring(5) : e.getKey();
                st.entries.put(key, new Entry(v.path("dtype").asText(), shape, begin, end));
            }
            return st;
        }

        boolean has(String name) {
            return entries.containsKey(name);
        }

        long[] shape(String name) {
            return entry(name).shape();
        }

        private Entry entry(String name) {
            Entry e = entries.get(name);
            if (e == null) {
                throw new IllegalArgumentException(file + " has no tensor '" + name + "' (nor 'bert." + name + "')");
            }
            return e;
        }

        /** The float32 tensor {@code name}, checked against {@code shape}. */
        float[] get(String name, long... shape) {
            Entry e = entry(name);
            if (!e.dtype().equals("F32")) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + e.dtype()
                        + "; only F32 is supported (save the model in float32)");
            }
            if (!Arrays.equals(e.shape(), shape)) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                        + ", expected " + Arrays.toString(shape));
            }
            long count = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            if (e.end() - e.begin() != count * 4) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has " + (e.end() - e.begin())
                        + " bytes for " + count + " floats");
            }
            float[] out = new float[(int) count];
            data.slice((int) e.begin(), (int) (e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        /** A PyTorch Linear weight {@code [out, in]}, returned transposed as {@code [in, out]}. */
        float[] linear(String name, int in, int out) {
            float[] w = get(name, out, in);
            float[] t = new float[w.length];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    t[i * out + o] = w[o * in + i];
                }
            }
            return t;
        }

        /** LayerNorm gamma or beta, under either name (weight/bias, or the older gamma/beta). */
        float[] layerNorm(String prefix, boolean gamma, int h) {
            String modern = prefix + (gamma ? ".weight" : ".bias");
            String old = prefix + (gamma ? ".gamma" : ".beta");
            return get(has(modern) || !has(old) ? modern : old, h);
        }
    }
}
