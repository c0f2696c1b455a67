package dev.maskopt.torchscript;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Tensor;
import dev.maskopt.internal.GateOps;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;

/**
 * Explains a {@link TorchScriptImageClassifier}'s prediction by optimizing stochastic gates over square patches of
 * the image (MaRC's image setting), with maskopt's own kernels for everything but the model.
 *
 * <p>Each step: sample patch gates z [S, P] (hard concrete or HardKuma, {@link ExplainerConfig#gate()}); spread them
 * onto the pixels (every channel of a pixel takes its patch's gate: the pixels are maskopt "tokens" of width 1 grouped
 * into patches, as word pieces are grouped into words); mix keep = z x + (1 - z) b and drop = (1 - z) x + z b with
 * the baseline image b ({@link ImageBaseline}); run the model forward and backward on both (libtorch); turn the pixel
 * gradients into patch-parameter gradients (mix backward, segment sums); add the closed-form expected-L0 gradient and
 * the total-variation smoothness gradient; take an Adam step. The objective is
 * {@code wSuff * -log p_y(keep) + wComp * -log(1 - p_y(drop)) + wL0 * E[L0] / P + wTV * E[TV] / P}, where
 * {@code E[TV]} is the expected anisotropic total variation of the open/closed pattern of the gates on the patch
 * grid: the expected number of horizontally or vertically adjacent patch pairs of which exactly one gate is open
 * (maskopt's 1-D expected-transitions term applied to every row and, through a transposition, every column).
 *
 * <p>{@link ExplainerConfig} supplies the gate family, steps, samples, Adam settings, the sufficiency,
 * comprehensiveness and sparsity weights, the threshold and the seed; its contiguity weight is not used here (see
 * {@link Builder#optTotalVariationWeight}). Buffers are allocated for each call and released at its end; the model's
 * device is used throughout.
 */
public final class ImageExplainer {
    private final TorchScriptImageClassifier model;
    private final ExplainerConfig config;
    private final int patchSize;
    private final ImageBaseline baseline;
    private final double blurSigma;
    private final double tvWeight;

    private ImageExplainer(Builder b) {
        this.model = b.model;
        this.config = b.config;
        this.patchSize = b.patchSize;
        this.baseline = b.baseline;
        this.blurSigma = b.blurSigma;
        this.tvWeight = b.tvWeight;
    }

    public static Builder builder(TorchScriptImageClassifier model) {
        return new Builder(model);
    }

    /** Options of the image explainer; each default is declared here. */
    public static final class Builder {
        private final TorchScriptImageClassifier model;
        private ExplainerConfig config = ExplainerConfig.defaults();
        private int patchSize = 16;
        private ImageBaseline baseline = ImageBaseline.BLURRED;
        private double blurSigma = 0;
        private double tvWeight = 1;

        private Builder(TorchScriptImageClassifier model) {
            this.model = model;
        }

        /** Optimization settings (default {@link ExplainerConfig#defaults()}). */
        public Builder optConfig(ExplainerConfig v) { config = v; return this; }
        /** Side of the square patches that share a gate, in pixels (default 16). */
        public Builder optPatchSize(int v) { patchSize = v; return this; }
        /** What masked patches become (default {@link ImageBaseline#BLURRED}). */
        public Builder optBaseline(ImageBaseline v) { baseline = v; return this; }
        /** Gaussian sigma of the blurred baseline in pixels (default 0: min(H, W) / 16, at least 1). */
        public Builder optBlurSigma(double v) { blurSigma = v; return this; }
        /** Weight of the expected total variation over the patch grid, divided by the patch count (default 1). */
        public Builder optTotalVariationWeight(double v) { tvWeight = v; return this; }

        public ImageExplainer build() {
            if (model == null || config == null || baseline == null) {
                throw new IllegalArgumentException("model, config and baseline must be given");
            }
            if (patchSize < 1) {
                throw new IllegalArgumentException("patch size must be positive (got " + patchSize + ")");
            }
            if (!(blurSigma >= 0) || !(tvWeight >= 0) || !Double.isFinite(blurSigma) || !Double.isFinite(tvWeight)) {
                throw new IllegalArgumentException("blur sigma and total-variation weight must be finite and >= 0");
            }
            return new ImageExplainer(this);
        }
    }

