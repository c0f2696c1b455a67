package dev.maskopt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Span;
import dev.maskopt.eval.EraserDataset.Document;
import dev.maskopt.eval.Faithfulness.Aopc;
import dev.maskopt.eval.Faithfulness.Erasure;
import dev.maskopt.eval.Plausibility.Averaged;
import dev.maskopt.eval.Plausibility.Ranking;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real ERASER Movie Reviews data (env MASKOPT_DATA): reading, and the floors any explainer must beat. */
class EraserMoviesTest {
    private static EraserDataset data;
    private static List<Document> test;

    @BeforeAll
    static void read() {
        data = EraserDataset.open(EvalData.eraserMovies());
        test = data.split("test");
    }

    @Test
    void testSplitFacts() {
        assertEquals(199, test.size());
        assertEquals(100, test.stream().filter(d -> d.label().equals("NEG")).count());
        assertEquals(99, test.stream().filter(d -> d.label().equals("POS")).count());
        long tokens = 0, selected = 0, spans = 0;
        for (Document d : test) {
            assertEquals(d.annotationId(), d.docid());
            for (Span s : d.evidence()) {
                assertEquals(String.join(" ", d.tokens().subList(s.start(), s.end())), s.text(), d.docid() + " " + s);
            }
            int k = d.rationaleSize();
            assertTrue(k > 0 && k < d.tokens().size(), d.docid() + " has both classes, so no AUPRC document is skipped");
            tokens += d.tokens().size();
            selected += k;
            spans += d.evidence().size();
        }
        double density = (double) selected / tokens;
        System.out.printf("ERASER movies test: %d docs, %d tokens (mean %.1f), %.1f evidence spans per doc, "
                + "%.4f of tokens in a rationale%n", test.size(), tokens, (double) tokens / test.size(),
                (double) spans / test.size(), density);
        assertEquals(10.4, (double) spans / test.size(), 0.05);
        assertTrue(density > 0.29 && density < 0.32, "rationale density " + density);
    }

    @Test
    void otherSplitsHaveTheirSizes() {
        List<Document> train = data.split("train");
        assertEquals(1600, train.size());
        assertEquals(800, train.stream().filter(d -> d.label().equals("POS")).count());
        assertEquals(200, data.split("val").size());
    }

    @Test
    void secondAnnotatorAgreement() {
        Map<String, Document> byId = new HashMap<>();
        test.forEach(d -> byId.put(d.annotationId(), d));
        for (String kind : List.of("union", "majority")) {
            List<EraserPrediction> human = data.humanPerformance(kind);
            assertEquals(105, human.size());
            List<boolean[]> gold = new ArrayList<>(), pred = new ArrayList<>();
            List<List<Span>> goldSpans = new ArrayList<>();
            List<String> elsewhere = new ArrayList<>();
            for (EraserPrediction p : human) {
                Document d = byId.get(p.annotationId());
                if (d == null) {
                    elsewhere.add(p.annotationId());
                    continue;
                }
                gold.add(d.rationale());
                goldSpans.add(d.evidence());
                pred.add(p.hard());
            }
            // The one document of the 2,000 that is in no split (the test split has 199) has no gold rationale here.
            assertEquals(List.of("posR_947.txt"), elsewhere);
            Averaged tok = Plausibility.tokens(gold, pred);
            Averaged iou = Plausibility.iou(goldSpans, pred);
            System.out.printf("human (%s) vs gold on %d docs: token F1 micro %.4f macro %.4f (P %.4f R %.4f), "
                    + "IOU F1 micro %.4f macro %.4f%n", kind, gold.size(), tok.micro().f1(), tok.macro().f1(),
                    tok.micro().precision(), tok.micro().recall(), iou.micro().f1(), iou.macro().f1());
            assertEquals(104, gold.size());
            // A random selection's precision is the rationale density, 0.30; both annotators' is far above it.
            assertTrue(tok.micro().precision() > 0.5, kind + " annotator precision " + tok.micro().precision());
        }
    }

