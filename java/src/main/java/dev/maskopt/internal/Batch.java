package dev.maskopt.internal;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import java.util.List;

/** A ragged batch of encoded texts on a model's device: padded ids, lengths and embeddings [N,T,D]. */
public final class Batch implements AutoCloseable {
    public final int rows;
    public final int length;
    public final int[] lengths;
    public final Tensor ids;
    public final Tensor lengthsTensor;
    public final Tensor embeddings;

    private Batch(Classifier model, List<Encoding> encodings) {
        Device dev = model.device();
        rows = encodings.size();
        int t = 0;
        for (Encoding e : encodings) {
            if (e.length() == 0) {
                throw new IllegalArgumentException("a text has no tokens");
            }
            t = Math.max(t, e.length());
        }
        length = t;
        int[] idv = new int[rows * t];
        lengths = new int[rows];
        for (int k = 0; k < rows; k++) {
            int[] row = encodings.get(k).ids();
            System.arraycopy(row, 0, idv, k * t, row.length);
            lengths[k] = row.length;
        }
        Tensor a = null, b = null;
        try {
            a = dev.upload(idv, rows, t);
            b = dev.upload(lengths, rows);
            Tensor e = dev.floats(rows, t, model.embeddingDim());
            ids = a;
            lengthsTensor = b;
            embeddings = e;
            model.embed(ids, lengthsTensor, embeddings);
        } catch (RuntimeException ex) {
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
            throw ex;
        }
    }

    /** Pads, uploads and embeds the encodings (the caller has validated them). */
    public static Batch of(Classifier model, List<Encoding> encodings) {
        return new Batch(model, encodings);
    }

    /** Softmax probabilities [rows, C] of the model on this batch's embeddings. */
    public float[] probabilities(Classifier model) {
        return probabilities(model, embeddings, lengthsTensor, rows);
    }

    /** Softmax probabilities [rows, C] of the model on the given inputs. */
    public static float[] probabilities(Classifier model, Tensor inputs, Tensor lengths, long rows) {
        Device dev = model.device();
        int c = model.labels().size();
        try (Tensor logits = dev.floats(rows, c); Tensor probs = dev.floats(rows, c)) {
            model.forward(inputs, lengths, logits);
            check(NativeCore.mo_softmax(ctx(dev), f(probs), f(logits), rows, c), "softmax");
            return probs.toFloatArray();
        }
    }

    @Override
    public void close() {
        embeddings.close();
        lengthsTensor.close();
        ids.close();
    }
}
