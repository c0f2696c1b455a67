package dev.maskopt.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.IntFunction;

/**
 * The diagnostic properties of Atanasova et al. (2020; methods.md section 5), on plain arrays so that
 * any explainer's saliencies can be scored. Model-dependent quantities (predictions under masking,
 * activation distances) come in as callbacks or numbers.
 */
public final class Diagnostics {
    private Diagnostics() {}

    /** Masking percentages of the faithfulness curve: 0, 10, ..., 100. */
    private static final int[] PERCENTS = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

    /** Folds of the confidence-indication regression, and the share of instances each holds out. */
    private static final int FOLDS = 5;
    private static final double TEST_SHARE = 0.1;

    /**
     * One explainer's diagnostic scores; NaN where a property was not measured.
     *
     * @param humanAgreement MAP against human rationales (higher is better)
     * @param faithfulnessAuc area under macro-F1 vs masked percentage (lower is better)
     * @param confidenceMae confidence-indication mean absolute error (lower is better)
     * @param rationaleConsistency Spearman rho across model pairs (higher is better)
     * @param datasetConsistency Spearman rho across similar instance pairs (higher is better)
     * @param secondsPerExplanation mean wall-clock seconds to explain one instance (lower is better)
     */
    public record Scores(double humanAgreement, double faithfulnessAuc, double confidenceMae,
            double rationaleConsistency, double datasetConsistency, double secondsPerExplanation) {}

    /**
     * The faithfulness curve.
     *
     * @param percents masked percentages 0, 10, ..., 100
     * @param macroF1 macro-F1 of the predictions at each percentage
     * @param auc trapezoidal area with the x axis in percent (so in [0, 100]); lower is better
     */
    public record MaskingCurve(int[] percents, double[] macroF1, double auc) {
        public MaskingCurve {
            percents = percents.clone();
            macroF1 = macroF1.clone();
        }

        @Override
        public int[] percents() {
            return percents.clone();
        }

        @Override
        public double[] macroF1() {
            return macroF1.clone();
        }
    }

    /**
     * Confidence indication over shuffled folds.
     *
     * @param mae mean absolute error of the predicted confidence, averaged over folds (lower is better)
     * @param maxError largest absolute error per fold, averaged over folds
     */
    public record ConfidenceIndication(double mae, double maxError) {}

