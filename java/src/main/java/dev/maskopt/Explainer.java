package dev.maskopt;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.internal.Batch;
import dev.maskopt.internal.GateOps;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;

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
 * objective. Not thread-safe (like its device).
 */
public final class Explainer implements AutoCloseable {
    private final Classifier model;
    private final ExplainerConfig config;
    private final GateOps gates;
    private boolean closed;

    private Explainer(Classifier model, ExplainerConfig config) {
        if (model == null || config == null) {
            throw new IllegalArgumentException("model and config must be given");
        }
        if (model.labels().size() < 2) {
            throw new IllegalArgumentException("the model needs at least 2 classes (got " + model.labels().size() + ")");
        }
        this.model = model;
        this.config = config;
        this.gates = new GateOps(config);
    }

    /** An explainer with the default configuration. */
    public static Explainer create(Classifier model) {
        return new Explainer(model, ExplainerConfig.defaults());
    }

    public static Explainer create(Classifier model, ExplainerConfig config) {
        return new Explainer(model, config);
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
        if (closed) {
            throw new IllegalStateException("explainer is closed");
        }
        long start = System.nanoTime();
        List<Encoding> encodings = encode(texts, targets);
        try (Scope scope = new Scope()) {
            return run(encodings, targets, scope, start);
        }
    }

    /**
     * Explains class {@code targets[i]} (or the prediction, when {@code targets} is null) for texts the
     * caller has encoded, for example with {@link Classifier#encodeWords} on a dataset's own tokens.
     */
    public List<Explanation> explainEncoded(List<Encoding> encodings, int[] targets) {
        if (closed) {
            throw new IllegalStateException("explainer is closed");
        }
        long start = System.nanoTime();
        if (encodings == null || encodings.isEmpty()) {
            throw new IllegalArgumentException("no texts to explain");
        }
        validate(encodings, targets);
        try (Scope scope = new Scope()) {
            return run(List.copyOf(encodings), targets, scope, start);
        }
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
        int classes = model.labels().size();
        if (targets != null && targets.length != encodings.size()) {
            throw new IllegalArgumentException(encodings.size() + " texts but " + targets.length + " targets");
        }
        for (int k = 0; k < encodings.size(); k++) {
            Encoding e = encodings.get(k);
            if (e == null) {
                throw new IllegalArgumentException("encoding " + k + " is null");
            }
            if (e.length() == 0) {
                throw new IllegalArgumentException("text " + k + " has no tokens");
            }
            if (e.length() > model.maxLength()) {
                throw new IllegalArgumentException("text " + k + " has " + e.length() + " tokens; the model accepts at most "
                        + model.maxLength());
            }
            if (targets != null && (targets[k] < 0 || targets[k] >= classes)) {
                throw new IllegalArgumentException("target " + targets[k] + " of text " + k + " is not a class index in [0, "
                        + classes + ")");
            }
        }
    }

