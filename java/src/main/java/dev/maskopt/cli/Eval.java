package dev.maskopt.cli;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Gate;
import dev.maskopt.Removal;
import dev.maskopt.attribution.Attributor;
import dev.maskopt.attribution.InputMarginalization;
import dev.maskopt.attribution.InputXGradient;
import dev.maskopt.attribution.IntegratedGradients;
import dev.maskopt.attribution.Lime;
import dev.maskopt.attribution.Occlusion;
import dev.maskopt.attribution.RandomAttribution;
import dev.maskopt.attribution.Reduction;
import dev.maskopt.attribution.Saliency;
import dev.maskopt.attribution.ShapleySampling;
import dev.maskopt.attribution.UnigramDistribution;
import dev.maskopt.eval.EraserDataset;
import dev.maskopt.eval.Evaluation;
import dev.maskopt.eval.Faithfulness;
import dev.maskopt.report.HtmlReport;
import dev.maskopt.report.MarkdownTable;
import dev.maskopt.report.Report;
import dev.maskopt.report.ReportJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code maskopt eval}: mask optimization beside the baseline explainers on an ERASER dataset. */
@Command(name = "eval", description = "Evaluate maskopt and the baseline explainers on an ERASER dataset (faithfulness, "
        + "plausibility, time) and write a JSON + HTML report and ERASER-format predictions.")
final class Eval implements Callable<Integer> {
    /** Every method, in table order. */
    static final List<String> METHODS = List.of("maskopt", "random", "saliency-l2", "saliency-mean", "input-x-gradient",
            "integrated-gradients", "occlusion", "lime", "shapley", "marginalization");

    @Option(names = "--data", description = "ERASER dataset directory (default ${DEFAULT-VALUE})")
    Path data = Path.of("../shared/data/eraser_movies");

    @Option(names = "--split", description = "split to evaluate (default ${DEFAULT-VALUE})")
    String split = "test";

    @Option(names = "--docs", description = "evaluate the first N documents of the split (0 = all; default ${DEFAULT-VALUE})")
    int docs = 0;

    @Option(names = "--methods", split = ",", description = "comma-separated subset of: maskopt, random, saliency-l2, "
            + "saliency-mean, input-x-gradient, integrated-gradients, occlusion, lime, shapley, marginalization "
            + "(default: all)")
    List<String> methods = METHODS;

    @Option(names = "--removal", description = "BASELINE or DELETE (default ${DEFAULT-VALUE})")
    Removal removal = Removal.BASELINE;

    @Option(names = "--levels", description = "AOPC levels: ERASER or MARC (default ${DEFAULT-VALUE})")
    Faithfulness.Levels levels = Faithfulness.Levels.ERASER;

    @Option(names = "--steps", description = "maskopt optimization steps (default ${DEFAULT-VALUE})")
    int steps = 200;

    @Option(names = "--samples", description = "maskopt gate samples per step (default ${DEFAULT-VALUE})")
    int samples = 2;

    @Option(names = "--sparsity", description = "maskopt expected-L0 weight (default ${DEFAULT-VALUE})")
    double sparsity = ExplainerConfig.defaults().sparsityWeight();

    @Option(names = "--target-rate", description = "maskopt's target selection rate: a fraction of the words in (0, 1], "
            + "or 'human': per document, the human rationale's share of its words (an oracle length; the row is "
            + "labelled 'maskopt @ human rate'). Default: none (the fixed --sparsity weight)")
    String targetRate;

    @Option(names = "--gate", description = "HARD_CONCRETE or HARD_KUMA (default ${DEFAULT-VALUE})")
    Gate gate = ExplainerConfig.defaults().gate();

    @Option(names = "--perturbations", description = "LIME samples and Shapley permutations x 40 (default ${DEFAULT-VALUE}: "
            + "LIME 1000 samples, Shapley 25 permutations)")
    double perturbations = 1.0;

    @Option(names = "--out", description = "output directory (default ${DEFAULT-VALUE})")
    Path out = Path.of("eval-report");

    @Option(names = "--model", description = "minilm (the default sentiment classifier) or cnn (a GloVe CNN trained by "
            + "dev.maskopt.cnn.MoviesCnn; give --cnn-model) (default ${DEFAULT-VALUE})")
    String modelName = "minilm";

    @Option(names = "--cnn-model", description = "the CNN model file written by dev.maskopt.cnn.MoviesCnn")
    Path cnnModel;

    @Option(names = "--glove", description = "the GloVe file the CNN was built on (default ${DEFAULT-VALUE})")
    Path glove = Path.of("../shared/data/glove/glove.6B.100d.subset.txt.xz");

