package dev.maskopt.attribution;

/**
 * Weighted ridge regression with an unpenalized intercept, in double on the host (what LIME's scikit-learn
 * {@code Ridge(alpha).fit(X, y, sample_weight)} computes): minimizes
 * {@code sum_i w_i (y_i - b - x_i . beta)^2 + alpha |beta|^2} by centering X and y at their weighted means
 * and solving {@code (Xc^T W Xc + alpha I) beta = Xc^T W yc} with a Cholesky factorization.
 */
final class WeightedRidge {
    private WeightedRidge() {}

    /** Coefficients {@code beta[0 .. p)} followed by the intercept, for 0/1 features {@code x[n][p]}. */
    static double[] fit(boolean[][] x, double[] y, double[] w, double alpha) {
        int n = x.length, p = x[0].length;
        double sw = 0, yMean = 0;
        double[] xMean = new double[p];
        for (int i = 0; i < n; i++) {
            sw += w[i];
            yMean += w[i] * y[i];
            for (int j = 0; j < p; j++) {
                xMean[j] += x[i][j] ? w[i] : 0;
            }
        }
        if (!(sw > 0)) {
            throw new IllegalArgumentException("sample weights sum to " + sw);
        }
        yMean /= sw;
        for (int j = 0; j < p; j++) {
            xMean[j] /= sw;
        }
        double[] a = new double[p * p], b = new double[p], xc = new double[p];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < p; j++) {
                xc[j] = (x[i][j] ? 1 : 0) - xMean[j];
            }
            double r = w[i] * (y[i] - yMean);
            for (int j = 0; j < p; j++) {
                b[j] += xc[j] * r;
                double wj = w[i] * xc[j];
                for (int k = 0; k <= j; k++) {
                    a[j * p + k] += wj * xc[k];
                }
            }
        }
        for (int j = 0; j < p; j++) {
            a[j * p + j] += alpha;
        }
        double[] beta = solveCholesky(a, b, p);
        double intercept = yMean;
        for (int j = 0; j < p; j++) {
            intercept -= xMean[j] * beta[j];
        }
        double[] out = java.util.Arrays.copyOf(beta, p + 1);
        out[p] = intercept;
        return out;
    }

    /** Solves A x = b for symmetric positive-definite A given by its lower triangle (overwritten). */
    private static double[] solveCholesky(double[] a, double[] b, int p) {
        for (int j = 0; j < p; j++) {
            double diag = a[j * p + j];
            for (int k = 0; k < j; k++) {
                diag -= a[j * p + k] * a[j * p + k];
            }
            if (!(diag > 0)) {
                throw new ArithmeticException("ridge system is not positive definite (pivot " + diag + ")");
            }
            double l = Math.sqrt(diag);
            a[j * p + j] = l;
            for (int i = j + 1; i < p; i++) {
                double s = a[i * p + j];
                for (int k = 0; k < j; k++) {
                    s -= a[i * p + k] * a[j * p + k];
                }
                a[i * p + j] = s / l;
            }
        }
        double[] z = new double[p];
        for (int i = 0; i < p; i++) {
            double s = b[i];
            for (int k = 0; k < i; k++) {
                s -= a[i * p + k] * z[k];
            }
            z[i] = s / a[i * p + i];
        }
        for (int i = p - 1; i >= 0; i--) {
            double s = z[i];
            for (int k = i + 1; k < p; k++) {
                s -= a[k * p + i] * z[k];
            }
            z[i] = s / a[i * p + i];
        }
        return z;
    }
}
