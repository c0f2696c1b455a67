package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Shapley value sampling (Castro et al. 2009; Captum's ShapleyValueSampling): the value of a coalition S of
 * words is {@code v(S) = p_y(text with the words outside S removed)} by the {@link Removal} policy; for each of
 * {@code permutations} random orders of the words, adding the words one by one credits each with its marginal
 * gain, and a word's score is its mean gain. Every permutation's gains sum to {@code v(all) - v(none)}, so
 * the scores do too (efficiency), whatever the number of permutations. With {@code antithetic}, every second
 * permutation is the reverse of the one before (a variance reduction at the same cost). Cost per text:
 * {@code permutations * (words - 1) + 2} inputs, batched; seeded per text (see the package documentation).
 */
public final class ShapleySampling implements Attributor {
    private final int permutations;
    private final boolean antithetic;
    private final Removal removal;
    private final long seed;

    private ShapleySampling(int permutations, boolean antithetic, Removal removal, long seed) {
        Inputs.positive("permutations", permutations);
        this.permutations = permutations;
        this.antithetic = antithetic;
        this.removal = Inputs.notNull("removal", removal);
        this.seed = seed;
    }

    /** 25 independent permutations, baseline replacement, seed 0. */
    public static ShapleySampling create() {
        return new ShapleySampling(25, false, Removal.BASELINE, 0);
    }

    public ShapleySampling withPermutations(int v) {
        return new ShapleySampling(v, antithetic, removal, seed);
    }

    public ShapleySampling withAntithetic(boolean v) {
        return new ShapleySampling(permutations, v, removal, seed);
    }

    public ShapleySampling withRemoval(Removal v) {
        return new ShapleySampling(permutations, antithetic, v, seed);
    }

    public ShapleySampling withSeed(long v) {
        return new ShapleySampling(permutations, antithetic, removal, v);
    }

    public int permutations() {
        return permutations;
    }

    public boolean antithetic() {
        return antithetic;
    }

    public Removal removal() {
        return removal;
    }

    public long seed() {
        return seed;
    }

    @Override
    public String name() {
        return "shapley-sampling(" + permutations + (antithetic ? " antithetic" : "") + ", " + removal + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        List<double[]> out = new ArrayList<>(enc.size());
        for (int k = 0; k < enc.size(); k++) {
            out.add(text(model, enc.get(k), y[k]));
        }
        return out;
    }

    private double[] text(Classifier model, Encoding e, int y) {
        int words = e.words().size(), inner = words - 1;
        int[][] order = orders(Inputs.random(seed, e), words);
        // Row 0: no word kept; row 1: all kept; row 2 + p * inner + (j - 1): the first j words of order p.
        double[] v = Forward.targetProbabilities(model, e, removal, y, 2 + permutations * inner, m -> {
            boolean[] keep = new boolean[words];
            if (m == 1) {
                java.util.Arrays.fill(keep, true);
            } else if (m > 1) {
                int[] o = order[(m - 2) / inner];
                for (int j = 0, prefix = 1 + (m - 2) % inner; j < prefix; j++) {
                    keep[o[j]] = true;
                }
            }
            return keep;
        });
        double[] phi = new double[words];
        for (int p = 0; p < permutations; p++) {
            double previous = v[0];
            for (int j = 1; j <= words; j++) {
                double current = j == words ? v[1] : v[2 + p * inner + j - 1];
                phi[order[p][j - 1]] += current - previous;
                previous = current;
            }
        }
        for (int j = 0; j < words; j++) {
            phi[j] /= permutations;
        }
        return phi;
    }

    private int[][] orders(SplittableRandom rng, int words) {
        int[][] out = new int[permutations][];
        for (int p = 0; p < permutations; p++) {
            int[] o = new int[words];
            if (antithetic && p % 2 == 1) {
                for (int j = 0; j < words; j++) {
                    o[j] = out[p - 1][words - 1 - j];
                }
            } else {
                for (int j = 0; j < words; j++) {
                    o[j] = j;
                }
                for (int j = words - 1; j > 0; j--) {
                    int r = rng.nextInt(j + 1), tmp = o[j];
                    o[j] = o[r];
                    o[r] = tmp;
                }
            }
            out[p] = o;
        }
        return out;
    }
}
