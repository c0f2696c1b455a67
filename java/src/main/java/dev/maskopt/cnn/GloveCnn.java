package dev.maskopt.cnn;

import dev.maskopt.Device;
import dev.maskopt.text.GloVe;
import dev.maskopt.text.Vocabulary;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Kim's CNN-static over GloVe vectors. The vocabulary is the corpus words that GloVe covers, each embedded as
 * its frozen GloVe vector; every other word shares one unknown-word vector ({@link Vocabulary#UNK});
 * {@link Vocabulary#PAD} is the zero vector, the explainer's baseline.
 *
 * <p>The model file holds the vocabulary, the unknown-word vector and the trained weights, not the table: at
 * load the table is rebuilt from the GloVe file and checked against the SHA-256 digest saved with the model,
 * so a model cannot silently run on other vectors.
 */
public final class GloveCnn {
    private static final int MAGIC = 0x4d4f4756; // "MOGV"
    private static final int VERSION = 1;

    private GloveCnn() {}

    /**
     * The vocabulary of the corpus words (normalized by {@link Vocabulary#normalize}) that have a GloVe vector,
     * in order of first appearance, after {@link Vocabulary#PAD} and {@link Vocabulary#UNK}.
     */
    public static Vocabulary vocabulary(GloVe glove, Iterable<String> words) {
        Set<String> covered = new LinkedHashSet<>();
        for (String w : words) {
            String n = Vocabulary.normalize(w);
            if (glove.contains(n)) {
                covered.add(n);
            }
        }
        return Vocabulary.of(covered);
    }

    /**
     * Kim's vector for words without a pretrained one: uniform per dimension, with the variance that dimension
     * has over the vocabulary's GloVe vectors.
     */
    public static float[] unknownVector(GloVe glove, Vocabulary vocabulary, long seed) {
        int dim = glove.dim();
        double[] sum = new double[dim], sq = new double[dim];
        float[] v = new float[dim];
        int n = 0;
        for (int id = 2; id < vocabulary.size(); id++) {
            if (!glove.copyTo(vocabulary.word(id), v, 0)) {
                throw new IllegalArgumentException("GloVe has no vector for vocabulary word '" + vocabulary.word(id) + "'");
            }
            for (int d = 0; d < dim; d++) {
                sum[d] += v[d];
                sq[d] += (double) v[d] * v[d];
            }
            n++;
        }
        if (n == 0) {
            throw new IllegalArgumentException("the vocabulary has no word with a GloVe vector");
        }
        SplittableRandom rng = new SplittableRandom(seed).split(); // not the stream that initializes the weights
        float[] unknown = new float[dim];
        for (int d = 0; d < dim; d++) {
            double mean = sum[d] / n, var = Math.max(0, sq[d] / n - mean * mean);
            double bound = Math.sqrt(3 * var); // U[-a, a] has variance a^2 / 3
            unknown[d] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return unknown;
    }

    /** The embedding table [V, D]: zeros for PAD, {@code unknown} for UNK, the GloVe vector for every other word. */
    public static float[] table(GloVe glove, Vocabulary vocabulary, float[] unknown) {
        int dim = glove.dim();
        if (unknown.length != dim) {
            throw new IllegalArgumentException("unknown-word vector has " + unknown.length + " values, GloVe " + dim);
        }
        float[] table = new float[Math.multiplyExact(vocabulary.size(), dim)];
        System.arraycopy(unknown, 0, table, dim, dim);
        for (int id = 2; id < vocabulary.size(); id++) {
            if (!glove.copyTo(vocabulary.word(id), table, id * dim)) {
                throw new IllegalArgumentException("GloVe has no vector for vocabulary word '" + vocabulary.word(id) + "'");
            }
        }
        return table;
    }

    /** A new, untrained classifier over the vocabulary's GloVe vectors (weights and unknown vector from {@code seed}). */
    public static CnnClassifier create(Device device, GloVe glove, Vocabulary vocabulary, List<String> labels,
            int[] widths, int filters, int maxLength, long seed) {
        float[] table = table(glove, vocabulary, unknownVector(glove, vocabulary, seed));
        return CnnClassifier.create(device, vocabulary, table, glove.dim(), labels, widths, filters, maxLength, seed);
    }

    /** Writes the model without its embedding table (see the class comment); the stream is flushed, not closed. */
    public static void save(CnnClassifier model, OutputStream stream) throws IOException {
        int dim = model.embeddingDim();
        float[] table = model.table().toFloatArray();
        for (int d = 0; d < dim; d++) {
            if (table[d] != 0f) {
                throw new IllegalArgumentException("the " + Vocabulary.PAD + " row is not the zero vector: not a GloVe CNN");
            }
        }
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(stream, 1 << 16));
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(dim);
        out.writeInt(model.filters());
        out.writeInt(model.maxLength());
        int[] widths = model.widths();
        out.writeInt(widths.length);
        for (int w : widths) {
            out.writeInt(w);
        }
        out.writeInt(model.labels().size());
        for (String l : model.labels()) {
            out.writeUTF(l);
        }
        List<String> words = model.vocabulary().words();
        out.writeInt(words.size());
        for (String w : words) {
            out.writeUTF(w);
        }
        for (int d = 0; d < dim; d++) {
            out.writeFloat(table[dim + d]);
        }
        out.write(sha256(table));
        float[] params = model.params().toFloatArray();
        out.writeInt(params.length);
        for (float x : params) {
            out.writeFloat(x);
        }
        out.flush();
    }

    /** Writes the model to a file (see {@link #save(CnnClassifier, OutputStream)}). */
    public static void save(CnnClassifier model, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            save(model, out);
        }
    }

    /**
     * Reads a model written by {@link #save}, rebuilding its table from {@code glove}; fails when GloVe lacks a
     * vocabulary word or the rebuilt table differs from the one the model was trained with.
     */
    public static CnnClassifier load(InputStream stream, GloVe glove, Device device) throws IOException {
        return read(stream).build(glove, device);
    }

    /** Reads a model file and, of the GloVe file, only the vectors of the model's vocabulary. */
    public static CnnClassifier load(Path modelFile, Path gloveFile, Device device) throws IOException {
        Saved saved;
        try (InputStream in = Files.newInputStream(modelFile)) {
            saved = read(in);
        }
        Set<String> wanted = new HashSet<>(saved.words);
        return saved.build(GloVe.read(gloveFile, wanted::contains), device);
    }

    /** A model file's contents before the table is rebuilt. */
    private record Saved(int dim, int filters, int maxLength, int[] widths, List<String> labels, List<String> words,
            float[] unknown, byte[] digest, float[] params) {
        CnnClassifier build(GloVe glove, Device device) throws IOException {
            if (glove.dim() != dim) {
                throw new IOException("model expects " + dim + "-d word vectors, the GloVe file has " + glove.dim());
            }
            Vocabulary vocabulary;
            try {
                vocabulary = Vocabulary.fromWords(words);
            } catch (IllegalArgumentException e) {
                throw new IOException("corrupt model file: " + e.getMessage(), e);
            }
            float[] table;
            try {
                table = table(glove, vocabulary, unknown);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage() + ": not the GloVe file the model was trained with", e);
            }
            if (!MessageDigest.isEqual(digest, sha256(table))) {
                throw new IOException("the embedding table rebuilt from GloVe differs from the one the model was"
                        + " trained with (SHA-256 mismatch): not the same GloVe file");
            }
            try {
                return CnnClassifier.of(device, vocabulary, table, dim, labels, widths, filters, maxLength, params);
            } catch (IllegalArgumentException e) {
                throw new IOException("corrupt model file: " + e.getMessage(), e);
            }
        }
    }

    private static Saved read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(stream, 1 << 16));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a maskopt GloVe CNN model file");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("unsupported GloVe CNN model version " + version + " (this build reads " + VERSION + ")");
        }
        int dim = in.readInt(), filters = in.readInt(), maxLength = in.readInt();
        int[] widths = new int[count(in, 64)];
        for (int k = 0; k < widths.length; k++) {
            widths[k] = in.readInt();
        }
        List<String> labels = new ArrayList<>();
        for (int n = count(in, 1 << 16), j = 0; j < n; j++) {
            labels.add(in.readUTF());
        }
        List<String> words = new ArrayList<>();
        for (int n = count(in, Integer.MAX_VALUE), j = 0; j < n; j++) {
            words.add(in.readUTF());
        }
        if (dim <= 0 || dim > 1 << 16) {
            throw new IOException("corrupt model file: dimension " + dim);
        }
        float[] unknown = new float[dim];
        for (int d = 0; d < dim; d++) {
            unknown[d] = in.readFloat();
        }
        byte[] digest = in.readNBytes(32);
        if (digest.length != 32) {
            throw new IOException("truncated model file");
        }
        long expected = (long) labels.size() * (widths.length * (long) filters + 1);
        for (int w : widths) {
            expected += (long) filters * ((long) w * dim + 1);
        }
        int n = in.readInt();
        if (n != expected) {
            throw new IOException("corrupt model file: " + n + " weights, the architecture has " + expected);
        }
        float[] params = new float[n];
        for (int j = 0; j < params.length; j++) {
            params[j] = in.readFloat();
        }
        return new Saved(dim, filters, maxLength, widths, labels, words, unknown, digest, params);
    }

    private static int count(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("corrupt model file: count " + n);
        }
        return n;
    }

    private static byte[] sha256(float[] table) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            for (float x : table) {
                if (!buf.hasRemaining()) {
                    sha.update(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putFloat(x);
            }
            sha.update(buf.array(), 0, buf.position());
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
