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
 *
 * <p>Where the mask mixes is a {@link Mixing} choice: the word embeddings (default: a masked piece keeps its
 * position, only its identity is removed) or the embedding module's output, as MaRC does (a masked piece
 * becomes LayerNorm([PAD] + position + type)).
 *
 * <p>Texts longer than the encoder's positions are read as overlapping windows, run as one batch, whose
 * logits are averaged; the mask spans the whole text, so one optimization covers all its windows.
 */
public final class BertClassifier implements Classifier {
    /** Where the explainer's mask mixes input and baseline. */
    public enum Mixing {
        /** The word-piece embeddings, before position and token-type embeddings and the embedding LayerNorm. */
        WORD_EMBEDDINGS,
        /** The embedding module's output (after its LayerNorm); texts must fit the encoder's positions. */
        EMBEDDING_OUTPUT
    }

    private final BertEncoder encoder;
    private final WordPieceTokenizer tokenizer;
    private final List<String> labels;
    private final Tensor headWeight;
    private final Tensor headBias;
    private final int baselineId;
    private final Mixing mixing;
    private Tensor pooled;
    private Tensor dPooled;
    private Tensor dHidden;
    private Tensor lastLengths;
    private long lastRows;
    private long lastLength;
    private Windowed cached; // the window plan of the last long batch
    private Windowed windowed; // cached, when the last forward was windowed; else null

    /** Longest text, in pieces, that the classifier accepts (read in overlapping windows). */
    public static final int MAX_PIECES = 8192;
    private long generation; // bumped when the head's buffers are reallocated

    /**
     * @param headWeight [hidden, classes], input-major
     * @param headBias [classes]
     */
    public BertClassifier(Device device, BertWeights weights, WordPieceTokenizer tokenizer, List<String> labels,
            float[] headWeight, float[] headBias) {
        this(device, weights, tokenizer, labels, headWeight, headBias, Mixing.WORD_EMBEDDINGS);
    }

