package dev.maskopt.bert;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.text.WordPieceTokenizer;
import java.util.List;

/**
 * A text classifier on a BERT encoder: WordPiece tokens, the encoder, mean pooling over the real tokens,
 * and a linear head. Words are the units of the rationale: a word's pieces share one gate, [CLS] and [SEP]
 * are never masked, and a masked piece becomes the [PAD] embedding (the word embedding, before positions
 * are added).
 */
public final class BertClassifier implements Classifier {
    private final BertEncoder encoder;
    private final WordPieceTokenizer tokenizer;
    private final List<String> labels;
    private final Tensor headWeight;
    private final Tensor headBias;
    private final int baselineId;
    private Tensor pooled;
    private Tensor dPooled;
    private Tensor dHidden;
    private Tensor lastLengths;
    private long lastRows;
    private long lastLength;
    private long generation; // bumped when the head's buffers are reallocated

    /**
     * @param headWeight [hidden, classes], input-major
     * @param headBias [classes]
     */
    public BertClassifier(Device device, BertWeights weights, WordPieceTokenizer tokenizer, List<String> labels,
            float[] headWeight, float[] headBias) {
        int d = weights.config().hidden(), c = labels.size();
        if (c < 2 || headWeight.length != (long) d * c || headBias.length != c) {
            throw new IllegalArgumentException("head must be [" + d + ", " + c + "] with " + c + " biases (got "
                    + headWeight.length + " and " + headBias.length + " values for " + c + " labels)");
        }
        if (tokenizer.vocabSize() != weights.config().vocab()) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " tokens, the model "
                    + weights.config().vocab());
        }
        this.encoder = new BertEncoder(device, weights);
        this.tokenizer = tokenizer;
        this.labels = List.copyOf(labels);
        this.headWeight = device.upload(headWeight, d, c);
        this.headBias = device.upload(headBias, c);
        this.baselineId = tokenizer.padId() >= 0 ? tokenizer.padId() : tokenizer.unkId();
    }

    public BertEncoder encoder() {
        return encoder;
    }

    @Override
    public Device device() {
        return encoder.device();
    }

    @Override
    public int embeddingDim() {
        return encoder.config().hidden();
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public int maxLength() {
        return encoder.config().maxPositions();
    }

    @Override
    public Encoding encode(String text) {
        return encoding(tokenizer.tokenize(text));
    }

    @Override
    public Encoding encodeWords(List<String> words) {
        return encoding(tokenizer.tokenizeWords(words));
    }

    private Encoding encoding(WordPieceTokenizer.Tokens t) {
        int[] ids = t.ids(), wordOf = t.wordOfPiece(), base = new int[ids.length];
        for (int k = 0; k < ids.length; k++) {
            base[k] = wordOf[k] < 0 ? ids[k] : baselineId;
        }
        return new Encoding(t.pieces(), ids, t.words(), wordOf, base);
    }

    @Override
    public void embed(Tensor ids, Tensor lengths, Tensor out) {
        encoder.embedWords(ids, lengths, out);
    }

    @Override
    public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
        long b = inputs.dim(0), t = inputs.dim(1), d = embeddingDim(), c = labels.size();
        Tensor hidden = encoder.forward(inputs, lengths);
        ensure(b, t);
        NativeCore.Context cx = ctx(device());
        check(NativeCore.mo_pool_forward(cx, f(pooled), f(hidden), i(lengths), b, t, d, NativeCore.MO_POOL_MEAN),
                "pool_forward");
        check(NativeCore.mo_matmul(cx, f(logits), f(pooled), f(headWeight), f(headBias), b, c, d, 0, 0f), "matmul");
        lastLengths = lengths;
    }

    @Override
    public void backward(Tensor dLogits, Tensor dInputs) {
        if (lastLengths == null) {
            throw new IllegalStateException("backward before forward");
        }
        long b = lastRows, t = lastLength, d = embeddingDim(), c = labels.size();
        NativeCore.Context cx = ctx(device());
        check(NativeCore.mo_matmul(cx, f(dPooled), f(dLogits), f(headWeight), null, b, d, c, 1, 0f), "matmul");
        check(NativeCore.mo_pool_backward(cx, f(dHidden), f(dPooled), i(lastLengths), b, t, d, NativeCore.MO_POOL_MEAN),
                "pool_backward");
        encoder.backward(dHidden, dInputs);
    }

    /** Forward and backward allocate only when the batch shape changes; both counters only grow. */
    @Override
    public long bufferGeneration() {
        return encoder.bufferGeneration() + generation;
    }

    /** Mean-pooled sentence embeddings [B, D] of the last forward (valid until the next forward). */
    public Tensor pooled() {
        return pooled;
    }

    @Override
    public void close() {
        encoder.close();
        headWeight.close();
        headBias.close();
        if (pooled != null) {
            pooled.close();
            dPooled.close();
            dHidden.close();
        }
    }

    private void ensure(long b, long t) {
        if (pooled != null && lastRows == b && lastLength == t) {
            return;
        }
        if (pooled != null) {
            pooled.close();
            dPooled.close();
            dHidden.close();
        }
        long d = embeddingDim();
        pooled = device().floats(b, d);
        dPooled = device().floats(b, d);
        dHidden = device().floats(b, t, d);
        generation++;
        lastRows = b;
        lastLength = t;
    }
}
