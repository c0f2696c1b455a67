package dev.maskopt.eval;

import dev.maskopt.Explanation;
import dev.maskopt.Span;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Agreement of rationales with human ones, as ERASER's scorer ({@code rationale_benchmark/metrics.py},
 * methods.md section 7) computes it. Inputs are per-document lists in the same order; each document's
 * gold and predicted arrays have one entry per token.
 */
public final class Plausibility {
    private Plausibility() {}

    /** Precision, recall and F1. */
    public record Prf(double precision, double recall, double f1) {}

    /**
     * Micro (pooled counts) and macro (per-document, then averaged) scores.
     *
     * @param micro scores from counts pooled over documents
     * @param macro per-document scores averaged (see each method for which documents take part)
     * @param documents documents in the macro average: for tokens, those with a gold or a predicted token;
     *     for IOU, those with a gold span (the recall average)
     */
    public record Averaged(Prf micro, Prf macro, int documents) {}

    /**
     * Soft-score agreement, averaged over documents with both classes.
     *
     * @param auprc area under the precision-recall curve ({@code auc(recall, precision)})
     * @param averagePrecision scikit-learn's average precision
     * @param rocAuc area under the ROC curve
     * @param documents documents scored
     * @param skipped documents skipped because every token is in the gold rationale or none is
     */
    public record Ranking(double auprc, double averagePrecision, double rocAuc, int documents, int skipped) {}

    /**
     * Token-level precision, recall and F1 of hard rationales. Micro pools the token counts of all
     * documents (0 when nothing is predicted at all). Macro averages each document's precision, recall and
     * F1 (so macro F1 is the mean of F1s), over the documents with a gold or a predicted token; a document
     * with no prediction has precision 0, one with no gold token recall 0.
     */
    public static Averaged tokens(List<boolean[]> gold, List<boolean[]> predicted) {
        Checks.paired(gold, "gold rationales", predicted, "predicted rationales");
        long tp = 0, nGold = 0, nPred = 0;
        double sp = 0, sr = 0, sf = 0;
        int docs = 0;
        for (int d = 0; d < gold.size(); d++) {
            boolean[] g = gold.get(d), p = predicted.get(d);
            Checks.sameLength(g.length, p.length, "predicted rationales", d);
            int both = 0, ng = 0, np = 0;
            for (int t = 0; t < g.length; t++) {
                both += g[t] && p[t] ? 1 : 0;
                ng += g[t] ? 1 : 0;
                np += p[t] ? 1 : 0;
            }
            tp += both;
            nGold += ng;
            nPred += np;
            if (ng == 0 && np == 0) {
                continue; // ERASER's instance keys come from gold or predicted tokens only
            }
            double prec = np == 0 ? 0 : (double) both / np, rec = ng == 0 ? 0 : (double) both / ng;
            sp += prec;
            sr += rec;
            sf += f1(prec, rec);
            docs++;
        }
        double microP = nPred == 0 ? 0 : (double) tp / nPred, microR = nGold == 0 ? 0 : (double) tp / nGold;
        Prf macro = docs == 0 ? new Prf(0, 0, 0) : new Prf(sp / docs, sr / docs, sf / docs);
        return new Averaged(new Prf(microP, microR, f1(microP, microR)), macro, docs);
    }

    /** {@link #iou(List, List, double)} at ERASER's threshold, 0.5. */
    public static Averaged iou(List<List<Span>> gold, List<boolean[]> predicted) {
        return iou(gold, predicted, 0.5);
    }

    /**
     * IOU F1: predicted spans are the maximal runs of selected tokens; each takes its best
     * {@code |p ∩ g| / |p ∪ g|} over the document's gold spans and counts as a true positive when that is at
     * least {@code threshold}. Precision = TP / #predicted spans, recall = TP / #gold spans (TP counts
     * predicted spans, as in ERASER). Micro pools the counts. Macro averages recall over documents with gold
     * spans and precision over documents with predicted spans, and takes the F1 of those two means.
     * Duplicate gold spans count once; empty gold spans count too (ERASER keeps them, and no prediction can
     * match one); their text is ignored.
     *
     * @param gold each document's gold spans (for example {@link EraserDataset.Document#evidence()}); use
     *     {@link #spans} to turn a gold token mask into its runs
     */
    public static Averaged iou(List<List<Span>> gold, List<boolean[]> predicted, double threshold) {
        Checks.paired(gold, "gold span lists", predicted, "predicted rationales");
        if (!(threshold > 0 && threshold <= 1)) {
            throw new IllegalArgumentException("IOU threshold must be in (0, 1], got " + threshold);
        }
        long tpAll = 0, goldAll = 0, predAll = 0;
        double sumR = 0, sumP = 0;
        int docsR = 0, docsP = 0;
        for (int d = 0; d < gold.size(); d++) {
            boolean[] p = predicted.get(d);
            List<int[]> g = distinct(gold.get(d), p.length, d);
            List<int[]> runs = runs(p);
            int tp = 0;
            for (int[] run : runs) {
                double best = 0;
                for (int[] span : g) {
                    best = Math.max(best, iou(run, span));
                }
                tp += best >= threshold ? 1 : 0;
            }
            tpAll += tp;
            goldAll += g.size();
            predAll += runs.size();
            if (!g.isEmpty()) {
                sumR += (double) tp / g.size();
                docsR++;
            }
            if (!runs.isEmpty()) {
                sumP += (double) tp / runs.size();
                docsP++;
            }
        }
        double microP = predAll == 0 ? 0 : (double) tpAll / predAll, microR = goldAll == 0 ? 0 : (double) tpAll / goldAll;
        double macroP = docsP == 0 ? 0 : sumP / docsP, macroR = docsR == 0 ? 0 : sumR / docsR;
        return new Averaged(new Prf(microP, microR, f1(microP, microR)), new Prf(macroP, macroR, f1(macroP, macroR)),
                docsR);
    }

