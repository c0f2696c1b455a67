package dev.maskopt.attribution;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Batch;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Integrated gradients (Sundararajan et al. 2017) from the encoding's baseline embeddings x' (the
 * {@link Removal#BASELINE} policy: each token's {@code baselineIds} embedding; never-masked tokens are their
 * own baseline and get nothing): for token t,
 * {@code IG_t = sum_d (x - x')_{t,d} * integral_0^1 dF/dx_{t,d}(x' + a (x - x')) da}, the integral by a
 * Riemann midpoint or trapezoid rule over {@code steps} intervals, then summed over the word's tokens.
 * Completeness: the scores of a text sum to about {@code F(x) - F(x')} (see {@link #outputDifferences}); the
 * gap shrinks as the steps grow (exactly 0 when F is linear in x).
 *
 * <p>On the device: the interpolations are the optimizer's mix {@code a E + (1 - a) B}, whose second half
 * {@code (1 - a) E + a B} is the interpolation at 1 - a, which both rules also need (their nodes are
 * symmetric), so each node is computed once. Forward; the output's gradient w.r.t. the logits on the host,
 * scaled by the quadrature weight (negated on the second half, which the mix backward subtracts); backward;
 * the mix backward then contracts the input gradients with E - B, and a segment sum adds tokens into words.
 */
public final class IntegratedGradients implements Attributor {
    /** Quadrature rule over the path. */
    public enum Rule {
        /** Nodes (k + 1/2)/steps, k &lt; steps, weight 1/steps each. */
        MIDPOINT,
        /** Nodes k/steps, k &le; steps, weights 1/steps and 1/(2 steps) at both ends. */
        TRAPEZOID
    }

    private final int steps;
    private final Rule rule;
    private final Output output;

    private IntegratedGradients(int steps, Rule rule, Output output) {
        Inputs.positive("steps", steps);
        this.steps = steps;
        this.rule = Inputs.notNull("rule", rule);
        this.output = Inputs.notNull("output", output);
    }

    /** 50 midpoint steps on the target probability. */
    public static IntegratedGradients create() {
        return new IntegratedGradients(50, Rule.MIDPOINT, Output.PROBABILITY);
    }

    public IntegratedGradients withSteps(int v) {
        return new IntegratedGradients(v, rule, output);
    }

    public IntegratedGradients withRule(Rule v) {
        return new IntegratedGradients(steps, v, output);
    }

    public IntegratedGradients withOutput(Output v) {
        return new IntegratedGradients(steps, rule, v);
    }

    public int steps() {
        return steps;
    }

    public Rule rule() {
        return rule;
    }

    public Output output() {
        return output;
    }

    @Override
    public String name() {
        return "integrated-gradients(" + steps + " " + rule + ", " + output + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        // Nodes a_j and weights; pair j keeps a_j (first half of the mix) and a_{J-1-j} = 1 - a_j (second half).
        int nodes = rule == Rule.MIDPOINT ? steps : steps + 1, pairs = (nodes + 1) / 2;
        float[] alpha = new float[pairs];
        double[] wKeep = new double[pairs], wDrop = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            int q = nodes - 1 - p;
            alpha[p] = (float) (rule == Rule.MIDPOINT ? (p + 0.5) / steps : (double) p / steps);
            wKeep[p] = weight(p);
            wDrop[p] = weight(q);
            if (p == q) { // the middle node of an odd count appears in both halves
                wKeep[p] /= 2;
                wDrop[p] /= 2;
            }
        }
        List<double[]> out = new ArrayList<>(enc.size());
        for (int from = 0; from < enc.size(); ) {
            int t = enc.get(from).length(), to = from + 1;
            while (to < enc.size() && 2L * pairs * (to - from + 1) * Math.max(t, enc.get(to).length())
                    <= Forward.TOKENS_PER_PASS) {
                t = Math.max(t, enc.get(to).length());
                to++;
            }
            out.addAll(chunk(model, enc.subList(from, to), Arrays.copyOfRange(y, from, to), alpha, wKeep, wDrop));
            from = to;
        }
        return out;
    }

    private double weight(int node) {
        if (rule == Rule.TRAPEZOID && (node == 0 || node == steps)) {
            return 0.5 / steps;
        }
        return 1.0 / steps;
    }

    /** IG word scores for a few texts, over all pairs of nodes in passes of at most TOKENS_PER_PASS tokens. */
    private List<double[]> chunk(Classifier model, List<Encoding> texts, int[] y, float[] alpha, double[] wKeep,
            double[] wDrop) {
        Device dev = model.device();
        NativeCore.Context cx = ctx(dev);
        int n = texts.size(), c = model.labels().size(), d = model.embeddingDim(), pairs = alpha.length;
        int w = texts.stream().mapToInt(e -> e.words().size()).max().orElseThrow();
        double[][] acc = new double[n][w];
        try (Batch batch = Batch.of(model, texts); Tensor base = dev.floats(n, batch.length, d);
                Tensor group = dev.upload(padded(texts, batch.length, true), n, batch.length);
                Tensor dTheta = dev.floats(1, n, batch.length); Tensor words = dev.floats(1, n, w)) {
            int t = batch.length;
            try (Tensor baseIds = dev.upload(padded(texts, t, false), n, t)) {
                model.embed(baseIds, batch.lengthsTensor, base);
            }
            int perPass = (int) Math.max(1, Math.min(pairs, Forward.TOKENS_PER_PASS / (2L * n * t)));
            for (int p0 = 0; p0 < pairs; p0 += perPass) {
                int s = Math.min(perPass, pairs - p0);
                float[] z = new float[s * n * t], ones = new float[s * n * t];
                Arrays.fill(ones, 1f);
                for (int si = 0; si < s; si++) {
                    Arrays.fill(z, si * n * t, (si + 1) * n * t, alpha[p0 + si]);
                }
                int[] rowLens = new int[2 * s * n];
                for (int r = 0; r < rowLens.length; r++) {
                    rowLens[r] = batch.lengths[r % n];
                }
                try (Tensor zT = dev.upload(z, s, n, t); Tensor dz = dev.upload(ones, 1, s, n, t);
                        Tensor rowLensT = dev.upload(rowLens, 2L * s * n); Tensor mixed = dev.floats(2L * s * n, t, d);
                        Tensor dMixed = dev.floats(2L * s * n, t, d); Tensor logits = dev.floats(2L * s * n, c);
                        Tensor dLogits = dev.floats(2L * s * n, c)) {
                    check(NativeCore.mo_mix_forward(cx, f(mixed), f(zT), f(batch.embeddings), f(base),
                            i(batch.lengthsTensor), s, n, t, d, 1), "mix_forward");
                    model.forward(mixed, rowLensT, logits);
                    float[] zl = logits.toFloatArray(), g = new float[zl.length];
                    for (int h = 0; h < 2; h++) {
                        for (int si = 0; si < s; si++) {
                            double scale = h == 0 ? wKeep[p0 + si] : -wDrop[p0 + si];
                            for (int k = 0; k < n; k++) {
                                output.gradient(g, zl, ((h * s + si) * n + k) * c, c, y[k], scale);
                            }
                        }
                    }
                    dLogits.copyFrom(g);
                    model.backward(dLogits, dMixed);
                    check(NativeCore.mo_mix_backward(cx, f(dTheta), f(dMixed), f(dz), f(batch.embeddings), f(base),
                            i(batch.lengthsTensor), 1, s, n, t, d, 1), "mix_backward");
                    check(NativeCore.mo_segment_sum(cx, f(words), f(dTheta), i(group), i(batch.lengthsTensor), 1, n, t,
                            w), "segment_sum");
                    float[] part = words.toFloatArray();
                    for (int k = 0; k < n; k++) {
                        for (int j = 0; j < w; j++) {
                            acc[k][j] += part[k * w + j];
                        }
                    }
                }
            }
        }
        List<double[]> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            out.add(Arrays.copyOf(acc[k], texts.get(k).words().size()));
        }
        return out;
    }

    /** [N,T] word index per token (-1 at never-masked tokens and padding), or baseline ids (0 at padding). */
    private static int[] padded(List<Encoding> texts, int t, boolean wordIndex) {
        int[] out = new int[texts.size() * t];
        if (wordIndex) {
            Arrays.fill(out, -1);
        }
        for (int k = 0; k < texts.size(); k++) {
            int[] row = wordIndex ? texts.get(k).wordOfToken() : texts.get(k).baselineIds();
            System.arraycopy(row, 0, out, k * t, row.length);
        }
        return out;
    }

    /**
     * {@code F(x) - F(x')} per text, the total that completeness says the text's scores add up to: the
     * target output on the text minus that on its baseline (every word at its baseline embedding).
     */
    public double[] outputDifferences(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        int n = enc.size(), c = model.labels().size();
        float[][] z = Forward.logits(model, 2 * n, r -> r < n ? enc.get(r).ids() : enc.get(r - n).baselineIds());
        double[] out = new double[n];
        for (int k = 0; k < n; k++) {
            out[k] = output.value(z[k], 0, c, y[k]) - output.value(z[n + k], 0, c, y[k]);
        }
        return out;
    }
}
