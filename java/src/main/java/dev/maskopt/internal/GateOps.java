package dev.maskopt.internal;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;

import dev.maskopt.ExplainerConfig;
import dev.maskopt.Gate;
import dev.maskopt.Tensor;

/** The gate family's native operations behind one interface, so the loop is written once. */
public final class GateOps {
    private final ExplainerConfig cfg;
    private final float l, r;

    public GateOps(ExplainerConfig cfg) {
        this.cfg = cfg;
        this.l = (float) cfg.stretchLow();
        this.r = (float) cfg.stretchHigh();
    }

    public Gate gate() {
        return cfg.gate();
    }

    /** Initial parameters [P,N,T]. */
    public float[] initialParameters(int n, int t) {
        int nt = n * t;
        float[] theta = new float[cfg.gate().parameters() * nt];
        if (cfg.gate() == Gate.HARD_CONCRETE) {
            java.util.Arrays.fill(theta, (float) cfg.initLogAlpha());
        } else {
            java.util.Arrays.fill(theta, 0, nt, (float) cfg.initLogA());
            java.util.Arrays.fill(theta, nt, 2 * nt, (float) cfg.initLogB());
        }
        return theta;
    }

    /** z [S,N,T] and dz [P,S,N,T] from theta, with the noise of the step in the counter {@code step} (int64 [1]). */
    public void sample(Tensor z, Tensor dz, Tensor theta, Tensor lengths, int s, int n, int t, Tensor step) {
        if (cfg.gate() == Gate.HARD_CONCRETE) {
            check(NativeCore.mo_hc_sample_at(ctx(z.device()), f(z), f(dz), f(theta), i(lengths), s, n, t,
                    (float) cfg.temperature(), l, r, cfg.seed(), i64(step)), "hc_sample_at");
        } else {
            check(NativeCore.mo_kuma_sample_at(ctx(z.device()), f(z), f(dz), f(theta), i(lengths), s, n, t, l, r,
                    cfg.seed(), i64(step)), "kuma_sample_at");
        }
    }

    /** dTheta += sparsity and contiguity gradients; reg [N,2] at {@code regOffset} of {@code out}. */
    public void regularize(Tensor dTheta, Tensor out, long regOffset, Tensor theta, Tensor lengths, int n, int t) {
        float w0 = (float) cfg.sparsityWeight(), wc = (float) cfg.contiguityWeight();
        if (cfg.gate() == Gate.HARD_CONCRETE) {
            check(NativeCore.mo_hc_regularize(ctx(theta.device()), f(dTheta), f(out, regOffset), f(theta),
                    i(lengths), n, t, (float) cfg.temperature(), l, r, w0, wc), "hc_regularize");
        } else {
            check(NativeCore.mo_kuma_regularize(ctx(theta.device()), f(dTheta), f(out, regOffset), f(theta),
                    i(lengths), n, t, l, r, w0, wc), "kuma_regularize");
        }
    }

    /**
     * As {@link #regularize} with the L0 weight of row k read from {@code weights} [N] at {@code weightOffset} (the
     * target rate's multipliers, on the device).
     */
    public void regularizeRows(Tensor dTheta, Tensor out, long regOffset, Tensor theta, Tensor lengths, Tensor weights,
            long weightOffset, int n, int t) {
        float wc = (float) cfg.contiguityWeight();
        if (cfg.gate() == Gate.HARD_CONCRETE) {
            check(NativeCore.mo_hc_regularize_rows(ctx(theta.device()), f(dTheta), f(out, regOffset), f(theta),
                    i(lengths), f(weights, weightOffset), n, t, (float) cfg.temperature(), l, r, wc),
                    "hc_regularize_rows");
        } else {
            check(NativeCore.mo_kuma_regularize_rows(ctx(theta.device()), f(dTheta), f(out, regOffset), f(theta),
                    i(lengths), f(weights, weightOffset), n, t, l, r, wc), "kuma_regularize_rows");
        }
    }

    /** Deterministic gates z [N,T] and keep probabilities P(z != 0) [N,T]. */
    public void decode(Tensor z, Tensor pKeep, Tensor scratch, Tensor theta, Tensor lengths, int n, int t) {
        if (cfg.gate() == Gate.HARD_CONCRETE) {
            check(NativeCore.mo_hc_gate(ctx(z.device()), f(z), f(theta), i(lengths), n, t, l, r), "hc_gate");
            check(NativeCore.mo_hc_prob_open(ctx(z.device()), f(pKeep), f(theta), i(lengths), n, t,
                    (float) cfg.temperature(), l, r), "hc_prob_open");
        } else {
            check(NativeCore.mo_kuma_gate(ctx(z.device()), f(z), f(theta), i(lengths), n, t, l, r), "kuma_gate");
            // pKeep receives P0 here; the caller turns it into 1 - P0.
            check(NativeCore.mo_kuma_probs(ctx(z.device()), f(pKeep), f(scratch), f(theta), i(lengths), n, t, l, r),
                    "kuma_probs");
        }
    }

    /** Whether {@link #decode} wrote P(z = 0) instead of P(z != 0). */
    public boolean decodesClosedProbability() {
        return cfg.gate() == Gate.HARD_KUMA;
    }
}
