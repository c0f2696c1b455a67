package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Uniform random scores in [0, 1) per word: the floor every method should beat. Seeded (see the package
 * documentation); the model is not run, but the call is validated like any other.
 */
public final class RandomAttribution implements Attributor {
    private final long seed;

    private RandomAttribution(long seed) {
        this.seed = seed;
    }

    public static RandomAttribution create() {
        return new RandomAttribution(0);
    }

    public RandomAttribution withSeed(long v) {
        return new RandomAttribution(v);
    }

    public long seed() {
        return seed;
    }

    @Override
    public String name() {
        return "random(seed=" + seed + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        List<double[]> out = new ArrayList<>(enc.size());
        for (Encoding e : enc) {
            SplittableRandom rng = Inputs.random(seed, e);
            out.add(rng.doubles(e.words().size()).toArray());
        }
        return out;
    }
}
