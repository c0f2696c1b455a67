package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * LIME for text (Ribeiro et al. 2016), as its {@code LimeTextExplainer} does it: the first sample is the
 * whole text; each other one removes a number of words drawn uniformly from 1 to the text's word count,
 * at positions drawn uniformly without replacement (by the {@link Removal} policy; the library deletes).
 * Each sample x in {0,1}^words (1 = kept) is weighted by the exponential kernel
 * {@code sqrt(exp(-d^2 / width^2))} of its cosine distance to the all-ones vector, {@code d = 100 (1 - cos)},
 * and a weighted ridge regression of the target probability on x (unpenalized intercept, solved in double
 * on the host) gives one coefficient per word: the score. Cost per text: {@code samples} inputs, batched;
 * seeded per text (see the package documentation).
 */
public final class Lime implements Attributor {
    private final int samples;
    private final double kernelWidth;
    private final double ridge;
    private final Removal removal;
    private final long seed;

    private Lime(int samples, double kernelWidth, double ridge, Removal removal, long seed) {
        if (samples < 2) {
            throw new IllegalArgumentException("samples must be at least 2 (got " + samples + ")");
        }
        Inputs.positive("kernelWidth", kernelWidth);
        Inputs.positive("ridge", ridge);
        this.samples = samples;
        this.kernelWidth = kernelWidth;
        this.ridge = ridge;
        this.removal = Inputs.notNull("removal", removal);
        this.seed = seed;
    }

    /**
     * 1000 samples (the library's default is 5000), kernel width 25 and ridge penalty 1 (the library's),
     * baseline replacement, seed 0.
     */
    public static Lime create() {
        return new Lime(1000, 25, 1, Removal.BASELINE, 0);
    }

    public Lime withSamples(int v) {
        return new Lime(v, kernelWidth, ridge, removal, seed);
    }

    public Lime withKernelWidth(double v) {
        return new Lime(samples, v, ridge, removal, seed);
    }

    /** The L2 penalty alpha of the surrogate (positive). */
    public Lime withRidge(double v) {
        return new Lime(samples, kernelWidth, v, removal, seed);
    }

    public Lime withRemoval(Removal v) {
        return new Lime(samples, kernelWidth, ridge, v, seed);
    }

    public Lime withSeed(long v) {
        return new Lime(samples, kernelWidth, ridge, removal, v);
    }

    public int samples() {
        return samples;
    }

    public double kernelWidth() {
        return kernelWidth;
    }

    public double ridge() {
        return ridge;
    }

    public Removal removal() {
        return removal;
    }

    public long seed() {
        return seed;
    }

    @Override
    public String name() {
        return "lime(" + samples + ", " + removal + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        List<double[]> out = new ArrayList<>(enc.size());
        for (int k = 0; k < enc.size(); k++) {
            Encoding e = enc.get(k);
            int words = e.words().size();
            // Neighbourhood: the text itself, then random removals.
            boolean[][] keep = sample(Inputs.random(seed, e), words);
            // Labels: the target probability of each sample.
            double[] p = Forward.targetProbabilities(model, e, removal, y[k], samples, m -> keep[m]);
            // Weights: the kernel of the cosine distance to the whole text.
            double[] weight = new double[samples];
            for (int m = 0; m < samples; m++) {
                int kept = 0;
                for (boolean b : keep[m]) {
                    kept += b ? 1 : 0;
                }
                double d = 100 * (1 - Math.sqrt((double) kept / words));
                weight[m] = Math.sqrt(Math.exp(-d * d / (kernelWidth * kernelWidth)));
            }
            // Surrogate: weighted ridge regression; its coefficients are the scores.
            out.add(Arrays.copyOf(WeightedRidge.fit(keep, p, weight, ridge), words));
        }
        return out;
    }

    private boolean[][] sample(SplittableRandom rng, int words) {
        boolean[][] keep = new boolean[samples][words];
        int[] order = new int[words];
        for (int m = 0; m < samples; m++) {
            Arrays.fill(keep[m], true);
            if (m == 0) {
                continue;
            }
            int removed = 1 + rng.nextInt(words);
            for (int j = 0; j < words; j++) {
                order[j] = j;
            }
            for (int j = 0; j < removed; j++) { // partial Fisher-Yates: the first `removed` positions
                int r = j + rng.nextInt(words - j), tmp = order[j];
                order[j] = order[r];
                order[r] = tmp;
                keep[m][order[j]] = false;
            }
        }
        return keep;
    }
}
