package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Batch;
import java.util.ArrayList;
import java.util.List;

/**
 * Gradients of an {@link Output} w.r.t. the input embeddings of whole texts, in batches: forward, the
 * output's gradient w.r.t. the logits on the host (a few numbers per row), backward. Deterministic: no
 * randomness is involved.
 */
final class Gradients {
    /** One token's score from its gradient and input vectors, both read at {@code offset .. offset + d}. */
    interface TokenScore {
        double score(float[] gradient, float[] inputs, int offset, int d);
    }

    private Gradients() {}

    /** Per text, per word: the sum over the word's tokens of {@code score} (inputs are null unless needed). */
    static List<double[]> wordScores(Classifier model, List<Encoding> texts, int[] targets, Output output,
            boolean needInputs, TokenScore score) {
        Device dev = model.device();
        int c = model.labels().size(), d = model.embeddingDim();
        List<double[]> out = new ArrayList<>(texts.size());
        for (int from = 0; from < texts.size(); ) {
            int t = texts.get(from).length(), to = from + 1;
            while (to < texts.size()
                    && (long) (to - from + 1) * Math.max(t, texts.get(to).length()) <= Forward.TOKENS_PER_PASS) {
                t = Math.max(t, texts.get(to).length());
                to++;
            }
            List<Encoding> chunk = texts.subList(from, to);
            int b = chunk.size();
            try (Batch batch = Batch.of(model, chunk); Tensor logits = dev.floats(b, c); Tensor dLogits = dev.floats(b, c);
                    Tensor dInputs = dev.floats(b, batch.length, d)) {
                model.forward(batch.embeddings, batch.lengthsTensor, logits);
                float[] z = logits.toFloatArray(), dz = new float[b * c];
                for (int k = 0; k < b; k++) {
                    output.gradient(dz, z, k * c, c, targets[from + k], 1.0);
                }
                dLogits.copyFrom(dz);
                model.backward(dLogits, dInputs);
                float[] g = dInputs.toFloatArray();
                float[] x = needInputs ? batch.embeddings.toFloatArray() : null;
                for (int k = 0; k < b; k++) {
                    Encoding e = chunk.get(k);
                    double[] tokens = new double[e.length()];
                    for (int j = 0; j < tokens.length; j++) {
                        tokens[j] = score.score(g, x, (k * batch.length + j) * d, d);
                    }
                    out.add(Inputs.toWords(e, tokens));
                }
            }
            from = to;
        }
        return out;
    }
}
