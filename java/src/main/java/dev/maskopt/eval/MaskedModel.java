package dev.maskopt.eval;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.internal.Masking;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's probability of one class on one text with some of its words removed: all that the
 * faithfulness metrics need from a model. Implement it with a lambda to test a metric against known
 * numbers, or get one for a maskopt {@link Classifier} with {@link #of}.
 */
@FunctionalInterface
public interface MaskedModel {
    /**
     * The target class probability for each keep mask over the text's words ({@code true} = kept), in
     * order. One call carries every mask a metric needs, so an implementation can batch them.
     */
    double[] probabilities(List<boolean[]> keep);

    /**
     * A classifier on one encoded text. Removal goes through the same batched masking as the explainer's
     * certificate, on the encoding's words, so a rationale computed on {@code text.words()} is scored on
     * exactly those words (no re-tokenization).
     *
     * @param target the class whose probability is reported: the predicted class for ERASER, the gold
     *     label for MaRC's protocol
     * @param removal how removed words leave the input; name it explicitly, since ERASER deletes words and
     *     MaRC replaces them with [PAD] ({@link Removal#BASELINE} with a [PAD] baseline)
     */
    static MaskedModel of(Classifier model, Encoding text, int target, Removal removal) {
        Checks.notNull(model, "model");
        Checks.notNull(text, "text");
        Checks.notNull(removal, "removal");
        int classes = model.labels().size();
        if (target < 0 || target >= classes) {
            throw new IllegalArgumentException("target " + target + " is not a class index in [0, " + classes + ")");
        }
        return keep -> {
            double[][] p = distributions(model, text, keep, removal);
            double[] out = new double[p.length];
            for (int m = 0; m < p.length; m++) {
                out[m] = p[m][target];
            }
            return out;
        };
    }

    /**
     * Every class's probability {@code [M][C]} for each keep mask, under the given removal: what ERASER's
     * output file records ({@code comprehensiveness_classification_scores} and the like).
     *
     * <p>Repeated masks are computed once. With {@link Removal#BASELINE}, one masked forward pass yields a
     * mask and its complement together, so a mask complementary to another costs nothing more either: the
     * "without" and "only" masks of comprehensiveness and sufficiency share their passes.
     */
    static double[][] distributions(Classifier model, Encoding text, List<boolean[]> keep, Removal removal) {
        Checks.notNull(model, "model");
        Checks.notNull(text, "text");
        Checks.notNull(keep, "keep masks");
        Checks.notNull(removal, "removal");
        int words = text.words().size();
        for (int m = 0; m < keep.size(); m++) {
            if (keep.get(m) == null || keep.get(m).length != words) {
                throw new IllegalArgumentException("mask " + m + " must have one value per word (" + words + ")");
            }
        }
        if (removal == Removal.BASELINE) {
            return pairedBaseline(model, text, keep);
        }
        // Repeated masks (small texts reach the same k at several levels) are computed once.
        Map<String, Integer> index = new HashMap<>();
        List<boolean[]> unique = new ArrayList<>();
        int[] at = new int[keep.size()];
        for (int m = 0; m < keep.size(); m++) {
            Integer i = index.putIfAbsent(key(keep.get(m), false), unique.size());
            if (i == null) {
                i = unique.size();
                unique.add(keep.get(m).clone());
            }
            at[m] = i;
        }
        float[][] p = Masking.probabilities(model, text, unique, removal);
        double[][] out = new double[keep.size()][];
        for (int m = 0; m < out.length; m++) {
            out[m] = widen(p[at[m]]);
        }
        return out;
    }

    /** Baseline removal on one representative per {mask, complement} pair: the mask whose first word is kept. */
    private static double[][] pairedBaseline(Classifier model, Encoding text, List<boolean[]> keep) {
        Map<String, Integer> index = new HashMap<>();
        List<float[]> reps = new ArrayList<>();
        int[] rep = new int[keep.size()];
        boolean[] complement = new boolean[keep.size()];
        for (int m = 0; m < keep.size(); m++) {
            boolean[] k = keep.get(m);
            complement[m] = !k[0];
            Integer at = index.putIfAbsent(key(k, complement[m]), reps.size());
            if (at == null) {
                at = reps.size();
                float[] z = new float[k.length];
                for (int w = 0; w < k.length; w++) {
                    z[w] = k[w] != complement[m] ? 1f : 0f;
                }
                reps.add(z);
            }
            rep[m] = at;
        }
        float[][][] p = Masking.probabilities(model, text, reps.toArray(new float[0][]));
        double[][] out = new double[keep.size()][];
        for (int m = 0; m < out.length; m++) {
            out[m] = widen(p[complement[m] ? 1 : 0][rep[m]]);
        }
        return out;
    }

    /** The mask (or its complement) as a string of 0/1, a map key. */
    private static String key(boolean[] keep, boolean flip) {
        char[] c = new char[keep.length];
        for (int w = 0; w < keep.length; w++) {
            c[w] = keep[w] != flip ? '1' : '0';
        }
        return new String(c);
    }

    private static double[] widen(float[] p) {
        double[] out = new double[p.length];
        for (int c = 0; c < p.length; c++) {
            out[c] = p[c];
        }
        return out;
    }
}
