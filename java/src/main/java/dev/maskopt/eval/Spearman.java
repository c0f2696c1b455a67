package dev.maskopt.eval;

/** Spearman's rank correlation as {@code scipy.stats.spearmanr}: Pearson's r of average ranks. */
final class Spearman {
    private Spearman() {}

    /** NaN when either input is constant (no ranking to correlate). */
    static double rho(double[] x, double[] y) {
        return pearson(ranks(x), ranks(y));
    }

    /** Ranks 1..n; tied values share the mean of the ranks they span. */
    static double[] ranks(double[] v) {
        int[] order = TopK.order(v); // decreasing; reversed below so rank 1 is the smallest
        double[] out = new double[v.length];
        int n = v.length;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && v[order[j + 1]] == v[order[i]]) {
                j++;
            }
            // positions i..j (from the top) hold one value; from the bottom they are ranks n-j..n-i
            double rank = ((n - j) + (n - i)) / 2.0;
            for (int k = i; k <= j; k++) {
                out[order[k]] = rank;
            }
            i = j + 1;
        }
        return out;
    }

    static double pearson(double[] x, double[] y) {
        double mx = Faithfulness.mean(x), my = Faithfulness.mean(y);
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        if (sxx == 0 || syy == 0) {
            return Double.NaN;
        }
        return sxy / Math.sqrt(sxx * syy);
    }
}
