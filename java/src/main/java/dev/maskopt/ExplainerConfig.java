package dev.maskopt;

/**
 * Immutable settings of the mask optimization. Every default is declared once, in {@link Builder}.
 *
 * <p>The objective per text (methods.md, MaRC and HardKuma sections), averaged over the Monte Carlo samples:
 * {@code sufficiencyWeight * -log p_y(keep) + comprehensivenessWeight * -log(1 - p_y(drop))
 * + sparsityWeight * E[L0]/T + contiguityWeight * E[transitions]/T}, where keep = z E + (1-z) B and
 * drop = (1-z) E + z B mix the token embeddings E with the baseline B.
 *
 * <p><b>Target selection rate.</b> With {@code targetRate} set (a fraction rho of the words), the sparsity weight
 * is no longer fixed: each text gets its own, set after every step from how far the text's expected selection rate
 * E[L0]/T is from rho: {@code cma = rateSmoothing * cma + (1 - rateSmoothing) * (E[L0]/T - rho)},
 * {@code weight = clamp(rateGain * cma, -MAX_RATE_WEIGHT, MAX_RATE_WEIGHT)} (the first step uses
 * {@code sparsityWeight}). The weight turns negative, a reward for keeping words, when the text keeps fewer than
 * rho, so rates above what the objective alone would keep are reached too. This is HardKuma's constrained
 * objective (methods.md section 1) with a proportional rather than multiplicative multiplier update: in a
 * per-text optimization of a few hundred Adam steps the multiplicative rule winds up while the rate lags, drives
 * the rate far below rho and leaves the gates saturated (measured on the planted task with step sizes 0.1 to 2:
 * targets 0.15 and 0.4 both ended between 0.01 and 0.12); the proportional weight ends within 0.03 of rho there, and
 * within 0.01 per review of the human rationale's share on ERASER Movies with the GloVe CNN. Unset (NaN, the default), the fixed
 * {@code sparsityWeight} applies exactly as without this option. The rationale (deterministic gates at least
 * {@code threshold}) can hold fewer words than E[L0]: a hard-concrete gate with P(z != 0) = 0.4 has a deterministic
 * value near 0.
 *
 * @param gate gate family
 * @param steps optimization steps
 * @param samples Monte Carlo gate samples per step (S)
 * @param learningRate Adam learning rate on the gate parameters
 * @param beta1 Adam first-moment decay
 * @param beta2 Adam second-moment decay
 * @param adamEpsilon Adam denominator epsilon
 * @param weightDecay decoupled (AdamW) weight decay; 0 is plain Adam
 * @param sufficiencyWeight weight of -log p_y(keep)
 * @param comprehensivenessWeight weight of -log(1 - p_y(drop))
 * @param sparsityWeight weight of the expected L0 norm divided by the text length
 * @param contiguityWeight weight of the expected number of transitions divided by the text length
 * @param targetRate the target expected selection rate rho in (0, 1] (fraction of a text's words), or NaN for none:
 *     the fixed sparsity weight (see the class comment)
 * @param rateGain the sparsity weight per unit of rate excess under a target rate (&gt; 0). Default 50: on the
 *     planted task, gains 30 to 200 all reach the target from both sides; higher gains hold the rate closer for hard
 *     concrete and leave HardKuma a little lower at small targets (30: +0.03 / -0.01 at a target of 0.15; 200:
 *     +0.01 / -0.04), and shrink the rationale relative to the expected rate; 50 sits between
 * @param rateSmoothing the moving-average factor of the rate excess under a target rate, in [0, 1). Default 0: the
 *     rate is a closed form of the parameters, without sampling noise to average out, so smoothing only adds lag
 *     (0.5 changed the hard-concrete results by under 0.002 and left HardKuma 0.01 further from the target)
 * @param temperature hard-concrete temperature beta
 * @param stretchLow stretch interval lower end l (&lt; 0)
 * @param stretchHigh stretch interval upper end r (&gt; 1)
 * @param initLogAlpha initial hard-concrete log alpha (gates start mostly open)
 * @param initLogA initial HardKuma log a
 * @param initLogB initial HardKuma log b
 * @param threshold a token is in the rationale when its deterministic gate is at least this
 * @param seed seed of the gate noise (same seed, same explanation)
 * @param cudaGraphs on a CUDA device, record one optimization step in a CUDA graph and replay it for the other
 *     steps (one launch per step instead of dozens); used where the model supports it (see
 *     {@link Classifier#bufferGeneration}), ignored on the CPU. Explanations are the same either way.
 */
