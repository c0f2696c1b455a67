package dev.maskopt.cnn;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.text.Vocabulary;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A 1-D convolutional text classifier (Kim 2014, CNN-static): fixed word embeddings, convolutions of several
 * widths, ReLU, max over time, a linear layer. Forward, input gradients and weight gradients are native
 * kernels (CUDA and the CPU twin); {@link CnnTrainer} trains the weights.
 */
public final class CnnClassifier implements Classifier {
    /** Kim's widths. */
    public static final int[] DEFAULT_WIDTHS = {3, 4, 5};

    private final Device device;
    private final Vocabulary vocabulary;
    private final List<String> labels;
    private final int[] widths;
    private final int filters;
    private final int dim;
    private final int maxLength;
    private final Tensor table;
    private final Tensor params;
    private final long paramCount;
    // Forward state for backward: feature and argmax buffers (grown on demand), and the last batch.
    private Tensor feat;
    private Tensor argmax;
    private Tensor lastInputs;
    private Tensor lastLengths;
    private long lastRows;
    private long lastLength;
    private long generation; // bumped when feat/argmax are reallocated
    private boolean closed;

    private CnnClassifier(Device device, Vocabulary vocabulary, float[] embeddings, int dim, List<String> labels,
            int[] widths, int filters, int maxLength, float[] params) {
        if (labels.size() < 2) {
            throw new IllegalArgumentException("need at least 2 labels");
        }
        if (widths.length < 1 || widths.length > NativeCore.MO_CNN_MAX_WIDTHS) {
            throw new IllegalArgumentException("1 to " + NativeCore.MO_CNN_MAX_WIDTHS + " widths (got " + widths.length + ")");
        }
        if (dim <= 0 || filters <= 0 || maxLength <= 0) {
            throw new IllegalArgumentException("dimension, filters and max length must be positive");
        }
        if (embeddings.length != (long) vocabulary.size() * dim) {
            throw new IllegalArgumentException("embedding table has " + embeddings.length + " values, expected "
                    + vocabulary.size() + " x " + dim);
        }
        this.device = device;
        this.vocabulary = vocabulary;
        this.labels = List.copyOf(labels);
        this.widths = widths.clone();
        this.filters = filters;
        this.dim = dim;
        this.maxLength = maxLength;
        this.paramCount = NativeCore.mo_cnn_param_count(this.widths, widths.length, filters, dim, labels.size());
        if (params.length != paramCount) {
            throw new IllegalArgumentException("expected " + paramCount + " parameters, got " + params.length);
        }
        this.table = device.upload(embeddings, vocabulary.size(), dim);
        this.params = device.upload(params, paramCount);
    }

    /** A new classifier with randomly initialized convolution and output weights (uniform, 1/sqrt(fan-in) bound). */
    public static CnnClassifier create(Device device, Vocabulary vocabulary, float[] embeddings, int dim,
            List<String> labels, int[] widths, int filters, int maxLength, long seed) {
        int k = widths.length, c = labels.size();
        SplittableRandom rng = new SplittableRandom(seed);
        List<Float> values = new ArrayList<>();
        for (int w : widths) {
            double bound = 1.0 / Math.sqrt((double) w * dim);
            for (long j = 0; j < (long) filters * w * dim; j++) {
                values.add((float) ((rng.nextDouble() * 2 - 1) * bound));
            }
            for (int j = 0; j < filters; j++) {
                values.add(0f);
            }
        }
        double bound = 1.0 / Math.sqrt((double) k * filters);
        for (long j = 0; j < (long) c * k * filters; j++) {
            values.add((float) ((rng.nextDouble() * 2 - 1) * bound));
        }
        for (int j = 0; j < c; j++) {
            values.add(0f);
        }
        float[] p = new float[values.size()];
        for (int j = 0; j < p.length; j++) {
            p[j] = values.get(j);
        }
        return new CnnClassifier(device, vocabulary, embeddings, dim, labels, widths, filters, maxLength, p);
    }

    /** A classifier with the given weights (layout of {@link NativeCore#mo_cnn_param_count}), for model readers. */
    static CnnClassifier of(Device device, Vocabulary vocabulary, float[] embeddings, int dim, List<String> labels,
            int[] widths, int filters, int maxLength, float[] params) {
        return new CnnClassifier(device, vocabulary, embeddings, dim, labels, widths, filters, maxLength, params);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int embeddingDim() {
        return dim;
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    public Vocabulary vocabulary() {
        return vocabulary;
    }

    public int[] widths() {
        return widths.clone();
    }

    public int filters() {
        return filters;
    }

    /** Number of trainable weights (convolutions and output layer). */
    public long parameterCount() {
        return paramCount;
    }

    /** Whitespace tokens; unknown words map to {@link Vocabulary#UNK}; the baseline is {@link Vocabulary#PAD}. */
    @Override
    public Encoding encode(String text) {
        return encodeWords(Vocabulary.tokenize(text));
    }

    /** The given tokens, each looked up in the vocabulary as {@link Vocabulary#tokenize} would normalize it. */
    @Override
    public Encoding encodeWords(List<String> tokens) {
        int[] ids = new int[tokens.size()];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = vocabulary.id(tokens.get(j));
        }
        return Encoding.ofWords(tokens, ids, 0); // masked words become <pad>, the zero vector
    }

    @Override
    public void embed(Tensor ids, Tensor lengths, Tensor out) {
        ensureOpen();
        long n = ids.dim(0), t = ids.dim(1);
        expectShape(out, n, t, dim);
        check(NativeCore.mo_embed(ctx(device), f(out), i(ids), i(lengths), f(table), n, t, vocabulary.size(), dim), "embed");
    }

    @Override
    public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
        ensureOpen();
        long b = inputs.dim(0), t = inputs.dim(1);
        expectShape(inputs, b, t, dim);
        expectShape(logits, b, labels.size());
        ensureState(b);
        check(NativeCore.mo_cnn_forward(ctx(device), f(logits), f(feat), i(argmax), f(inputs), i(lengths), f(params),
                widths, widths.length, filters, labels.size(), b, t, dim), "cnn_forward");
        lastInputs = inputs;
        lastLengths = lengths;
        lastRows = b;
        lastLength = t;
    }

