package dev.maskopt.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whether a rationale is what the model relied on (methods.md section 7): comprehensiveness
 * {@code p(x) - p(x without r)} (higher is better) and sufficiency {@code p(x) - p(r only)} (lower is
 * better), with p the {@link MaskedModel}'s target class probability; and their AOPC versions, averaged
 * over removal levels of the top-scored words.
 *
 * <p>Averages over documents are plain means, as in ERASER's scorer; every document carries the same
 * number of levels, so the mean of per-document AOPCs equals the mean over all (document, level) pairs.
 */
public final class Faithfulness {
    private Faithfulness() {}

    /** How the rationale of an {@link Erasure} was chosen, so that results of different kinds are not mixed. */
    public enum Selection {
        /** A hard rationale, as the explainer produced it. */
        RATIONALE,
        /** The top-k scored words, k from a removal level ({@link TopK#count}). */
        TOP_K,
        /**
         * The top-k scored words with k the length of the human rationale: ERASER's choice for soft scores,
         * which uses the gold annotation and so is not available to an explainer on its own.
         */
        ORACLE_LENGTH
    }

    /** Removal levels for AOPC. */
    public enum Levels {
        /** ERASER's scorer default: 1, 5, 10, 20 and 50% (its AOPC divides by the number of levels). */
        ERASER(0.01, 0.05, 0.10, 0.20, 0.50),
        /** MaRC's protocol: 5, 10, ..., 95%. */
        MARC(0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80,
                0.85, 0.90, 0.95);

        private final double[] fractions;

        Levels(double... fractions) {
            this.fractions = fractions;
        }

        /** The levels as fractions of the words, increasing. */
        public double[] fractions() {
            return fractions.clone();
        }
    }

    /**
     * Comprehensiveness and sufficiency of one rationale on one text.
     *
     * @param selection how the rationale was chosen
     * @param selected number of rationale words
     * @param full p(x), all words kept
     * @param withoutRationale p(x without r)
     * @param rationaleOnly p(r only)
     */
    public record Erasure(Selection selection, int selected, double full, double withoutRationale,
            double rationaleOnly) {
        /** {@code p(x) - p(x without r)}; higher is better. */
        public double comprehensiveness() {
            return full - withoutRationale;
        }

        /** {@code p(x) - p(r only)}; lower is better. */
        public double sufficiency() {
            return full - rationaleOnly;
        }
    }

    /**
     * Comprehensiveness and sufficiency at each removal level, and their AOPC: the mean over levels.
     *
     * @param levels the removal levels (fractions)
     * @param full p(x), all words kept
     * @param withoutTop p with the top-k words removed, per level
     * @param onlyTop p with only the top-k words kept, per level
     */
    public record Aopc(double[] levels, double full, double[] withoutTop, double[] onlyTop) {
        public Aopc {
            levels = levels.clone();
            withoutTop = withoutTop.clone();
            onlyTop = onlyTop.clone();
            if (withoutTop.length != levels.length || onlyTop.length != levels.length) {
                throw new IllegalArgumentException("one probability per level is needed");
            }
        }

        @Override
        public double[] levels() {
            return levels.clone();
        }

        @Override
        public double[] withoutTop() {
            return withoutTop.clone();
        }

        @Override
        public double[] onlyTop() {
            return onlyTop.clone();
        }

        /** {@code p(x) - p(x without top-k)} per level. */
        public double[] comprehensivenessPoints() {
            double[] out = new double[levels.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = full - withoutTop[i];
            }
            return out;
        }

        /** {@code p(x) - p(top-k only)} per level. */
        public double[] sufficiencyPoints() {
            double[] out = new double[levels.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = full - onlyTop[i];
            }
            return out;
        }

        /** AOPC comprehensiveness: the mean over levels; higher is better. */
        public double comprehensiveness() {
            return mean(comprehensivenessPoints());
        }

        /** AOPC sufficiency: the mean over levels; lower is better. */
        public double sufficiency() {
            return mean(sufficiencyPoints());
        }
    }

    /**
     * Dataset means.
     *
     * @param comprehensiveness mean comprehensiveness
     * @param sufficiency mean sufficiency
     * @param documents number of documents averaged
     */
    public record Summary(double comprehensiveness, double sufficiency, int documents) {}

    /** Scores a hard rationale ({@code true} = in the rationale). */
    public static Erasure ofRationale(MaskedModel model, boolean[] rationale) {
        Checks.notNull(rationale, "rationale");
        return erase(model, rationale, Selection.RATIONALE);
    }

    /** Scores the top {@link TopK#count} words of soft scores at a removal level. */
    public static Erasure ofTopK(MaskedModel model, double[] scores, double level) {
        Checks.finite(scores, "scores");
        return erase(model, TopK.atLevel(scores, level), Selection.TOP_K);
    }

    /**
     * Scores the top-k words of soft scores with k the number of words in the human rationale {@code gold}
     * (ERASER's protocol for soft scores; labelled {@link Selection#ORACLE_LENGTH}).
     */
    public static Erasure ofOracleLength(MaskedModel model, double[] scores, boolean[] gold) {
        Checks.finite(scores, "scores");
        Checks.notNull(gold, "gold rationale");
        if (gold.length != scores.length) {
            throw new IllegalArgumentException("gold rationale has " + gold.length + " words but scores have "
                    + scores.length);
        }
        return erase(model, TopK.select(scores, Checks.count(gold)), Selection.ORACLE_LENGTH);
    }

