package dev.maskopt.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Removal;
import dev.maskopt.attribution.Occlusion;
import dev.maskopt.attribution.RandomAttribution;
import dev.maskopt.attribution.Saliency;
import dev.maskopt.cli.EvalMethods;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.report.Report;
import dev.maskopt.synthetic.PlantedTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluation runner end to end on a small ERASER-format dataset with planted rationales. */
class EvaluationTest {
    @TempDir
    Path dir;

    @Test
    void comparesMethodsAndWritesEraserPredictions() throws Exception {
        List<PlantedTask.Example> examples = new PlantedTask(8, 20).generate(6, 4);
        Files.createDirectories(dir.resolve("docs"));
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < examples.size(); k++) {
            PlantedTask.Example e = examples.get(k);
            Files.writeString(dir.resolve("docs").resolve("d" + k), String.join(" ", e.tokens()) + "\n");
            StringBuilder ev = new StringBuilder();
            for (int t = 0; t < e.planted().length; t++) {
                if (e.planted()[t]) {
                    ev.append(ev.length() == 0 ? "" : ",").append(String.format(
                            "[{\"docid\":\"d%d\",\"start_token\":%d,\"end_token\":%d,\"start_sentence\":0,"
                                    + "\"end_sentence\":1,\"text\":\"%s\"}]", k, t, t + 1, e.tokens().get(t)));
                }
            }
            lines.add(String.format("{\"annotation_id\":\"d%d\",\"classification\":\"%s\",\"evidences\":[%s]}", k,
                    e.label() == 1 ? "POS" : "NEG", ev));
        }
        Files.write(dir.resolve("test.jsonl"), lines);
        Files.write(dir.resolve("train.jsonl"), lines);
        try (Device dev = Device.cpu()) {
            var vocab = PlantedTask.vocabulary();
            try (CnnClassifier model = CnnClassifier.create(dev, vocab, PlantedTask.embeddings(vocab, 16, 1), 16,
                    PlantedTask.LABELS, CnnClassifier.DEFAULT_WIDTHS, 8, 40, 1)) {
                List<Integer> oracleWords = new ArrayList<>();
                List<Evaluation.Method> methods = List.of(
                        EvalMethods.maskopt(ExplainerConfig.builder().optSteps(5).optSamples(2).build()),
                        EvalMethods.scores("random", RandomAttribution.create()),
                        EvalMethods.scores("saliency", Saliency.create()),
                        EvalMethods.scores("occlusion", Occlusion.create()),
                        humanRationale(examples),
                        EvalMethods.maskoptAtHumanRate(ExplainerConfig.builder().optSteps(5).optSamples(2).build()),
                        oracleRecorder(oracleWords));
                List<String> progress = new ArrayList<>();
                Report r = Evaluation.run(model, "cnn", "random weights", l -> l.equals("POS") ? 1 : 0,
                        EraserDataset.open(dir), "test", methods,
                        new Evaluation.Settings(Removal.BASELINE, Faithfulness.Levels.ERASER, 5, dir.resolve("out")),
                        progress::add);
                assertEquals(5, progress.size(), "one progress line per document");
                assertEquals(List.of("maskopt", "maskopt @ oracle k", "random", "saliency", "occlusion", "human",
                        "maskopt @ human rate", "maskopt @ human rate @ oracle k", "recorder"),
                        r.methods().stream().map(Report.Method::name).toList());
                // methods are told the human rationale's length (at least 1)
                for (int k = 0; k < 5; k++) {
                    int planted = 0;
                    for (boolean b : examples.get(k).planted()) {
                        planted += b ? 1 : 0;
                    }
                    assertEquals(Math.max(1, planted), oracleWords.get(k), "oracle length of document " + k);
                }
                assertEquals(5, r.documents().size());
                for (Report.Method m : r.methods()) {
                    for (String key : List.of("comprehensiveness", "sufficiency", "comp_aopc", "token_f1", "auprc",
                            "human_agreement", "masking_auc", "seconds_per_doc")) {
                        assertTrue(Double.isFinite(m.figure(key)), m.name() + " " + key);
                    }
                    assertEquals(5, m.comprehensiveness().length, "one point per AOPC level");
                }
                // With the oracle length every row selects as many words as the human rationale.
                Report.Method oracle = r.method("random");
                assertEquals(oracle.figure("token_f1"), oracle.figure("token_f1_oracle"), 1e-12);
                // Scores equal to the human rationale agree with it perfectly; masking AUC is an area in [0, 100].
                assertEquals(1.0, r.method("human").figure("human_agreement"), 1e-12);
                assertEquals(1.0, r.method("human").figure("token_f1"), 1e-12);
                for (Report.Method m : r.methods()) {
                    double auc = m.figure("masking_auc");
                    assertTrue(auc >= 0 && auc <= 100, m.name() + " masking AUC " + auc);
                }
                for (String f : List.of("maskopt.jsonl", "maskopt_oracle_k.jsonl", "random.jsonl")) {
                    assertEquals(5, Files.readAllLines(dir.resolve("out").resolve(f)).size(), f);
                }
            }
        }
        }

    /** Uniform scores; records the oracle lengths it is told. */
    private static Evaluation.Method oracleRecorder(List<Integer> seen) {
        return new Evaluation.Method() {
            @Override
            public String name() {
                return "recorder";
            }

            @Override
            public Evaluation.Output explain(dev.maskopt.Classifier model, dev.maskopt.Encoding text, int target) {
                throw new AssertionError("the evaluation passes the oracle length");
            }

            @Override
            public Evaluation.Output explain(dev.maskopt.Classifier model, dev.maskopt.Encoding text, int target,
                    int oracle) {
                seen.add(oracle);
                return new Evaluation.Output(new double[text.words().size()], null);
            }
        };
    }

    /** An explainer that returns the planted cues as its scores: the human rationale itself. */
    private static Evaluation.Method humanRationale(List<PlantedTask.Example> examples) {
        java.util.Map<String, double[]> byText = new java.util.HashMap<>();
        for (PlantedTask.Example e : examples) {
            double[] s = new double[e.planted().length];
            for (int t = 0; t < s.length; t++) {
                s[t] = e.planted()[t] ? 1 : 0;
            }
            byText.put(String.join(" ", e.tokens()), s);
        }
        return new Evaluation.Method() {
            @Override
            public String name() {
                return "human";
            }

            @Override
            public Evaluation.Output explain(dev.maskopt.Classifier model, dev.maskopt.Encoding text, int target) {
                return new Evaluation.Output(byText.get(String.join(" ", text.words())).clone(), null);
            }
        };
    }
}