    /**
     * Human agreement: scikit-learn's average precision of each instance's saliency (of the gold class)
     * against its human rationale, averaged over instances. Instances without any rationale token have no
     * defined average precision and are left out; an all-rationale instance scores 1.
     */
    public static double humanAgreement(List<boolean[]> gold, List<double[]> saliency) {
        Checks.paired(gold, "human rationales", saliency, "saliency arrays");
        double sum = 0;
        int n = 0;
        for (int d = 0; d < gold.size(); d++) {
            Checks.sameLength(gold.get(d).length, saliency.get(d).length, "saliencies", d);
            Checks.finite(saliency.get(d), "saliency of instance " + d);
            double ap = Curves.averagePrecision(gold.get(d), saliency.get(d));
            if (!Double.isNaN(ap)) {
                sum += ap;
                n++;
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("no instance has a human rationale token");
        }
        return sum / n;
    }

    /**
     * Faithfulness: macro-F1 of the model's predictions when the top k% of each instance's tokens are
     * masked, for k = 0, 10, ..., 100, and the area under that curve. The study ranks tokens by saliency
     * summed over classes and replaces them with [MASK]; {@link TopK#atLevel TopK.atLevel(scores, k / 100.0)}
     * gives the same selection.
     *
     * @param gold gold labels
     * @param predictionsAtPercent for a percentage k, the predicted labels with k% of tokens masked
     */
    public static MaskingCurve faithfulness(int[] gold, IntFunction<int[]> predictionsAtPercent) {
        Checks.notNull(gold, "gold labels");
        Checks.notNull(predictionsAtPercent, "predictions callback");
        double[] f1 = new double[PERCENTS.length];
        for (int i = 0; i < PERCENTS.length; i++) {
            int[] pred = predictionsAtPercent.apply(PERCENTS[i]);
            if (pred == null) {
                throw new IllegalArgumentException("no predictions at " + PERCENTS[i] + "%");
            }
            f1[i] = macroF1(gold, pred);
        }
        double auc = 0;
        for (int i = 1; i < PERCENTS.length; i++) {
            auc += (PERCENTS[i] - PERCENTS[i - 1]) * (f1[i] + f1[i - 1]) / 2;
        }
        return new MaskingCurve(PERCENTS, f1, auc);
    }

    /**
     * Macro-F1 as scikit-learn's {@code f1_score(average="macro")}: the mean F1 over the labels present in
     * the gold or the predicted labels, with F1 = 0 for a label never predicted or never true.
     */
    public static double macroF1(int[] gold, int[] predicted) {
        Checks.notNull(gold, "gold labels");
        Checks.notNull(predicted, "predicted labels");
        if (gold.length != predicted.length) {
            throw new IllegalArgumentException(gold.length + " gold labels but " + predicted.length + " predictions");
        }
        if (gold.length == 0) {
            throw new IllegalArgumentException("no labels");
        }
        TreeSet<Integer> labels = new TreeSet<>();
        for (int i = 0; i < gold.length; i++) {
            labels.add(gold[i]);
            labels.add(predicted[i]);
        }
        double sum = 0;
        for (int c : labels) {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < gold.length; i++) {
                tp += gold[i] == c && predicted[i] == c ? 1 : 0;
                fp += gold[i] != c && predicted[i] == c ? 1 : 0;
                fn += gold[i] == c && predicted[i] != c ? 1 : 0;
            }
            sum += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return sum / labels.size();
    }

    /**
     * Confidence indication: how well saliency predicts the model's confidence. Features per instance are
     * {@code sum_t (s_pred - s_other)[t]} reduced over the other classes by max, mean and min (for two
     * classes, three copies of the one difference, as in the study's code), min-max scaled over instances.
     * A linear regression with intercept predicts the predicted class's probability; the errors on held-out
     * instances are averaged over 5 shuffled splits (10% held out, at least one instance).
     *
     * @param saliency {@code [instance][class][token]}; each instance may have its own length
     * @param predicted the predicted class per instance
     * @param confidence the predicted class's probability per instance
     * @param seed seeds the splits and the resampling
     * @param upsample whether to resample the training instances so that every confidence decile
     *     ({@code floor(10 p)}) present has as many as the largest one, as the study's "up" option does
     */
    public static ConfidenceIndication confidenceIndication(double[][][] saliency, int[] predicted,
            double[] confidence, long seed, boolean upsample) {
        Checks.notNull(saliency, "saliency");
        Checks.notNull(predicted, "predicted classes");
        Checks.finite(confidence, "confidence");
        int n = saliency.length;
        if (predicted.length != n || confidence.length != n) {
            throw new IllegalArgumentException(n + " saliencies, " + predicted.length + " predictions and "
                    + confidence.length + " confidences");
        }
        if (n < 2) {
            throw new IllegalArgumentException("confidence indication needs at least 2 instances, got " + n);
        }
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            x[i] = confidenceFeatures(saliency[i], predicted[i], i);
        }
        minMaxScale(x);
        SplittableRandom rng = new SplittableRandom(seed);
        int test = Math.max(1, (int) Math.ceil(TEST_SHARE * n));
        double mae = 0, maxErr = 0;
        for (int fold = 0; fold < FOLDS; fold++) {
            int[] perm = permutation(n, rng);
            int[] testRows = Arrays.copyOfRange(perm, 0, test);
            int[] trainRows = Arrays.copyOfRange(perm, test, n);
            if (upsample) {
                trainRows = upsample(trainRows, confidence, rng);
            }
            LeastSquares fit = LeastSquares.fit(x, confidence, trainRows);
            double sum = 0, max = 0;
            for (int r : testRows) {
                double err = Math.abs(fit.predict(x[r]) - confidence[r]);
                sum += err;
                max = Math.max(max, err);
            }
            mae += sum / testRows.length;
            maxErr += max;
        }
        return new ConfidenceIndication(mae / FOLDS, maxErr / FOLDS);
    }

    /**
     * Rationale consistency: Spearman's rho between the activation distance and the saliency distance of
     * the same instance under pairs of models (two seeds, or trained vs. randomly initialised), one entry
     * per (model pair, instance). The study min-max scales both before ranking; that is monotone and leaves
     * rho unchanged, so it is not repeated here. NaN when either input is constant.
     */
    public static double rationaleConsistency(double[] activationDistances, double[] saliencyDistances) {
        return rho(activationDistances, saliencyDistances);
    }

    /**
     * Dataset consistency: the same Spearman's rho over pairs of similar instances under one model (one
     * entry per instance pair).
     */
    public static double datasetConsistency(double[] activationDistances, double[] saliencyDistances) {
        return rho(activationDistances, saliencyDistances);
    }

