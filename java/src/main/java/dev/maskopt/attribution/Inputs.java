package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Validation of an attribution call, target resolution, and the helpers every method shares. */
final class Inputs {
    private Inputs() {}

    /** Checks the call's arguments (see {@link Attributor#attribute}) before any native call. */
    static List<Encoding> check(Classifier model, List<Encoding> texts, int[] targets) {
        if (model == null) {
            throw new IllegalArgumentException("model must be given");
        }
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to attribute");
        }
        dev.maskopt.internal.EncodingChecks.validate(model, texts, targets);
        return List.copyOf(texts);
    }

    /** The given targets, or the model's predictions (one batched forward pass) when null. */
    static int[] targets(Classifier model, List<Encoding> texts, int[] targets) {
        if (targets != null) {
            return targets.clone();
        }
        List<int[]> rows = new ArrayList<>(texts.size());
        for (Encoding e : texts) {
            rows.add(e.ids());
        }
        float[][] logits = Forward.logits(model, rows);
        int[] out = new int[texts.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = argmax(logits[k]);
        }
        return out;
    }

    /** Per-word sums of per-token scores; never-masked tokens are skipped. */
    static double[] toWords(Encoding e, double[] tokenScores) {
        double[] out = new double[e.words().size()];
        int[] wordOf = e.wordOfToken();
        for (int t = 0; t < wordOf.length; t++) {
            if (wordOf[t] >= 0) {
                out[wordOf[t]] += tokenScores[t];
            }
        }
        return out;
    }

    /** A random stream for one text: a function of the seed and the text's token ids only. */
    static SplittableRandom random(long seed, Encoding e) {
        long h = seed * 0x9E3779B97F4A7C15L + Arrays.hashCode(e.ids());
        // splitmix64 finalizer, so that nearby seeds and similar texts give unrelated streams
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return new SplittableRandom(h ^ (h >>> 31));
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int j = 1; j < x.length; j++) {
            if (x[j] > x[best]) {
                best = j;
            }
        }
        return best;
    }

    static void positive(String name, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive (got " + v + ")");
        }
    }

    static void positive(String name, double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be positive (got " + v + ")");
        }
    }

    static void nonNegative(String name, double v) {
        if (!(v >= 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be >= 0 (got " + v + ")");
        }
    }

    static <T> T notNull(String name, T v) {
        if (v == null) {
            throw new IllegalArgumentException(name + " must be given");
        }
        return v;
    }
}
