package dev.maskopt.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How a set of explainers did on one data split with one model: the comparison table, the faithfulness and
 * plausibility curves, and each document's rationales. Written by {@link ReportJson}, {@link HtmlReport} and
 * {@link MarkdownTable}.
 *
 * <p>Every number is finite or NaN; NaN means "not available" (written as {@code null} in JSON and "n/a" in
 * tables). Infinite values are rejected. All components are copied on construction and array accessors return
 * copies, so a report never changes after it is built.
 *
 * @param dataset the data set and split the documents come from
 * @param model the classifier that was explained
 * @param settings run settings as display strings, in display order (removal policy, steps, levels, seed, backend)
 * @param levels the removal levels of the comprehensiveness and sufficiency curves (fractions of words, strictly
 *     increasing); empty when no method has curves
 * @param figures the columns of the comparison table, in display order
 * @param methods the rows of the comparison table, in display order; names are unique
 * @param documents per-document results; ids are unique; may be empty
 */
public record Report(
        Dataset dataset,
        Model model,
        Map<String, String> settings,
        double[] levels,
        List<Figure> figures,
        List<Method> methods,
        List<Document> documents) {

    public Report {
        required(dataset, "dataset");
        required(model, "model");
        settings = orderedCopy(required(settings, "settings"), "settings");
        levels = required(levels, "levels").clone();
        figures = listCopy(figures, "figures");
        methods = listCopy(methods, "methods");
        documents = listCopy(documents, "documents");
        for (int i = 0; i < levels.length; i++) {
            if (!Double.isFinite(levels[i]) || (i > 0 && levels[i] <= levels[i - 1])) {
                throw new IllegalArgumentException("levels must be finite and strictly increasing: "
                        + Arrays.toString(levels));
            }
        }
        Set<String> figureKeys = new HashSet<>();
        for (Figure f : figures) {
            if (!figureKeys.add(f.key())) {
                throw new IllegalArgumentException("figure '" + f.key() + "' is declared twice");
            }
        }
        Set<String> methodNames = new HashSet<>();
        for (Method m : methods) {
            if (!methodNames.add(m.name())) {
                throw new IllegalArgumentException("method '" + m.name() + "' appears twice");
            }
            for (String key : m.figures().keySet()) {
                // An undeclared key is almost always a typo that would silently drop a column.
                if (!figureKeys.contains(key)) {
                    throw new IllegalArgumentException("method '" + m.name() + "' has figure '" + key
                            + "', which is not among the report's figures " + keys(figures));
                }
            }
            curveLength(m.name(), "comprehensiveness", m.comprehensiveness.length, levels.length);
            curveLength(m.name(), "sufficiency", m.sufficiency.length, levels.length);
        }
        Set<String> ids = new HashSet<>();
        for (Document d : documents) {
            if (!ids.add(d.id())) {
                throw new IllegalArgumentException("document '" + d.id() + "' appears twice");
            }
            for (String name : d.attributions().keySet()) {
                if (!methodNames.contains(name)) {
                    throw new IllegalArgumentException("document '" + d.id() + "' has an attribution from '" + name
                            + "', which is not among the report's methods");
                }
            }
        }
    }

    /** The removal levels (a copy). */
    @Override
    public double[] levels() {
        return levels.clone();
    }

    /** The method with this name, or null. */
    public Method method(String name) {
        for (Method m : methods) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        return null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Report r && dataset.equals(r.dataset) && model.equals(r.model)
                && settings.equals(r.settings) && Arrays.equals(levels, r.levels) && figures.equals(r.figures)
                && methods.equals(r.methods) && documents.equals(r.documents);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dataset, model, settings, Arrays.hashCode(levels), figures, methods, documents);
    }

    @Override
    public String toString() {
        return "Report[" + dataset + ", " + model + ", " + methods.size() + " methods, " + documents.size()
                + " documents]";
    }

    /**
     * The data the documents come from.
     *
     * @param name e.g. "ERASER Movie Reviews"
     * @param split e.g. "test"
     */
    public record Dataset(String name, String split) {
        public Dataset {
            required(name, "dataset name");
            required(split, "dataset split");
        }
    }

    /**
     * The classifier that was explained.
     *
     * @param name e.g. "MiniLM-L6 + logistic head"
     * @param testAccuracy accuracy on the report's split, in [0, 1], or NaN when unknown
     * @param provenance how the model was made (training data, recipe, checkpoint), free text
     */
    public record Model(String name, double testAccuracy, String provenance) {
        public Model {
            required(name, "model name");
            required(provenance, "model provenance");
            unitOrNaN(testAccuracy, "model test accuracy");
        }
    }

    /**
     * A column of the comparison table.
     *
     * @param key the name methods use in {@link Method#figures()}, e.g. "token_f1"
     * @param label the column header, e.g. "Token F1"
     * @param higherIsBetter which direction wins when the best value of the column is marked
     */
    public record Figure(String key, String label, boolean higherIsBetter) {
        /** ERASER comprehensiveness at the evaluated rationale: p_y(text) - p_y(text without rationale). */
        public static final Figure COMPREHENSIVENESS = new Figure("comprehensiveness", "Comp.", true);
        /** ERASER sufficiency at the evaluated rationale: p_y(text) - p_y(rationale only). */
        public static final Figure SUFFICIENCY = new Figure("sufficiency", "Suff.", false);
        /** Comprehensiveness averaged over the removal levels (area over the perturbation curve). */
        public static final Figure COMP_AOPC = new Figure("comp_aopc", "Comp. AOPC", true);
        /** Sufficiency averaged over the removal levels. */
        public static final Figure SUFF_AOPC = new Figure("suff_aopc", "Suff. AOPC", false);
        public static final Figure TOKEN_PRECISION = new Figure("token_precision", "Token P", true);
        public static final Figure TOKEN_RECALL = new Figure("token_recall", "Token R", true);
        public static final Figure TOKEN_F1 = new Figure("token_f1", "Token F1", true);
        /** Token F1 when each document's rationale has as many words as its human rationale. */
        public static final Figure TOKEN_F1_ORACLE = new Figure("token_f1_oracle", "Token F1 (oracle k)", true);
        public static final Figure IOU_F1 = new Figure("iou_f1", "IOU F1", true);
        /** Area under the precision-recall curve of the soft scores against human rationales. */
        public static final Figure AUPRC = new Figure("auprc", "AUPRC", true);
        /** Diagnostic study: mean average precision of the scores against human rationales. */
        public static final Figure HUMAN_AGREEMENT = new Figure("human_agreement", "HA MAP", true);
        /** Diagnostic study: area under macro-F1 vs. % of top-scored words masked (0..100), lower is better. */
        public static final Figure MASKING_AUC = new Figure("masking_auc", "Masking AUC", false);
        public static final Figure SECONDS_PER_DOC = new Figure("seconds_per_doc", "s/doc", false);

        public Figure {
            nonBlank(key, "figure key");
            required(label, "figure label");
        }

        /** The figures above in their usual column order. */
        public static List<Figure> standard() {
            return List.of(COMPREHENSIVENESS, SUFFICIENCY, COMP_AOPC, SUFF_AOPC, TOKEN_PRECISION, TOKEN_RECALL,
                    TOKEN_F1, TOKEN_F1_ORACLE, IOU_F1, AUPRC, HUMAN_AGREEMENT, MASKING_AUC, SECONDS_PER_DOC);
        }
    }

    /**
     * One explainer's aggregate results.
     *
     * @param name unique display name, e.g. "maskopt (HardKuma)"
     * @param figures values by {@link Figure#key()}; a figure may be absent or NaN (both shown as "n/a")
     * @param comprehensiveness comprehensiveness at each of the report's levels, or empty when not measured
     * @param sufficiency sufficiency at each of the report's levels, or empty when not measured
     * @param precisionRecall points of the precision-recall curve in drawing order, or empty
     */
    public record Method(
            String name,
            Map<String, Double> figures,
            double[] comprehensiveness,
            double[] sufficiency,
            List<PrPoint> precisionRecall) {

        public Method {
            nonBlank(name, "method name");
            figures = orderedCopy(required(figures, "figures of method '" + name + "'"),
                    "figures of method '" + name + "'");
            for (Map.Entry<String, Double> e : figures.entrySet()) {
                finiteOrNaN(e.getValue(), "figure '" + e.getKey() + "' of method '" + name + "'");
            }
            comprehensiveness = comprehensiveness == null ? new double[0] : comprehensiveness.clone();
            sufficiency = sufficiency == null ? new double[0] : sufficiency.clone();
            finiteOrNaN(comprehensiveness, "comprehensiveness curve of method '" + name + "'");
            finiteOrNaN(sufficiency, "sufficiency curve of method '" + name + "'");
            precisionRecall = precisionRecall == null ? List.of()
                    : listCopy(precisionRecall, "precision-recall curve of method '" + name + "'");
        }

        /** The value of a figure, NaN when absent. */
        public double figure(String key) {
            Double v = figures.get(key);
            return v == null ? Double.NaN : v;
        }

        @Override
        public double[] comprehensiveness() {
            return comprehensiveness.clone();
        }

        @Override
        public double[] sufficiency() {
            return sufficiency.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Method m && name.equals(m.name) && figures.equals(m.figures)
                    && Arrays.equals(comprehensiveness, m.comprehensiveness)
                    && Arrays.equals(sufficiency, m.sufficiency) && precisionRecall.equals(m.precisionRecall);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, figures, Arrays.hashCode(comprehensiveness), Arrays.hashCode(sufficiency),
                    precisionRecall);
        }

        @Override
        public String toString() {
            return "Method[" + name + ", " + figures + "]";
        }
    }

    /**
     * A point of a precision-recall curve.
     *
     * @param recall in [0, 1]
     * @param precision in [0, 1]
     */
    public record PrPoint(double recall, double precision) {
        public PrPoint {
            if (!(recall >= 0 && recall <= 1 && precision >= 0 && precision <= 1)) {
                throw new IllegalArgumentException("precision-recall point must lie in [0, 1]^2: recall " + recall
                        + ", precision " + precision);
            }
        }
    }

    /**
     * One document with the human rationale and each method's explanation of the model's prediction.
     *
     * @param id unique document id, e.g. "negR_000.txt"
     * @param words the words explanations are over
     * @param goldLabel the true class
     * @param predictedLabel the model's class
     * @param predictedProbability the model's probability of {@code predictedLabel}, in [0, 1], or NaN
     * @param humanRationale per word: part of the human rationale
     * @param attributions by method name; a method may be missing for some documents
     */
    public record Document(
            String id,
            List<String> words,
            String goldLabel,
            String predictedLabel,
            double predictedProbability,
            boolean[] humanRationale,
            Map<String, Attribution> attributions) {

        public Document {
            required(id, "document id");
            words = listCopy(words, "words of document '" + id + "'");
            required(goldLabel, "gold label of document '" + id + "'");
            required(predictedLabel, "predicted label of document '" + id + "'");
            unitOrNaN(predictedProbability, "predicted probability of document '" + id + "'");
            humanRationale = required(humanRationale, "human rationale of document '" + id + "'").clone();
            attributions = orderedCopy(required(attributions, "attributions of document '" + id + "'"),
                    "attributions of document '" + id + "'");
            int n = words.size();
            if (humanRationale.length != n) {
                throw new IllegalArgumentException("document '" + id + "' has " + n + " words but a human rationale"
                        + " of length " + humanRationale.length);
            }
            for (Map.Entry<String, Attribution> e : attributions.entrySet()) {
                Attribution a = e.getValue();
                if (a.scores.length != n || a.rationale.length != n) {
                    throw new IllegalArgumentException("document '" + id + "' has " + n + " words but method '"
                            + e.getKey() + "' gave " + a.scores.length + " scores and a rationale of length "
                            + a.rationale.length);
                }
            }
        }

        @Override
        public boolean[] humanRationale() {
            return humanRationale.clone();
        }

        /** Direct access for the writers in this package, which only read it. */
        boolean[] human() {
            return humanRationale;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Document d && id.equals(d.id) && words.equals(d.words)
                    && goldLabel.equals(d.goldLabel) && predictedLabel.equals(d.predictedLabel)
                    && Double.compare(predictedProbability, d.predictedProbability) == 0
                    && Arrays.equals(humanRationale, d.humanRationale) && attributions.equals(d.attributions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(id, words, goldLabel, predictedLabel, predictedProbability,
                    Arrays.hashCode(humanRationale), attributions);
        }

        @Override
        public String toString() {
            return "Document[" + id + ", " + words.size() + " words, gold " + goldLabel + ", predicted "
                    + predictedLabel + "]";
        }
    }

    /**
     * One method's explanation of one document.
     *
     * @param scores per word soft score (any scale and sign; NaN where the method gave none)
     * @param rationale per word: in the method's hard rationale
     */
    public record Attribution(double[] scores, boolean[] rationale) {
        public Attribution {
            scores = required(scores, "scores").clone();
            rationale = required(rationale, "rationale").clone();
            finiteOrNaN(scores, "scores");
            if (scores.length != rationale.length) {
                throw new IllegalArgumentException(scores.length + " scores but a rationale of length "
                        + rationale.length);
            }
        }

        @Override
        public double[] scores() {
            return scores.clone();
        }

        @Override
        public boolean[] rationale() {
            return rationale.clone();
        }

        /** Direct access for the writers in this package, which only read them. */
        double[] scoresView() {
            return scores;
        }

        boolean[] rationaleView() {
            return rationale;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Attribution a && Arrays.equals(scores, a.scores) && Arrays.equals(rationale, a.rationale);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(scores) + Arrays.hashCode(rationale);
        }

        @Override
        public String toString() {
            return "Attribution[" + scores.length + " words]";
        }
    }

    // ---- validation helpers, shared by the records above ----

    static <T> T required(T value, String what) {
        if (value == null) {
            throw new IllegalArgumentException(what + " is required");
        }
        return value;
    }

    private static void nonBlank(String s, String what) {
        if (required(s, what).isBlank()) {
            throw new IllegalArgumentException(what + " must not be blank");
        }
    }

    private static void unitOrNaN(double v, String what) {
        if (!Double.isNaN(v) && !(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(what + " must be in [0, 1] or NaN, got " + v);
        }
    }

    private static void finiteOrNaN(Double v, String what) {
        if (required(v, what).isInfinite()) {
            throw new IllegalArgumentException(what + " is infinite; use NaN for a missing value");
        }
    }

    private static void finiteOrNaN(double[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            if (Double.isInfinite(values[i])) {
                throw new IllegalArgumentException(what + "[" + i + "] is infinite; use NaN for a missing value");
            }
        }
    }

    private static void curveLength(String method, String curve, int length, int levels) {
        if (length != 0 && length != levels) {
            throw new IllegalArgumentException("method '" + method + "' has a " + curve + " curve of " + length
                    + " values but the report has " + levels + " levels");
        }
    }

    /** An unmodifiable copy that keeps the caller's order (Map.copyOf does not). */
    private static <V> Map<String, V> orderedCopy(Map<String, V> map, String what) {
        Map<String, V> copy = new LinkedHashMap<>();
        for (Map.Entry<String, V> e : map.entrySet()) {
            copy.put(required(e.getKey(), "a key of " + what),
                    required(e.getValue(), "the value of '" + e.getKey() + "' in " + what));
        }
        return Collections.unmodifiableMap(copy);
    }

    /** An unmodifiable copy; List.copyOf would throw a bare NullPointerException on a null element. */
    private static <T> List<T> listCopy(List<T> list, String what) {
        required(list, what);
        for (int i = 0; i < list.size(); i++) {
            required(list.get(i), what + "[" + i + "]");
        }
        return List.copyOf(list);
    }

    private static List<String> keys(List<Figure> figures) {
        List<String> keys = new ArrayList<>();
        for (Figure f : figures) {
            keys.add(f.key());
        }
        return keys;
    }
}