    @Test
    void randomRationalesSitAtTheFloor(@TempDir Path tmp) {
        SplittableRandom rng = new SplittableRandom(2020);
        List<boolean[]> gold = new ArrayList<>(), hard = new ArrayList<>();
        List<double[]> soft = new ArrayList<>();
        List<List<Span>> spans = new ArrayList<>();
        for (Document d : test) {
            int n = d.tokens().size();
            boolean[] h = new boolean[n];
            double[] s = new double[n];
            for (int t = 0; t < n; t++) {
                h[t] = rng.nextDouble() < 0.31;
                s[t] = rng.nextDouble();
            }
            gold.add(d.rationale());
            spans.add(d.evidence());
            hard.add(h);
            soft.add(s);
        }
        Averaged tok = Plausibility.tokens(gold, hard);
        Averaged iou = Plausibility.iou(spans, hard);
        Ranking rank = Plausibility.ranking(gold, soft);
        System.out.printf("random 31%% mask: token F1 micro %.4f macro %.4f, IOU F1 micro %.4f macro %.4f; "
                + "random scores: AUPRC %.4f, AP %.4f, ROC AUC %.4f (%d docs, %d skipped)%n", tok.micro().f1(),
                tok.macro().f1(), iou.micro().f1(), iou.macro().f1(), rank.auprc(), rank.averagePrecision(),
                rank.rocAuc(), rank.documents(), rank.skipped());
        // Precision of a random mask is the rationale density (~0.30) and recall the selection rate (0.31).
        assertEquals(0.30, tok.micro().f1(), 0.02);
        assertEquals(0.30, tok.macro().f1(), 0.03);
        assertTrue(iou.micro().f1() < 0.1, "random spans rarely overlap a gold span by half");
        assertEquals(0.5, rank.rocAuc(), 0.02);
        assertEquals(0.30, rank.averagePrecision(), 0.03);
        assertEquals(0, rank.skipped());

        // Faithfulness under a model that reads exactly the human rationale: p(gold label) = 0.5 + 0.45 x (share
        // of gold tokens kept). The gold rationale is then fully comprehensive (0.45) and sufficient (0).
        List<Erasure> human = new ArrayList<>(), random = new ArrayList<>();
        List<Aopc> aopc = new ArrayList<>();
        List<EraserPrediction> out = new ArrayList<>();
        for (int i = 0; i < test.size(); i++) {
            boolean[] g = gold.get(i);
            MaskedModel reader = readerOf(g);
            human.add(Faithfulness.ofRationale(reader, g));
            random.add(Faithfulness.ofRationale(reader, hard.get(i)));
            aopc.add(Faithfulness.aopc(reader, soft.get(i), Faithfulness.Levels.ERASER));
            out.add(prediction(test.get(i), hard.get(i), soft.get(i), reader));
        }
        Faithfulness.Summary h = Faithfulness.summarize(human), r = Faithfulness.summarize(random);
        Aopc a = Faithfulness.average(aopc);
        System.out.printf("gold-reading model: human rationale comp %.4f suff %.4f; random mask comp %.4f suff %.4f; "
                + "random scores AOPC comp %.4f suff %.4f%n", h.comprehensiveness(), h.sufficiency(),
                r.comprehensiveness(), r.sufficiency(), a.comprehensiveness(), a.sufficiency());
        assertEquals(0.45, h.comprehensiveness(), 1e-12);
        assertEquals(0.0, h.sufficiency(), 1e-12);
        assertEquals(0.45 * 0.31, r.comprehensiveness(), 0.01);
        assertEquals(0.45 * 0.69, r.sufficiency(), 0.01);

        // The output file round-trips through the dataset-aware reader.
        Path file = tmp.resolve("random.jsonl");
        EraserPrediction.write(file, out);
        List<EraserPrediction> back = data.readPredictions(file);
        assertEquals(out.size(), back.size());
        for (int i = 0; i < out.size(); i++) {
            assertArrayEquals(out.get(i).hard(), back.get(i).hard());
            assertEquals(out.get(i).toJson(), back.get(i).toJson());
        }
    }

    private static MaskedModel readerOf(boolean[] gold) {
        int k = Checks.count(gold);
        return keep -> {
            double[] p = new double[keep.size()];
            for (int m = 0; m < p.length; m++) {
                int kept = 0;
                for (int t = 0; t < gold.length; t++) {
                    kept += gold[t] && keep.get(m)[t] ? 1 : 0;
                }
                p[m] = 0.5 + 0.45 * kept / k;
            }
            return p;
        };
    }

    /** A full ERASER output line with the gold label predicted at the reader's probabilities. */
    private static EraserPrediction prediction(Document d, boolean[] hard, double[] soft, MaskedModel reader) {
        List<String> labels = List.of("NEG", "POS");
        int y = labels.indexOf(d.label());
        List<boolean[]> masks = new ArrayList<>();
        boolean[] all = new boolean[hard.length], without = new boolean[hard.length];
        java.util.Arrays.fill(all, true);
        for (int t = 0; t < hard.length; t++) {
            without[t] = !hard[t];
        }
        masks.add(all);
        masks.add(without);
        masks.add(hard);
        double[] levels = Faithfulness.Levels.ERASER.fractions();
        for (double level : levels) {
            boolean[] top = TopK.atLevel(soft, level), rest = new boolean[top.length];
            for (int t = 0; t < top.length; t++) {
                rest[t] = !top[t];
            }
            masks.add(rest);
            masks.add(top);
        }
        double[] p = reader.probabilities(masks);
        EraserPrediction.Builder b = EraserPrediction.builder(d.annotationId(), hard).soft(soft)
                .classification(d.label(), dist(labels, y, p[0])).comprehensiveness(dist(labels, y, p[1]))
                .sufficiency(dist(labels, y, p[2]));
        for (int i = 0; i < levels.length; i++) {
            b.threshold(levels[i], dist(labels, y, p[3 + 2 * i]), dist(labels, y, p[4 + 2 * i]));
        }
        return b.build();
    }

    private static Map<String, Double> dist(List<String> labels, int y, double py) {
        double[] p = new double[2];
        p[y] = py;
        p[1 - y] = 1 - py;
        return EraserPrediction.scores(labels, p);
    }
}
