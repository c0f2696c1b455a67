package dev.maskopt.attribution;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.cnn.CnnTrainer;
import dev.maskopt.synthetic.PlantedDemo;
import dev.maskopt.synthetic.PlantedTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On the planted task (a CNN trained on texts whose label is decided by planted cue words), the cues are the
 * words that matter: the faithful methods must rank them on top. Prints precision@k and the time per text.
 */
class PlantedTaskAttributionTest {
    private static final int TEST_SIZE = 100;
    private static Device device;
    private static CnnClassifier model;
    private static List<PlantedTask.Example> test;
    private static List<String> training;

    @BeforeAll
    static void train() {
        PlantedDemo.Settings s = PlantedDemo.Settings.defaults();
        PlantedTask task = PlantedTask.standard();
        var vocab = PlantedTask.vocabulary();
        device = Device.cpu();
        model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, s.dim(), s.seed()), s.dim(),
                PlantedTask.LABELS, CnnClassifier.DEFAULT_WIDTHS, s.filters(), task.maxLength(), s.seed());
        List<CnnTrainer.Example> data = new ArrayList<>();
        training = new ArrayList<>();
        for (PlantedTask.Example e : task.generate(s.trainSize(), 0.15, s.seed())) {
            training.add(e.text());
            if (e.hasCue()) {
                data.add(new CnnTrainer.Example(e.text(), e.label()));
            } else { // as in the demo: both labels, so that filler carries no signal
                data.add(new CnnTrainer.Example(e.text(), 0));
                data.add(new CnnTrainer.Example(e.text(), 1));
            }
        }
        CnnTrainer.train(model, data, s.training(), null);
        test = task.generate(TEST_SIZE, s.seed() + 1);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        device.close();
    }

    /** Share of each text's top-k words (k = its number of cues; ties to the earlier word) that are cues. */
    private static double precisionAtK(List<double[]> scores) {
        long hits = 0, total = 0;
        for (int n = 0; n < test.size(); n++) {
            boolean[] cue = test.get(n).planted();
            double[] s = scores.get(n);
            int k = 0;
            for (boolean c : cue) {
                k += c ? 1 : 0;
            }
            boolean[] taken = new boolean[s.length];
            for (int r = 0; r < k; r++) {
                int best = -1;
                for (int j = 0; j < s.length; j++) {
                    if (!taken[j] && (best < 0 || s[j] > s[best])) {
                        best = j;
                    }
                }
                taken[best] = true;
                hits += cue[best] ? 1 : 0;
            }
            total += k;
        }
        return (double) hits / total;
    }

    @Test
    void faithfulMethodsRankThePlantedCuesFirst() {
        List<Encoding> texts = new ArrayList<>();
        int[] labels = new int[test.size()];
        for (int n = 0; n < test.size(); n++) {
            texts.add(model.encodeWords(test.get(n).tokens()));
            labels[n] = test.get(n).label();
        }
        Map<String, Attributor> methods = new LinkedHashMap<>();
        methods.put("random", RandomAttribution.create());
        methods.put("saliency", Saliency.create());
        methods.put("saliencyMean", Saliency.create().withReduction(Reduction.MEAN));
        methods.put("inputXGradient", InputXGradient.create());
        methods.put("integratedGradients", IntegratedGradients.create());
        methods.put("occlusion", Occlusion.create());
        methods.put("occlusion3", Occlusion.create().withWindow(3));
        methods.put("lime", Lime.create());
        methods.put("shapley", ShapleySampling.create());
        methods.put("inputMarginalization", InputMarginalization.create(UnigramDistribution.fromTexts(model, training)));
        Map<String, Double> precision = new LinkedHashMap<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-48s %8s %12s%n", "method", "P@k", "ms/text"));
        for (Map.Entry<String, Attributor> m : methods.entrySet()) {
            m.getValue().attribute(model, texts.subList(0, 5), null); // warm-up
            long t0 = System.nanoTime();
            List<double[]> scores = m.getValue().attribute(model, texts, labels);
            double ms = (System.nanoTime() - t0) / 1e6 / texts.size();
            precision.put(m.getKey(), precisionAtK(scores));
            table.append(String.format(Locale.ROOT, "%-48s %8.3f %12.3f%n", m.getValue().name(), precision.get(m.getKey()), ms));
        }
        System.out.print(table);
        double floor = precision.get("random");
        assertTrue(floor < 0.3, "random ranking is the floor:\n" + table);
        // Leave-one-out and gradients under-rate a cue when another cue already saturates the probability.
        for (String name : List.of("saliency", "inputXGradient", "integratedGradients", "occlusion")) {
            assertTrue(precision.get(name) >= 0.75, name + " ranks the planted cues high:\n" + table);
        }
        for (String name : List.of("shapley", "lime")) {
            assertTrue(precision.get(name) >= 0.9, name + " ranks the planted cues first:\n" + table);
        }
        for (String name : List.of("saliencyMean", "occlusion3", "inputMarginalization")) {
            assertTrue(precision.get(name) >= floor + 0.3, name + " beats random by far:\n" + table);
        }
    }
}
