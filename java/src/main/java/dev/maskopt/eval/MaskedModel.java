package dev.maskopt.eval;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.internal.Masking;
import java.util.List;

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
     */
    static double[][] distributions(Classifier model, Encoding text, List<boolean[]> keep, Removal removal) {
        Checks.notNull(model, "model");
        Checks.notNull(text, "text");
        Checks.notNull(keep, "keep masks");
        Checks.notNull(removal, "removal");
        float[][] p = Masking.probabilities(model, text, keep, removal);
        double[][] out = new double[p.length][];
        for (int m = 0; m < p.length; m++) {
            out[m] = new double[p[m].length];
            for (int c = 0; c < p[m].length; c++) {
                out[m][c] = p[m][c];
            }
        }
        return out;
    }
}
