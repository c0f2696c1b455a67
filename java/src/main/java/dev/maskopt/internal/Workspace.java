package dev.maskopt.internal;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;

import dev.maskopt.Backend;
import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The device side of the explainer for one batch shape: every buffer of the mask optimization for N texts of at
 * most T tokens and W words (the caller may round T and W up: padding is never read), kept from call to call, and
 * the CUDA graph of one optimization step.
 *
 * <p>A call: {@link #load} the texts (or {@link #loadEmbeddings}: the caller's embeddings), {@link #predict},
 * {@link #optimize}, {@link #decode}, {@link #certify}, and {@link #trace}. Every forward pass, the prediction's and
 * the certificate's included, runs on the loop's batch [2 S N, T, D] (the rows needed come first), so the model sees
 * a single shape and keeps its buffers.
 *
 * <p>The step: sample gates with the noise of the step held by an on-device counter; gather them onto tokens; mix
 * keep and drop inputs; forward; objective (losses to a scratch row); backward; mix backward; word sums;
 * regularizer (to the scratch row); copy the scratch row to trace[step]; with a target rate, set the next step's
 * sparsity weights from this step's selection rates (kept in the scratch row, so the trace records them); advance
 * the counter; Adam. No value in it depends on the host, so on CUDA it is recorded once in a graph and replayed. The graph holds raw addresses of this
 * workspace's tensors (fixed for its life), of the inputs and baselines it mixes (the workspace's own, or the
 * caller's tensors read in place) and of the model's weights and internal buffers, so it is replayed only while the
 * inputs and baselines are at the addresses it recorded and {@link Classifier#bufferGeneration} has the value it had
 * at capture; otherwise one step runs eagerly (the model reallocates there) and the step is captured again.
 */
public final class Workspace implements AutoCloseable {
    /** At most about this many progress callbacks per call. */
    static final int PROGRESS_CALLS = 20;

    public final int n;
    public final int t;
    public final int w;
    private final Classifier model;
    private final ExplainerConfig config;
    private final GateOps gates;
    private final Device dev;
    private final int s, p, c, d, steps;
    private final List<Tensor> owned = new ArrayList<>();
    // Per-call inputs: ids, lengths and baseline ids [N,T]; word groups [N,T]; word counts [N]; row lengths [2SN].
    private final Tensor ids, lens, baseIds, group, wordLens, rowLens, target;
    // Embeddings E and baselines B [N,T,D] that the workspace computes itself: E and B of the texts it embeds, or
    // B composed for the caller's embeddings when some tokens are never masked. Allocated on first use.
    private Tensor emb, base;
    // What the step mixes: E [N,T,D] and B ([N,T,D] when basePerPosition, else [D]); the workspace's own tensors
    // or the caller's (loadEmbeddings), read in place.
    private Tensor inputs, baselines;
    private boolean basePerPosition;
    // The loop: parameters, Adam moments and gradients [P,N,W]; word gates [S,N,W] and their derivatives
    // [P,S,N,W]; token gates [S,N,T], [P,S,N,T]; token gradients [P,N,T]; the model's batch and its gradient
    // [2SN,T,D]; logits, their gradient and probabilities [2SN,C].
    private final Tensor theta, m, v, dTheta, zWord, dzWord, z, dz, dThetaToken, mixed, dMixed, logits, dLogits, probs;
    // Losses and regularizers of the current step [2,N,2] (then, with a target rate, the sparsity weights [N]), the
    // record of all steps [steps, row], the counter [1]; with a target rate, the moving average of the rate excess [N].
    private final Tensor scratch, trace, step, constraintAverage;
    private final int row;
    // Deterministic gates, keep probabilities and scratch [N,W].
    private final Tensor zDet, pKeep, pScratch;
    private CudaGraph graph;
    private long graphGeneration;
    // The addresses of the inputs and baselines the recorded step reads, and the baselines' layout.
    private long graphInputs, graphBaselines;
    private boolean graphPerPosition;
    private boolean closed;

    /** Allocates every buffer for n texts, t tokens and w words. */
    public Workspace(Classifier model, ExplainerConfig config, int n, int t, int w) {
        if (n < 1 || t < 1 || w < 1) {
            throw new IllegalArgumentException("workspace shape must be positive (got N=" + n + ", T=" + t + ", W=" + w
                    + ")");
        }
        this.model = model;
        this.config = config;
        this.gates = new GateOps(config);
        this.dev = model.device();
        this.n = n;
        this.t = t;
        this.w = w;
        this.s = config.samples();
        this.p = config.gate().parameters();
        this.c = model.labels().size();
        this.d = model.embeddingDim();
        this.steps = config.steps();
        long rows = 2L * s * n;
        try {
            ids = own(dev.ints(n, t));
            lens = own(dev.ints(n));
            baseIds = own(dev.ints(n, t));
            group = own(dev.ints(n, t));
            wordLens = own(dev.ints(n));
            rowLens = own(dev.ints(rows));
            target = own(dev.ints(n));
            theta = own(dev.floats(p, n, w));
            m = own(dev.floats(p, n, w));
            v = own(dev.floats(p, n, w));
            dTheta = own(dev.floats(p, n, w));
            zWord = own(dev.floats(s, n, w));
            dzWord = own(dev.floats(p, s, n, w));
            z = own(dev.floats(s, n, t));
            dz = own(dev.floats(p, s, n, t));
            dThetaToken = own(dev.floats(p, n, t));
            mixed = own(dev.floats(rows, t, d));
            dMixed = own(dev.floats(rows, t, d));
            logits = own(dev.floats(rows, c));
            dLogits = own(dev.floats(rows, c));
            probs = own(dev.floats(rows, c));
            row = config.hasTargetRate() ? 5 * n : 4 * n;
            scratch = own(dev.floats(row));
            trace = own(dev.floats(steps, row));
            step = own(dev.longs(1));
            constraintAverage = config.hasTargetRate() ? own(dev.floats(n)) : null;
            zDet = own(dev.floats(n, w));
            pKeep = own(dev.floats(n, w));
            pScratch = own(dev.floats(n, w));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Uploads the texts (padded to T tokens and W words) and embeds them: E from the ids, B from the baseline ids.
     * The caller has validated them (1 to T tokens, 1 to W words each).
     */
    public void load(List<Encoding> encodings) {
        ensureOpen();
        use(null, null, true);
        upload(encodings, true);
        if (emb == null) {
            emb = own(dev.floats(n, t, d));
        }
        model.embed(ids, lens, emb);
        model.embed(baseIds, lens, ownBase());
        if (emb.countNonFinite() > 0 || base.countNonFinite() > 0) {
            throw new IllegalArgumentException("the model's embeddings contain NaN or infinite values");
        }
        use(emb, base, true);
    }

    /**
     * Uploads the structure of the texts (lengths, and tokens' words; the encodings' ids are not used) and mixes
     * the caller's embeddings {@code callerInputs} [N,T,D] with {@code callerBaselines} ([N,T,D] or [D]), both on
     * this device and validated by the caller (float32, shapes, T equal to this workspace's). They are read in
     * place, in every step, until the next load, so they must keep their values meanwhile; only where some token is
     * never masked (word -1) does the workspace compose a baseline of its own ([N,T,D]: the caller's baseline, and at
     * those tokens the caller's input, so that their gate has no effect), by device copies.
     *
     * @throws IllegalArgumentException if a text's inputs or baselines (at positions below its length) are not finite
     */
    public void loadEmbeddings(List<Encoding> encodings, Tensor callerInputs, Tensor callerBaselines) {
        ensureOpen();
        use(null, null, true);
        int[] lenv = upload(encodings, false);
        boolean perPosition = callerBaselines.shape().length == 3;
        long row = (long) t * d;
        for (int k = 0; k < n; k++) {
            if (countNonFinite(callerInputs, k * row, lenv[k] * (long) d) > 0) {
                throw new IllegalArgumentException("the inputs of text " + k + " contain NaN or infinite values");
            }
        }
        boolean fixed = false; // some token is never masked
        for (Encoding e : encodings) {
            for (int g : e.wordOfToken()) {
                fixed |= g < 0;
            }
        }
        Tensor b = fixed ? composeBaselines(encodings, callerInputs, callerBaselines, perPosition) : callerBaselines;
        perPosition |= fixed;
        for (int k = 0; k < n && perPosition; k++) {
            if (countNonFinite(b, k * row, lenv[k] * (long) d) > 0) {
                throw new IllegalArgumentException("the baselines of text " + k + " contain NaN or infinite values");
            }
        }
        if (!perPosition && b.countNonFinite() > 0) {
            throw new IllegalArgumentException("the baseline contains NaN or infinite values");
        }
        use(callerInputs, b, perPosition);
    }

    /**
     * The workspace's own baselines [N,T,D] for the caller's embeddings when some tokens are never masked: the
     * caller's baseline at every position below the length, then the caller's input at the never-masked tokens (a
     * run of them at a time). Exact copies, so B - E is 0 there, as for the texts the workspace embeds itself.
     */
    private Tensor composeBaselines(List<Encoding> encodings, Tensor callerInputs, Tensor callerBaselines,
            boolean perPosition) {
        NativeCore.Context cx = ctx(dev);
        long row = (long) t * d;
        Tensor composed = ownBase();
        if (perPosition) {
            copy(cx, composed, 0, callerBaselines, 0, (long) n * row);
        } else {
            ids.copyFrom(new int[n * t]); // every position takes row 0 of the table [1,D]
            check(NativeCore.mo_embed(cx, f(composed), i(ids), i(lens), f(callerBaselines), n, t, 1, d), "embed");
        }
        for (int k = 0; k < n; k++) {
            int[] group = encodings.get(k).wordOfToken();
            for (int a = 0; a < group.length; ) {
                if (group[a] >= 0) {
                    a++;
                    continue;
                }
                int b = a;
                while (b < group.length && group[b] < 0) {
                    b++;
                }
                copy(cx, composed, k * row + (long) a * d, callerInputs, k * row + (long) a * d, (long) (b - a) * d);
                a = b;
            }
        }
        return composed;
    }

    /** Uploads lengths, word groups and word counts (and ids and baseline ids when {@code withIds}). */
    private int[] upload(List<Encoding> encodings, boolean withIds) {
        if (encodings.size() != n) {
            throw new IllegalArgumentException(encodings.size() + " texts for a workspace of " + n);
        }
        int[] idv = new int[n * t], basev = new int[n * t], groupv = new int[n * t];
        int[] lenv = new int[n], words = new int[n];
        Arrays.fill(groupv, -1);
        for (int k = 0; k < n; k++) {
            Encoding e = encodings.get(k);
            int len = e.length();
            words[k] = e.words().size();
            if (len < 1 || len > t || words[k] < 1 || words[k] > w) {
                throw new IllegalArgumentException("text " + k + " has " + len + " tokens and " + words[k]
                        + " words; this workspace holds 1 to " + t + " tokens and 1 to " + w + " words");
            }
            lenv[k] = len;
            System.arraycopy(e.ids(), 0, idv, k * t, len);
            System.arraycopy(e.baselineIds(), 0, basev, k * t, len);
            System.arraycopy(e.wordOfToken(), 0, groupv, k * t, len);
        }
        if (withIds) {
            ids.copyFrom(idv);
            baseIds.copyFrom(basev);
        }
        lens.copyFrom(lenv);
        group.copyFrom(groupv);
        wordLens.copyFrom(words);
        rowLens.copyFrom(repeat(lenv, 2 * s));
        return lenv;
    }

    private Tensor ownBase() {
        if (base == null) {
            base = own(dev.floats(n, t, d));
        }
        return base;
    }

    private void use(Tensor e, Tensor b, boolean perPosition) {
        inputs = e;
        baselines = b;
        basePerPosition = perPosition;
    }

    private long countNonFinite(Tensor x, long offset, long count) {
        long[] out = new long[1];
        check(NativeCore.mo_count_nonfinite(ctx(dev), out, f(x, offset), count), "count_nonfinite");
        return out[0];
    }

    /** {@code count} floats from {@code src} at {@code srcOffset} to {@code dst} at {@code dstOffset} (device copy). */
    private static void copy(NativeCore.Context cx, Tensor dst, long dstOffset, Tensor src, long srcOffset,
            long count) {
        check(NativeCore.mo_copy(cx, f(dst, dstOffset), f(src, srcOffset), 4 * count), "copy");
    }

    /** The model's class probabilities [N,C] on the loaded texts as they are. */
    public float[] predict() {
        ensureLoaded();
        zWord.fill(1f); // every word kept: the keep rows are E (never-masked tokens take B, their own embedding)
        float[] all = forwardProbabilities();
        return Arrays.copyOf(all, n * c);
    }

    /**
     * Optimizes the gates for class {@code targets[k]} of text k: {@code config.steps()} steps from the initial
     * parameters. {@code progress}, if not null, receives the number of completed steps about
     * {@value #PROGRESS_CALLS} times, the last time with the total; on CUDA each callback waits for the device.
     */
    public void optimize(int[] targets, IntConsumer progress) {
        ensureLoaded();
        target.copyFrom(targets);
        theta.copyFrom(gates.initialParameters(n, w));
        m.fill(0f);
        v.fill(0f);
        step.copyFrom(new long[] {0});
        if (config.hasTargetRate()) { // every text's first step uses the sparsity weight
            check(NativeCore.mo_fill(ctx(dev), f(scratch, 4L * n), (float) config.sparsityWeight(), n), "fill");
            constraintAverage.fill(0f);
        }
        int every = progress == null ? steps : Math.max(1, (steps + PROGRESS_CALLS - 1) / PROGRESS_CALLS);
        for (int done = 0; done < steps; ) {
            int next = Math.min(steps, done + every);
            advance(next - done);
            done = next;
            if (progress != null) {
                dev.synchronize();
                progress.accept(done);
            }
        }
    }

    /** Deterministic word gates and keep probabilities P(z != 0) [N,W] (padding entries are meaningless). */
    public record Gates(float[] gates, double[] keepProbabilities) {}

    /** The deterministic gates of the optimized parameters. */
    public Gates decode() {
        ensureOpen();
        gates.decode(zDet, pKeep, pScratch, theta, wordLens, n, w);
        float[] keep = pKeep.toFloatArray();
        double[] pk = new double[keep.length];
        for (int j = 0; j < keep.length; j++) { // HardKuma's decode gives P(z = 0)
            pk[j] = gates.decodesClosedProbability() ? 1.0 - keep[j] : keep[j];
        }
        return new Gates(zDet.toFloatArray(), pk);
    }

    /**
     * Probabilities [2,N,C] with the binary word mask {@code keepWords} [N,W]: the kept words only (first N rows),
     * then the text with them removed (last N rows).
     */
    public float[] certify(float[] keepWords) {
        ensureLoaded();
        zWord.copyFrom(repeatArray(keepWords, s));
        float[] all = forwardProbabilities();
        float[] out = new float[2 * n * c];
        System.arraycopy(all, 0, out, 0, n * c); // keep rows of sample 0
        System.arraycopy(all, s * n * c, out, n * c, n * c); // drop rows of sample 0
        return out;
    }

    /**
     * Per step, {@link #traceWidth} values: (sufficiency, comprehensiveness) [N,2], then (expected L0, expected
     * transitions) [N,2], then, with a target rate, the sparsity weight the step used [N].
     */
    public float[] trace() {
        ensureOpen();
        return trace.toFloatArray();
    }

    /** Values per step in {@link #trace}: 4 N, or 5 N with a target rate. */
    public int traceWidth() {
        return row;
    }

    /** Releases the buffers and the graph. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (graph != null) {
            graph.close();
            graph = null;
        }
        for (int k = owned.size() - 1; k >= 0; k--) {
            owned.get(k).close();
        }
    }

    // ---- the loop ----------------------------------------------------------------------------------------------

    /** Runs {@code count} steps: by graph replays while the recorded step is valid, else eagerly. */
    private void advance(int count) {
        while (count > 0) {
            if (graph != null && graphGeneration == model.bufferGeneration() && graphInputs == inputs.address()
                    && graphBaselines == baselines.address() && graphPerPosition == basePerPosition) {
                graph.launch(count);
                return;
            }
            step();
            count--;
            captureIfPossible();
        }
    }

    /**
     * After an eager step (which made the model allocate what it needs for this shape), records the step in a graph
     * when the device, the configuration and the model allow it.
     */
    private void captureIfPossible() {
        if (!config.cudaGraphs() || dev.backend() != Backend.CUDA) {
            return;
        }
        long generation = model.bufferGeneration();
        if (generation < 0) {
            return;
        }
        if (graph != null) { // stale: the model has reallocated, or the inputs moved, since it was captured
            graph.close();
            graph = null;
        }
        try {
            graph = CudaGraph.capture(dev, this::step);
        } catch (RuntimeException e) {
            throw new MaskoptException("cannot record an optimization step in a CUDA graph: the model's forward or "
                    + "backward allocated, released, copied to the host or waited after warming up (see "
                    + "Classifier.bufferGeneration); turn graphs off with ExplainerConfig.Builder.optCudaGraphs(false)",
                    e);
        }
        if (model.bufferGeneration() != generation) { // cannot replay what the model has since moved
            graph.close();
            graph = null;
            return;
        }
        graphGeneration = generation;
        graphInputs = inputs.address();
        graphBaselines = baselines.address();
        graphPerPosition = basePerPosition;
    }

    /** One optimization step: device work only (see the class comment). */
    private void step() {
        NativeCore.Context cx = ctx(dev);
        gates.sample(zWord, dzWord, theta, wordLens, s, n, w, step);
        check(NativeCore.mo_gather_gates(cx, f(z), f(zWord), i(group), i(lens), 1, s, n, t, w), "gather_gates");
        check(NativeCore.mo_gather_gates(cx, f(dz), f(dzWord), i(group), i(lens), p, s, n, t, w), "gather_gates");
        check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(inputs), f(baselines), i(lens), s, n, t, d, per()),
                "mix_forward");
        model.forward(mixed, rowLens, logits);
        check(NativeCore.mo_objective(cx, f(scratch), f(dLogits), f(logits), i(target), s, n, c,
                (float) config.sufficiencyWeight(), (float) config.comprehensivenessWeight()), "objective");
        model.backward(dLogits, dMixed);
        check(NativeCore.mo_mix_backward(cx, f(dThetaToken), f(dMixed), f(dz), f(inputs), f(baselines), i(lens), p, s,
                n, t, d, per()), "mix_backward");
        check(NativeCore.mo_segment_sum(cx, f(dTheta), f(dThetaToken), i(group), i(lens), p, n, t, w), "segment_sum");
        if (config.hasTargetRate()) {
            gates.regularizeRows(dTheta, scratch, 2L * n, theta, wordLens, scratch, 4L * n, n, w);
        } else {
            gates.regularize(dTheta, scratch, 2L * n, theta, wordLens, n, w);
        }
        check(NativeCore.mo_trace_write(cx, f(trace), f(scratch), i64(step), steps, row), "trace_write");
        if (config.hasTargetRate()) { // the sparsity weights of the next step, from this step's selection rates
            check(NativeCore.mo_rate_control(cx, f(scratch, 4L * n), f(constraintAverage), f(scratch, 2L * n), n,
                    (float) config.targetRate(), (float) config.rateGain(), (float) config.rateSmoothing(),
                    (float) -ExplainerConfig.MAX_RATE_WEIGHT, (float) ExplainerConfig.MAX_RATE_WEIGHT), "rate_control");
        }
        check(NativeCore.mo_step_increment(cx, i64(step)), "step_increment");
        check(NativeCore.mo_adam_update_at(cx, f(theta), f(m), f(v), f(dTheta), (long) p * n * w,
                (float) config.learningRate(), (float) config.beta1(), (float) config.beta2(),
                (float) config.adamEpsilon(), (float) config.weightDecay(), i64(step)), "adam_update_at");
    }

    /** Softmax [2SN,C] of the model on the mix of the word gates now in zWord. */
    private float[] forwardProbabilities() {
        NativeCore.Context cx = ctx(dev);
        check(NativeCore.mo_gather_gates(cx, f(z), f(zWord), i(group), i(lens), 1, s, n, t, w), "gather_gates");
        check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(inputs), f(baselines), i(lens), s, n, t, d, per()),
                "mix_forward");
        model.forward(mixed, rowLens, logits);
        check(NativeCore.mo_softmax(cx, f(probs), f(logits), 2L * s * n, c), "softmax");
        return probs.toFloatArray();
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private int per() {
        return basePerPosition ? 1 : 0;
    }

    private Tensor own(Tensor x) {
        owned.add(x);
        return x;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("workspace is closed");
        }
    }

    private void ensureLoaded() {
        ensureOpen();
        if (inputs == null) {
            throw new IllegalStateException("no texts loaded");
        }
    }

    private static int[] repeat(int[] values, int times) {
        int[] out = new int[values.length * times];
        for (int r = 0; r < times; r++) {
            System.arraycopy(values, 0, out, r * values.length, values.length);
        }
        return out;
    }

    private static float[] repeatArray(float[] values, int times) {
        float[] out = new float[values.length * times];
        for (int r = 0; r < times; r++) {
            System.arraycopy(values, 0, out, r * values.length, values.length);
        }
        return out;
    }
}
