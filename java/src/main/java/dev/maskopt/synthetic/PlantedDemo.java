package dev.maskopt.synthetic;

import dev.maskopt.Device;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.cnn.CnnTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The end-to-end check on known rationales: generate the {@link PlantedTask}, train the native CNN on it,
 * explain held-out texts, and score the rationales against the planted cues.
 */
public final class PlantedDemo {
    /**
     * Demo settings.
     *
     * @param trainSize training texts
     * @param testSize held-out texts explained
     * @param dim word vector width
     * @param filters CNN filters per width
     * @param training CNN training settings
     * @param explainer mask optimization settings
     * @param batchSize texts explained together
     * @param seed data seed
     */
    public record Settings(int trainSize, int testSize, int dim, int filters, CnnTrainer.Options training,
            ExplainerConfig explainer, int batchSize, long seed) {
        public static Settings defaults() {
            return new Settings(3000, 200, 32, 16, new CnnTrainer.Options(30, 32, 2e-2, 1e-4, 7),
                    ExplainerConfig.defaults(), 50, 42);
        }
    }

    /**
     * Outcome.
     *
     * @param examples the held-out texts with their planted cues
     * @param explanations their explanations, in order
     * @param testAccuracy CNN accuracy on the held-out texts
     * @param precision token precision of the rationales against the planted cues (micro)
     * @param recall token recall (micro)
     * @param f1 token F1 (micro)
     * @param trainSeconds training time
     * @param explainSeconds explanation time for all held-out texts
     */
    public record Result(List<PlantedTask.Example> examples, List<Explanation> explanations, double testAccuracy,
            double precision, double recall, double f1, double trainSeconds, double explainSeconds) {
        public double meanSufficiency() {
            return explanations.stream().mapToDouble(Explanation::sufficiency).average().orElse(Double.NaN);
        }

        public double meanComprehensiveness() {
            return explanations.stream().mapToDouble(Explanation::comprehensiveness).average().orElse(Double.NaN);
        }
    }

    private PlantedDemo() {}

    public static Result run(Device device, Settings s, Consumer<String> progress) {
        PlantedTask task = PlantedTask.standard();
        var vocab = PlantedTask.vocabulary();
        List<PlantedTask.Example> train = task.generate(s.trainSize(), 0.15, s.seed());
        List<PlantedTask.Example> test = task.generate(s.testSize(), s.seed() + 1);
        try (CnnClassifier model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, s.dim(), s.seed()),
                s.dim(), PlantedTask.LABELS, CnnClassifier.DEFAULT_WIDTHS, s.filters(), task.maxLength(), s.seed())) {
            long t0 = System.nanoTime();
            List<CnnTrainer.Example> data = new ArrayList<>();
            for (PlantedTask.Example e : train) {
                if (e.hasCue()) {
                    data.add(new CnnTrainer.Example(e.text(), e.label()));
                } else { // both labels: the best answer is 1/2, and filler cannot be memorized
                    data.add(new CnnTrainer.Example(e.text(), 0));
                    data.add(new CnnTrainer.Example(e.text(), 1));
                }
            }
            double[] losses = CnnTrainer.train(model, data, s.training(),
                    epoch -> progress.accept("trained epoch " + epoch + "/" + s.training().epochs()));
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            progress.accept(String.format("training loss %.4f -> %.4f", losses[0], losses[losses.length - 1]));

            List<String> texts = test.stream().map(PlantedTask.Example::text).toList();
            int[] predicted = CnnTrainer.predict(model, texts, 64);
            int correct = 0;
            for (int k = 0; k < test.size(); k++) {
                correct += predicted[k] == test.get(k).label() ? 1 : 0;
            }
            long t1 = System.nanoTime();
            List<Explanation> explanations = new ArrayList<>();
            try (Explainer explainer = Explainer.create(model, s.explainer())) {
                for (int from = 0; from < texts.size(); from += s.batchSize()) {
                    int to = Math.min(texts.size(), from + s.batchSize());
                    explanations.addAll(explainer.explain(texts.subList(from, to)));
                    progress.accept("explained " + to + "/" + texts.size());
                }
            }
            double explainSeconds = (System.nanoTime() - t1) / 1e9;
            long tp = 0, fp = 0, fn = 0;
            for (int k = 0; k < test.size(); k++) {
                boolean[] gold = test.get(k).planted();
                Explanation e = explanations.get(k);
                for (int j = 0; j < gold.length; j++) {
                    boolean sel = e.selected(j);
                    tp += sel && gold[j] ? 1 : 0;
                    fp += sel && !gold[j] ? 1 : 0;
                    fn += !sel && gold[j] ? 1 : 0;
                }
            }
            double precision = tp + fp == 0 ? 0 : (double) tp / (tp + fp);
            double recall = tp + fn == 0 ? 0 : (double) tp / (tp + fn);
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            return new Result(test, explanations, (double) correct / test.size(), precision, recall, f1, trainSeconds,
                    explainSeconds);
        }
    }
}
