package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A two-class test model whose probability is exactly linear in its inputs, computed on the host in double:
 * {@code p = bias + sum_{t < len} u . x_t} and logits {@code (log(1 - p), log p)}, so softmax gives back
 * {@code (1 - p, p)}. Token ids index a table of D = 2 vectors; id 0 is the zero vector (the baseline), so
 * removing a word (by baseline or deletion) subtracts exactly its tokens' {@code u . e}. Words may be split into
 * several tokens with '|' ("ab|cd"), and {@link #CLS} is a never-masked token.
 */
final class LinearModel implements Classifier {
    static final int D = 2;
    static final int CLS = 1;
    private static final double[] U = {1.0, 0.5};
    private final Device device;
    private final float[] table;
    private final double bias;
    private final int maxLength;
    private final List<String> vocabulary = new ArrayList<>(List.of("<pad>", "[CLS]"));
    private double[] lastP;
    private int[] lastLengths;
    private int lastT;

    LinearModel(Device device, double bias, int maxLength) {
        this.device = device;
        this.bias = bias;
        this.maxLength = maxLength;
        this.table = new float[64 * D];
        table[CLS * D] = 0.01f;
        table[CLS * D + 1] = 0.02f;
    }

    /** Adds a token with the given embedding; returns its id. */
    int token(String name, float e0, float e1) {
        int id = vocabulary.size();
        vocabulary.add(name);
        table[id * D] = e0;
        table[id * D + 1] = e1;
        return id;
    }

    /** This token's contribution u . e to p. */
    double contribution(int id) {
        return U[0] * table[id * D] + U[1] * table[id * D + 1];
    }

    double bias() {
        return bias;
    }

    /** The encoding of words whose pieces are '|'-separated token names, after a [CLS] token when asked. */
    Encoding encode(boolean cls, String... words) {
        List<String> tokens = new ArrayList<>();
        List<Integer> ids = new ArrayList<>(), wordOf = new ArrayList<>(), base = new ArrayList<>();
        if (cls) {
            tokens.add("[CLS]");
            ids.add(CLS);
            wordOf.add(-1);
            base.add(CLS);
        }
        for (int w = 0; w < words.length; w++) {
            for (String piece : words[w].split("\\|")) {
                int id = vocabulary.indexOf(piece);
                if (id < 0) {
                    throw new IllegalArgumentException("unknown token " + piece);
                }
                tokens.add(piece);
                ids.add(id);
                wordOf.add(w);
                base.add(0);
            }
        }
        return new Encoding(tokens, ints(ids), List.of(words), ints(wordOf), ints(base));
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int embeddingDim() {
        return D;
    }

    @Override
    public List<String> labels() {
        return List.of("no", "yes");
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    @Override
    public Encoding encode(String text) {
        return encode(true, text.trim().split("\\s+"));
    }

    @Override
    public Encoding encodeWords(List<String> words) {
        return encode(true, words.toArray(new String[0]));
    }

    @Override
    public void embed(Tensor ids, Tensor lengths, Tensor out) {
        int[] id = ids.toIntArray(), len = lengths.toIntArray();
        int n = (int) ids.dim(0), t = (int) ids.dim(1);
        float[] e = new float[n * t * D];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < len[r]; j++) {
                System.arraycopy(table, id[r * t + j] * D, e, (r * t + j) * D, D);
            }
        }
        out.copyFrom(e);
    }

    @Override
    public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
        float[] x = inputs.toFloatArray();
        int[] len = lengths.toIntArray();
        int n = (int) inputs.dim(0), t = (int) inputs.dim(1);
        float[] z = new float[n * 2];
        lastP = new double[n];
        for (int r = 0; r < n; r++) {
            double p = bias;
            for (int j = 0; j < len[r]; j++) {
                for (int d = 0; d < D; d++) {
                    p += U[d] * x[(r * t + j) * D + d];
                }
            }
            if (!(p > 0 && p < 1)) {
                throw new IllegalStateException("test model left (0, 1): p = " + p);
            }
            lastP[r] = p;
            z[r * 2] = (float) Math.log(1 - p);
            z[r * 2 + 1] = (float) Math.log(p);
        }
        lastLengths = len;
        lastT = t;
        logits.copyFrom(z);
    }

    @Override
    public void backward(Tensor dLogits, Tensor dInputs) {
        float[] g = dLogits.toFloatArray();
        int n = lastP.length;
        float[] dx = new float[n * lastT * D];
        for (int r = 0; r < n; r++) {
            double dp = -g[r * 2] / (1 - lastP[r]) + g[r * 2 + 1] / lastP[r];
            for (int j = 0; j < lastLengths[r]; j++) {
                for (int d = 0; d < D; d++) {
                    dx[(r * lastT + j) * D + d] = (float) (U[d] * dp);
                }
            }
        }
        dInputs.copyFrom(dx);
    }

    @Override
    public void close() {}

    private static int[] ints(List<Integer> v) {
        return v.stream().mapToInt(Integer::intValue).toArray();
    }
}
