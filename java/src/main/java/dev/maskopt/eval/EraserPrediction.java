package dev.maskopt.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * One line of ERASER's output format, which its scorer {@code rationale_benchmark/metrics.py} reads: a
 * document's hard rationale (written as maximal token spans), optional per-token soft scores, and
 * optional class distributions on the full text, without the rationale (comprehensiveness) and on the
 * rationale alone (sufficiency), also per AOPC level ({@code thresholded_scores}). Build one with
 * {@link #builder}; write a file with {@link #write}; read one with {@link EraserDataset#readPredictions}.
 */
public final class EraserPrediction {
    /**
     * Class distributions at one AOPC level.
     *
     * @param level the removal level, a fraction (ERASER's {@code threshold})
     * @param comprehensiveness class probabilities with the top-scored words removed
     * @param sufficiency class probabilities with only the top-scored words kept
     */
    public record Threshold(double level, Map<String, Double> comprehensiveness, Map<String, Double> sufficiency) {
        public Threshold {
            comprehensiveness = Collections.unmodifiableMap(new LinkedHashMap<>(comprehensiveness));
            sufficiency = Collections.unmodifiableMap(new LinkedHashMap<>(sufficiency));
        }
    }

    private final String annotationId;
    private final String docid;
    private final boolean[] hard;
    private final double[] soft;
    private final String classification;
    private final Map<String, Double> classificationScores;
    private final Map<String, Double> comprehensivenessScores;
    private final Map<String, Double> sufficiencyScores;
    private final List<Threshold> thresholds;

    private EraserPrediction(Builder b) {
        annotationId = b.annotationId;
        docid = b.docid == null ? b.annotationId : b.docid;
        hard = b.hard.clone();
        soft = b.soft == null ? null : b.soft.clone();
        classification = b.classification;
        classificationScores = frozen(b.classificationScores);
        comprehensivenessScores = frozen(b.comprehensivenessScores);
        sufficiencyScores = frozen(b.sufficiencyScores);
        thresholds = List.copyOf(b.thresholds);
    }

    /**
     * Starts a prediction for one annotation.
     *
     * @param annotationId ERASER's annotation id (the docid too unless {@link Builder#docid} says otherwise)
     * @param hard the hard rationale, one entry per document token
     */
    public static Builder builder(String annotationId, boolean[] hard) {
        return new Builder(annotationId, hard);
    }

    /** Class name to probability, in label order: the shape of ERASER's score fields. */
    public static Map<String, Double> scores(List<String> labels, double[] probabilities) {
        Checks.notNull(labels, "labels");
        Checks.finite(probabilities, "probabilities");
        if (labels.size() != probabilities.length) {
            throw new IllegalArgumentException(labels.size() + " labels but " + probabilities.length + " probabilities");
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int c = 0; c < probabilities.length; c++) {
            if (out.put(labels.get(c), probabilities[c]) != null) {
                throw new IllegalArgumentException("label '" + labels.get(c) + "' appears twice");
            }
        }
        return out;
    }

    public String annotationId() {
        return annotationId;
    }

    public String docid() {
        return docid;
    }

    /** The hard rationale per token. */
    public boolean[] hard() {
        return hard.clone();
    }

    /** Per-token soft scores, if given. */
    public Optional<double[]> soft() {
        return Optional.ofNullable(soft).map(double[]::clone);
    }

    /** The predicted class name, if given. */
    public Optional<String> classification() {
        return Optional.ofNullable(classification);
    }

    /** Class probabilities on the full text; empty if not given. */
    public Map<String, Double> classificationScores() {
        return classificationScores;
    }

    /** Class probabilities without the rationale; empty if not given. */
    public Map<String, Double> comprehensivenessScores() {
        return comprehensivenessScores;
    }

    /** Class probabilities on the rationale alone; empty if not given. */
    public Map<String, Double> sufficiencyScores() {
        return sufficiencyScores;
    }

    /** Distributions per AOPC level, in the order added. */
    public List<Threshold> thresholds() {
        return thresholds;
    }

    /** This prediction as one line of ERASER's output format (no line break). */
    public String toJson() {
        ObjectNode root = EraserDataset.JSON.createObjectNode();
        root.put("annotation_id", annotationId);
        ObjectNode rat = root.putArray("rationales").addObject();
        rat.put("docid", docid);
        ArrayNode spans = rat.putArray("hard_rationale_predictions");
        for (int[] run : Plausibility.runs(hard)) {
            spans.addObject().put("start_token", run[0]).put("end_token", run[1]);
        }
        if (soft != null) {
            ArrayNode s = rat.putArray("soft_rationale_predictions");
            for (double v : soft) {
                s.add(v);
            }
        }
        if (classification != null) {
            root.put("classification", classification);
            putScores(root, "classification_scores", classificationScores);
        }
        putScores(root, "comprehensiveness_classification_scores", comprehensivenessScores);
        putScores(root, "sufficiency_classification_scores", sufficiencyScores);
        if (!thresholds.isEmpty()) {
            ArrayNode ts = root.putArray("thresholded_scores");
            for (Threshold t : thresholds) {
                ObjectNode o = ts.addObject();
                o.put("threshold", t.level());
                putScores(o, "comprehensiveness_classification_scores", t.comprehensiveness());
                putScores(o, "sufficiency_classification_scores", t.sufficiency());
            }
        }
        return root.toString();
    }

    /**
     * Writes predictions as JSON lines. The scorer needs every optional field on every line or on none,
     * the same AOPC levels everywhere and distinct annotation ids; all three are checked here.
     */
    public static void write(Path file, List<EraserPrediction> predictions) {
        Checks.notNull(file, "file");
        Checks.notNull(predictions, "predictions");
        checkConsistent(predictions);
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (EraserPrediction p : predictions) {
                out.write(p.toJson());
                out.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void checkConsistent(List<EraserPrediction> predictions) {
        Set<String> ids = new HashSet<>();
        EraserPrediction first = predictions.isEmpty() ? null : predictions.get(0);
        for (int i = 0; i < predictions.size(); i++) {
            EraserPrediction p = predictions.get(i);
            if (p == null) {
                throw new IllegalArgumentException("prediction " + i + " is null");
            }
            if (!ids.add(p.annotationId)) {
                throw new IllegalArgumentException("annotation id " + p.annotationId + " appears twice");
            }
            if ((p.soft == null) != (first.soft == null) || (p.classification == null) != (first.classification == null)
                    || p.comprehensivenessScores.isEmpty() != first.comprehensivenessScores.isEmpty()
                    || p.sufficiencyScores.isEmpty() != first.sufficiencyScores.isEmpty()) {
                throw new IllegalArgumentException("prediction " + p.annotationId + " does not have the same optional"
                        + " fields as " + first.annotationId + "; the scorer needs them on every line or none");
            }
            if (!levels(p).equals(levels(first))) {
                throw new IllegalArgumentException("prediction " + p.annotationId + " has AOPC levels " + levels(p)
                        + " but " + first.annotationId + " has " + levels(first));
            }
        }
    }

    private static Set<Double> levels(EraserPrediction p) {
        Set<Double> out = new HashSet<>();
        p.thresholds.forEach(t -> out.add(t.level()));
        return out;
    }

    /** Parses one output line; {@code length} gives a document's token count. */
    static EraserPrediction fromJson(JsonNode node, String where, ToIntFunction<String> length) {
        String id = EraserDataset.text(node, "annotation_id", where);
        JsonNode rats = node.get("rationales");
        if (rats == null || !rats.isArray() || rats.size() != 1) {
            throw new IllegalArgumentException(where + ": expected 'rationales' with exactly one document"
                    + " (multi-document annotations are not supported)");
        }
        JsonNode rat = rats.get(0);
        String docid = EraserDataset.text(rat, "docid", where);
        int n = length.applyAsInt(docid);
        boolean[] hard = new boolean[n];
        JsonNode spans = rat.get("hard_rationale_predictions");
        if (spans != null && !spans.isNull()) {
            for (JsonNode s : spans) {
                int start = EraserDataset.integer(s, "start_token", where), end = EraserDataset.integer(s, "end_token", where);
                if (start < 0 || end < start || end > n) {
                    throw new IllegalArgumentException(where + ": span [" + start + ", " + end + ") is outside the "
                            + n + " tokens of " + docid);
                }
                for (int t = start; t < end; t++) {
                    hard[t] = true;
                }
            }
        }
        try {
            Builder b = builder(id, hard).docid(docid);
            JsonNode soft = rat.get("soft_rationale_predictions");
            if (soft != null && !soft.isNull()) {
                double[] s = new double[soft.size()];
                for (int t = 0; t < s.length; t++) {
                    s[t] = number(soft.get(t), where);
                }
                b.soft(s);
            }
            if (node.hasNonNull("classification")) {
                b.classification(EraserDataset.text(node, "classification", where), scores(node, "classification_scores", where));
            }
            if (node.hasNonNull("comprehensiveness_classification_scores")) {
                b.comprehensiveness(scores(node, "comprehensiveness_classification_scores", where));
            }
            if (node.hasNonNull("sufficiency_classification_scores")) {
                b.sufficiency(scores(node, "sufficiency_classification_scores", where));
            }
            JsonNode ts = node.get("thresholded_scores");
            if (ts != null && !ts.isNull()) {
                for (JsonNode t : ts) {
                    b.threshold(number(t.get("threshold"), where), scores(t, "comprehensiveness_classification_scores",
                            where), scores(t, "sufficiency_classification_scores", where));
                }
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(where)) {
                throw e;
            }
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Double> scores(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isObject()) {
            throw new IllegalArgumentException(where + ": missing object field '" + field + "'");
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            out.put(e.getKey(), number(e.getValue(), where));
        }
        return out;
    }

    private static double number(JsonNode v, String where) {
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException(where + ": expected a number, got " + v);
        }
        return v.asDouble();
    }

    private static void putScores(ObjectNode parent, String field, Map<String, Double> scores) {
        if (scores.isEmpty()) {
            return;
        }
        ObjectNode o = parent.putObject(field);
        scores.forEach(o::put);
    }

    private static Map<String, Double> frozen(Map<String, Double> m) {
        return m == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    /** Collects the fields of one prediction; {@link #build()} checks them together. */
    public static final class Builder {
        private final String annotationId;
        private final boolean[] hard;
        private String docid;
        private double[] soft;
        private String classification;
        private Map<String, Double> classificationScores;
        private Map<String, Double> comprehensivenessScores;
        private Map<String, Double> sufficiencyScores;
        private final List<Threshold> thresholds = new ArrayList<>();

        private Builder(String annotationId, boolean[] hard) {
            if (annotationId == null || annotationId.isEmpty()) {
                throw new IllegalArgumentException("annotation id must be non-empty");
            }
            Checks.notNull(hard, "hard rationale");
            this.annotationId = annotationId;
            this.hard = hard.clone();
        }

        /** The document's id when it differs from the annotation id. */
        public Builder docid(String docid) {
            if (docid == null || docid.isEmpty()) {
                throw new IllegalArgumentException("docid must be non-empty");
            }
            this.docid = docid;
            return this;
        }

        /** Per-token soft scores (ERASER's {@code soft_rationale_predictions}), one per token. */
        public Builder soft(double[] scores) {
            Checks.finite(scores, "soft scores");
            if (scores.length != hard.length) {
                throw new IllegalArgumentException(scores.length + " soft scores for " + hard.length + " tokens");
            }
            this.soft = scores.clone();
            return this;
        }

        /** The predicted class and the class probabilities on the full text. */
        public Builder classification(String label, Map<String, Double> scores) {
            Checks.notNull(label, "classification");
            this.classification = label;
            this.classificationScores = checked(scores, "classification scores");
            return this;
        }

        /** Class probabilities with the rationale removed. */
        public Builder comprehensiveness(Map<String, Double> scores) {
            this.comprehensivenessScores = checked(scores, "comprehensiveness scores");
            return this;
        }

        /** Class probabilities with only the rationale kept. */
        public Builder sufficiency(Map<String, Double> scores) {
            this.sufficiencyScores = checked(scores, "sufficiency scores");
            return this;
        }

        /** Class probabilities at one AOPC level (ERASER's {@code thresholded_scores}). */
        public Builder threshold(double level, Map<String, Double> comprehensiveness, Map<String, Double> sufficiency) {
            if (!(level >= 0 && level <= 1)) {
                throw new IllegalArgumentException("AOPC level must be a fraction in [0, 1], got " + level);
            }
            for (Threshold t : thresholds) {
                if (t.level() == level) {
                    throw new IllegalArgumentException("AOPC level " + level + " given twice");
                }
            }
            thresholds.add(new Threshold(level, checked(comprehensiveness, "comprehensiveness scores at " + level),
                    checked(sufficiency, "sufficiency scores at " + level)));
            return this;
        }

        /**
         * Fills the classification and every faithfulness field from a classifier on the document's
         * encoding, with the masks that {@link Faithfulness} uses: the predicted class (ERASER's m(x)_j) and
         * the class probabilities on the full text, without and with only the hard rationale, and, when
         * soft scores were set, without and with only their top-k words at each level. All masks go through
         * {@link MaskedModel#distributions} in one call.
         *
         * @param text the document encoded on its own tokens ({@link Classifier#encodeWords}), so that word
         *     i of the encoding is token i of the document
         */
        public Builder scoredBy(Classifier model, Encoding text, Removal removal, Faithfulness.Levels levels) {
            Checks.notNull(model, "model");
            Checks.notNull(text, "text");
            Checks.notNull(levels, "levels");
            if (text.words().size() != hard.length) {
                throw new IllegalArgumentException("the encoding has " + text.words().size() + " words but the"
                        + " rationale covers " + hard.length + " tokens");
            }
            List<boolean[]> masks = new ArrayList<>(Faithfulness.erasureMasks(hard));
            double[] fractions = levels.fractions();
            if (soft != null) {
                List<boolean[]> aopc = Faithfulness.aopcMasks(soft, fractions);
                masks.addAll(aopc.subList(1, aopc.size())); // the full text is already the first mask
            }
            double[][] p = MaskedModel.distributions(model, text, masks, removal);
            List<String> labels = model.labels();
            int predicted = 0;
            for (int c = 1; c < p[0].length; c++) {
                predicted = p[0][c] > p[0][predicted] ? c : predicted;
            }
            classification(labels.get(predicted), scores(labels, p[0]));
            comprehensiveness(scores(labels, p[1]));
            sufficiency(scores(labels, p[2]));
            if (soft != null) {
                for (int i = 0; i < fractions.length; i++) {
                    threshold(fractions[i], scores(labels, p[3 + 2 * i]), scores(labels, p[4 + 2 * i]));
                }
            }
            return this;
        }

        /** Checks that the scores the scorer combines are present together and cover the same classes. */
        public EraserPrediction build() {
            boolean faith = comprehensivenessScores != null || sufficiencyScores != null || !thresholds.isEmpty();
            if (faith && classification == null) {
                throw new IllegalArgumentException(annotationId + ": comprehensiveness, sufficiency and AOPC scores"
                        + " need a classification and its scores");
            }
            if (!thresholds.isEmpty() && (comprehensivenessScores == null || sufficiencyScores == null)) {
                throw new IllegalArgumentException(annotationId + ": AOPC scores need comprehensiveness and"
                        + " sufficiency scores too");
            }
            if (classification != null) {
                Set<String> classes = classificationScores.keySet();
                if (!classes.contains(classification)) {
                    throw new IllegalArgumentException(annotationId + ": classification '" + classification
                            + "' is not among the scored classes " + classes);
                }
                List<Map<String, Double>> others = new ArrayList<>();
                others.add(comprehensivenessScores);
                others.add(sufficiencyScores);
                thresholds.forEach(t -> {
                    others.add(t.comprehensiveness());
                    others.add(t.sufficiency());
                });
                for (Map<String, Double> m : others) {
                    if (m != null && !m.keySet().equals(classes)) {
                        throw new IllegalArgumentException(annotationId + ": scores for classes " + m.keySet()
                                + " but the classification scores cover " + classes);
                    }
                }
            }
            return new EraserPrediction(this);
        }

        private static Map<String, Double> checked(Map<String, Double> scores, String what) {
            Checks.notNull(scores, what);
            if (scores.isEmpty()) {
                throw new IllegalArgumentException(what + " are empty");
            }
            for (Map.Entry<String, Double> e : scores.entrySet()) {
                if (e.getKey() == null || e.getValue() == null || !Double.isFinite(e.getValue())) {
                    throw new IllegalArgumentException(what + " must map class names to finite numbers, got "
                            + e.getKey() + "=" + e.getValue());
                }
            }
            return new LinkedHashMap<>(scores);
        }
    }
}
