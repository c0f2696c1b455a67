package dev.maskopt.report;

import dev.maskopt.report.Report.Attribution;
import dev.maskopt.report.Report.Dataset;
import dev.maskopt.report.Report.Document;
import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import dev.maskopt.report.Report.Model;
import dev.maskopt.report.Report.PrPoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Reports for the tests: a small hand-made one with known winners and hostile strings, and a large random one. */
final class Fixtures {
    static final String HOSTILE_METHOD = "</script><b>bold</b> & \"quoted\" 'single'";
    static final String HOSTILE_WORD = "</script><script>alert(1)</script>";
    static final double[] LEVELS = {0.01, 0.05, 0.1, 0.2, 0.5};

    private Fixtures() {}

    static Map<String, String> settings() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("removal", "baseline embedding <pad> & friends");
        s.put("steps", "200");
        s.put("levels", "0.01, 0.05, 0.1, 0.2, 0.5");
        s.put("seed", "7");
        s.put("backend", "CPU");
        return s;
    }

    /**
     * Three methods on two documents. Winners: comprehensiveness "maskopt" (0.9), sufficiency HOSTILE_METHOD
     * (0.05), token_f1 a tie between "maskopt" and "occlusion" (0.5004 and 0.4996 both print 0.500), auprc has one
     * value only (no winner), seconds_per_doc NaN for "maskopt".
     */
    static Report small() {
        List<Figure> figures = List.of(Figure.COMPREHENSIVENESS, Figure.SUFFICIENCY, Figure.TOKEN_F1, Figure.AUPRC,
                Figure.SECONDS_PER_DOC);
        List<Method> methods = List.of(
                new Method("maskopt", figures("comprehensiveness", 0.9, "sufficiency", 0.1, "token_f1", 0.5004,
                        "seconds_per_doc", Double.NaN),
                        new double[] {0.1, 0.3, 0.5, 0.7, 0.9}, new double[] {0.4, 0.3, 0.2, 0.1, 0.05},
                        List.of(new PrPoint(0, 1), new PrPoint(0.5, 0.8), new PrPoint(1, 0.3))),
                new Method("occlusion", figures("comprehensiveness", 0.4, "sufficiency", 0.2, "token_f1", 0.4996,
                        "auprc", 0.6, "seconds_per_doc", 1.25),
                        new double[] {0.05, Double.NaN, 0.2, 0.3, 0.4}, new double[] {0.5, 0.45, 0.4, 0.3, 0.2},
                        List.of(new PrPoint(0, 0.9), new PrPoint(1, 0.3))),
                new Method(HOSTILE_METHOD, figures("comprehensiveness", 0.2, "sufficiency", 0.05, "token_f1", 0.1,
                        "seconds_per_doc", 0.002),
                        new double[] {0.0, 0.1, -0.05, 0.1, 0.2}, new double[] {0.6, 0.5, 0.4, 0.35, 0.3},
                        List.of(new PrPoint(0, 0.5), new PrPoint(0.3, 0.4), new PrPoint(1, 0.3))));
        List<String> words1 = List.of("a", "<b>great</b>", "film", "&", "\"fun\"", HOSTILE_WORD, "ending");
        boolean[] human1 = {false, true, true, false, true, false, false};
        Map<String, Attribution> a1 = new LinkedHashMap<>();
        a1.put("maskopt", new Attribution(new double[] {0, 0.9, 0.8, -0.2, 0.7, Double.NaN, 0.1},
                new boolean[] {false, true, true, false, true, false, false}));
        a1.put(HOSTILE_METHOD, new Attribution(new double[] {1, 2, 3, 4, 5, 6, 7},
                new boolean[] {false, false, false, false, false, true, true}));
        List<String> words2 = List.of("dull", "and", "long");
        Map<String, Attribution> a2 = new LinkedHashMap<>();
        a2.put("occlusion", new Attribution(new double[] {0.5, 0, 0.25}, new boolean[] {true, false, false}));
        List<Document> docs = List.of(
                new Document("<doc&1>", words1, "POS", "POS", 0.93, human1, a1),
                new Document("negR_000.txt", words2, "NEG", "POS", Double.NaN, new boolean[] {true, false, true}, a2));
        return new Report(new Dataset("ERASER Movie Reviews", "test"),
                new Model("MiniLM + <head>", 0.875, "trained on the train split & tuned on dev"), settings(), LEVELS,
                figures, methods, docs);
    }

    static Map<String, Double> figures(Object... keyValues) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], ((Number) keyValues[i + 1]).doubleValue());
        }
        return m;
    }

    /** nDocs documents of nWords words each, every method explaining every document, random values. */
    static Report large(int nDocs, int nMethods, int nWords, long seed) {
        Random rnd = new Random(seed);
        List<Figure> figures = Figure.standard();
        List<Method> methods = new ArrayList<>();
        for (int m = 0; m < nMethods; m++) {
            Map<String, Double> values = new LinkedHashMap<>();
            for (Figure f : figures) {
                values.put(f.key(), rnd.nextDouble());
            }
            List<PrPoint> pr = new ArrayList<>();
            for (int i = 0; i <= 100; i++) {
                pr.add(new PrPoint(i / 100.0, 0.3 + 0.7 * rnd.nextDouble() * (1 - i / 100.0)));
            }
            methods.add(new Method("method-" + m, values, randoms(rnd, LEVELS.length), randoms(rnd, LEVELS.length), pr));
        }
        String[] vocabulary = {"the", "film", "is", "a", "remarkably", "dull", "affair", "but", "its", "ending",
            "sparkles", "with", "wit", "and", "charm", "<i>", "&", "\"", "performances", "."};
        List<Document> docs = new ArrayList<>();
        for (int d = 0; d < nDocs; d++) {
            List<String> words = new ArrayList<>(nWords);
            boolean[] human = new boolean[nWords];
            for (int t = 0; t < nWords; t++) {
                words.add(vocabulary[rnd.nextInt(vocabulary.length)]);
                human[t] = (t / 20) % 5 == 0;
            }
            Map<String, Attribution> attributions = new LinkedHashMap<>();
            for (Method m : methods) {
                double[] scores = new double[nWords];
                boolean[] hard = new boolean[nWords];
                for (int t = 0; t < nWords; t++) {
                    scores[t] = rnd.nextGaussian();
                    hard[t] = scores[t] > 1.5;
                }
                attributions.put(m.name(), new Attribution(scores, hard));
            }
            docs.add(new Document(String.format("doc_%03d.txt", d), words, d % 2 == 0 ? "POS" : "NEG", "POS",
                    rnd.nextDouble(), human, attributions));
        }
        return new Report(new Dataset("ERASER Movie Reviews", "test"), new Model("synthetic", 0.9, "random"),
                settings(), LEVELS, figures, methods, docs);
    }

    private static double[] randoms(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextDouble();
        }
        return v;
    }
}
