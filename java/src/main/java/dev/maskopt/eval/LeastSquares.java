package dev.maskopt.eval;

/**
 * Ordinary least squares with an intercept, like scikit-learn's {@code LinearRegression}: the
 * minimum-norm solution, so rank-deficient features (the diagnostic study feeds three identical ones for
 * two classes) give the same coefficients and predictions. Solved through the pseudo-inverse of the small
 * Gram matrix of the centred features, from its eigen-decomposition.
 */
final class LeastSquares {
    /**
     * Eigenvalues of the Gram matrix below this share of the largest count as zero: rounding leaves about
     * 1e-16 of the largest in a direction the features do not span.
     */
    private static final double RANK_TOLERANCE = 1e-13;

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
        // Gram matrix G = Xc' Xc and moment b = Xc' yc of the centred data.
        double[][] g = new double[f][f];
        double[] b = new double[f];
        for (int r : rows) {
            double yc = y[r] - my;
            for (int j = 0; j < f; j++) {
                double xj = x[r][j] - mean[j];
                b[j] += xj * yc;
                for (int k = 0; k < f; k++) {
                    g[j][k] += xj * (x[r][k] - mean[k]);
                }
            }
        }
        double[][] v = new double[f][f];
        double[] lambda = eigen(g, v);
        double max = 0;
        for (double l : lambda) {
            max = Math.max(max, l);
        }
        // coef = V diag(1/lambda) V' b over the eigenvalues that are not numerically zero.
        double[] coef = new double[f];
        for (int e = 0; e < f; e++) {
            if (lambda[e] <= RANK_TOLERANCE * max || lambda[e] <= 0) {
                continue;
            }
            double proj = 0;
            for (int j = 0; j < f; j++) {
                proj += v[j][e] * b[j];
            }
            for (int j = 0; j < f; j++) {
                coef[j] += v[j][e] * proj / lambda[e];
            }
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

    /** Cyclic Jacobi rotations: returns the eigenvalues of symmetric {@code a} (destroyed), eigenvectors in the columns of {@code v}. */
    private static double[] eigen(double[][] a, double[][] v) {
        int f = a.length;
        for (int i = 0; i < f; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, diag = 0;
            for (int p = 0; p < f; p++) {
                diag += a[p][p] * a[p][p];
                for (int q = p + 1; q < f; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off <= 1e-30 * diag || off == 0) {
                break;
            }
            for (int p = 0; p < f; p++) {
                for (int q = p + 1; q < f; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < f; k++) { // A <- A J
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < f; k++) { // A <- J' A
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < f; k++) { // V <- V J
                        double vkp = v[k][p], vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        double[] out = new double[f];
        for (int i = 0; i < f; i++) {
            out[i] = a[i][i];
        }
        return out;
    }
}
