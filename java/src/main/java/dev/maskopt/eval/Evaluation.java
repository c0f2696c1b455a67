package dev.maskopt.eval;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.report.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs explainers over an ERASER split with one model and gathers every figure into a {@link Report}: the
 * comparison table (faithfulness, plausibility, seconds per document), the curves, and each document's
 * rationales beside the human one. Each method's rationales are also written in ERASER's own format.
 *
 * <p>Every method explains the model's predicted class. A method that only scores words is given the
 * top-k words as its hard rationale, with k the length of the human rationale (ERASER's choice for soft
 * scores, an oracle length); a method with a rationale of its own (the mask optimizer) gets a row for its
 * own rationale and a row "@ oracle k" that ranks words by its scores like the others, so that the rows
 * with the same k compare like with like.
 *
 * <p>Two diagnostic-study figures (Atanasova et al. 2020) join the table: human agreement (mean average
 * precision of the scores) and the masking curve's area (macro-F1 against the gold labels with the top 0..100 %
 * of words removed, lower is better). Confidence indication needs saliency for every class and rationale
 * consistency a second model; both are in {@link Diagnostics} for callers that have them.
 */
public final class Evaluation {
    private Evaluation() {}

    /** An explainer under evaluation. */
    public interface Method {
        String name();

        /** Scores for the words of {@code text} explaining class {@code target} (higher = more important). */
        Output explain(Classifier model, Encoding text, int target);

        /**
         * As {@link #explain(Classifier, Encoding, int)}, told the oracle length: the number of words in the human
         * rationale (at least 1). Methods that do not use it need not override this.
         */
        default Output explain(Classifier model, Encoding text, int target, int oracleWords) {
            return explain(model, text, target);
        }
    }

    /**
     * @param scores one score per word
     * @param rationale the method's own hard rationale, or null when it only scores words
     */
    public record Output(double[] scores, boolean[] rationale) {}

    /**
     * @param removal how removed words leave the input in the faithfulness metrics
     * @param levels the AOPC removal levels
     * @param documents how many documents of the split to evaluate (the first ones, in file order; 0 = all)
     * @param eraserOutput a directory for the ERASER-format predictions (one file per row), or null
     */
    public record Settings(Removal removal, Faithfulness.Levels levels, int documents, Path eraserOutput) {}

    /** What each row of the table collects over the documents. */
    private static final class Row {
        final String name;
        final List<boolean[]> hard = new ArrayList<>(), oracle = new ArrayList<>();
        final List<double[]> scores = new ArrayList<>();
        final List<Faithfulness.Erasure> erasures = new ArrayList<>();
        final List<Faithfulness.Aopc> aopc = new ArrayList<>();
        final List<EraserPrediction> predictions = new ArrayList<>();
        final List<int[]> maskedPredictions = new ArrayList<>(); // per document: the label at 0, 10, ..., 100 %
        double seconds;

        Row(String name) {
            this.name = name;
        }
    }

    /**
     * Evaluates {@code methods} on the split; {@code progress} receives one line per document.
     *
     * @param model the classifier (its labels are the dataset's classes, e.g. NEG/POS mapped by name)
     * @param labelOf maps a dataset label (e.g. "POS") to the model's class index
     */
    public static Report run(Classifier model, String modelName, String provenance,
            java.util.function.ToIntFunction<String> labelOf, EraserDataset data, String split, List<Method> methods,
            Settings settings, Consumer<String> progress) {
        if (methods.isEmpty()) {
            throw new IllegalArgumentException("no methods to evaluate");
        }
        List<EraserDataset.Document> docs = data.split(split);
        if (settings.documents() > 0 && settings.documents() < docs.size()) {
            docs = docs.subList(0, settings.documents());
        }
        Map<String, Row> rows = new LinkedHashMap<>();
        List<Report.Document> views = new ArrayList<>();
        List<boolean[]> gold = new ArrayList<>();
        List<List<dev.maskopt.Span>> goldSpans = new ArrayList<>();
        int correct = 0;
        for (int d = 0; d < docs.size(); d++) {
            EraserDataset.Document doc = docs.get(d);
            Encoding text = model.encodeWords(doc.tokens());
            boolean[] human = doc.rationale();
            gold.add(human);
            goldSpans.add(doc.evidence());
            boolean[] all = new boolean[human.length];
            java.util.Arrays.fill(all, true);
            double[] full = MaskedModel.distributions(model, text, List.of(all), settings.removal())[0];
            int target = argmax(full);
            correct += target == labelOf.applyAsInt(doc.label()) ? 1 : 0;
            int k = Math.max(1, Checks.count(human));
            MaskedModel masked = MaskedModel.of(model, text, target, settings.removal());
            Map<String, Report.Attribution> attributions = new LinkedHashMap<>();
            StringBuilder line = new StringBuilder(String.format("[%d/%d] %s (%d words, %s %.2f)", d + 1, docs.size(),
                    doc.annotationId(), human.length, model.labels().get(target), full[target]));
            for (Method method : methods) {
                long t0 = System.nanoTime();
                Output out = method.explain(model, text, target, k);
                double seconds = (System.nanoTime() - t0) / 1e9;
                check(out, human.length, method.name());
                boolean[] oracle = TopK.select(out.scores(), k);
                Faithfulness.Aopc aopc = Faithfulness.aopc(masked, out.scores(), settings.levels());
                int[] maskedLabels = maskedPredictions(model, text, out.scores(), settings.removal());
                if (out.rationale() != null) {
                    record(rows, method.name(), out.rationale(), oracle, out, aopc, maskedLabels, masked, seconds, doc,
                            model, text, settings);
                    record(rows, method.name() + " @ oracle k", oracle, oracle, out, aopc, maskedLabels, masked, seconds,
                            doc, model, text, settings);
                } else {
                    record(rows, method.name(), oracle, oracle, out, aopc, maskedLabels, masked, seconds, doc, model,
                            text, settings);
                }
                attributions.put(method.name(), new Report.Attribution(out.scores(),
                        out.rationale() != null ? out.rationale() : oracle));
                line.append(String.format(", %s %.2f s", method.name(), seconds));
            }
            views.add(new Report.Document(doc.annotationId(), doc.tokens(), doc.label(), model.labels().get(target),
                    full[target], human, attributions));
            progress.accept(line.toString());
        }
        if (settings.eraserOutput() != null) {
            writePredictions(rows, settings.eraserOutput());
        }
        int[] goldLabels = docs.stream().mapToInt(doc -> labelOf.applyAsInt(doc.label())).toArray();
        return report(model, modelName, provenance, (double) correct / docs.size(), data, split, rows, views, gold,
                goldSpans, goldLabels, settings, docs.size());
    }