    @Override
    public void backward(Tensor dLogits, Tensor dInputs) {
        ensureForward(dLogits);
        expectShape(dInputs, lastRows, lastLength, dim);
        check(NativeCore.mo_cnn_backward_input(ctx(device), f(dInputs), f(dLogits), f(feat), i(argmax), i(lastLengths),
                f(params), widths, widths.length, filters, labels.size(), lastRows, lastLength, dim), "cnn_backward_input");
    }

    /** Writes the gradient of the last forward's loss w.r.t. the weights, summed over rows, given dLogits. */
    void backwardParams(Tensor dLogits, Tensor dParams) {
        ensureForward(dLogits);
        expectShape(dParams, paramCount);
        check(NativeCore.mo_cnn_backward_params(ctx(device), f(dParams), f(dLogits), f(feat), i(argmax), f(lastInputs),
                i(lastLengths), f(params), widths, widths.length, filters, labels.size(), lastRows, lastLength, dim),
                "cnn_backward_params");
    }

    Tensor params() {
        return params;
    }

    /** Forward and backward allocate only when a batch has more rows than any before (see {@link #ensureState}). */
    @Override
    public long bufferGeneration() {
        return generation;
    }

    /** The embedding table [V, D]. */
    Tensor table() {
        return table;
    }

    /** Saves the model (vocabulary, embeddings, weights) in maskopt's CNN format. */
    public void save(OutputStream stream) throws IOException {
        DataOutputStream out = new DataOutputStream(stream);
        out.writeInt(MAGIC);
        out.writeInt(dim);
        out.writeInt(filters);
        out.writeInt(maxLength);
        writeInts(out, widths);
        out.writeInt(labels.size());
        for (String l : labels) {
            out.writeUTF(l);
        }
        out.writeInt(vocabulary.size());
        for (String w : vocabulary.words()) {
            out.writeUTF(w);
        }
        writeFloats(out, table.toFloatArray());
        writeFloats(out, params.toFloatArray());
        out.flush();
    }

    /** Loads a model written by {@link #save} onto a device. */
    public static CnnClassifier load(InputStream stream, Device device) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        if (in.readInt() != MAGIC) {
            throw new IOException("not a maskopt CNN model file");
        }
        int dim = in.readInt(), filters = in.readInt(), maxLength = in.readInt();
        int[] widths = readInts(in);
        List<String> labels = new ArrayList<>();
        for (int n = in.readInt(), j = 0; j < n; j++) {
            labels.add(in.readUTF());
        }
        List<String> words = new ArrayList<>();
        for (int n = in.readInt(), j = 0; j < n; j++) {
            words.add(in.readUTF());
        }
        float[] table = readFloats(in);
        float[] params = readFloats(in);
        return new CnnClassifier(device, Vocabulary.fromWords(words), table, dim, labels, widths, filters, maxLength,
                params);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        table.close();
        params.close();
        if (feat != null) {
            feat.close();
            argmax.close();
        }
    }

    private static final int MAGIC = 0x4d4f434e; // "MOCN"

    private void ensureState(long rows) {
        long features = (long) widths.length * filters;
        if (feat == null || feat.dim(0) < rows) {
            if (feat != null) {
                feat.close();
                argmax.close();
            }
            feat = device.floats(rows, features);
            argmax = device.ints(rows, features);
            generation++;
        }
    }

    private void ensureForward(Tensor dLogits) {
        ensureOpen();
        if (lastInputs == null) {
            throw new IllegalStateException("backward before forward");
        }
        expectShape(dLogits, lastRows, labels.size());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    static void expectShape(Tensor t, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("expected shape " + Arrays.toString(shape) + ", got " + t);
        }
    }

    private static void writeInts(DataOutputStream out, int[] v) throws IOException {
        out.writeInt(v.length);
        for (int x : v) {
            out.writeInt(x);
        }
    }

    private static int[] readInts(DataInputStream in) throws IOException {
        int[] v = new int[in.readInt()];
        for (int j = 0; j < v.length; j++) {
            v[j] = in.readInt();
        }
        return v;
    }

    private static void writeFloats(DataOutputStream out, float[] v) throws IOException {
        out.writeInt(v.length);
        for (float x : v) {
            out.writeFloat(x);
        }
    }

    private static float[] readFloats(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("corrupt model file");
        }
        float[] v = new float[n];
        for (int j = 0; j < n; j++) {
            v[j] = in.readFloat();
        }
        return v;
    }
}