    @Override
    public Integer call() throws Exception {
        if (targetRate != null && !targetRate.trim().equalsIgnoreCase("human")) {
            double rate = parseRate();
            if (!(rate > 0 && rate <= 1)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--target-rate must be in (0, 1] or 'human' (got " + targetRate + ")");
            }
        }
        EraserDataset dataset = EraserDataset.open(data);
        java.util.function.ToIntFunction<String> labelOf = label -> label.equals("POS") ? 1 : 0;
        try (Device device = Device.auto()) {
            Report report;
            if (modelName.equals("cnn")) {
                if (cnnModel == null) {
                    throw new IllegalArgumentException("--model cnn needs --cnn-model (train one with dev.maskopt.cnn.MoviesCnn)");
                }
                try (Classifier model = dev.maskopt.cnn.GloveCnn.load(cnnModel, glove, device)) {
                    report = run(model, "Kim CNN over GloVe", "CNN-static over GloVe 6B 100-d, trained by maskopt on "
                            + "ERASER Movies train (" + cnnModel.getFileName() + ")", labelOf, dataset);
                }
            } else if (modelName.equals("minilm")) {
                try (Classifier model = dev.maskopt.bert.MiniLm.sentiment(device)) {
                    report = run(model, "MiniLM sentiment", "all-MiniLM-L6-v2 (Maven Central) + maskopt's shipped "
                            + "sentiment head; texts longer than 512 pieces are read in overlapping windows", labelOf,
                            dataset);
                }
            } else {
                throw new IllegalArgumentException("--model must be minilm or cnn (got '" + modelName + "')");
            }
            System.out.println(MarkdownTable.render(report));
        }
        return 0;
    }

    /** Runs the chosen methods and writes the report; returns it. */
    Report run(Classifier model, String name, String provenance, java.util.function.ToIntFunction<String> labelOf,
            EraserDataset dataset) throws java.io.IOException {
        List<Evaluation.Method> chosen = new ArrayList<>();
        for (String m : methods) {
            chosen.add(method(m.trim().toLowerCase(Locale.ROOT), model, dataset));
        }
        Files.createDirectories(out);
        Evaluation.Settings settings = new Evaluation.Settings(removal, levels, docs, out.resolve("eraser"));
        Report report = Evaluation.run(model, name, provenance, labelOf, dataset, split, chosen, settings,
                System.err::println);
        ReportJson.write(report, out.resolve("report.json"));
        HtmlReport.write(report, out.resolve("report.html"));
        Files.writeString(out.resolve("results.md"), MarkdownTable.render(report));
        System.err.println("wrote " + out.resolve("report.html") + ", report.json, results.md and eraser/*.jsonl");
        return report;
    }

    private double parseRate() {
        try {
            return Double.parseDouble(targetRate.trim());
        } catch (NumberFormatException e) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--target-rate must be a number in (0, 1] or 'human' (got '" + targetRate + "')");
        }
    }

    private Evaluation.Method method(String name, Classifier model, EraserDataset dataset) {
        int lime = (int) Math.max(10, Math.round(1000 * perturbations));
        int shapley = (int) Math.max(1, Math.round(25 * perturbations));
        return switch (name) {
            case "maskopt" -> {
                ExplainerConfig cfg = ExplainerConfig.builder().optGate(gate).optSteps(steps).optSamples(samples)
                        .optSparsityWeight(sparsity).build();
                if (targetRate == null) {
                    yield EvalMethods.maskopt(cfg);
                }
                if (targetRate.trim().equalsIgnoreCase("human")) {
                    yield EvalMethods.maskoptAtHumanRate(cfg);
                }
                yield EvalMethods.maskopt(cfg.toBuilder().optTargetRate(parseRate()).build());
            }
            case "random" -> EvalMethods.scores(name, RandomAttribution.create());
            case "saliency-l2" -> EvalMethods.scores(name, Saliency.create().withReduction(Reduction.L2));
            case "saliency-mean" -> EvalMethods.scores(name, Saliency.create().withReduction(Reduction.MEAN));
            case "input-x-gradient" -> EvalMethods.scores(name, InputXGradient.create());
            case "integrated-gradients" -> EvalMethods.scores(name, IntegratedGradients.create());
            case "occlusion" -> EvalMethods.scores(name, Occlusion.create().withRemoval(removal));
            case "lime" -> EvalMethods.scores(name, Lime.create().withSamples(lime).withRemoval(removal));
            case "shapley" -> EvalMethods.scores(name, ShapleySampling.create().withPermutations(shapley).withRemoval(removal));
            case "marginalization" -> {
                List<Encoding> train = new ArrayList<>();
                for (EraserDataset.Document d : dataset.split("train")) {
                    train.add(model.encodeWords(d.tokens()));
                }
                yield EvalMethods.scores(name, InputMarginalization.create(UnigramDistribution.fromEncodings(train)));
            }
            default -> throw new IllegalArgumentException("unknown method '" + name + "'; choose from " + METHODS);
        };
    }
}
