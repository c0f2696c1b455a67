package dev.maskopt;

import java.util.List;

/**
 * A differentiable classifier over input embeddings, the model interface maskopt explains. It runs on one
 * {@link Device}; every tensor it receives lives there, so the optimization loop never copies between host
 * and device.
 *
 * <p>Batches are ragged: {@code lengths[b]} (int32, on the device) is the true length of row {@code b};
 * positions at or beyond it are padding and must not influence the logits. Lengths are validated by the
 * caller (1 &le; length &le; T).
 *
 * <p>Call order: {@link #forward} then {@link #backward} with the same batch; a model keeps what its
 * backward needs from the last forward.
 */
public interface Classifier extends AutoCloseable {
    /** The device the model runs on. */
    Device device();

    /** Width D of the input embeddings. */
    int embeddingDim();

    /** Class names; their count is the number of classes C (at least 2). */
    List<String> labels();

    /** Longest sequence, in tokens, that the model accepts. */
    int maxLength();

    /** Tokenizes a text into tokens, words and baseline ids (see {@link Encoding}). */
    Encoding encode(String text);

    /**
     * Encodes a text that is already split into words (a dataset's tokens): word {@code k} of the
     * encoding is {@code words.get(k)}, so rationales line up with the given tokens.
     */
    Encoding encodeWords(List<String> words);

    /** Writes {@code out[N,T,D]}: the embedding of {@code ids[N,T]} where t &lt; length, 0 at padding. */
    void embed(Tensor ids, Tensor lengths, Tensor out);

    /** Writes {@code logits[B,C]} for {@code inputs[B,T,D]}. */
    void forward(Tensor inputs, Tensor lengths, Tensor logits);

    /** Writes {@code dInputs[B,T,D]}, the gradient of the loss w.r.t. the last forward's inputs, given {@code dLogits[B,C]}. */
    void backward(Tensor dLogits, Tensor dInputs);

    /**
     * Identifies the device buffers that {@link #forward} and {@link #backward} use (activations, scratch): a value
     * that changes whenever the model frees or reallocates any of them, for example for a batch of another shape.
     * The explainer records an optimization step in a CUDA graph, which holds raw device addresses, and replays
     * it only while this value stays the same; it changes nothing in the results.
     *
     * <p>A model may return a value {@code >= 0} only if, once it has run forward and backward for a batch shape,
     * further calls with that shape and the same tensors queue device work alone: no allocation or release, no
     * copy to or from the host, no waiting for the device. The default, -1, says this is not known: such a model
     * is never captured (the explainer runs every step eagerly).
     */
    default long bufferGeneration() {
        return -1;
    }

    /** Releases the model's native memory. */
    @Override
    void close();
}
