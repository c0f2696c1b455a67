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

    /**
     * {@code p_target} of one text for each of {@code count} word masks: the words where
     * {@code keep(m)[w]} is false are removed by the given policy. {@link Removal#BASELINE} substitutes the
     * baseline ids, which embed to exactly the inputs {@link Masking} mixes with binary gates, at half its
     * cost (Masking also evaluates each mask's complement); {@link Removal#DELETE} goes through Masking.
     */
    static double[] targetProbabilities(Classifier model, Encoding enc, Removal removal, int target, int count,
            IntFunction<boolean[]> keep) {
        double[] out = new double[count];
        if (removal == Removal.DELETE) {
            int perCall = Math.max(1, TOKENS_PER_PASS / enc.length()) * 4;
            for (int from = 0; from < count; from += perCall) {
                int to = Math.min(count, from + perCall);
                List<boolean[]> masks = new ArrayList<>(to - from);
                for (int m = from; m < to; m++) {
                    masks.add(keep.apply(m));
                }
                float[][] p = Masking.probabilities(model, enc, masks, Removal.DELETE);
                for (int m = from; m < to; m++) {
                    out[m] = p[m - from][target];
                }
            }
            return out;
        }
        int[] ids = enc.ids(), base = enc.baselineIds(), wordOf = enc.wordOfToken();
        float[][] z = logits(model, count, m -> {
            boolean[] k = keep.apply(m);
            int[] row = ids.clone();
            for (int t = 0; t < row.length; t++) {
                if (wordOf[t] >= 0 && !k[wordOf[t]]) {
                    row[t] = base[t];
                }
            }
            return row;
        });
        int c = model.labels().size();
        for (int m = 0; m < count; m++) {
            out[m] = Output.PROBABILITY.value(z[m], 0, c, target);
        }
        return out;
    }
}
