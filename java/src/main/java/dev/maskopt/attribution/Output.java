package dev.maskopt.attribution;

/**
 * The scalar of the target class y that gradient methods differentiate, a function of the logits z. Its
 * gradient w.r.t. the logits is computed on the host, in double, from the downloaded logits.
 */
public enum Output {
    /** {@code z_y} (Captum's default when a model returns logits). */
    LOGIT,
    /** {@code p_y = softmax(z)_y}: the quantity occlusion and Shapley sampling measure. */
    PROBABILITY,
    /** {@code log p_y = z_y - logsumexp(z)}. */
    LOG_PROBABILITY;

    /** The value at one row of logits {@code z[offset .. offset + c)}. */
    double value(float[] z, int offset, int c, int y) {
        return switch (this) {
            case LOGIT -> z[offset + y];
            case LOG_PROBABILITY -> z[offset + y] - logSumExp(z, offset, c);
            case PROBABILITY -> Math.exp(z[offset + y] - logSumExp(z, offset, c));
        };
    }

    /** Writes {@code scale * d value / d z} for one row into {@code out[offset .. offset + c)}. */
    void gradient(float[] out, float[] z, int offset, int c, int y, double scale) {
        double lse = logSumExp(z, offset, c);
        double py = Math.exp(z[offset + y] - lse);
        for (int j = 0; j < c; j++) {
            double delta = j == y ? 1 : 0;
            double p = Math.exp(z[offset + j] - lse);
            double g = switch (this) {
                case LOGIT -> delta;
                case LOG_PROBABILITY -> delta - p;
                case PROBABILITY -> py * (delta - p);
            };
            out[offset + j] = (float) (scale * g);
        }
    }

    static double logSumExp(float[] z, int offset, int c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) {
            max = Math.max(max, z[offset + j]);
        }
        double sum = 0;
        for (int j = 0; j < c; j++) {
            sum += Math.exp(z[offset + j] - max);
        }
        return max + Math.log(sum);
    }
}
