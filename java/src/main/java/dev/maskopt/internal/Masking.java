package dev.maskopt.internal;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's class probabilities on one text with some of its words removed, batched over many masks:
 * the removal shared by the explainer's certificate, the baseline explainers and the metrics.
 */
public final class Masking {
    /** Rows per forward pass are bounded so that rows x tokens stays near this many tokens. */
    private static final int TOKENS_PER_PASS = 4096;

    private Masking() {}

    /**
     * Probabilities for each soft keep mask {@code keep[m][w]} in [0, 1] over the encoding's words, with
     * the {@link Removal#BASELINE} policy: token t becomes {@code z E + (1 - z) B} with z the keep value
     * of its word. Returns {@code [2][M][C]}: [0] with the mask, [1] with its complement (1 - z).
     */
    public static float[][][] probabilities(Classifier model, Encoding enc, float[][] keep) {
        int words = enc.words().size(), t = enc.length(), c = model.labels().size();
        for (int m = 0; m < keep.length; m++) {
            if (keep[m] == null || keep[m].length != words) {
                throw new IllegalArgumentException("mask " + m + " must have one value per word (" + words + ")");
            }
        }
        float[][][] out = new float[2][keep.length][];
        if (keep.length == 0) {
            return out;
        }
        Device dev = model.device();
        int d = model.embeddingDim();
        int[] wordOf = enc.wordOfToken();
        int chunk = Math.max(1, Math.min(keep.length, TOKENS_PER_PASS / (2 * t)));
        try (Batch text = Batch.of(model, List.of(enc)); Tensor base = dev.floats(1, t, d)) {
            try (Tensor baseIds = dev.upload(enc.baselineIds(), 1, t)) {
                model.embed(baseIds, text.lengthsTensor, base);
            }
            for (int from = 0; from < keep.length; from += chunk) {
                int s = Math.min(chunk, keep.length - from);
                float[] z = new float[s * t];
                for (int m = 0; m < s; m++) {
                    for (int k = 0; k < t; k++) {
                        z[m * t + k] = wordOf[k] < 0 ? 1f : keep[from + m][wordOf[k]];
                    }
                }
                int[] lens = new int[2 * s];
                java.util.Arrays.fill(lens, t);
                try (Tensor zt = dev.upload(z, s, 1, t); Tensor mixed = dev.floats(2L * s, t, d);
                        Tensor lensT = dev.upload(lens, 2L * s)) {
                    check(NativeCore.mo_mix_forward(ctx(dev), f(mixed), f(zt), f(text.embeddings), f(base),
                            i(text.lengthsTensor), s, 1, t, d, 1), "mix_forward");
                    float[] p = Batch.probabilities(model, mixed, lensT, 2L * s);
                    for (int m = 0; m < s; m++) {
                        out[0][from + m] = java.util.Arrays.copyOfRange(p, m * c, (m + 1) * c);
                        out[1][from + m] = java.util.Arrays.copyOfRange(p, (s + m) * c, (s + m + 1) * c);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Probabilities {@code [M][C]} with the words where {@code keep[m][w]} is false removed by the given
     * policy.
     */
    public static float[][] probabilities(Classifier model, Encoding enc, List<boolean[]> keep, Removal removal) {
        if (removal == Removal.BASELINE) {
            float[][] soft = new float[keep.size()][];
            for (int m = 0; m < soft.length; m++) {
                boolean[] k = keep.get(m);
                if (k == null) {
                    throw new IllegalArgumentException("mask " + m + " is null");
                }
                soft[m] = new float[k.length];
                for (int w = 0; w < k.length; w++) {
                    soft[m][w] = k[w] ? 1f : 0f;
                }
            }
            return probabilities(model, enc, soft)[0];
        }
        List<Encoding> kept = new ArrayList<>(keep.size());
        for (int m = 0; m < keep.size(); m++) {
            kept.add(delete(enc, keep.get(m), m));
        }
        float[][] out = new float[keep.size()][];
        int c = model.labels().size();
        for (int from = 0; from < kept.size(); ) {
            int t = 0, to = from;
            while (to < kept.size() && (to == from || (long) (to - from + 1) * Math.max(t, kept.get(to).length())
                    <= TOKENS_PER_PASS)) {
                t = Math.max(t, kept.get(to).length());
                to++;
            }
            try (Batch b = Batch.of(model, kept.subList(from, to))) {
                float[] p = b.probabilities(model);
                for (int m = from; m < to; m++) {
                    out[m] = java.util.Arrays.copyOfRange(p, (m - from) * c, (m - from + 1) * c);
                }
            }
            from = to;
        }
        return out;
    }

    /** The encoding without the tokens of removed words (never-masked tokens stay). */
    static Encoding delete(Encoding enc, boolean[] keep, int m) {
        int words = enc.words().size();
        if (keep == null || keep.length != words) {
            throw new IllegalArgumentException("mask " + m + " must have one value per word (" + words + ")");
        }
        int[] ids = enc.ids(), wordOf = enc.wordOfToken(), base = enc.baselineIds();
        List<String> tokens = new ArrayList<>(), keptWords = new ArrayList<>();
        List<Integer> keptIds = new ArrayList<>(), keptWordOf = new ArrayList<>(), keptBase = new ArrayList<>();
        int[] newIndex = new int[words];
        for (int w = 0; w < words; w++) {
            newIndex[w] = keep[w] ? keptWords.size() : -1;
            if (keep[w]) {
                keptWords.add(enc.words().get(w));
            }
        }
        int firstRemoved = -1;
        for (int k = 0; k < ids.length; k++) {
            int w = wordOf[k];
            if (w >= 0 && !keep[w]) {
                if (firstRemoved < 0) {
                    firstRemoved = k;
                }
                continue;
            }
            tokens.add(enc.tokens().get(k));
            keptIds.add(ids[k]);
            keptWordOf.add(w < 0 ? -1 : newIndex[w]);
            keptBase.add(base[k]);
        }
        if (keptWords.isEmpty()) {
            // Nothing left to read: one baseline token, in place of the first removed token, stands in for the text.
            int at = 0;
            while (at < keptWordOf.size() && indexOfToken(enc, firstRemoved, at)) {
                at++;
            }
            tokens.add(at, "<removed>");
            keptIds.add(at, base[firstRemoved]);
            keptWordOf.add(at, 0);
            keptBase.add(at, base[firstRemoved]);
            keptWords.add("<removed>");
        }
        return new Encoding(tokens, toArray(keptIds), keptWords, toArray(keptWordOf), toArray(keptBase));
    }

    /** Whether kept position {@code at} comes before original token {@code original} (only special tokens are kept here). */
    private static boolean indexOfToken(Encoding enc, int original, int at) {
        // With no word kept, the kept tokens are the never-masked ones in order; those before the first
        // removed token are the ones at original indices below it.
        int[] wordOf = enc.wordOfToken();
        int seen = 0;
        for (int k = 0; k < original; k++) {
            if (wordOf[k] < 0) {
                seen++;
            }
        }
        return at < seen;
    }

    private static int[] toArray(List<Integer> v) {
        int[] out = new int[v.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = v.get(k);
        }
        return out;
    }
}