    private static void record(Map<String, Row> rows, String name, boolean[] hard, boolean[] oracle, Output out,
            Faithfulness.Aopc aopc, int[] maskedLabels, MaskedModel masked, double seconds, EraserDataset.Document doc,
            Classifier model, Encoding text, Settings settings) {
        Row row = rows.computeIfAbsent(name, Row::new);
        row.maskedPredictions.add(maskedLabels);
        row.hard.add(hard);
        row.oracle.add(oracle);
        row.scores.add(out.scores());
        Faithfulness.Erasure e = Faithfulness.ofRationale(masked, hard);
        row.erasures.add(hard == out.rationale() ? e : new Faithfulness.Erasure(Faithfulness.Selection.ORACLE_LENGTH,
                e.selected(), e.full(), e.withoutRationale(), e.rationaleOnly()));
        row.aopc.add(aopc);
        row.seconds += seconds;
        if (settings.eraserOutput() != null) {
            row.predictions.add(EraserPrediction.builder(doc.annotationId(), hard).docid(doc.docid())
                    .soft(out.scores()).scoredBy(model, text, settings.removal(), settings.levels()).build());
        }
    }

    private static Report report(Classifier model, String modelName, String provenance, double accuracy,
            EraserDataset data, String split, Map<String, Row> rows, List<Report.Document> views, List<boolean[]> gold,
            List<List<dev.maskopt.Span>> goldSpans, int[] goldLabels, Settings settings, int documents) {
        List<Report.Figure> figures = Report.Figure.standard();
        List<Report.Method> methods = new ArrayList<>();
        double[] levels = settings.levels().fractions();
        for (Row row : rows.values()) {
            Map<String, Double> f = new LinkedHashMap<>();
            Faithfulness.Summary erasure = Faithfulness.summarize(row.erasures);
            Faithfulness.Aopc aopc = Faithfulness.average(row.aopc);
            Plausibility.Averaged tokens = Plausibility.tokens(gold, row.hard);
            f.put(Report.Figure.COMPREHENSIVENESS.key(), erasure.comprehensiveness());
            f.put(Report.Figure.SUFFICIENCY.key(), erasure.sufficiency());
            f.put(Report.Figure.COMP_AOPC.key(), aopc.comprehensiveness());
            f.put(Report.Figure.SUFF_AOPC.key(), aopc.sufficiency());
            f.put(Report.Figure.TOKEN_PRECISION.key(), tokens.macro().precision());
            f.put(Report.Figure.TOKEN_RECALL.key(), tokens.macro().recall());
            f.put(Report.Figure.TOKEN_F1.key(), tokens.macro().f1());
            f.put(Report.Figure.TOKEN_F1_ORACLE.key(), Plausibility.tokens(gold, row.oracle).macro().f1());
            f.put(Report.Figure.IOU_F1.key(), Plausibility.iou(goldSpans, row.hard).macro().f1());
            f.put(Report.Figure.AUPRC.key(), Plausibility.ranking(gold, row.scores).auprc());
            f.put(Report.Figure.HUMAN_AGREEMENT.key(), Diagnostics.humanAgreement(gold, row.scores));
            f.put(Report.Figure.MASKING_AUC.key(), Diagnostics.faithfulness(goldLabels,
                    percent -> row.maskedPredictions.stream().mapToInt(p -> p[percent / 10]).toArray()).auc());
            f.put(Report.Figure.SECONDS_PER_DOC.key(), row.seconds / documents);
            methods.add(new Report.Method(row.name, f, aopc.comprehensivenessPoints(), aopc.sufficiencyPoints(),
                    precisionRecall(gold, row.scores)));
        }
        double[] percent = new double[levels.length];
        for (int i = 0; i < levels.length; i++) {
            percent[i] = levels[i];
        }
        Map<String, String> s = new LinkedHashMap<>();
        s.put("documents", documents + " (the first of the split, in file order)");
        s.put("target", "the model's predicted class");
        s.put("removal", settings.removal().name().toLowerCase(java.util.Locale.ROOT));
        s.put("AOPC levels", settings.levels().name() + " " + java.util.Arrays.toString(levels));
        s.put("hard rationale", "the method's own where it makes one; otherwise (and in the '@ oracle k' rows) "
                + "the top-k scored words with k = the human rationale's length (ties: earlier word)");
        s.put("token P/R/F1, IOU F1", "macro averages (token: mean of per-document values; IOU: ERASER's)");
        s.put("backend", model.device().toString());
        return new Report(new Report.Dataset(data.directory().getFileName().toString(), split),
                new Report.Model(modelName, accuracy, provenance + "; accuracy on the evaluated documents"), s, percent,
                figures, methods, views);
    }

