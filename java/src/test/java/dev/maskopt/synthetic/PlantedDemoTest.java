package dev.maskopt.synthetic;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Gate;
import org.junit.jupiter.api.Test;

/**
 * End to end on rationales known by construction: the CNN trained on the planted task is explained on
 * held-out texts, and the rationales must recover the planted cue words.
 */
class PlantedDemoTest {
    private static PlantedDemo.Result run(ExplainerConfig config) {
        PlantedDemo.Settings d = PlantedDemo.Settings.defaults();
        PlantedDemo.Settings s = new PlantedDemo.Settings(d.trainSize(), 100, d.dim(), d.filters(), d.training(),
                config, d.batchSize(), d.seed());
        try (Device device = Device.cpu()) {
            return PlantedDemo.run(device, s, msg -> {});
        }
    }

    private static void check(PlantedDemo.Result r, double minF1) {
        String summary = String.format("accuracy %.3f, P/R/F1 %.3f/%.3f/%.3f, sufficiency %.3f, comprehensiveness %.3f",
                r.testAccuracy(), r.precision(), r.recall(), r.f1(), r.meanSufficiency(), r.meanComprehensiveness());
        System.out.println(summary);
        assertTrue(r.testAccuracy() >= 0.97, "the CNN learns the task: " + summary);
        assertTrue(r.f1() >= minF1, "rationales recover the planted cues: " + summary);
        assertTrue(r.meanComprehensiveness() > r.meanSufficiency() + 0.3,
                "removing the rationale hurts far more than keeping only it: " + summary);
    }

    @Test
    void hardConcreteRecoversPlantedRationales() {
        check(run(ExplainerConfig.defaults()), 0.9);
    }

    @Test
    void hardKumaRecoversPlantedRationales() {
        // HardKuma's expected-L0 gradient is weaker at the same initial keep rate: a stronger sparsity weight.
        check(run(ExplainerConfig.builder().optGate(Gate.HARD_KUMA).optSparsityWeight(20).build()), 0.9);
    }
}
