package dev.maskopt;

import dev.maskopt.internal.EncodingChecks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The checks of {@link Explainer#explainEmbeddings}, made before any native call, and the texts' structure as
 * {@link Encoding}s (placeholder tokens and ids, which that path never reads).
 */
final class EmbeddedTexts {
    private EmbeddedTexts() {}

    /** One encoding per text: its length, its tokens' words and the words' names; throws on any bad argument. */
    static List<Encoding> validate(Classifier model, Tensor inputs, Tensor baselines, int[] lengths,
            int[][] wordOfToken, List<List<String>> words, int[] targets) {
        Device device = model.device();
        checkTensor("inputs", inputs, device);
        checkTensor("baselines", baselines, device);
        long[] shape = inputs.shape();
        int d = model.embeddingDim();
        if (shape.length != 3) {
            throw new IllegalArgumentException("inputs must be [N,T,D] (got " + Arrays.toString(shape) + ")");
        }
        if (shape[2] != d) {
            throw new IllegalArgumentException("inputs " + Arrays.toString(shape) + " have width D=" + shape[2]
                    + " but the model's embeddingDim() is " + d);
        }
        if (shape[1] > model.maxLength()) {
            throw new IllegalArgumentException("inputs " + Arrays.toString(shape) + " have T=" + shape[1]
                    + " positions; the model accepts at most " + model.maxLength());
        }
        if (shape[0] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("inputs " + Arrays.toString(shape) + " hold too many texts");
        }
        long[] base = baselines.shape();
        if (!Arrays.equals(base, shape) && !(base.length == 1 && base[0] == d)) {
            throw new IllegalArgumentException("baselines must be [N,T,D] like the inputs " + Arrays.toString(shape)
                    + " or one vector [D=" + d + "] (got " + Arrays.toString(base) + ")");
        }
        int n = (int) shape[0], t = (int) shape[1];
        if (lengths == null || lengths.length != n) {
            throw new IllegalArgumentException(n + " texts in the inputs but "
                    + (lengths == null ? "no" : String.valueOf(lengths.length)) + " lengths");
        }
        if (wordOfToken != null && wordOfToken.length != n) {
            throw new IllegalArgumentException(n + " texts but " + wordOfToken.length + " word maps (wordOfToken)");
        }
        if (words != null && words.size() != n) {
            throw new IllegalArgumentException(n + " texts but " + words.size() + " word lists");
        }
        List<Encoding> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            int len = lengths[k];
            if (len < 1 || len > t) {
                throw new IllegalArgumentException("length " + len + " of text " + k + " is not in [1, T=" + t + "]");
            }
            int[] group = wordOfToken == null ? identity(len) : wordOfToken[k];
            if (group == null || group.length != len) {
                throw new IllegalArgumentException("wordOfToken[" + k + "] must have one entry per token (length " + len
                        + "; got " + (group == null ? "null" : String.valueOf(group.length)) + ")");
            }
            List<String> names = words == null ? null : words.get(k);
            if (names == null) {
                int count = 0;
                for (int g : group) {
                    count = Math.max(count, g + 1);
                }
                names = new ArrayList<>(count);
                for (int j = 0; j < count; j++) {
                    names.add("#" + j);
                }
            } else if (names.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("the words of text " + k + " contain null");
            }
            List<String> tokens = new ArrayList<>(len);
            for (int j = 0; j < len; j++) {
                tokens.add(group[j] >= 0 && group[j] < names.size() ? names.get(group[j]) : "");
            }
            int[] zeros = new int[len];
            try {
                out.add(new Encoding(tokens, zeros, names, group, zeros));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("wordOfToken[" + k + "]: " + e.getMessage(), e);
            }
        }
        EncodingChecks.validate(model, out, targets);
        return out;
    }

    private static void checkTensor(String name, Tensor x, Device device) {
        if (x == null) {
            throw new IllegalArgumentException(name + " must be given");
        }
        if (x.isClosed()) {
            throw new IllegalArgumentException(name + " tensor is closed");
        }
        if (x.device() != device) {
            throw new IllegalArgumentException(name + " live on device " + x.device() + ", not on the model's device "
                    + device + " (the same Device object): maskopt never copies between devices; wrap the memory with "
                    + "the model's device (model.device().wrap)");
        }
        if (x.dtype() != Tensor.DType.FLOAT32) {
            throw new IllegalArgumentException(name + " must be FLOAT32 (got " + x.dtype() + ")");
        }
    }

    private static int[] identity(int len) {
        int[] out = new int[len];
        for (int j = 0; j < len; j++) {
            out[j] = j;
        }
        return out;
    }
}