    /**
     * AUPRC, average precision and ROC AUC of soft scores against gold rationales, each computed per
     * document with scikit-learn's semantics and averaged. Documents whose gold rationale covers every token
     * or none are skipped for all three (ERASER skips them for average precision and ROC AUC; its AUPRC
     * keeps them, where the curve is degenerate; the ERASER Movies test split has none).
     */
    public static Ranking ranking(List<boolean[]> gold, List<double[]> scores) {
        Checks.paired(gold, "gold rationales", scores, "score arrays");
        double auprc = 0, ap = 0, roc = 0;
        int docs = 0, skipped = 0;
        for (int d = 0; d < gold.size(); d++) {
            boolean[] g = gold.get(d);
            double[] s = scores.get(d);
            Checks.sameLength(g.length, s.length, "scores", d);
            Checks.finite(s, "scores of document " + d);
            if (!Curves.twoClasses(g)) {
                skipped++;
                continue;
            }
            auprc += Curves.auprc(g, s);
            ap += Curves.averagePrecision(g, s);
            roc += Curves.rocAuc(g, s);
            docs++;
        }
        if (docs == 0) {
            return new Ranking(Double.NaN, Double.NaN, Double.NaN, 0, skipped);
        }
        return new Ranking(auprc / docs, ap / docs, roc / docs, docs, skipped);
    }

    /** One document's AUPRC ({@code auc(recall, precision)}); NaN when the gold rationale is all or nothing. */
    public static double auprc(boolean[] gold, double[] scores) {
        checkDoc(gold, scores);
        return Curves.auprc(gold, scores);
    }

    /** One document's average precision; NaN when no token is in the gold rationale. */
    public static double averagePrecision(boolean[] gold, double[] scores) {
        checkDoc(gold, scores);
        return Curves.averagePrecision(gold, scores);
    }

    /** Maximal runs of selected tokens, with their text. */
    public static List<Span> spans(boolean[] selected, List<String> words) {
        Checks.notNull(selected, "selection");
        Checks.notNull(words, "words");
        if (selected.length != words.size()) {
            throw new IllegalArgumentException(selected.length + " selection entries for " + words.size() + " words");
        }
        return Explanation.spansOf(words, selected);
    }

    static double f1(double p, double r) {
        return p == 0 || r == 0 ? 0 : 2 * p * r / (p + r);
    }

    private static void checkDoc(boolean[] gold, double[] scores) {
        Checks.notNull(gold, "gold rationale");
        Checks.finite(scores, "scores");
        Checks.sameLength(gold.length, scores.length, "scores", 0);
    }

    /** Runs of true values as [start, end). */
    static List<int[]> runs(boolean[] mask) {
        List<int[]> out = new ArrayList<>();
        for (int t = 0; t < mask.length; ) {
            if (!mask[t]) {
                t++;
                continue;
            }
            int start = t;
            while (t < mask.length && mask[t]) {
                t++;
            }
            out.add(new int[] {start, t});
        }
        return out;
    }

    private static List<int[]> distinct(List<Span> spans, int length, int doc) {
        Set<Long> seen = new HashSet<>();
        List<int[]> out = new ArrayList<>();
        for (Span s : spans) {
            if (s == null || s.start() < 0 || s.end() < s.start() || s.end() > length) {
                throw new IllegalArgumentException("document " + doc + ": gold span " + s + " is not a range of "
                        + length + " tokens");
            }
            if (seen.add(((long) s.start() << 32) | s.end())) {
                out.add(new int[] {s.start(), s.end()});
            }
        }
        return out;
    }

    private static double iou(int[] a, int[] b) {
        int inter = Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
        int union = (a[1] - a[0]) + (b[1] - b[0]) - inter;
        return union == 0 ? 0 : (double) inter / union;
    }
}