    /**
     * @param headWeight [hidden, classes], input-major
     * @param headBias [classes]
     * @param mixing where masks mix (see {@link Mixing})
     */
    public BertClassifier(Device device, BertWeights weights, WordPieceTokenizer tokenizer, List<String> labels,
            float[] headWeight, float[] headBias, Mixing mixing) {
        if (mixing == null) {
            throw new IllegalArgumentException("mixing must be given");
        }
        this.mixing = mixing;
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

    /**
     * Most pieces between the starts of consecutive windows of a long text: half a window's content (255 for
     * 512 positions), so every piece is read in at least two windows' contexts except near the ends.
     */
    public int windowStride() {
        return Math.max(1, (encoder.config().maxPositions() - 2) / 2);
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

    /**
     * {@link #MAX_PIECES} when mixing word embeddings: texts longer than the encoder's positions are read in
     * overlapping windows (see the class comment); the encoder's positions when mixing its embedding output.
     */
    @Override
    public int maxLength() {
        return mixing == Mixing.WORD_EMBEDDINGS ? MAX_PIECES : encoder.config().maxPositions();
    }

    public Mixing mixing() {
        return mixing;
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
        if (mixing == Mixing.WORD_EMBEDDINGS) {
            encoder.embedWords(ids, lengths, out);
        } else {
            encoder.embed(ids, lengths, out);
        }
    }

    @Override
    public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
        long t = inputs.dim(1);
        if (t <= encoder.config().maxPositions() || mixing == Mixing.EMBEDDING_OUTPUT) {
            windowed = null;
            forwardRows(inputs, lengths, logits);
            return;
        }
        windowed = windowsFor(lengths, inputs.dim(0), t);
        int d = embeddingDim(), c = labels.size();
        windowed.plan.gather(inputs, windowed.inputs, d);
        forwardRows(windowed.inputs, windowed.plan.windowLengths(), windowed.logits);
        windowed.plan.average(windowed.logits, logits, c);
        windowed.plan.average(pooled, windowed.pooled, d);
        windowed.docLengths = lengths;
    }

    @Override
    public void backward(Tensor dLogits, Tensor dInputs) {
        if (windowed == null) {
            backwardRows(dLogits, dInputs);
            return;
        }
        int d = embeddingDim(), c = labels.size();
        windowed.plan.averageBackward(dLogits, windowed.dLogits, c);
        backwardRows(windowed.dLogits, windowed.dInputs);
        windowed.plan.scatter(windowed.dInputs, dInputs, windowed.scratch, windowed.docLengths, d);
    }

    /** Logits of rows that fit the encoder's positions. */
    private void forwardRows(Tensor inputs, Tensor lengths, Tensor logits) {
        long b = inputs.dim(0), t = inputs.dim(1), d = embeddingDim(), c = labels.size();
        Tensor hidden = mixing == Mixing.WORD_EMBEDDINGS ? encoder.forward(inputs, lengths)
                : encoder.forwardFromEmbeddings(inputs, lengths);
        ensure(b, t);
        NativeCore.Context cx = ctx(device());
        check(NativeCore.mo_pool_forward(cx, f(pooled), f(hidden), i(lengths), b, t, d, NativeCore.MO_POOL_MEAN),
                "pool_forward");
        check(NativeCore.mo_matmul(cx, f(logits), f(pooled), f(headWeight), f(headBias), b, c, d, 0, 0f), "matmul");
        lastLengths = lengths;
    }

    private void backwardRows(Tensor dLogits, Tensor dInputs) {
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

    /**
     * The window plan and buffers for a batch of long rows. Planning reads the lengths back to the host, so it
     * is kept for as long as the same lengths tensor comes back unchanged (the explainer passes one tensor for
     * all its steps); a lengths tensor rewritten from the host ({@link Tensor#hostWrites}) is planned again.
     */
    private Windowed windowsFor(Tensor lengths, long b, long t) {
        if (cached != null && cached.lengthsTensor == lengths && cached.lengthsWrites == lengths.hostWrites()
                && cached.plan.docs == b && cached.plan.length == t) {
            return cached;
        }
        if (cached != null) {
            cached.close();
            cached = null;
        }
        int[] lens = lengths.toIntArray();
        generation++;
        cached = new Windowed(lengths, Windows.plan(device(), lens, (int) t, encoder.config().maxPositions(),
                windowStride()), embeddingDim(), labels.size());
        return cached;
    }

    /** Forward and backward allocate only when the batch shape changes; both counters only grow. */
    @Override
    public long bufferGeneration() {
        return encoder.bufferGeneration() + generation;
    }

    /**
     * Mean-pooled sentence embeddings [B, D] of the last forward (valid until the next forward); for a text
     * read in windows, the mean of its windows' embeddings (the head is linear, so its logits are the
     * head's logits of this).
     */
    public Tensor pooled() {
        return windowed != null ? windowed.pooled : pooled;
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
        if (cached != null) {
            cached.close();
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

    /** A window plan with the buffers of its forward and backward. */
    private final class Windowed implements AutoCloseable {
        final Tensor lengthsTensor;
        final long lengthsWrites;
        final Windows plan;
        final Tensor inputs, logits, dLogits, dInputs, scratch, pooled;
        Tensor docLengths;

        Windowed(Tensor lengthsTensor, Windows plan, int d, int c) {
            this.lengthsTensor = lengthsTensor;
            this.lengthsWrites = lengthsTensor.hostWrites();
            this.plan = plan;
            Device dev = device();
            inputs = dev.floats(plan.rows, plan.width, d);
            logits = dev.floats(plan.rows, c);
            dLogits = dev.floats(plan.rows, c);
            dInputs = dev.floats((long) plan.rows * plan.width + 1, d);
            dInputs.fill(0f); // the last row stays zero: it stands for "no window" in Windows#scatter
            scratch = dev.floats(plan.docs, plan.length, d);
            pooled = dev.floats(plan.docs, d);
        }

        @Override
        public void close() {
            plan.close();
            for (Tensor x : List.of(inputs, logits, dLogits, dInputs, scratch, pooled)) {
                x.close();
            }
        }
    }
}
