package dev.maskopt.bert;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.bert.BertWeights.Part;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;

/**
 * A post-LayerNorm BERT encoder on a {@link Device}: forward from word embeddings to the last hidden states,
 * and backward from there to the word embeddings (input gradients only). The mask is mixed into the word
 * embeddings, before position and token-type embeddings are added and the embedding LayerNorm runs.
 *
 * <p>Forward keeps every activation its backward needs; buffers are reused while the batch shape stays.
 */
public final class BertEncoder implements AutoCloseable {
    private final Device device;
    private final BertWeights.Config cfg;
    private final Tensor word, pos, type, embGamma, embBeta;
    private final List<Tensor[]> layers = new ArrayList<>(); // per layer: the parts from WQKV to LN2_BETA
    private Activations act;
    private long generation; // bumped whenever the activations are reallocated

    public BertEncoder(Device device, BertWeights weights) {
        this.device = device;
        this.cfg = weights.config();
        this.word = upload(weights.get(Part.WORD_EMBEDDINGS));
        this.pos = upload(weights.get(Part.POSITION_EMBEDDINGS));
        this.type = upload(weights.get(Part.TYPE_EMBEDDINGS));
        this.embGamma = upload(weights.get(Part.EMBEDDING_LN_GAMMA));
        this.embBeta = upload(weights.get(Part.EMBEDDING_LN_BETA));
        for (int l = 0; l < cfg.layers(); l++) {
            Tensor[] p = new Tensor[LAYER_PARTS.length];
            for (int k = 0; k < p.length; k++) {
                p[k] = upload(weights.get(LAYER_PARTS[k], l));
            }
            layers.add(p);
        }
    }

    private static final Part[] LAYER_PARTS = {Part.WQKV, Part.BQKV, Part.WO, Part.BO, Part.LN1_GAMMA, Part.LN1_BETA,
        Part.W1, Part.B1, Part.W2, Part.B2, Part.LN2_GAMMA, Part.LN2_BETA};
    private static final int WQKV = 0, BQKV = 1, WO = 2, BO = 3, G1 = 4, BE1 = 5, W1 = 6, B1 = 7, W2 = 8, B2 = 9,
            G2 = 10, BE2 = 11;

    public BertWeights.Config config() {
        return cfg;
    }

    public Device device() {
        return device;
    }

    /** Changes whenever forward reallocates its activations (another batch shape): Classifier#bufferGeneration. */
    public long bufferGeneration() {
        return generation;
    }

    /** out [N,T,D] = word embeddings of ids [N,T] (0 at padding). */
    public void embedWords(Tensor ids, Tensor lengths, Tensor out) {
        check(NativeCore.mo_embed(ctx(device), f(out), i(ids), i(lengths), f(word), ids.dim(0), ids.dim(1), cfg.vocab(),
                cfg.hidden()), "embed");
    }

    /**
     * out [N,T,D] = the embedding module's output for ids [N,T]: LayerNorm(word + position + token type), the
     * input of {@link #forwardFromEmbeddings}.
     */
    public void embed(Tensor ids, Tensor lengths, Tensor out) {
        long n = ids.dim(0), t = ids.dim(1), d = cfg.hidden(), r = n * t;
        checkPositions(t);
        NativeCore.Context cx = ctx(device);
        try (Tensor words = device.floats(n, t, d); Tensor mean = device.floats(r); Tensor rstd = device.floats(r)) {
            embedWords(ids, lengths, words);
            check(NativeCore.mo_add_position(cx, f(words), f(words), f(pos), f(type), i(lengths), n, t, d),
                    "add_position");
            check(NativeCore.mo_layernorm_forward(cx, f(out), f(mean), f(rstd), f(words), f(embGamma), f(embBeta), r, d,
                    (float) cfg.layerNormEps()), "layernorm_forward");
        }
    }

    /** Last hidden states [B,T,D] (a buffer owned by the encoder, valid until the next forward). */
    public Tensor forward(Tensor words, Tensor lengths) {
        long b = words.dim(0), t = words.dim(1), d = cfg.hidden();
        checkPositions(t);
        ensure(b, t);
        act.lengths = lengths;
        act.fromWords = true;
        NativeCore.Context cx = ctx(device);
        check(NativeCore.mo_add_position(cx, f(act.embSum), f(words), f(pos), f(type), i(lengths), b, t, d), "add_position");
        check(NativeCore.mo_layernorm_forward(cx, f(act.x[0]), f(act.embMean), f(act.embRstd), f(act.embSum), f(embGamma),
                f(embBeta), b * t, d, (float) cfg.layerNormEps()), "layernorm_forward");
        return layers(lengths);
    }

