package dev.maskopt.eval;

import java.util.Arrays;

/**
 * Ordinary least squares with an intercept, like scikit-learn's {@code LinearRegression}: columns that
 * are (numerically) linear combinations of earlier ones are dropped, which gives the same predictions as
 * its minimum-norm solution. The diagnostic study feeds it three identical features for two classes.
 */
final class LeastSquares {
    private final double[] coef;
    private final double intercept;

    private LeastSquares(double[] coef, double intercept) {
        this.coef = coef;
        this.intercept = intercept;
    }

    /** Fits {@code y ~ x[i] . coef + intercept} on the rows {@code rows}. */
    static LeastSquares fit(double[][] x, double[] y, int[] rows) {
        int n = rows.length, f = x[rows[0]].length;
        double[] mean = new double[f];
        double my = 0;
        for (int r : rows) {
            my += y[r];
            for (int j = 0; j < f; j++) {
                mean[j] += x[r][j];
            }
        }
        my /= n;
        for (int j = 0; j < f; j++) {
            mean[j] /= n;
        }
        // Modified Gram-Schmidt on the centred columns: q holds orthonormal columns, rr the triangle.
        double[][] q = new double[f][];
        double[][] rr = new double[f][f];
        boolean[] kept = new boolean[f];
        for (int j = 0; j < f; j++) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = x[rows[i]][j] - mean[j];
            }
            double norm0 = norm(v);
            for (int k = 0; k < j; k++) {
                if (kept[k]) {
                    rr[k][j] = dot(q[k], v);
                    for (int i = 0; i < n; i++) {
                        v[i] -= rr[k][j] * q[k][i];
                    }
                }
            }
            double norm = norm(v);
            // A column left with almost nothing of its own adds no direction: drop it (coefficient 0).
            if (norm > 1e-10 * Math.max(norm0, 1e-300) && norm > 1e-300) {
                kept[j] = true;
                rr[j][j] = norm;
                for (int i = 0; i < n; i++) {
                    v[i] /= norm;
                }
                q[j] = v;
            }
        }
        double[] yc = new double[n];
        for (int i = 0; i < n; i++) {
            yc[i] = y[rows[i]] - my;
        }
        double[] coef = new double[f];
        double[] qty = new double[f];
        for (int j = 0; j < f; j++) {
            if (kept[j]) {
                qty[j] = dot(q[j], yc);
            }
        }
        for (int j = f - 1; j >= 0; j--) { // back substitution on the kept columns
            if (!kept[j]) {
                continue;
            }
            double s = qty[j];
            for (int k = j + 1; k < f; k++) {
                if (kept[k]) {
                    s -= rr[j][k] * coef[k];
                }
            }
            coef[j] = s / rr[j][j];
        }
        double intercept = my;
        for (int j = 0; j < f; j++) {
            intercept -= coef[j] * mean[j];
        }
        return new LeastSquares(coef, intercept);
    }

    double predict(double[] row) {
        double s = intercept;
        for (int j = 0; j < coef.length; j++) {
            s += coef[j] * row[j];
        }
        return s;
    }

    double[] coefficients() {
        return Arrays.copyOf(coef, coef.length);
    }

    double intercept() {
        return intercept;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }
}
