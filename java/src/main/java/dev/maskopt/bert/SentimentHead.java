package dev.maskopt.bert;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.internal.Batch;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A linear sentiment head on mean-pooled MiniLM sentence embeddings: the embeddings are computed with
 * maskopt's own encoder, the head is a softmax regression trained on the host (770 weights).
 * {@link #main} reproduces the shipped head from SST-2 (see the README).
 */
public final class SentimentHead {
    public static final List<String> LABELS = List.of("negative", "positive");

    private SentimentHead() {}

    /** Mean-pooled embeddings [texts][hidden], computed in length-sorted batches. */
    static float[][] embed(BertClassifier model, List<String> texts, int batch) {
        List<Encoding> enc = new ArrayList<>();
        for (String t : texts) {
            enc.add(model.encode(t));
        }
        return embedEncoded(model, enc, batch);
    }

    /** As {@link #embed}, for encoded texts (long ones are read in windows: their mean embedding). */
    static float[][] embedEncoded(BertClassifier model, List<Encoding> enc, int batch) {
        int d = model.embeddingDim();
        float[][] out = new float[enc.size()][];
        Integer[] order = new Integer[enc.size()];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        java.util.Arrays.sort(order, Comparator.comparingInt(k -> enc.get(k).length()));
        for (int from = 0; from < order.length; from += batch) {
            int to = Math.min(order.length, from + batch);
            List<Encoding> part = new ArrayList<>();
            for (int k = from; k < to; k++) {
                part.add(enc.get(order[k]));
            }
            try (Batch b = Batch.of(model, part)) {
                b.probabilities(model);
                float[] pooled = model.pooled().toFloatArray();
                for (int k = from; k < to; k++) {
                    out[order[k]] = java.util.Arrays.copyOfRange(pooled, (k - from) * d, (k - from + 1) * d);
                }
            }
        }
        return out;
    }

    /**
     * Softmax regression by full-batch Adam with L2, example k weighing {@code weight[k]} (weights sum to 1);
     * returns weights [d*2] followed by 2 biases.
     */
    static float[] train(float[][] x, int[] y, double[] weight, int epochs, double lr, double l2) {
        int d = x[0].length, c = 2, n = x.length, p = d * c + c;
        double[] w = new double[p], m = new double[p], v = new double[p], g = new double[p];
        for (int e = 1; e <= epochs; e++) {
            java.util.Arrays.fill(g, 0);
            for (int k = 0; k < n; k++) {
                double[] z = new double[c];
                for (int j = 0; j < c; j++) {
                    z[j] = w[d * c + j];
                    for (int i = 0; i < d; i++) {
                        z[j] += x[k][i] * w[i * c + j];
                    }
                }
                double mx = Math.max(z[0], z[1]), s = Math.exp(z[0] - mx) + Math.exp(z[1] - mx);
                for (int j = 0; j < c; j++) {
                    double gj = (Math.exp(z[j] - mx) / s - (y[k] == j ? 1 : 0)) * weight[k];
                    g[d * c + j] += gj;
                    for (int i = 0; i < d; i++) {
                        g[i * c + j] += gj * x[k][i];
                    }
                }
            }
            for (int i = 0; i < d * c; i++) {
                g[i] += l2 * w[i];
            }
            for (int i = 0; i < p; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                w[i] -= lr * (m[i] / (1 - Math.pow(0.9, e))) / (Math.sqrt(v[i] / (1 - Math.pow(0.999, e))) + 1e-8);
            }
        }
        float[] out = new float[p];
        for (int i = 0; i < p; i++) {
            out[i] = (float) w[i];
        }
        return out;
    }

    static double accuracy(float[][] x, int[] y, float[] head) {
        int d = x[0].length, right = 0;
        for (int k = 0; k < x.length; k++) {
            double z0 = head[2 * d], z1 = head[2 * d + 1];
            for (int i = 0; i < d; i++) {
                z0 += x[k][i] * head[2 * i];
                z1 += x[k][i] * head[2 * i + 1];
            }
            right += (z1 > z0 ? 1 : 0) == y[k] ? 1 : 0;
        }
        return (double) right / x.length;
    }

    public static void write(float[] head, OutputStream stream) throws IOException {
        DataOutputStream out = new DataOutputStream(stream);
        out.writeInt(head.length);
        for (float f : head) {
            out.writeFloat(f);
        }
        out.flush();
    }

    public static float[] read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        float[] h = new float[in.readInt()];
        for (int i = 0; i < h.length; i++) {
            h[i] = in.readFloat();
        }
        return h;
    }

    /** Labeled lines of an SST-2 TSV file (header skipped). */
    static List<String[]> readTsv(Path file) throws IOException {
        List<String[]> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (String line : lines.subList(1, lines.size())) {
            rows.add(line.split("\t"));
        }
        return rows;
    }

    /**
     * Trains the head: {@code SentimentHead <sst2-dir> <train-count> <out-file> [<eraser-movies-dir> <movies-weight>]}.
     * Embeds a seeded sample of {@code train-count} SST-2 train phrases with MiniLM and, when an ERASER Movies
     * directory is given, its 1,600 train reviews (read in windows, each a mean embedding); the reviews carry
     * {@code movies-weight} of the loss (0 to 1; the phrases the rest). Prints SST-2 dev accuracy, and ERASER
     * Movies val and test accuracy when the directory is given, and writes the head.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 3 && args.length != 5) {
            throw new IllegalArgumentException(
                    "usage: SentimentHead <sst2-dir> <train-count> <out-file> [<eraser-movies-dir> <movies-weight>]");
        }
        Path dir = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        Path movies = args.length == 5 ? Path.of(args[3]) : null;
        double movieWeight = movies == null ? 0 : Double.parseDouble(args[4]);
        if (!(movieWeight >= 0 && movieWeight <= 1) || (count == 0 && movieWeight != 1)) {
            throw new IllegalArgumentException("movies-weight must be in [0, 1], and 1 when no phrase is used");
        }
        List<String[]> train = readTsv(dir.resolve("train.tsv")), dev = readTsv(dir.resolve("dev.tsv"));
        java.util.Collections.shuffle(train, new java.util.Random(7));
        train = train.subList(0, Math.min(count, train.size()));
        try (Device device = Device.auto(); BertClassifier model = MiniLm.load(device, new float[384 * 2], new float[2])) {
            long t0 = System.nanoTime();
            float[][] xt = embed(model, train.stream().map(r -> r[0]).toList(), 64);
            float[][] xd = embed(model, dev.stream().map(r -> r[0]).toList(), 64);
            int[] yt = train.stream().mapToInt(r -> Integer.parseInt(r[1].trim())).toArray();
            int[] yd = dev.stream().mapToInt(r -> Integer.parseInt(r[1].trim())).toArray();
            Reviews mt = null, mv = null, ms = null;
            if (movies != null) {
                mt = Reviews.read(model, movies, "train");
                mv = Reviews.read(model, movies, "val");
                ms = Reviews.read(model, movies, "test");
            }
            System.out.printf("embedded %d phrases + %d dev sentences%s on %s in %.1f s%n", xt.length, xd.length,
                    movies == null ? "" : " + " + (mt.y.length + mv.y.length + ms.y.length) + " reviews", device,
                    (System.nanoTime() - t0) / 1e9);
            int m = mt == null ? 0 : mt.y.length;
            float[][] x = java.util.Arrays.copyOf(xt, xt.length + m);
            int[] y = java.util.Arrays.copyOf(yt, yt.length + m);
            double[] w = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                w[k] = k < xt.length ? (1 - movieWeight) / xt.length : movieWeight / m;
                if (k >= xt.length) {
                    x[k] = mt.x[k - xt.length];
                    y[k] = mt.y[k - xt.length];
                }
            }
            float[] head = train(x, y, w, 300, 0.05, 1e-4);
            if (xt.length > 0) {
                System.out.printf("SST-2 train accuracy %.4f%n", accuracy(xt, yt, head));
            }
            System.out.printf("SST-2 dev accuracy %.4f%n", accuracy(xd, yd, head));
            if (movies != null) {
                System.out.printf("ERASER Movies train accuracy %.4f, val %.4f, test %.4f%n", accuracy(mt.x, mt.y, head),
                        accuracy(mv.x, mv.y, head), accuracy(ms.x, ms.y, head));
            }
            try (OutputStream out = Files.newOutputStream(Path.of(args[2]))) {
                write(head, out);
            }
        }
    }

    /** Mean embeddings and labels (0 NEG, 1 POS) of one ERASER Movies split. */
    record Reviews(float[][] x, int[] y) {
        static Reviews read(BertClassifier model, Path dir, String split) throws IOException {
            List<Encoding> enc = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            for (String line : Files.readAllLines(dir.resolve(split + ".jsonl"))) {
                if (line.isBlank()) {
                    continue;
                }
                com.fasterxml.jackson.databind.JsonNode a = json.readTree(line);
                List<String> tokens = new ArrayList<>();
                for (String l : Files.readAllLines(dir.resolve("docs").resolve(a.get("annotation_id").asText()))) {
                    for (String t : l.strip().split("\\s+")) {
                        if (!t.isEmpty()) {
                            tokens.add(t);
                        }
                    }
                }
                enc.add(model.encodeWords(tokens));
                labels.add(a.get("classification").asText().equals("POS") ? 1 : 0);
            }
            return new Reviews(embedEncoded(model, enc, 1), labels.stream().mapToInt(Integer::intValue).toArray());
        }
    }
}
