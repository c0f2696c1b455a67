package dev.maskopt.eval;

/**
 * Ranking curves of scores against binary labels with scikit-learn's semantics, which ERASER's scorer and
 * the diagnostic study call: one curve point per distinct score (tied scores enter together), precision
 * and recall from the counts above each threshold, and the extra point (recall 0, precision 1) that
 * {@code precision_recall_curve} appends.
 */
final class Curves {
    private Curves() {}

    /** Cumulative true and false positives at each distinct score, highest score first. */
    private record Counts(int[] tps, int[] fps) {
        int positives() {
            return tps[tps.length - 1];
        }

        int negatives() {
            return fps[fps.length - 1];
        }
    }

    private static Counts counts(boolean[] labels, double[] scores) {
        int[] order = TopK.order(scores);
        int[] tps = new int[scores.length], fps = new int[scores.length];
        int points = 0, tp = 0, fp = 0;
        for (int i = 0; i < order.length; i++) {
            if (labels[order[i]]) {
                tp++;
            } else {
                fp++;
            }
            // A threshold ends after the last of a group of equal scores.
            if (i == order.length - 1 || scores[order[i + 1]] != scores[order[i]]) {
                tps[points] = tp;
                fps[points] = fp;
                points++;
            }
        }
        return new Counts(java.util.Arrays.copyOf(tps, points), java.util.Arrays.copyOf(fps, points));
    }

    /** Whether both classes occur: the curves are undefined otherwise. */
    static boolean twoClasses(boolean[] labels) {
        int k = Checks.count(labels);
        return k > 0 && k < labels.length;
    }

    /**
     * {@code auc(recall, precision)} after {@code precision_recall_curve}: the trapezoidal area, starting
     * from the appended point (0, 1). NaN unless both classes occur.
     */
    static double auprc(boolean[] labels, double[] scores) {
        if (!twoClasses(labels)) {
            return Double.NaN;
        }
        Counts c = counts(labels, scores);
        double area = 0, r0 = 0, p0 = 1;
        for (int i = 0; i < c.tps.length; i++) {
            double r = (double) c.tps[i] / c.positives();
            double p = (double) c.tps[i] / (c.tps[i] + c.fps[i]);
            area += (r - r0) * (p + p0) / 2;
            r0 = r;
            p0 = p;
        }
        return area;
    }

    /** {@code average_precision_score}: sum over thresholds of (recall gain) x precision. NaN without positives. */
    static double averagePrecision(boolean[] labels, double[] scores) {
        if (Checks.count(labels) == 0) {
            return Double.NaN;
        }
        Counts c = counts(labels, scores);
        double ap = 0, r0 = 0;
        for (int i = 0; i < c.tps.length; i++) {
            double r = (double) c.tps[i] / c.positives();
            ap += (r - r0) * c.tps[i] / (c.tps[i] + c.fps[i]);
            r0 = r;
        }
        return ap;
    }

    /** {@code roc_auc_score}: trapezoidal area under (FPR, TPR) from (0, 0). NaN unless both classes occur. */
    static double rocAuc(boolean[] labels, double[] scores) {
        if (!twoClasses(labels)) {
            return Double.NaN;
        }
        Counts c = counts(labels, scores);
        double area = 0, x0 = 0, y0 = 0;
        for (int i = 0; i < c.tps.length; i++) {
            double x = (double) c.fps[i] / c.negatives(), y = (double) c.tps[i] / c.positives();
            area += (x - x0) * (y + y0) / 2;
            x0 = x;
            y0 = y;
        }
        return area;
    }
}