    /** Explains the model's prediction on {@code image}. */
    public ImageExplanation explain(PixelImage image) {
        return explain(image, -1);
    }

    /** Explains class {@code target} (or the prediction, when negative) on {@code image}. */
    public ImageExplanation explain(PixelImage image, int target) {
        if (image == null) {
            throw new IllegalArgumentException("image must be given");
        }
        int k = model.labels().size();
        if (target >= k) {
            throw new IllegalArgumentException("target " + target + " is not a class index in [0, " + k + ")");
        }
        long start = System.nanoTime();
        int c = image.channels(), h = image.height(), w = image.width();
        int t = c * h * w;
        int gh = (h + patchSize - 1) / patchSize, gw = (w + patchSize - 1) / patchSize, np = gh * gw;
        int s = config.samples(), p = config.gate().parameters(), steps = config.steps();
        double sigma = blurSigma > 0 ? blurSigma : Math.max(1, Math.min(h, w) / 16.0);
        PixelImage base = baseline.of(image, sigma);

        // Pixel -> patch groups, and the transposition of the patch grid (for the vertical total variation).
        int[] group = new int[t];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    group[(ch * h + y) * w + x] = (y / patchSize) * gw + x / patchSize;
                }
            }
        }
        GateOps gates = new GateOps(config);
        Device dev = model.device();
        List<Tensor> owned = new ArrayList<>();
        try (GridRegularizer grid = new GridRegularizer(dev, config, tvWeight, gh, gw)) {
            Tensor x = own(owned, dev.upload(image.raw(), 1, c, h, w));
            Tensor b = own(owned, dev.upload(base.raw(), 1, c, h, w));
            Tensor lens = own(owned, dev.upload(new int[] {t}, 1));
            Tensor patchLens = own(owned, dev.upload(new int[] {np}, 1));
            Tensor groupT = own(owned, dev.upload(group, 1, t));
            Tensor theta = own(owned, dev.floats(p, 1, np)), m = own(owned, dev.floats(p, 1, np));
            Tensor v = own(owned, dev.floats(p, 1, np)), dTheta = own(owned, dev.floats(p, 1, np));
            Tensor zP = own(owned, dev.floats(s, 1, np)), dzP = own(owned, dev.floats(p, s, 1, np));
            Tensor z = own(owned, dev.floats(s, 1, t)), dz = own(owned, dev.floats(p, s, 1, t));
            Tensor dThetaPix = own(owned, dev.floats(p, 1, t));
            Tensor mixed = own(owned, dev.floats(2L * s, c, h, w)), dMixed = own(owned, dev.floats(2L * s, c, h, w));
            Tensor logits = own(owned, dev.floats(2L * s, k)), dLogits = own(owned, dev.floats(2L * s, k));
            Tensor probs = own(owned, dev.floats(2L * s, k));
            Tensor logits1 = own(owned, dev.floats(1, k)), probs1 = own(owned, dev.floats(1, k));
            Tensor losses = own(owned, dev.floats(1, 2)), trace = own(owned, dev.floats(steps, 2));
            Tensor step = own(owned, dev.longs(1)), targetT = own(owned, dev.ints(1));
            Tensor zDet = own(owned, dev.floats(1, np)), pKeep = own(owned, dev.floats(1, np));
            Tensor pScratch = own(owned, dev.floats(1, np));
            NativeCore.Context cx = ctx(dev);

            // The prediction on the image as it is.
            model.forward(x, logits1);
            check(NativeCore.mo_softmax(cx, f(probs1), f(logits1), 1, k), "softmax");
            float[] pr = probs1.toFloatArray();
            int predicted = argmax(pr);
            int y = target < 0 ? predicted : target;

            // The optimization loop: maskopt's kernels around libtorch's forward and backward.
            targetT.copyFrom(new int[] {y});
            theta.copyFrom(gates.initialParameters(1, np));
            m.fill(0f);
            v.fill(0f);
            step.copyFrom(new long[] {0});
            for (int it = 0; it < steps; it++) {
                gates.sample(zP, dzP, theta, patchLens, s, 1, np, step);
                check(NativeCore.mo_gather_gates(cx, f(z), f(zP), i(groupT), i(lens), 1, s, 1, t, np), "gather_gates");
                check(NativeCore.mo_gather_gates(cx, f(dz), f(dzP), i(groupT), i(lens), p, s, 1, t, np), "gather_gates");
                check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(x), f(b), i(lens), s, 1, t, 1, 1), "mix_forward");
                model.forward(mixed, logits);
                check(NativeCore.mo_objective(cx, f(losses), f(dLogits), f(logits), i(targetT), s, 1, k,
                        (float) config.sufficiencyWeight(), (float) config.comprehensivenessWeight()), "objective");
                model.backward(dLogits, dMixed);
                check(NativeCore.mo_mix_backward(cx, f(dThetaPix), f(dMixed), f(dz), f(x), f(b), i(lens), p, s, 1, t, 1,
                        1), "mix_backward");
                check(NativeCore.mo_segment_sum(cx, f(dTheta), f(dThetaPix), i(groupT), i(lens), p, 1, t, np),
                        "segment_sum");
                grid.accumulate(dTheta, theta); // expected L0 and total variation on the patch grid
                check(NativeCore.mo_trace_write(cx, f(trace), f(losses), i64(step), steps, 2), "trace_write");
                check(NativeCore.mo_step_increment(cx, i64(step)), "step_increment");
                check(NativeCore.mo_adam_update_at(cx, f(theta), f(m), f(v), f(dTheta), (long) p * np,
                        (float) config.learningRate(), (float) config.beta1(), (float) config.beta2(),
                        (float) config.adamEpsilon(), (float) config.weightDecay(), i64(step)), "adam_update_at");
            }

            // Deterministic gates, the selected patches, and their certificate (one more forward pass).
            gates.decode(zDet, pKeep, pScratch, theta, patchLens, 1, np);
            float[] g = zDet.toFloatArray(), pk = pKeep.toFloatArray();
            double[] gd = new double[np], pkd = new double[np];
            boolean[] sel = new boolean[np];
            float[] binary = new float[s * np];
            for (int j = 0; j < np; j++) {
                gd[j] = g[j];
                pkd[j] = gates.decodesClosedProbability() ? 1.0 - pk[j] : pk[j];
                sel[j] = g[j] >= config.threshold();
                for (int r = 0; r < s; r++) {
                    binary[r * np + j] = sel[j] ? 1f : 0f;
                }
            }
            zP.copyFrom(binary);
            check(NativeCore.mo_gather_gates(cx, f(z), f(zP), i(groupT), i(lens), 1, s, 1, t, np), "gather_gates");
            check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(x), f(b), i(lens), s, 1, t, 1, 1), "mix_forward");
            model.forward(mixed, logits);
            check(NativeCore.mo_softmax(cx, f(probs), f(logits), 2L * s, k), "softmax");
            float[] cert = probs.toFloatArray();
            float[] tr = trace.toFloatArray();
            List<double[]> traceList = new ArrayList<>(steps);
            for (int it = 0; it < steps; it++) {
                traceList.add(new double[] {tr[2 * it], tr[2 * it + 1]});
            }
            double[] prd = new double[k];
            for (int j = 0; j < k; j++) {
                prd[j] = pr[j];
            }
            return new ImageExplanation(patchSize, gh, gw, gd, pkd, sel, model.labels(), predicted, y, prd,
                    cert[y], cert[s * k + y], traceList, (System.nanoTime() - start) / 1e9);
        } finally {
            for (int j = owned.size() - 1; j >= 0; j--) {
                owned.get(j).close();
            }
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int j = 1; j < x.length; j++) {
            if (x[j] > x[best]) {
                best = j;
            }
        }
        return best;
    }
}
