package dev.maskopt.cli;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Gate;
import dev.maskopt.cnn.CnnTrainer;
import dev.maskopt.synthetic.PlantedDemo;
import dev.maskopt.synthetic.PlantedTask;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code maskopt} command line. */
@Command(name = "maskopt", mixinStandardHelpOptions = true, version = "maskopt 0.1.0",
        description = "Faithful rationales for text classifiers by mask optimization.",
        subcommands = {Main.Explain.class, Eval.class, Main.Demo.class, Main.Info.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    /** Explains the default MiniLM sentiment classifier's predictions. */
    @Command(name = "explain", description = "Explain the sentiment prediction of all-MiniLM-L6-v2 + maskopt's SST-2 head "
            + "(or of the classifier in --torchscript FILE) on a text (argument, --file, or standard input).")
    static final class Explain implements Callable<Integer> {
        @picocli.CommandLine.Parameters(arity = "0..1", description = "the text (default: --file or standard input)")
        String text;

        @Option(names = "--file", description = "read the text from a file")
        java.nio.file.Path file;

        @Option(names = "--json", description = "print the explanation as JSON")
        boolean json;

        @Option(names = "--steps", description = "optimization steps (default ${DEFAULT-VALUE})")
        int steps = 100;

        @Option(names = "--samples", description = "gate samples per step (default ${DEFAULT-VALUE})")
        int samples = 2;

        @Option(names = "--sparsity", description = "weight of the expected L0 term (default ${DEFAULT-VALUE})")
        double sparsity = ExplainerConfig.defaults().sparsityWeight();

        @Option(names = "--target-rate", description = "select about this fraction of the words, in (0, 1]: the "
                + "sparsity weight then adapts per text (default: none, the fixed --sparsity weight)")
        Double targetRate;

        @Option(names = "--gate", description = "HARD_CONCRETE or HARD_KUMA (default ${DEFAULT-VALUE})")
        Gate gate = ExplainerConfig.defaults().gate();

        @Option(names = "--no-color", description = "plain output: rationale words in [brackets]")
        boolean noColor;

        @Option(names = "--torchscript", description = "explain this TorchScript classifier instead (needs the "
                + "maskopt-torchscript module: java -jar torchscript/target/maskopt-torchscript-cli.jar)")
        java.nio.file.Path torchscript;

        @Option(names = "--vocab", description = "the --torchscript model's vocabulary: BERT vocab.txt or a word list "
                + "starting with <pad> and <unk>")
        java.nio.file.Path vocab;

        @Override
        public Integer call() throws Exception {
            if ((vocab == null) != (torchscript == null)) {
                throw new picocli.CommandLine.ParameterException(new CommandLine(this),
                        "--torchscript and --vocab go together (the model and its tokenizer's vocabulary)");
            }
            ClassifierProvider provider = null;
            if (torchscript != null) {
                provider = ClassifierProvider.find("torchscript");
                if (provider == null) {
                    throw new picocli.CommandLine.ParameterException(new CommandLine(this), "--torchscript needs maskopt's "
                            + "TorchScript module on the class path: run java -jar "
                            + "torchscript/target/maskopt-torchscript-cli.jar explain --torchscript ...");
                }
            }
            if (targetRate != null && !(targetRate > 0 && targetRate <= 1)) {
                throw new picocli.CommandLine.ParameterException(new CommandLine(this),
                        "--target-rate must be in (0, 1] (got " + targetRate + ")");
            }
            String input = text != null ? text
                    : file != null ? java.nio.file.Files.readString(file)
                    : new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (input.isBlank()) {
                throw new picocli.CommandLine.ParameterException(new CommandLine(this), "no text to explain");
            }
            ExplainerConfig cfg = ExplainerConfig.builder().optGate(gate).optSteps(steps).optSamples(samples)
                    .optSparsityWeight(sparsity).optTargetRate(targetRate != null ? targetRate : Double.NaN).build();
            boolean color = !noColor && System.console() != null && System.getenv("NO_COLOR") == null;
            try (Device device = Device.auto();
                    dev.maskopt.Classifier model = provider != null ? provider.open(torchscript, vocab, device)
                            : dev.maskopt.bert.MiniLm.sentiment(device);
                    dev.maskopt.Explainer explainer = dev.maskopt.Explainer.create(model, cfg)) {
                // Long inputs take a while on a CPU: show the steps done on standard error.
                boolean longInput = model.encode(input).length() > 128;
                java.util.function.IntConsumer progress = longInput
                        ? done -> System.err.printf("\r  step %d/%d", done, steps) : null;
                Explanation e = explainer.explain(java.util.List.of(input), null, progress).get(0);
                if (longInput) {
                    System.err.println();
                }
                if (json) {
                    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
                    var root = mapper.createObjectNode();
                    root.put("label", e.targetLabel());
                    root.put("probability", e.probabilities()[e.target()]);
                    root.set("words", mapper.valueToTree(e.words()));
                    root.set("gates", mapper.valueToTree(e.gates()));
                    root.set("rationale", mapper.valueToTree(e.rationaleWords()));
                    root.put("sufficiency", e.sufficiency());
                    root.put("comprehensiveness", e.comprehensiveness());
                    root.put("expected_selection_rate", e.expectedSelectionRate());
                    root.put("rationale_share", e.rationaleShare());
                    root.put("seconds", e.seconds());
                    root.put("backend", device.backend().toString());
                    System.out.println(mapper.writeValueAsString(root));
                } else {
                    System.out.printf("%s (p=%.3f) on %s in %.2f s%n", e.targetLabel(), e.probabilities()[e.target()],
                            device, e.seconds());
                    System.out.println(Highlight.render(e, null, color));
                    System.out.printf("rationale: %s%n", e.spans().stream().map(dev.maskopt.Span::text).toList());
                    System.out.printf("sufficiency %.3f (lower is better), comprehensiveness %.3f (higher is better)%n",
                            e.sufficiency(), e.comprehensiveness());
                    System.out.printf("selected %d of %d words (%.0f%%); expected selection rate %.3f%n",
                            e.rationaleSize(), e.words().size(), 100 * e.rationaleShare(), e.expectedSelectionRate());
                    StringBuilder gates = new StringBuilder("gates:");
                    for (int k = 0; k < e.words().size(); k++) {
                        gates.append(String.format(" %s=%.2f", e.words().get(k), e.gates()[k]));
                    }
                    System.out.println(gates);
                }
            }
            return 0;
        }
    }

    /** Prints the build and the backend that would be used. */
    @Command(name = "info", description = "Show the native build and the backend in use.")
    static final class Info implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.println("build:  " + Device.buildInfo());
            System.out.println("cuda:   " + Device.cudaStatus());
            try (Device d = Device.auto()) {
                System.out.println("device: " + d + " (backend " + d.backend() + ")");
            }
            return 0;
        }
    }

    /** Generate the planted task, train the CNN, explain held-out texts, score the rationales. */
    @Command(name = "demo", description = "Train a CNN on a task with planted rationales and explain held-out texts.")
    static final class Demo implements Callable<Integer> {
        @Option(names = "--train", description = "training texts (default ${DEFAULT-VALUE})")
        int train = PlantedDemo.Settings.defaults().trainSize();

        @Option(names = "--test", description = "held-out texts to explain (default ${DEFAULT-VALUE})")
        int test = PlantedDemo.Settings.defaults().testSize();

        @Option(names = "--show", description = "explanations to print (default ${DEFAULT-VALUE})")
        int show = 8;

        @Option(names = "--gate", description = "HARD_CONCRETE or HARD_KUMA (default ${DEFAULT-VALUE})")
        Gate gate = ExplainerConfig.defaults().gate();

        @Option(names = "--steps", description = "optimization steps (default ${DEFAULT-VALUE})")
        int steps = ExplainerConfig.defaults().steps();

        @Option(names = "--seed", description = "gate noise seed (default ${DEFAULT-VALUE})")
        long seed = ExplainerConfig.defaults().seed();

        @Option(names = "--sparsity", description = "weight of the expected L0 term (default ${DEFAULT-VALUE})")
        double sparsity = ExplainerConfig.defaults().sparsityWeight();

        @Option(names = "--contiguity", description = "weight of the expected transitions term (default ${DEFAULT-VALUE})")
        double contiguity = ExplainerConfig.defaults().contiguityWeight();

        @Option(names = "--lr", description = "Adam learning rate of the gates (default ${DEFAULT-VALUE})")
        double lr = ExplainerConfig.defaults().learningRate();

        @Option(names = "--samples", description = "gate samples per step (default ${DEFAULT-VALUE})")
        int samples = ExplainerConfig.defaults().samples();

        @Option(names = "--no-color", description = "plain output: rationale words in [brackets]")
        boolean noColor;

        @Override
        public Integer call() {
            PlantedDemo.Settings d = PlantedDemo.Settings.defaults();
            ExplainerConfig cfg = d.explainer().toBuilder().optGate(gate).optSteps(steps).optSeed(seed)
                    .optSparsityWeight(sparsity).optContiguityWeight(contiguity).optLearningRate(lr)
                    .optSamples(samples).build();
            PlantedDemo.Settings s = new PlantedDemo.Settings(train, test, d.dim(), d.filters(), d.training(), cfg,
                    d.batchSize(), d.seed());
            boolean color = !noColor && System.console() != null && System.getenv("NO_COLOR") == null;
            try (Device device = Device.auto()) {
                System.out.println("maskopt demo on " + device + ": planted-rationale task, CNN, " + gate + " gates, "
                        + steps + " steps");
                PlantedDemo.Result r = PlantedDemo.run(device, s, msg -> System.err.println("  " + msg));
                System.out.println();
                for (int k = 0; k < Math.min(show, r.examples().size()); k++) {
                    PlantedTask.Example ex = r.examples().get(k);
                    Explanation e = r.explanations().get(k);
                    System.out.printf("%-8s p=%.3f  suff=%+.3f comp=%+.3f | %s%n", e.targetLabel(),
                            e.probabilities()[e.target()], e.sufficiency(), e.comprehensiveness(),
                            Highlight.render(e, ex.planted(), color));
                }
                System.out.println();
                System.out.printf("CNN test accuracy        %.3f (%d texts; trained in %.1f s)%n", r.testAccuracy(),
                        r.examples().size(), r.trainSeconds());
                System.out.printf("rationale token P/R/F1   %.3f / %.3f / %.3f (against the planted cues)%n",
                        r.precision(), r.recall(), r.f1());
                System.out.printf("sufficiency (lower better)        %.3f%n", r.meanSufficiency());
                System.out.printf("comprehensiveness (higher better) %.3f%n", r.meanComprehensiveness());
                System.out.printf("explanation time         %.1f ms per text (%.2f s for %d, batches of %d)%n",
                        1000 * r.explainSeconds() / r.examples().size(), r.explainSeconds(), r.examples().size(),
                        s.batchSize());
                System.out.println(color ? "legend: \u001b[1;32mrationale\u001b[0m, \u001b[4mplanted cue\u001b[0m"
                        : "legend: [rationale], _planted cue_");
            }
            return 0;
        }
    }
}
