package dev.maskopt.text;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.tukaani.xz.XZInputStream;

/**
 * Word vectors in GloVe's text format (Pennington et al. 2014): one line per word, the word then its
 * components, separated by single spaces. Plain or xz-compressed input (recognized by the xz magic bytes).
 * Words are kept as written (the 6B vectors are lowercase).
 */
public final class GloVe {
    private static final byte[] XZ_MAGIC = {(byte) 0xFD, '7', 'z', 'X', 'Z', 0};

    private final int dim;
    private final Map<String, float[]> vectors;

    private GloVe(int dim, Map<String, float[]> vectors) {
        this.dim = dim;
        this.vectors = vectors;
    }

    /** Reads every vector of a file. */
    public static GloVe read(Path file) throws IOException {
        return read(file, w -> true);
    }

    /**
     * Reads the vectors of the words that {@code keep} accepts. Every line is still checked for its number of
     * values, so a damaged file fails whatever the filter; only the kept lines' numbers are parsed.
     */
    public static GloVe read(Path file, Predicate<String> keep) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, keep, file.toString());
        }
    }

    /** Reads vectors from a stream (plain or xz; not closed), keeping the words {@code keep} accepts. */
    public static GloVe read(InputStream stream, Predicate<String> keep) throws IOException {
        return read(stream, keep, "GloVe stream");
    }

    private static GloVe read(InputStream stream, Predicate<String> keep, String source) throws IOException {
        BufferedInputStream in = new BufferedInputStream(stream, 1 << 16);
        in.mark(XZ_MAGIC.length);
        byte[] head = in.readNBytes(XZ_MAGIC.length);
        in.reset();
        InputStream text = java.util.Arrays.equals(head, XZ_MAGIC) ? new XZInputStream(in) : in;
        BufferedReader reader = new BufferedReader(new InputStreamReader(text, StandardCharsets.UTF_8), 1 << 16);
        Map<String, float[]> vectors = new LinkedHashMap<>();
        int dim = -1;
        long lineNo = 0;
        for (String line; (line = reader.readLine()) != null; ) {
            lineNo++;
            if (line.isEmpty()) {
                continue;
            }
            int fields = 1;
            for (int k = 0; k < line.length(); k++) {
                fields += line.charAt(k) == ' ' ? 1 : 0;
            }
            if (dim < 0) {
                dim = fields - 1;
                if (dim < 1) {
                    throw new IOException(source + ": line " + lineNo + " has a word but no vector");
                }
            } else if (fields - 1 != dim) {
                throw new IOException(source + ": line " + lineNo + " has " + (fields - 1) + " values, expected "
                        + dim);
            }
            int end = line.indexOf(' ');
            String word = line.substring(0, end);
            if (word.isEmpty()) {
                throw new IOException(source + ": line " + lineNo + " has an empty word");
            }
            if (!keep.test(word)) {
                continue;
            }
            float[] v = new float[dim];
            for (int d = 0; d < dim; d++) {
                int start = end + 1;
                end = d + 1 < dim ? line.indexOf(' ', start) : line.length();
                try {
                    v[d] = Float.parseFloat(line.substring(start, end));
                } catch (NumberFormatException e) {
                    throw new IOException(source + ": line " + lineNo + ", value " + (d + 1) + " is not a number: '"
                            + line.substring(start, end) + "'");
                }
            }
            if (vectors.put(word, v) != null) {
                throw new IOException(source + ": word '" + word + "' appears twice (line " + lineNo + ")");
            }
        }
        if (dim < 0) {
            throw new IOException(source + " holds no vectors");
        }
        return new GloVe(dim, vectors);
    }

    /** Width of the vectors. */
    public int dim() {
        return dim;
    }

    /** Number of words read (after the filter). */
    public int size() {
        return vectors.size();
    }

    /** The words read, in file order. */
    public Set<String> words() {
        return Collections.unmodifiableSet(vectors.keySet());
    }

    /** Whether {@code word} (exactly as written) has a vector. */
    public boolean contains(String word) {
        return vectors.containsKey(word);
    }

    /** A copy of {@code word}'s vector, or null when it has none. */
    public float[] vector(String word) {
        float[] v = vectors.get(word);
        return v == null ? null : v.clone();
    }

    /** Copies {@code word}'s vector into {@code out} at {@code offset}; false (nothing written) when it has none. */
    public boolean copyTo(String word, float[] out, int offset) {
        float[] v = vectors.get(word);
        if (v == null) {
            return false;
        }
        System.arraycopy(v, 0, out, offset, dim);
        return true;
    }
}