    /** Mean absolute difference of two saliency vectors: the study's saliency distance. */
    public static double saliencyDistance(double[] a, double[] b) {
        Checks.finite(a, "first saliency");
        Checks.finite(b, "second saliency");
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("saliencies must be non-empty and of equal length, got " + a.length
                    + " and " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }

    /**
     * The study's activation distance, as its code computes it: per layer the mean of the element-wise
     * difference, then the mean of those values' magnitudes over layers.
     *
     * @param a {@code [layer][unit]} activations of one instance under the first model
     * @param b the same under the second model
     */
    public static double activationDistance(double[][] a, double[][] b) {
        Checks.notNull(a, "first activations");
        Checks.notNull(b, "second activations");
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("activations need the same non-zero number of layers, got " + a.length
                    + " and " + b.length);
        }
        double sum = 0;
        for (int l = 0; l < a.length; l++) {
            Checks.finite(a[l], "first activations of layer " + l);
            Checks.finite(b[l], "second activations of layer " + l);
            if (a[l].length != b[l].length || a[l].length == 0) {
                throw new IllegalArgumentException("layer " + l + " has " + a[l].length + " and " + b[l].length + " units");
            }
            double d = 0;
            for (int i = 0; i < a[l].length; i++) {
                d += a[l][i] - b[l][i];
            }
            sum += Math.abs(d / a[l].length);
        }
        return sum / a.length;
    }

    private static double rho(double[] act, double[] sal) {
        Checks.finite(act, "activation distances");
        Checks.finite(sal, "saliency distances");
        if (act.length != sal.length) {
            throw new IllegalArgumentException(act.length + " activation distances but " + sal.length
                    + " saliency distances");
        }
        if (act.length < 2) {
            throw new IllegalArgumentException("a rank correlation needs at least 2 pairs, got " + act.length);
        }
        return Spearman.rho(act, sal);
    }

    static double[] confidenceFeatures(double[][] sal, int pred, int i) {
        if (sal == null || sal.length < 2) {
            throw new IllegalArgumentException("instance " + i + ": saliency needs at least 2 classes");
        }
        if (pred < 0 || pred >= sal.length) {
            throw new IllegalArgumentException("instance " + i + ": predicted class " + pred + " is not in [0, "
                    + sal.length + ")");
        }
        int t = sal[pred] == null ? -1 : sal[pred].length;
        for (int c = 0; c < sal.length; c++) {
            Checks.finite(sal[c], "saliency of instance " + i + ", class " + c);
            if (sal[c].length != t) {
                throw new IllegalArgumentException("instance " + i + ": class " + c + " has " + sal[c].length
                        + " token saliencies, class " + pred + " has " + t);
            }
        }
        double max = 0, mean = 0, min = 0;
        for (int k = 0; k < t; k++) {
            double hi = Double.NEGATIVE_INFINITY, lo = Double.POSITIVE_INFINITY, avg = 0;
            for (int c = 0; c < sal.length; c++) {
                if (c == pred) {
                    continue;
                }
                double diff = sal[pred][k] - sal[c][k];
                hi = Math.max(hi, diff);
                lo = Math.min(lo, diff);
                avg += diff;
            }
            max += hi;
            mean += avg / (sal.length - 1);
            min += lo;
        }
        return new double[] {max, mean, min};
    }

    /** Scales each column to [0, 1] over rows; a constant column becomes 0 (scikit-learn's MinMaxScaler). */
    private static void minMaxScale(double[][] x) {
        for (int j = 0; j < x[0].length; j++) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (double[] row : x) {
                lo = Math.min(lo, row[j]);
                hi = Math.max(hi, row[j]);
            }
            double range = hi - lo == 0 ? 1 : hi - lo;
            for (double[] row : x) {
                row[j] = (row[j] - lo) / range;
            }
        }
    }

    private static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }

    /** Resamples rows so every confidence decile present holds as many rows as the largest one. */
    private static int[] upsample(int[] rows, double[] confidence, SplittableRandom rng) {
        Map<Integer, List<Integer>> buckets = new HashMap<>();
        for (int r : rows) {
            buckets.computeIfAbsent((int) (confidence[r] * 10), k -> new ArrayList<>()).add(r);
        }
        int size = 0;
        for (List<Integer> b : buckets.values()) {
            size = Math.max(size, b.size());
        }
        List<Integer> out = new ArrayList<>();
        for (int key : new TreeSet<>(buckets.keySet())) { // sorted keys keep the draw order seed-determined
            List<Integer> b = buckets.get(key);
            if (b.size() == size) {
                out.addAll(b); // the study draws these without replacement: the same rows
            } else {
                for (int i = 0; i < size; i++) {
                    out.add(b.get(rng.nextInt(b.size())));
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