    private List<Explanation> run(List<Encoding> encodings, int[] targets, Scope scope, long start) {
        Device dev = model.device();
        NativeCore.Context cx = ctx(dev);
        int n = encodings.size(), c = model.labels().size(), d = model.embeddingDim();
        int s = config.samples(), p = config.gate().parameters(), steps = config.steps();

        // Tokens: ids, lengths and embeddings E [N,T,D]; words: one gate each, group [N,T] maps tokens to them.
        Batch batch = scope.add(Batch.of(model, encodings));
        int t = batch.length;
        int[] lens = batch.lengths;
        Tensor lensT = batch.lengthsTensor;
        Tensor emb = batch.embeddings;
        int w = 0;
        for (Encoding e : encodings) {
            w = Math.max(w, e.words().size());
        }
        int[] wordLens = new int[n], group = new int[n * t], baseIds = new int[n * t];
        for (int k = 0; k < n; k++) {
            Encoding e = encodings.get(k);
            wordLens[k] = e.words().size();
            if (wordLens[k] == 0) {
                throw new IllegalArgumentException("text " + k + " has no maskable word");
            }
            int[] wordOf = e.wordOfToken(), base = e.baselineIds();
            java.util.Arrays.fill(group, k * t, (k + 1) * t, -1);
            System.arraycopy(wordOf, 0, group, k * t, wordOf.length);
            System.arraycopy(base, 0, baseIds, k * t, base.length);
        }
        Tensor groupT = scope.add(dev.upload(group, n, t));
        Tensor wordLensT = scope.add(dev.upload(wordLens, n));
        // The baseline B [N,T,D]: what each token becomes when masked (special tokens stay themselves).
        Tensor base = scope.add(dev.floats(n, t, d));
        try (Tensor baseIdsT = dev.upload(baseIds, n, t)) {
            model.embed(baseIdsT, lensT, base);
        }
        if (emb.countNonFinite() > 0 || base.countNonFinite() > 0) {
            throw new IllegalArgumentException("the model's embeddings contain NaN or infinite values");
        }
        float[] probs = batch.probabilities(model);
        int[] target = new int[n];
        int[] predicted = new int[n];
        for (int k = 0; k < n; k++) {
            predicted[k] = argmax(probs, k * c, c);
            target[k] = targets == null ? predicted[k] : targets[k];
        }
        Tensor targetT = scope.add(dev.upload(target, n));

        // The optimization loop: a fixed sequence of operations on the device, no transfers.
        Tensor theta = scope.add(dev.upload(gates.initialParameters(n, w), p, n, w));
        Tensor m = scope.add(dev.floats(p, n, w));
        Tensor v = scope.add(dev.floats(p, n, w));
        m.fill(0f);
        v.fill(0f);
        Tensor dTheta = scope.add(dev.floats(p, n, w));
        Tensor zWord = scope.add(dev.floats(s, n, w));
        Tensor dzWord = scope.add(dev.floats(p, s, n, w));
        Tensor z = scope.add(dev.floats(s, n, t));
        Tensor dz = scope.add(dev.floats(p, s, n, t));
        Tensor dThetaToken = scope.add(dev.floats(p, n, t));
        Tensor mixed = scope.add(dev.floats(2L * s * n, t, d));
        Tensor dMixed = scope.add(dev.floats(2L * s * n, t, d));
        Tensor logits = scope.add(dev.floats(2L * s * n, c));
        Tensor dLogits = scope.add(dev.floats(2L * s * n, c));
        Tensor rowLens = scope.add(dev.upload(repeat(lens, 2 * s), 2L * s * n));
        Tensor trace = scope.add(dev.floats(steps, 2, n, 2));
        for (int step = 0; step < steps; step++) {
            gates.sample(zWord, dzWord, theta, wordLensT, s, n, w, step);
            check(NativeCore.mo_gather_gates(cx, f(z), f(zWord), i(groupT), i(lensT), 1, s, n, t, w), "gather_gates");
            check(NativeCore.mo_gather_gates(cx, f(dz), f(dzWord), i(groupT), i(lensT), p, s, n, t, w), "gather_gates");
            check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(emb), f(base), i(lensT), s, n, t, d, 1), "mix_forward");
            model.forward(mixed, rowLens, logits);
            check(NativeCore.mo_objective(cx, f(trace, (long) step * 4 * n), f(dLogits), f(logits), i(targetT), s, n, c,
                    (float) config.sufficiencyWeight(), (float) config.comprehensivenessWeight()), "objective");
            model.backward(dLogits, dMixed);
            check(NativeCore.mo_mix_backward(cx, f(dThetaToken), f(dMixed), f(dz), f(emb), f(base), i(lensT), p, s, n, t,
                    d, 1), "mix_backward");
            check(NativeCore.mo_segment_sum(cx, f(dTheta), f(dThetaToken), i(groupT), i(lensT), p, n, t, w),
                    "segment_sum");
            gates.regularize(dTheta, trace, (long) step * 4 * n + 2L * n, theta, wordLensT, n, w);
            check(NativeCore.mo_adam_update(cx, f(theta), f(m), f(v), f(dTheta), (long) p * n * w,
                    (float) config.learningRate(), (float) config.beta1(), (float) config.beta2(),
                    (float) config.adamEpsilon(), (float) config.weightDecay(), step + 1), "adam_update");
        }

        // Decode the deterministic word gates into rationales and certify them with one more forward pass.
        Tensor zDet = scope.add(dev.floats(n, w));
        Tensor pKeep = scope.add(dev.floats(n, w));
        Tensor scratch = scope.add(dev.floats(n, w));
        gates.decode(zDet, pKeep, scratch, theta, wordLensT, n, w);
        float[] gateValues = zDet.toFloatArray();
        float[] keep = pKeep.toFloatArray();
        float[] binary = new float[n * w];
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < wordLens[k]; j++) {
                binary[k * w + j] = gateValues[k * w + j] >= config.threshold() ? 1f : 0f;
            }
        }
        float[] certified = certify(binary, emb, base, groupT, lensT, lens, n, t, w, d, scope);
        float[] traceValues = trace.toFloatArray();
        double seconds = (System.nanoTime() - start) / 1e9;

        List<Explanation> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            int len = wordLens[k];
            double[] g = new double[len], pk = new double[len];
            boolean[] sel = new boolean[len];
            for (int j = 0; j < len; j++) {
                g[j] = gateValues[k * w + j];
                float pj = keep[k * w + j];
                pk[j] = gates.decodesClosedProbability() ? 1.0 - pj : pj;
                sel[j] = binary[k * w + j] > 0;
            }
            double[] pr = new double[c];
            for (int j = 0; j < c; j++) {
                pr[j] = probs[k * c + j];
            }
            List<String> words = encodings.get(k).words();
            out.add(new Explanation(words, g, pk, sel, Explanation.spansOf(words, sel), model.labels(), predicted[k],
                    target[k], pr, certified[k * c + target[k]], certified[(n + k) * c + target[k]],
                    traceOf(traceValues, k, n, steps), seconds));
        }
        return out;
    }

    /** Probabilities [2,N,C]: rationale kept only (first N rows), rationale removed (last N rows). */
    private float[] certify(float[] binaryWords, Tensor emb, Tensor base, Tensor groupT, Tensor lensT, int[] lens, int n,
            int t, int w, int d, Scope scope) {
        Device dev = model.device();
        Tensor zWord = scope.add(dev.upload(binaryWords, 1, n, w));
        Tensor z = scope.add(dev.floats(1, n, t));
        check(NativeCore.mo_gather_gates(ctx(dev), f(z), f(zWord), i(groupT), i(lensT), 1, 1, n, t, w), "gather_gates");
        Tensor mixed = scope.add(dev.floats(2L * n, t, d));
        check(NativeCore.mo_mix_forward(ctx(dev), f(mixed), f(z), f(emb), f(base), i(lensT), 1, n, t, d, 1),
                "mix_forward");
        Tensor rowLens = scope.add(dev.upload(repeat(lens, 2), 2L * n));
        return Batch.probabilities(model, mixed, rowLens, 2L * n);
    }

    private List<Explanation.Step> traceOf(float[] trace, int k, int n, int steps) {
        List<Explanation.Step> out = new ArrayList<>(steps);
        for (int step = 0; step < steps; step++) {
            int o = step * 4 * n;
            double suff = trace[o + 2 * k], comp = trace[o + 2 * k + 1];
            double l0 = trace[o + 2 * n + 2 * k], tr = trace[o + 2 * n + 2 * k + 1];
            double total = config.sufficiencyWeight() * suff + config.comprehensivenessWeight() * comp
                    + config.sparsityWeight() * l0 + config.contiguityWeight() * tr;
            out.add(new Explanation.Step(total, suff, comp, l0, tr));
        }
        return out;
    }

    private static int[] repeat(int[] values, int times) {
        int[] out = new int[values.length * times];
        for (int r = 0; r < times; r++) {
            System.arraycopy(values, 0, out, r * values.length, values.length);
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

    /** Does not close the model, which the caller owns. Idempotent. */
    @Override
    public void close() {
        closed = true;
    }

    /** Tensors of one call, released together. */
    private static final class Scope implements AutoCloseable {
        private final List<AutoCloseable> owned = new ArrayList<>();

        <T extends AutoCloseable> T add(T resource) {
            owned.add(resource);
            return resource;
        }

        @Override
        public void close() {
            for (int k = owned.size() - 1; k >= 0; k--) {
                try {
                    owned.get(k).close();
                } catch (Exception e) {
                    throw new MaskoptException("cannot release native memory", e);
                }
            }
        }
    }
}
