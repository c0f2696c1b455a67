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
        int d = model.embeddingDim();
        float[][] out = new float[texts.size()][];
        List<Encoding> enc = new ArrayList<>();
        for (String t : texts) {
            enc.add(model.encode(t));
        }
        Integer[] order = new Integer[texts.size()];
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

    /** Softmax regression by full-batch Adam with L2; returns weights [d*2] followed by 2 biases. */
    static float[] train(float[][] x, int[] y, int epochs, double lr, double l2) {
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
                    double gj = (Math.exp(z[j] - mx) / s - (y[k] == j ? 1 : 0)) / n;
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
     * Trains the head: {@code SentimentHead <sst2-dir> <train-count> <out-file>}. Embeds a seeded sample of
     * SST-2 train with MiniLM, trains the head, prints SST-2 dev accuracy, writes the head.
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        List<String[]> train = readTsv(dir.resolve("train.tsv")), dev = readTsv(dir.resolve("dev.tsv"));
        java.util.Collections.shuffle(train, new java.util.Random(7));
        train = train.subList(0, Math.min(count, train.size()));
        try (Device device = Device.auto(); BertClassifier model = MiniLm.load(device, new float[384 * 2], new float[2])) {
            long t0 = System.nanoTime();
            float[][] xt = embed(model, train.stream().map(r -> r[0]).toList(), 64);
            float[][] xd = embed(model, dev.stream().map(r -> r[0]).toList(), 64);
            System.out.printf("embedded %d + %d texts on %s in %.1f s%n", xt.length, xd.length, device,
                    (System.nanoTime() - t0) / 1e9);
            int[] yt = train.stream().mapToInt(r -> Integer.parseInt(r[1].trim())).toArray();
            int[] yd = dev.stream().mapToInt(r -> Integer.parseInt(r[1].trim())).toArray();
            float[] head = train(xt, yt, 300, 0.05, 1e-4);
            System.out.printf("SST-2 train accuracy %.4f, dev accuracy %.4f%n", accuracy(xt, yt, head), accuracy(xd, yd, head));
            try (OutputStream out = Files.newOutputStream(Path.of(args[2]))) {
                write(head, out);
            }
        }
    }
}