public record ExplainerConfig(
        Gate gate,
        int steps,
        int samples,
        double learningRate,
        double beta1,
        double beta2,
        double adamEpsilon,
        double weightDecay,
        double sufficiencyWeight,
        double comprehensivenessWeight,
        double sparsityWeight,
        double contiguityWeight,
        double targetRate,
        double rateGain,
        double rateSmoothing,
        double temperature,
        double stretchLow,
        double stretchHigh,
        double initLogAlpha,
        double initLogA,
        double initLogB,
        double threshold,
        long seed,
        boolean cudaGraphs) {

    public ExplainerConfig {
        if (gate == null) {
            throw new IllegalArgumentException("gate must be set");
        }
        positive("steps", steps);
        positive("samples", samples);
        positive("learningRate", learningRate);
        range("beta1", beta1, 0, 1);
        range("beta2", beta2, 0, 1);
        positive("adamEpsilon", adamEpsilon);
        nonNegative("weightDecay", weightDecay);
        nonNegative("sufficiencyWeight", sufficiencyWeight);
        nonNegative("comprehensivenessWeight", comprehensivenessWeight);
        nonNegative("sparsityWeight", sparsityWeight);
        nonNegative("contiguityWeight", contiguityWeight);
        if (!Double.isNaN(targetRate) && !(targetRate > 0 && targetRate <= 1)) {
            throw new IllegalArgumentException("targetRate must be in (0, 1], or NaN for none (got " + targetRate
                    + ")");
        }
        positive("rateGain", rateGain);
        range("rateSmoothing", rateSmoothing, 0, 1);
        positive("temperature", temperature);
        if (!(stretchLow < 0) || !(stretchHigh > 1)) {
            throw new IllegalArgumentException("stretch interval needs l < 0 < 1 < r (got l=" + stretchLow
                    + ", r=" + stretchHigh + ")");
        }
        finite("initLogAlpha", initLogAlpha);
        finite("initLogA", initLogA);
        finite("initLogB", initLogB);
        if (!(threshold > 0 && threshold <= 1)) {
            throw new IllegalArgumentException("threshold must be in (0, 1] (got " + threshold + ")");
        }
    }

    /** The largest magnitude of the sparsity weight under a target rate. */
    public static final double MAX_RATE_WEIGHT = 1e4;

    /** Whether a target selection rate is set (the sparsity weight is then a multiplier per text). */
    public boolean hasTargetRate() {
        return !Double.isNaN(targetRate);
    }

    /** The defaults. */
    public static ExplainerConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.gate = gate;
        b.steps = steps;
        b.samples = samples;
        b.learningRate = learningRate;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.adamEpsilon = adamEpsilon;
        b.weightDecay = weightDecay;
        b.sufficiencyWeight = sufficiencyWeight;
        b.comprehensivenessWeight = comprehensivenessWeight;
        b.sparsityWeight = sparsityWeight;
        b.contiguityWeight = contiguityWeight;
        b.targetRate = targetRate;
        b.rateGain = rateGain;
        b.rateSmoothing = rateSmoothing;
        b.temperature = temperature;
        b.stretchLow = stretchLow;
        b.stretchHigh = stretchHigh;
        b.initLogAlpha = initLogAlpha;
        b.initLogA = initLogA;
        b.initLogB = initLogB;
        b.threshold = threshold;
        b.seed = seed;
        b.cudaGraphs = cudaGraphs;
        return b;
    }

    /** Builder with the defaults; each {@code opt…} method documents its parameter on the record. */
    public static final class Builder {
        private Gate gate = Gate.HARD_CONCRETE;
        private int steps = 200;
        private int samples = 4;
        private double learningRate = 0.1;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private double weightDecay = 0;
        private double sufficiencyWeight = 1;
        private double comprehensivenessWeight = 1;
        private double sparsityWeight = 10;
        private double contiguityWeight = 0;
        private double targetRate = Double.NaN;
        private double rateGain = 50;
        private double rateSmoothing = 0;
        private double temperature = 2.0 / 3.0;
        private double stretchLow = -0.1;
        private double stretchHigh = 1.1;
        private double initLogAlpha = 2;
        private double initLogA = 0.5;
        private double initLogB = 0;
        private double threshold = 0.5;
        private long seed = 0;
        private boolean cudaGraphs = true;

        private Builder() {}

        public Builder optGate(Gate v) { gate = v; return this; }
        public Builder optSteps(int v) { steps = v; return this; }
        public Builder optSamples(int v) { samples = v; return this; }
        public Builder optLearningRate(double v) { learningRate = v; return this; }
        public Builder optAdam(double b1, double b2, double eps) { beta1 = b1; beta2 = b2; adamEpsilon = eps; return this; }
        public Builder optWeightDecay(double v) { weightDecay = v; return this; }
        public Builder optSufficiencyWeight(double v) { sufficiencyWeight = v; return this; }
        public Builder optComprehensivenessWeight(double v) { comprehensivenessWeight = v; return this; }
        public Builder optSparsityWeight(double v) { sparsityWeight = v; return this; }
        public Builder optContiguityWeight(double v) { contiguityWeight = v; return this; }
        /** A target selection rate in (0, 1]; NaN for none (the default). See {@link ExplainerConfig}. */
        public Builder optTargetRate(double rho) { targetRate = rho; return this; }
        /** The target rate's controller: gain and moving-average factor (see {@link ExplainerConfig}). */
        public Builder optRateControl(double gain, double smoothing) {
            rateGain = gain;
            rateSmoothing = smoothing;
            return this;
        }
        public Builder optTemperature(double v) { temperature = v; return this; }
        public Builder optStretch(double l, double r) { stretchLow = l; stretchHigh = r; return this; }
        public Builder optInitLogAlpha(double v) { initLogAlpha = v; return this; }
        public Builder optInitKuma(double logA, double logB) { initLogA = logA; initLogB = logB; return this; }
        public Builder optThreshold(double v) { threshold = v; return this; }
        public Builder optSeed(long v) { seed = v; return this; }
        public Builder optCudaGraphs(boolean v) { cudaGraphs = v; return this; }

        public ExplainerConfig build() {
            return new ExplainerConfig(gate, steps, samples, learningRate, beta1, beta2, adamEpsilon, weightDecay,
                    sufficiencyWeight, comprehensivenessWeight, sparsityWeight, contiguityWeight, targetRate,
                    rateGain, rateSmoothing, temperature,
                    stretchLow, stretchHigh, initLogAlpha, initLogA, initLogB, threshold, seed, cudaGraphs);
        }
    }

    private static void finite(String name, double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be finite (got " + v + ")");
        }
    }

    private static void positive(String name, double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be positive (got " + v + ")");
        }
    }

    private static void nonNegative(String name, double v) {
        if (!(v >= 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be >= 0 (got " + v + ")");
        }
    }

    private static void range(String name, double v, double lo, double hiExclusive) {
        if (!(v >= lo && v < hiExclusive)) {
            throw new IllegalArgumentException(name + " must be in [" + lo + ", " + hiExclusive + ") (got " + v + ")");
        }
    }
}