    /** As {@link #forward}, from the embedding module's output [B,T,D] (see {@link #embed}). */
    public Tensor forwardFromEmbeddings(Tensor embeddings, Tensor lengths) {
        long b = embeddings.dim(0), t = embeddings.dim(1), d = cfg.hidden();
        checkPositions(t);
        ensure(b, t);
        act.lengths = lengths;
        act.fromWords = false;
        check(NativeCore.mo_copy(ctx(device), dev(act.x[0]), dev(embeddings), 4 * b * t * d), "copy");
        return layers(lengths);
    }

    private void checkPositions(long t) {
        if (t > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds the model's " + cfg.maxPositions()
                    + " positions");
        }
    }

    private Tensor layers(Tensor lengths) {
        long b = act.b, t = act.t, d = cfg.hidden();
        NativeCore.Context cx = ctx(device);
        long r = b * t, h = cfg.heads(), dh = cfg.headDim(), inter = cfg.intermediate();
        float eps = (float) cfg.layerNormEps();
        for (int l = 0; l < cfg.layers(); l++) {
            Tensor[] w = layers.get(l);
            Layer a = act.layers[l];
            check(NativeCore.mo_matmul(cx, f(a.qkv), f(act.x[l]), f(w[WQKV]), f(w[BQKV]), r, 3 * d, d, 0, 0f), "matmul");
            check(NativeCore.mo_attention_forward(cx, f(act.attn), f(a.probs), f(a.qkv), i(lengths), b, t, h, dh),
                    "attention_forward");
            check(NativeCore.mo_matmul(cx, f(a.s1), f(act.attn), f(w[WO]), f(w[BO]), r, d, d, 0, 0f), "matmul");
            check(NativeCore.mo_add(cx, f(a.s1), f(a.s1), f(act.x[l]), r * d), "add");
            check(NativeCore.mo_layernorm_forward(cx, f(a.x1), f(a.mean1), f(a.rstd1), f(a.s1), f(w[G1]), f(w[BE1]), r, d,
                    eps), "layernorm_forward");
            check(NativeCore.mo_matmul(cx, f(a.h), f(a.x1), f(w[W1]), f(w[B1]), r, inter, d, 0, 0f), "matmul");
            check(NativeCore.mo_gelu_forward(cx, f(act.g), f(a.h), r * inter), "gelu_forward");
            check(NativeCore.mo_matmul(cx, f(a.s2), f(act.g), f(w[W2]), f(w[B2]), r, d, inter, 0, 0f), "matmul");
            check(NativeCore.mo_add(cx, f(a.s2), f(a.s2), f(a.x1), r * d), "add");
            check(NativeCore.mo_layernorm_forward(cx, f(act.x[l + 1]), f(a.mean2), f(a.rstd2), f(a.s2), f(w[G2]),
                    f(w[BE2]), r, d, eps), "layernorm_forward");
        }
        return act.x[cfg.layers()];
    }

    /**
     * dInputs [B,T,D] from dHidden [B,T,D], the gradient w.r.t. the last forward's hidden states: w.r.t. the
     * word embeddings after {@link #forward}, w.r.t. the embedding module's output after
     * {@link #forwardFromEmbeddings}.
     */
    public void backward(Tensor dHidden, Tensor dWords) {
        if (act == null) {
            throw new IllegalStateException("backward before forward");
        }
        NativeCore.Context cx = ctx(device);
        long b = act.b, t = act.t, r = b * t, d = cfg.hidden(), h = cfg.heads(), dh = cfg.headDim(),
                inter = cfg.intermediate();
        Tensor dx = act.dx, ds = act.ds;
        check(NativeCore.mo_copy(cx, dev(dx), dev(dHidden), 4 * r * d), "copy");
        for (int l = cfg.layers() - 1; l >= 0; l--) {
            Tensor[] w = layers.get(l);
            Layer a = act.layers[l];
            // out = LN2(x1 + GELU(x1 W1 + b1) W2 + b2)
            check(NativeCore.mo_layernorm_backward(cx, f(ds), f(dx), f(a.s2), f(a.mean2), f(a.rstd2), f(w[G2]), r, d),
                    "layernorm_backward");
            check(NativeCore.mo_matmul(cx, f(act.g), f(ds), f(w[W2]), null, r, inter, d, 1, 0f), "matmul");
            check(NativeCore.mo_gelu_backward(cx, f(act.g), f(act.g), f(a.h), r * inter), "gelu_backward");
            check(NativeCore.mo_copy(cx, dev(dx), dev(ds), 4 * r * d), "copy");
            check(NativeCore.mo_matmul(cx, f(dx), f(act.g), f(w[W1]), null, r, d, inter, 1, 1f), "matmul");
            // x1 = LN1(x + attention(x W_qkv + b_qkv) W_o + b_o)
            check(NativeCore.mo_layernorm_backward(cx, f(ds), f(dx), f(a.s1), f(a.mean1), f(a.rstd1), f(w[G1]), r, d),
                    "layernorm_backward");
            check(NativeCore.mo_matmul(cx, f(act.attn), f(ds), f(w[WO]), null, r, d, d, 1, 0f), "matmul");
            check(NativeCore.mo_attention_backward(cx, f(act.dqkv), f(act.attn), f(a.qkv), f(a.probs), i(act.lengths), b, t,
                    h, dh), "attention_backward");
            check(NativeCore.mo_copy(cx, dev(dx), dev(ds), 4 * r * d), "copy");
            check(NativeCore.mo_matmul(cx, f(dx), f(act.dqkv), f(w[WQKV]), null, r, d, 3 * d, 1, 1f), "matmul");
        }
        if (!act.fromWords) {
            check(NativeCore.mo_copy(cx, dev(dWords), dev(dx), 4 * r * d), "copy");
            return;
        }
        // Embedding LayerNorm; adding positions and token types passes the gradient through unchanged.
        check(NativeCore.mo_layernorm_backward(cx, f(dWords), f(dx), f(act.embSum), f(act.embMean), f(act.embRstd),
                f(embGamma), r, d), "layernorm_backward");
    }

    @Override
    public void close() {
        releaseActivations();
        for (Tensor x : List.of(word, pos, type, embGamma, embBeta)) {
            x.close();
        }
        for (Tensor[] p : layers) {
            for (Tensor x : p) {
                x.close();
            }
        }
    }

    private Tensor upload(float[] v) {
        return device.upload(v, v.length);
    }

    private static org.bytedeco.javacpp.Pointer dev(Tensor t) {
        return dev.maskopt.internal.Natives.raw(t.address());
    }

    private void ensure(long b, long t) {
        if (act != null && act.b == b && act.t == t) {
            return;
        }
        releaseActivations();
        generation++;
        act = new Activations(b, t);
    }

    private void releaseActivations() {
        if (act != null) {
            act.close();
            act = null;
        }
    }

    /** Saved activations of one layer. */
    private final class Layer {
        final Tensor qkv, probs, s1, mean1, rstd1, x1, h, s2, mean2, rstd2;

        Layer(long b, long t) {
            long r = b * t, d = cfg.hidden();
            qkv = device.floats(r, 3 * d);
            probs = device.floats(b, cfg.heads(), t, t);
            s1 = device.floats(r, d);
            mean1 = device.floats(r);
            rstd1 = device.floats(r);
            x1 = device.floats(r, d);
            h = device.floats(r, cfg.intermediate());
            s2 = device.floats(r, d);
            mean2 = device.floats(r);
            rstd2 = device.floats(r);
        }

        void close() {
            for (Tensor x : List.of(qkv, probs, s1, mean1, rstd1, x1, h, s2, mean2, rstd2)) {
                x.close();
            }
        }
    }

    /** Everything a forward keeps for its backward, and the backward's scratch buffers. */
    private final class Activations {
        final long b, t;
        final Tensor embSum, embMean, embRstd, attn, g, dqkv, dx, ds;
        final Tensor[] x;
        final Layer[] layers;
        Tensor lengths;
        boolean fromWords;

        Activations(long b, long t) {
            this.b = b;
            this.t = t;
            long r = b * t, d = cfg.hidden();
            embSum = device.floats(r, d);
            embMean = device.floats(r);
            embRstd = device.floats(r);
            attn = device.floats(r, d);
            g = device.floats(r, cfg.intermediate());
            dqkv = device.floats(r, 3 * d);
            dx = device.floats(r, d);
            ds = device.floats(r, d);
            x = new Tensor[cfg.layers() + 1];
            for (int l = 0; l <= cfg.layers(); l++) {
                x[l] = device.floats(b, t, d);
            }
            layers = new Layer[cfg.layers()];
            for (int l = 0; l < cfg.layers(); l++) {
                layers[l] = new Layer(b, t);
            }
        }

        void close() {
            for (Tensor x1 : List.of(embSum, embMean, embRstd, attn, g, dqkv, dx, ds)) {
                x1.close();
            }
            for (Tensor x1 : x) {
                x1.close();
            }
            for (Layer l : layers) {
                l.close();
            }
        }
    }
}
