package dev.maskopt.bert;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a BERT encoder (post-LayerNorm, absolute positions, exact erf GELU, as Hugging Face
 * {@code BertModel}), as plain row-major float arrays. Pre-LN variants and other activations are not
 * supported; the readers reject them.
 *
 * <p>Layout ({@link Part} lists each array with its shape). Every matrix is input-major, {@code y = x·W + b}
 * with {@code W[in, out]} stored row by row ({@code W[i*out + j]}), the transpose of PyTorch's
 * {@code Linear.weight[out, in]}:
 * <ul>
 *   <li>embeddings: word {@code [vocab, hidden]}, position {@code [maxPositions, hidden]}, token type
 *       {@code [typeVocab, hidden]} (row = id), then LayerNorm gamma and beta {@code [hidden]};</li>
 *   <li>per layer: {@code WQKV [hidden, 3·hidden]}, the query, key and value projections side by side
 *       (columns {@code 0..h-1} query, {@code h..2h-1} key, {@code 2h..3h-1} value; within each, head
 *       {@code n} owns columns {@code n·headDim .. (n+1)·headDim-1}) and {@code BQKV [3·hidden]} likewise;
 *       the attention output {@code WO [hidden, hidden]}, {@code BO}; LayerNorm 1 (after attention + residual);
 *       the feed-forward {@code W1 [hidden, intermediate]}, {@code B1}, GELU, {@code W2 [intermediate, hidden]},
 *       {@code B2}; LayerNorm 2 (after feed-forward + residual).</li>
 * </ul>
 * One layer: {@code a = LN1(x + softmax(QKᵀ/√headDim + mask)·V·WO + BO)},
 * {@code out = LN2(a + GELU(a·W1 + B1)·W2 + B2)}.
 *
 * <p>Immutable: {@link #get} returns copies. Build one with {@link #builder}, or read one with
 * {@link #fromOnnx(Path)} or {@link HfCheckpoint}.
 */
public final class BertWeights {

    /**
     * The encoder's shape.
     *
     * @param layers number of transformer layers
     * @param hidden hidden width
     * @param heads attention heads (divides {@code hidden})
     * @param intermediate feed-forward width
     * @param maxPositions rows of the position embedding (the longest input, [CLS] and [SEP] included)
     * @param typeVocab rows of the token-type embedding
     * @param vocab rows of the word embedding
     * @param layerNormEps the epsilon of every LayerNorm
     */
    public record Config(int layers, int hidden, int heads, int intermediate, int maxPositions, int typeVocab,
            int vocab, double layerNormEps) {
        public Config {
            if (layers < 1 || hidden < 1 || heads < 1 || intermediate < 1 || maxPositions < 1 || typeVocab < 1
                    || vocab < 1) {
                throw new IllegalArgumentException("every size must be positive: " + this);
            }
            if (hidden % heads != 0) {
                throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
            }
            if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps)) {
                throw new IllegalArgumentException("layerNormEps must be positive and finite, got " + layerNormEps);
            }
        }

        /** Width of one attention head. */
        public int headDim() {
            return hidden / heads;
        }
    }

    /** The arrays, in the order a loader may copy them; the first five are shared, the rest per layer. */
    public enum Part {
        WORD_EMBEDDINGS, POSITION_EMBEDDINGS, TYPE_EMBEDDINGS, EMBEDDING_LN_GAMMA, EMBEDDING_LN_BETA,
        WQKV, BQKV, WO, BO, LN1_GAMMA, LN1_BETA, W1, B1, W2, B2, LN2_GAMMA, LN2_BETA;

        /** Whether each layer has its own array of this part. */
        public boolean perLayer() {
            return ordinal() >= WQKV.ordinal();
        }

        /** The array's shape, outermost first. */
        public int[] shape(Config c) {
            int h = c.hidden();
            return switch (this) {
                case WORD_EMBEDDINGS -> new int[] {c.vocab(), h};
                case POSITION_EMBEDDINGS -> new int[] {c.maxPositions(), h};
                case TYPE_EMBEDDINGS -> new int[] {c.typeVocab(), h};
                case WQKV -> new int[] {h, 3 * h};
                case BQKV -> new int[] {3 * h};
                case WO -> new int[] {h, h};
                case W1 -> new int[] {h, c.intermediate()};
                case B1 -> new int[] {c.intermediate()};
                case W2 -> new int[] {c.intermediate(), h};
                default -> new int[] {h};
            };
        }

        /** The number of floats in the array. */
        public long size(Config c) {
            long n = 1;
            for (int d : shape(c)) {
                n *= d;
            }
            return n;
        }
    }

    private static final Part[] SHARED = Arrays.stream(Part.values()).filter(p -> !p.perLayer()).toArray(Part[]::new);
    private static final Part[] LAYER = Arrays.stream(Part.values()).filter(Part::perLayer).toArray(Part[]::new);

    private final Config config;
    private final Map<Part, float[]> shared;
    private final List<Map<Part, float[]>> layers;

    private BertWeights(Config config, Map<Part, float[]> shared, List<Map<Part, float[]>> layers) {
        this.config = config;
        this.shared = shared;
        this.layers = layers;
    }

    public Config config() {
        return config;
    }

    /** A copy of a shared part (the embeddings and their LayerNorm). */
    public float[] get(Part part) {
        if (part.perLayer()) {
            throw new IllegalArgumentException(part + " belongs to a layer: call get(part, layer)");
        }
        return shared.get(part).clone();
    }

    /** A copy of one layer's part. */
    public float[] get(Part part, int layer) {
        if (!part.perLayer()) {
            throw new IllegalArgumentException(part + " is shared by all layers: call get(part)");
        }
        if (layer < 0 || layer >= config.layers()) {
            throw new IllegalArgumentException("layer " + layer + " is outside 0.." + (config.layers() - 1));
        }
        return layers.get(layer).get(part).clone();
    }

    /**
     * Reads a BERT ONNX export (torch.onnx or optimum, as the default all-MiniLM-L6-v2 file), inferring the
     * number of heads from the attention's Reshape; see {@link #fromOnnx(Path, int)}.
     */
    public static BertWeights fromOnnx(Path file) {
        return fromOnnx(file, 0);
    }

    /**
     * Reads a BERT ONNX export with {@code heads} attention heads (0: infer them from the graph). Named
     * initializers give the embeddings, biases and LayerNorms; the MatMul nodes named
     * {@code …/encoder/layer.N/…/MatMul} give the projection matrices (already {@code [in, out]}); the
     * LayerNorm epsilon comes from the graph (1e-12 when the graph has none); the activation must be erf GELU.
     * Weights stored outside the file (ONNX external data) are not supported.
     */
    public static BertWeights fromOnnx(Path file, int heads) {
        try (FileChannel ch = FileChannel.open(file)) {
            if (ch.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(file + " is larger than 2 GiB, the ONNX protobuf limit");
            }
            return OnnxWeights.read(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()), heads);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** As {@link #fromOnnx(Path)}, from a stream (for example a classpath resource); does not close it. */
    public static BertWeights fromOnnx(InputStream in) {
        return fromOnnx(in, 0);
    }

    /** As {@link #fromOnnx(Path, int)}, from a stream; does not close it. */
    public static BertWeights fromOnnx(InputStream in, int heads) {
        try {
            return OnnxWeights.read(ByteBuffer.wrap(in.readAllBytes()), heads);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the ONNX stream", e);
        }
    }

    /**
     * Random weights of the given shape: LayerNorm gains 1 + u, everything else u, with u uniform in
     * [-scale, scale] from {@code seed}. For tests and for benchmarks, whose cost does not depend on the values.
     */
    public static BertWeights random(Config config, long seed, double scale) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        Builder b = builder(config);
        for (Part p : Part.values()) {
            int layers = p.perLayer() ? config.layers() : 1;
            for (int l = 0; l < layers; l++) {
                float[] v = new float[(int) p.size(config)];
                boolean gamma = p.name().endsWith("GAMMA");
                for (int k = 0; k < v.length; k++) {
                    v[k] = (float) ((gamma ? 1 : 0) + scale * (rng.nextDouble() * 2 - 1));
                }
                if (p.perLayer()) {
                    b.set(p, l, v);
                } else {
                    b.set(p, v);
                }
            }
        }
        return b.build();
    }

    /** A builder for weights of the given shape; every part of every layer must be set. */
    public static Builder builder(Config config) {
        return new Builder(config);
    }

    /** Collects the arrays, checks their sizes and finiteness, and freezes them. */
    public static final class Builder {
        private final Config config;
        private final Map<Part, float[]> shared = new EnumMap<>(Part.class);
        private final List<Map<Part, float[]>> layers = new ArrayList<>();

        private Builder(Config config) {
            if (config == null) {
                throw new IllegalArgumentException("config is null");
            }
            this.config = config;
            for (int l = 0; l < config.layers(); l++) {
                layers.add(new EnumMap<>(Part.class));
            }
        }

        /** Sets a shared part to a copy of {@code values}. */
        public Builder set(Part part, float[] values) {
            return put(part, -1, copy(part, values));
        }

        /** Sets one layer's part to a copy of {@code values}. */
        public Builder set(Part part, int layer, float[] values) {
            return put(part, layer, copy(part, values));
        }

        private static float[] copy(Part part, float[] values) {
            if (part == null || values == null) {
                throw new IllegalArgumentException("part and values must not be null");
            }
            return values.clone();
        }

        /** As {@code set}, without the copy: for readers that hand over arrays nobody else holds. */
        Builder put(Part part, int layer, float[] values) {
            if (part.perLayer() != (layer >= 0)) {
                throw new IllegalArgumentException(
                        part + (part.perLayer() ? " needs a layer index" : " is shared by all layers"));
            }
            if (layer >= config.layers()) {
                throw new IllegalArgumentException("layer " + layer + " is outside 0.." + (config.layers() - 1));
            }
            long want = part.size(config);
            if (values.length != want) {
                throw new IllegalArgumentException(part + (layer >= 0 ? " of layer " + layer : "") + " has "
                        + values.length + " values, expected " + want + " for shape " + Arrays.toString(part.shape(config)));
            }
            for (int i = 0; i < values.length; i++) {
                if (!Float.isFinite(values[i])) {
                    throw new IllegalArgumentException(part + (layer >= 0 ? " of layer " + layer : "")
                            + " has a non-finite value at " + i + ": " + values[i]);
                }
            }
            (layer < 0 ? shared : layers.get(layer)).put(part, values);
            return this;
        }

        public BertWeights build() {
            for (Part p : SHARED) {
                if (!shared.containsKey(p)) {
                    throw new IllegalArgumentException(p + " is not set");
                }
            }
            List<Map<Part, float[]>> frozen = new ArrayList<>();
            for (int l = 0; l < layers.size(); l++) {
                for (Part p : LAYER) {
                    if (!layers.get(l).containsKey(p)) {
                        throw new IllegalArgumentException(p + " of layer " + l + " is not set");
                    }
                }
                frozen.add(new EnumMap<>(layers.get(l)));
            }
            return new BertWeights(config, new EnumMap<>(shared), List.copyOf(frozen));
        }
    }

    /** {@code [in, 3·out]} from three {@code [in, out]} matrices: each row is q's row, k's row, v's row. */
    static float[] fuseColumns(float[] q, float[] k, float[] v, int in, int out) {
        float[] w = new float[in * 3 * out];
        for (int i = 0; i < in; i++) {
            System.arraycopy(q, i * out, w, i * 3 * out, out);
            System.arraycopy(k, i * out, w, i * 3 * out + out, out);
            System.arraycopy(v, i * out, w, i * 3 * out + 2 * out, out);
        }
        return w;
    }

    /** Concatenation, for the fused bias. */
    static float[] concat(float[] a, float[] b, float[] c) {
        float[] r = Arrays.copyOf(a, a.length + b.length + c.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        System.arraycopy(c, 0, r, a.length + b.length, c.length);
        return r;
    }
}
