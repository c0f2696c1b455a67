package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Masking;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Batched forward passes over many perturbed inputs, chunked to bound device memory. Inputs come from a
 * supplier called once per row, in order, so that only one chunk of them exists on the host at a time.
 */
final class Forward {
    /** A pass holds at most about this many tokens (rows x padded length), as in {@link Masking}. */
    static final int TOKENS_PER_PASS = 4096;

    private Forward() {}

    /** Logits {@code [count][C]} of the token-id sequences {@code row(0 .. count)} (1 to maxLength ids each). */
    static float[][] logits(Classifier model, int count, IntFunction<int[]> row) {
        float[][] out = new float[count][];
        List<int[]> chunk = new ArrayList<>();
        int t = 0;
        for (int m = 0; m < count; m++) {
            int[] r = row.apply(m);
            if (!chunk.isEmpty() && (long) (chunk.size() + 1) * Math.max(t, r.length) > TOKENS_PER_PASS) {
                run(model, chunk, t, out, m - chunk.size());
                chunk.clear();
                t = 0;
            }
            chunk.add(r);
            t = Math.max(t, r.length);
        }
        if (!chunk.isEmpty()) {
            run(model, chunk, t, out, count - chunk.size());
        }
        return out;
    }

    static float[][] logits(Classifier model, List<int[]> rows) {
        return logits(model, rows.size(), rows::get);
    }

    private static void run(Classifier model, List<int[]> rows, int t, float[][] out, int at) {
        Device dev = model.device();
        int c = model.labels().size(), d = model.embeddingDim(), b = rows.size();
        int[] ids = new int[b * t], lens = new int[b];
        for (int r = 0; r < b; r++) {
            System.arraycopy(rows.get(r), 0, ids, r * t, rows.get(r).length);
            lens[r] = rows.get(r).length;
        }
        try (Tensor idsT = dev.upload(ids, b, t); Tensor lensT = dev.upload(lens, b); Tensor emb = dev.floats(b, t, d);
                Tensor logits = dev.floats(b, c)) {
            model.embed(idsT, lensT, emb);
            model.forward(emb, lensT, logits);
            float[] z = logits.toFloatArray();
            for (int r = 0; r < b; r++) {
                out[at + r] = Arrays.copyOfRange(z, r * c, (r + 1) * c);
            }
        }
    }

    /** The word masks of several texts: mask {@code m} of text {@code k} (true = kept). */
    interface Masks {
        boolean[] keep(int k, int m);
    }

    /**
     * {@code p_target} of one text for each of {@code count} word masks: the words where
     * {@code keep(m)[w]} is false are removed by the given policy (see the multi-text form).
     */
    static double[] targetProbabilities(Classifier model, Encoding enc, Removal removal, int target, int count,
            IntFunction<boolean[]> keep) {
        return targetProbabilities(model, List.of(enc), new int[] {target}, removal, new int[] {count},
                (k, m) -> keep.apply(m))[0];
    }

    /**
     * {@code p_{targets[k]}} of text k under each of its {@code counts[k]} word masks, the words where the
     * mask is false removed by the given policy. {@link Removal#BASELINE} substitutes the baseline ids, which
     * embed to exactly the inputs {@link Masking} mixes with binary gates, at half its cost (Masking also
     * evaluates each mask's complement), and fills passes with the rows of several texts;
     * {@link Removal#DELETE} goes through Masking, one text at a time.
     */
    static double[][] targetProbabilities(Classifier model, List<Encoding> texts, int[] targets, Removal removal,
            int[] counts, Masks masks) {
        double[][] out = new double[texts.size()][];
        if (removal == Removal.DELETE) {
            for (int k = 0; k < texts.size(); k++) {
                out[k] = deleted(model, texts.get(k), targets[k], counts[k], k, masks);
            }
            return out;
        }
        int[] start = new int[texts.size() + 1];
        for (int k = 0; k < texts.size(); k++) {
            start[k + 1] = Math.addExact(start[k], counts[k]);
        }
        float[][] z = logits(model, start[texts.size()], r -> {
            int k = textOf(start, r);
            Encoding e = texts.get(k);
            boolean[] keep = masks.keep(k, r - start[k]);
            int[] row = e.ids(), base = e.baselineIds(), wordOf = e.wordOfToken();
            for (int t = 0; t < row.length; t++) {
                if (wordOf[t] >= 0 && !keep[wordOf[t]]) {
                    row[t] = base[t];
                }
            }
            return row;
        });
        int c = model.labels().size();
        for (int k = 0; k < texts.size(); k++) {
            out[k] = new double[counts[k]];
            for (int m = 0; m < counts[k]; m++) {
                out[k][m] = Output.PROBABILITY.value(z[start[k] + m], 0, c, targets[k]);
            }
        }
        return out;
    }

    private static double[] deleted(Classifier model, Encoding enc, int target, int count, int k, Masks masks) {
        double[] out = new double[count];
        int perCall = Math.max(1, TOKENS_PER_PASS / enc.length()) * 4;
        for (int from = 0; from < count; from += perCall) {
            int to = Math.min(count, from + perCall);
            List<boolean[]> keep = new ArrayList<>(to - from);
            for (int m = from; m < to; m++) {
                keep.add(masks.keep(k, m));
            }
            float[][] p = Masking.probabilities(model, enc, keep, Removal.DELETE);
            for (int m = from; m < to; m++) {
                out[m] = p[m - from][target];
            }
        }
        return out;
    }

    /** The k with {@code start[k] <= r < start[k + 1]}. */
    static int textOf(int[] start, int r) {
        int k = Arrays.binarySearch(start, r);
        if (k < 0) {
            return -k - 2;
        }
        while (start[k + 1] == r) { // skip texts with no rows
            k++;
        }
        return k;
    }
}
