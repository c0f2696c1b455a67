package dev.maskopt;

import dev.maskopt.internal.Workspace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Explains a {@link Classifier}'s predictions by optimizing a stochastic mask over the input tokens.
 *
 * <p>Each step (see {@link ExplainerConfig} for the objective): sample gates z from the parameters with
 * counter-based noise; mix keep and drop inputs; run the model forward and backward on both; turn the
 * gradients w.r.t. the mixed inputs into gradients w.r.t. the gate parameters; add the closed-form sparsity
 * and contiguity gradients; take an Adam step. Everything runs on the model's device with no transfer
 * inside the loop. Afterwards the deterministic gates give the rationale, which one more forward pass
 * certifies (sufficiency and comprehensiveness).
 *
 * <p>Texts explained together are optimized as one ragged batch; each text's parameters see only its own
 * objective. Texts come as strings ({@link #explain(List, int[])}), as encodings ({@link #explainEncoded}), or as
 * embeddings the caller already holds on the model's device ({@link #explainEmbeddings(Tensor, Tensor, int[],
 * int[][], int[])}, read in place). Not thread-safe (like its device).
 *
 * <p>Device memory: the explainer keeps the buffers of the optimization for the last few batch shapes and reuses
 * them in later calls, until {@link #close()}. On CUDA, one step is recorded in a CUDA graph and replayed (see
 * {@link ExplainerConfig#cudaGraphs()}), and lengths are rounded up to buckets (token and word counts to a multiple
 * of 8, or of a sixteenth of the next power of two when larger), so that texts of similar lengths share buffers and
 * graphs; padding never changes an explanation. On the CPU, where padding would cost compute, the batch keeps its
 * exact shape. For {@link #explainEmbeddings(Tensor, Tensor, int[], int[][], int[])} the token count is the inputs'
 * own T (the step reads them in place); only the word count is rounded.
 */
public final class Explainer implements AutoCloseable {
    /** Batch shapes whose buffers are kept; the least recently used beyond these is released. */
    private static final int KEPT_SHAPES = 4;

    private final Classifier model;
    private final ExplainerConfig config;
    private final Boolean bucketing; // null: on CUDA devices only
    private final Map<Shape, Workspace> workspaces = new LinkedHashMap<>(8, 0.75f, true);
    private boolean closed;

    private record Shape(int n, int t, int w) {}

    private Explainer(Classifier model, ExplainerConfig config, Boolean bucketing) {
        if (model == null || config == null) {
            throw new IllegalArgumentException("model and config must be given");
        }
        if (model.labels().size() < 2) {
            throw new IllegalArgumentException("the model needs at least 2 classes (got " + model.labels().size() + ")");
        }
        this.model = model;
        this.config = config;
        this.bucketing = bucketing;
    }

    /** An explainer with the default configuration. */
    public static Explainer create(Classifier model) {
        return new Explainer(model, ExplainerConfig.defaults(), null);
    }

    public static Explainer create(Classifier model, ExplainerConfig config) {
        return new Explainer(model, config, null);
    }

    /** With length buckets forced on or off on any device (tests compare the two). */
    static Explainer create(Classifier model, ExplainerConfig config, boolean bucketing) {
        return new Explainer(model, config, bucketing);
    }

    public ExplainerConfig config() {
        return config;
    }

    public Classifier model() {
        return model;
    }

    /** Explains the model's prediction on one text. */
    public Explanation explain(String text) {
        return explain(List.of(text), null).get(0);
    }

    /** Explains the model's predictions on several texts, optimized together as one batch. */
    public List<Explanation> explain(List<String> texts) {
        return explain(texts, null);
    }

    /**
     * Explains class {@code targets[i]} for text {@code i} ({@code targets} may be null: explain the
     * predictions).
     */
    public List<Explanation> explain(List<String> texts, int[] targets) {
        return explain(texts, targets, null);
    }

    /**
     * As {@link #explain(List, int[])}, reporting progress: {@code progress} (may be null) receives the number of
     * optimization steps completed so far, at most about 20 times per call and finally {@code config().steps()}.
     * It runs on the calling thread; an exception it throws ends the call. On CUDA each report waits for the
     * device, so without a callback the steps are queued without waiting.
     */
    public List<Explanation> explain(List<String> texts, int[] targets, IntConsumer progress) {
        ensureOpen();
        long start = System.nanoTime();
        List<Encoding> encodings = encode(texts, targets);
        return run(load(encodings), encodings, targets, progress, start);
    }

    /**
     * Explains class {@code targets[i]} (or the prediction, when {@code targets} is null) for texts the
     * caller has encoded, for example with {@link Classifier#encodeWords} on a dataset's own tokens.
     */
    public List<Explanation> explainEncoded(List<Encoding> encodings, int[] targets) {
        return explainEncoded(encodings, targets, null);
    }

    /** As {@link #explainEncoded(List, int[])}, reporting progress as {@link #explain(List, int[], IntConsumer)}. */
    public List<Explanation> explainEncoded(List<Encoding> encodings, int[] targets, IntConsumer progress) {
        ensureOpen();
        long start = System.nanoTime();
        if (encodings == null || encodings.isEmpty()) {
            throw new IllegalArgumentException("no texts to explain");
        }
        validate(encodings, targets);
        List<Encoding> copy = List.copyOf(encodings);
        return run(load(copy), copy, targets, progress, start);
    }

    /**
     * Explains class {@code targets[i]} (or the prediction, when {@code targets} is null) for texts the caller has
     * already embedded: maskopt neither tokenizes nor embeds, and reads {@code inputs} and {@code baselines} in place
     * (no copy), on the model's device, in every step, so they must keep their values until the call returns. This is
     * the entry point for applications that hold the embeddings themselves, in tensors from {@link Device#wrap} over
     * their own memory (device memory on CUDA, for example from the JavaCPP CUDA preset, or host memory on the CPU)
     * or allocated by maskopt. The optimization is the one {@link #explain(List, int[])} runs: with the embeddings and
     * baselines that {@link Classifier#embed} gives for an encoding's ids and baseline ids, the explanations are
     * identical (bit for bit, for the same configuration and seed).
     *
     * <p>On CUDA, the device reads {@code inputs} and {@code baselines} on its stream: work that writes them must be
     * complete, or queued before on that stream (see {@link Device#cudaOnStream}); the call returns once the device
     * has stopped reading them. A recorded optimization step (see {@link ExplainerConfig#cudaGraphs()}) holds their
     * addresses: it is replayed while later calls pass tensors at the same addresses, whatever their contents, and
     * recorded again otherwise.
     *
     * <p>Words are named {@code "#0"}, {@code "#1"}, ... (the word's index); use
     * {@link #explainEmbeddings(Tensor, Tensor, int[], int[][], List, int[], IntConsumer)} to name them.
     *
     * @param inputs E, float32 [N,T,D] on the model's device (the same {@link Device} object; never copied across
     *     devices), T at most {@link Classifier#maxLength()}, D = {@link Classifier#embeddingDim()}; row k holds text
     *     k's token embeddings at positions below {@code lengths[k]}; positions beyond are never read (any values)
     * @param baselines B, what a masked token becomes: float32 [N,T,D] (per token, like an encoding's baseline ids)
     *     or [D] (one vector for every token, such as the [PAD] embedding), on the model's device
     * @param lengths text k's length in tokens, 1 to T and at most {@link Classifier#maxLength()}
     * @param wordOfToken per text, for each of its tokens the index of its word (the unit of the rationale; a
     *     word's tokens share one gate), words numbered 0, 1, ... in token order, or -1 for a token that is never
     *     masked (as in {@link Encoding#wordOfToken}); null: every token is a word. A never-masked token keeps its
     *     input in both the kept and the removed text, whatever {@code baselines} holds there: for such texts
     *     maskopt composes its own baselines [N,T,D] (device copies of the caller's baselines, and of the inputs at
     *     those tokens) before the optimization
     * @param targets the class to explain per text, or null for the model's predictions
     * @throws IllegalArgumentException before any native call, for a tensor that is closed, on another device, not
     *     float32 or of the wrong shape, and for lengths, word maps or targets that do not fit; before the
     *     optimization, for inputs or baselines that are not finite below a text's length
     */
    public List<Explanation> explainEmbeddings(Tensor inputs, Tensor baselines, int[] lengths, int[][] wordOfToken,
            int[] targets) {
        return explainEmbeddings(inputs, baselines, lengths, wordOfToken, null, targets, null);
    }

    /**
     * As {@link #explainEmbeddings(Tensor, Tensor, int[], int[][], int[])} (which documents the other parameters),
     * naming the words and reporting progress as {@link #explain(List, int[], IntConsumer)}.
     *
     * @param words the words of each text ({@code words.get(k).size()} = the number of words in
     *     {@code wordOfToken[k]}), as the explanations report them; null, or null for a text: {@code "#0"},
     *     {@code "#1"}, ...
     * @param progress receives the number of completed steps (may be null)
     */
    public List<Explanation> explainEmbeddings(Tensor inputs, Tensor baselines, int[] lengths, int[][] wordOfToken,
            List<List<String>> words, int[] targets, IntConsumer progress) {
        ensureOpen();
        long start = System.nanoTime();
        List<Encoding> texts = EmbeddedTexts.validate(model, inputs, baselines, lengths, wordOfToken, words, targets);
        // The workspace's T is the inputs' T: the step reads them in place, so their padding is its padding.
        Workspace ws = workspace(texts, (int) inputs.dim(1));
        ws.loadEmbeddings(texts, inputs, baselines);
        return run(ws, texts, targets, progress, start);
    }

    private List<Encoding> encode(List<String> texts, int[] targets) {
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to explain");
        }
        List<Encoding> out = new ArrayList<>(texts.size());
        for (int k = 0; k < texts.size(); k++) {
            String text = texts.get(k);
            if (text == null || text.isBlank()) {
                throw new IllegalArgumentException("text " + k + " is empty");
            }
            out.add(model.encode(text));
        }
        validate(out, targets);
        return out;
    }

    private void validate(List<Encoding> encodings, int[] targets) {
        dev.maskopt.internal.EncodingChecks.validate(model, encodings, targets);
    }

    /** Uploads and embeds the texts into the workspace for their shape. */
    private Workspace load(List<Encoding> encodings) {
        Workspace ws = workspace(encodings, 0);
        ws.load(encodings);
        return ws;
    }

    private List<Explanation> run(Workspace ws, List<Encoding> encodings, int[] targets, IntConsumer progress,
            long start) {
        int n = encodings.size(), c = model.labels().size(), steps = config.steps();
        int w = ws.w;

        // The model's prediction on the loaded texts picks the targets not given.
        float[] probs = ws.predict();
        int[] target = new int[n], predicted = new int[n];
        for (int k = 0; k < n; k++) {
            predicted[k] = argmax(probs, k * c, c);
            target[k] = targets == null ? predicted[k] : targets[k];
        }

        // The optimization loop: a fixed sequence of operations on the device, no transfers.
        ws.optimize(target, progress);

        // Decode the deterministic word gates into rationales and certify them with one more forward pass.
        Workspace.Gates decoded = ws.decode();
        float[] binary = new float[n * w];
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < encodings.get(k).words().size(); j++) {
                binary[k * w + j] = decoded.gates()[k * w + j] >= config.threshold() ? 1f : 0f;
            }
        }
        float[] certified = ws.certify(binary);
        float[] traceValues = ws.trace();
        int traceWidth = ws.traceWidth();
        double seconds = (System.nanoTime() - start) / 1e9;

        List<Explanation> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            List<String> words = encodings.get(k).words();
            int len = words.size();
            double[] g = new double[len], pk = new double[len];
            boolean[] sel = new boolean[len];
            for (int j = 0; j < len; j++) {
                g[j] = decoded.gates()[k * w + j];
                pk[j] = decoded.keepProbabilities()[k * w + j];
                sel[j] = binary[k * w + j] > 0;
            }
            double[] pr = new double[c];
            for (int j = 0; j < c; j++) {
                pr[j] = probs[k * c + j];
            }
            out.add(new Explanation(words, g, pk, sel, Explanation.spansOf(words, sel), model.labels(), predicted[k],
                    target[k], pr, certified[k * c + target[k]], certified[(n + k) * c + target[k]],
                    traceOf(traceValues, traceWidth, k, n, steps), seconds));
        }
        return out;
    }

    /**
     * The workspace for this batch's (bucketed) shape: kept from an earlier call, or new. {@code fixedLength}, when
     * positive, is the token count T as it is (the caller's embeddings have it), not bucketed.
     */
    private Workspace workspace(List<Encoding> encodings, int fixedLength) {
        int t = 0, w = 0;
        for (Encoding e : encodings) {
            t = Math.max(t, e.length());
            w = Math.max(w, e.words().size());
        }
        boolean round = bucketing != null ? bucketing : model.device().backend() == Backend.CUDA;
        if (round) {
            t = bucket(t, model.maxLength());
            w = bucket(w, Integer.MAX_VALUE);
        }
        if (fixedLength > 0) {
            t = fixedLength;
        }
        Shape shape = new Shape(encodings.size(), t, w);
        Workspace ws = workspaces.get(shape);
        if (ws == null) {
            ws = new Workspace(model, config, shape.n(), shape.t(), shape.w());
            workspaces.put(shape, ws);
            if (workspaces.size() > KEPT_SHAPES) {
                var eldest = workspaces.entrySet().iterator().next(); // least recently used (access order)
                eldest.getValue().close();
                workspaces.remove(eldest.getKey());
            }
        }
        return ws;
    }

    /**
     * {@code size} rounded up to a multiple of max(8, p / 16), p the smallest power of two &gt;= size, but not beyond
     * {@code cap} (nor below size): under 8 positions of padding, or under an eighth of the size when larger.
     */
    static int bucket(int size, int cap) {
        int pow = size <= 1 ? 1 : Integer.highestOneBit(size - 1) << 1;
        int unit = Math.max(8, pow / 16);
        long rounded = ((long) size + unit - 1) / unit * unit;
        return (int) Math.max(size, Math.min(rounded, cap));
    }

    /** Text k's steps from the trace rows of {@code width} values (see Workspace#trace). */
    private List<Explanation.Step> traceOf(float[] trace, int width, int k, int n, int steps) {
        List<Explanation.Step> out = new ArrayList<>(steps);
        for (int step = 0; step < steps; step++) {
            int o = step * width;
            double suff = trace[o + 2 * k], comp = trace[o + 2 * k + 1];
            double l0 = trace[o + 2 * n + 2 * k], tr = trace[o + 2 * n + 2 * k + 1];
            double sparsity = config.hasTargetRate() ? trace[o + 4 * n + k] : config.sparsityWeight();
            double total = config.sufficiencyWeight() * suff + config.comprehensivenessWeight() * comp
                    + sparsity * l0 + config.contiguityWeight() * tr;
            out.add(new Explanation.Step(total, suff, comp, l0, tr, sparsity));
        }
        return out;
    }

    private static int argmax(float[] x, int offset, int length) {
        int best = 0;
        for (int j = 1; j < length; j++) {
            if (x[offset + j] > x[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("explainer is closed");
        }
    }

    /** Releases the explainer's device buffers and graphs, not the model, which the caller owns. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Workspace ws : workspaces.values()) {
            ws.close();
        }
        workspaces.clear();
    }
}