    /** AOPC at the given standard levels. */
    public static Aopc aopc(MaskedModel model, double[] scores, Levels levels) {
        Checks.notNull(levels, "levels");
        return aopc(model, scores, levels.fractions());
    }

    /**
     * AOPC at custom levels: for each level, the top {@link TopK#count} words are removed (comprehensiveness)
     * or kept alone (sufficiency); all {@code 1 + 2 * levels} masks go to the model in one call.
     */
    public static Aopc aopc(MaskedModel model, double[] scores, double... levels) {
        Checks.notNull(model, "model");
        Checks.finite(scores, "scores");
        Checks.finite(levels, "levels");
        if (scores.length == 0) {
            throw new IllegalArgumentException("the text has no words");
        }
        if (levels.length == 0) {
            throw new IllegalArgumentException("no levels");
        }
        double[] p = call(model, aopcMasks(scores, levels));
        double[] without = new double[levels.length], only = new double[levels.length];
        for (int i = 0; i < levels.length; i++) {
            without[i] = p[1 + 2 * i];
            only[i] = p[2 + 2 * i];
        }
        return new Aopc(levels, p[0], without, only);
    }

    /** Mean comprehensiveness and sufficiency over documents. */
    public static Summary summarize(List<Erasure> results) {
        Checks.notNull(results, "results");
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no results to summarize");
        }
        double comp = 0, suff = 0;
        Selection kind = results.get(0).selection();
        for (Erasure e : results) {
            if (e.selection() != kind) {
                throw new IllegalArgumentException("cannot average " + kind + " with " + e.selection() + " results");
            }
            comp += e.comprehensiveness();
            suff += e.sufficiency();
        }
        return new Summary(comp / results.size(), suff / results.size(), results.size());
    }

    /**
     * Per-level means over documents (ERASER's "points"); the result's {@link Aopc#comprehensiveness()} and
     * {@link Aopc#sufficiency()} are the dataset's AOPC.
     */
    public static Aopc average(List<Aopc> results) {
        Checks.notNull(results, "results");
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no results to average");
        }
        double[] levels = results.get(0).levels();
        double full = 0;
        double[] without = new double[levels.length], only = new double[levels.length];
        for (Aopc a : results) {
            if (!Arrays.equals(a.levels(), levels)) {
                throw new IllegalArgumentException("cannot average AOPC at levels " + Arrays.toString(a.levels())
                        + " with " + Arrays.toString(levels));
            }
            full += a.full();
            double[] w = a.withoutTop(), o = a.onlyTop();
            for (int i = 0; i < levels.length; i++) {
                without[i] += w[i];
                only[i] += o[i];
            }
        }
        int n = results.size();
        for (int i = 0; i < levels.length; i++) {
            without[i] /= n;
            only[i] /= n;
        }
        return new Aopc(levels, full / n, without, only);
    }

    private static Erasure erase(MaskedModel model, boolean[] rationale, Selection selection) {
        Checks.notNull(model, "model");
        if (rationale.length == 0) {
            throw new IllegalArgumentException("the text has no words");
        }
        double[] p = call(model, erasureMasks(rationale));
        return new Erasure(selection, Checks.count(rationale), p[0], p[1], p[2]);
    }

    /** Keep masks of an erasure: all words, without the rationale, the rationale only. */
    static List<boolean[]> erasureMasks(boolean[] rationale) {
        return List.of(all(rationale.length), not(rationale), rationale.clone());
    }

    /** Keep masks of AOPC: all words, then per level without the top-k and the top-k only. */
    static List<boolean[]> aopcMasks(double[] scores, double[] levels) {
        List<boolean[]> masks = new ArrayList<>(1 + 2 * levels.length);
        masks.add(all(scores.length));
        for (double level : levels) {
            boolean[] top = TopK.atLevel(scores, level);
            masks.add(not(top));
            masks.add(top);
        }
        return masks;
    }

    private static double[] call(MaskedModel model, List<boolean[]> masks) {
        double[] p = model.probabilities(masks);
        if (p == null || p.length != masks.size()) {
            throw new IllegalStateException("the model returned " + (p == null ? "null" : p.length + " values")
                    + " for " + masks.size() + " masks");
        }
        for (int m = 0; m < p.length; m++) {
            if (!(p[m] >= 0 && p[m] <= 1)) {
                throw new IllegalStateException("the model returned " + p[m] + " for mask " + m
                        + "; expected a probability in [0, 1]");
            }
        }
        return p;
    }

    private static boolean[] all(int n) {
        boolean[] out = new boolean[n];
        Arrays.fill(out, true);
        return out;
    }

    private static boolean[] not(boolean[] mask) {
        boolean[] out = new boolean[mask.length];
        for (int i = 0; i < mask.length; i++) {
            out[i] = !mask[i];
        }
        return out;
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }
}
