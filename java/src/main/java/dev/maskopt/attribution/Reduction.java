package dev.maskopt.attribution;

/**
 * How a gradient method turns a token's D-dimensional attribution vector into one number (the diagnostic
 * study's aggregation, methods.md section 5). The study's code labels its norm variant "l2" but computes an
 * L1 norm and divides its mean variant by the text's norm; these are what the names say.
 */
public enum Reduction {
    /** {@code sum_d a_d}: for input x gradient, the first-order Taylor term of the embedding (signed). */
    SUM,
    /** {@code mean_d a_d}. */
    MEAN,
    /** {@code sqrt(sum_d a_d^2)}, the Euclidean norm (unsigned). */
    L2;

    /**
     * Reduces the token's vector {@code a_d = |g_d|} (when {@code x} is null: saliency) or
     * {@code a_d = x_d g_d} (input x gradient), read at {@code offset .. offset + d}.
     */
    double reduce(float[] g, float[] x, int offset, int d) {
        double s = 0;
        for (int k = 0; k < d; k++) {
            double v = x == null ? Math.abs(g[offset + k]) : (double) x[offset + k] * g[offset + k];
            s += this == L2 ? v * v : v;
        }
        return switch (this) {
            case SUM -> s;
            case MEAN -> s / d;
            case L2 -> Math.sqrt(s);
        };
    }
}