    /**
     * The diagnostic study's faithfulness probe on one document: the model's label with the top 0, 10, ..., 100 %
     * of the words (by score) removed, one batched forward pass.
     */
    static int[] maskedPredictions(Classifier model, Encoding text, double[] scores, Removal removal) {
        List<boolean[]> keep = new ArrayList<>();
        for (int percent = 0; percent <= 100; percent += 10) {
            boolean[] removed = TopK.atLevel(scores, percent / 100.0);
            boolean[] kept = new boolean[removed.length];
            for (int i = 0; i < kept.length; i++) {
                kept[i] = !removed[i];
            }
            keep.add(kept);
        }
        double[][] dist = MaskedModel.distributions(model, text, keep, removal);
        int[] labels = new int[dist.length];
        for (int i = 0; i < dist.length; i++) {
            labels[i] = argmax(dist[i]);
        }
        return labels;
    }

    /**
     * The macro-averaged interpolated precision-recall curve: per document, the highest precision at recall
     * at least r, for r = 0, 0.05, ..., 1, averaged over documents with a human rationale.
     */
    static List<Report.PrPoint> precisionRecall(List<boolean[]> gold, List<double[]> scores) {
        int grid = 20;
        double[] sum = new double[grid + 1];
        int docs = 0;
        for (int d = 0; d < gold.size(); d++) {
            boolean[] g = gold.get(d);
            int positives = count(g);
            if (positives == 0) {
                continue;
            }
            docs++;
            double[] s = scores.get(d);
            Integer[] order = new Integer[s.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Double.compare(s[b], s[a])); // stable: earlier word first on ties
            double[] best = new double[grid + 1];
            int tp = 0;
            for (int i = 0; i < order.length; i++) {
                tp += g[order[i]] ? 1 : 0;
                double precision = (double) tp / (i + 1), recall = (double) tp / positives;
                for (int j = 0; j <= grid && j <= recall * grid + 1e-9; j++) {
                    best[j] = Math.max(best[j], precision);
                }
            }
            for (int j = 0; j <= grid; j++) {
                sum[j] += best[j];
            }
        }
        List<Report.PrPoint> out = new ArrayList<>();
        for (int j = 0; j <= grid && docs > 0; j++) {
            out.add(new Report.PrPoint((double) j / grid, sum[j] / docs));
        }
        return out;
    }

    private static void writePredictions(Map<String, Row> rows, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot create " + dir, e);
        }
        for (Row row : rows.values()) {
            EraserPrediction.write(dir.resolve(row.name.replaceAll("[^A-Za-z0-9._-]+", "_") + ".jsonl"), row.predictions);
        }
    }

    private static void check(Output out, int words, String method) {
        if (out == null || out.scores() == null || out.scores().length != words) {
            throw new IllegalStateException(method + " must give one score per word (" + words + ")");
        }
        if (out.rationale() != null && out.rationale().length != words) {
            throw new IllegalStateException(method + " must give one rationale flag per word (" + words + ")");
        }
        for (double v : out.scores()) {
            if (!Double.isFinite(v)) {
                throw new IllegalStateException(method + " gave a non-finite score");
            }
        }
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) {
            n += x ? 1 : 0;
        }
        return n;
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int c = 1; c < p.length; c++) {
            best = p[c] > p[best] ? c : best;
        }
        return best;
    }
}
