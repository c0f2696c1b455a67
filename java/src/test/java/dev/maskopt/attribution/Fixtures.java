package dev.maskopt.attribution;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.Vocabulary;
import java.util.Arrays;
import java.util.List;

/** Models and double-precision references shared by the attribution tests. */
final class Fixtures {
    private Fixtures() {}

    /** An untrained CNN over the planted task's words (random weights, scaled up so outputs vary). */
    static CnnClassifier cnn(Device device, List<String> labels, long seed) {
        Vocabulary vocab = PlantedTask.vocabulary();
        int dim = 8;
        float[] table = PlantedTask.embeddings(vocab, dim, seed);
        for (int k = 0; k < table.length; k++) {
            table[k] *= 4; // larger inputs: logits far enough from 0 that probabilities move
        }
        return CnnClassifier.create(device, vocab, table, dim, labels, new int[] {1, 2, 3}, 6, 40, seed);
    }

    /** The target output F of the model on raw input rows {@code x[r]} ([T,D] each, all length T), in double. */
    static double[] outputs(Classifier model, List<float[]> rows, int t, int target, Output output) {
        Device dev = model.device();
        int n = rows.size(), c = model.labels().size(), d = model.embeddingDim();
        float[] x = new float[n * t * d];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows.get(r), 0, x, r * t * d, t * d);
        }
        int[] lens = new int[n];
        Arrays.fill(lens, t);
        try (Tensor in = dev.upload(x, n, t, d); Tensor len = dev.upload(lens, n); Tensor logits = dev.floats(n, c)) {
            model.forward(in, len, logits);
            float[] z = logits.toFloatArray();
            double[] out = new double[n];
            for (int r = 0; r < n; r++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < c; j++) {
                    max = Math.max(max, z[r * c + j]);
                }
                for (int j = 0; j < c; j++) {
                    sum += Math.exp(z[r * c + j] - max);
                }
                double logP = z[r * c + target] - max - Math.log(sum);
                out[r] = switch (output) {
                    case LOGIT -> z[r * c + target];
                    case LOG_PROBABILITY -> logP;
                    case PROBABILITY -> Math.exp(logP);
                };
            }
            return out;
        }
    }

    /** dF/dx [T*D] for each raw input row (all of length T), F's gradient w.r.t. the logits taken in double. */
    static List<float[]> gradients(Classifier model, List<float[]> rows, int t, int target, Output output) {
        Device dev = model.device();
        int n = rows.size(), c = model.labels().size(), d = model.embeddingDim();
        float[] x = new float[n * t * d];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows.get(r), 0, x, r * t * d, t * d);
        }
        int[] lens = new int[n];
        Arrays.fill(lens, t);
        try (Tensor in = dev.upload(x, n, t, d); Tensor len = dev.upload(lens, n); Tensor logits = dev.floats(n, c);
                Tensor dLogits = dev.floats(n, c); Tensor dIn = dev.floats(n, t, d)) {
            model.forward(in, len, logits);
            float[] z = logits.toFloatArray(), g = new float[n * c];
            for (int r = 0; r < n; r++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < c; j++) {
                    max = Math.max(max, z[r * c + j]);
                }
                for (int j = 0; j < c; j++) {
                    sum += Math.exp(z[r * c + j] - max);
                }
                double py = Math.exp(z[r * c + target] - max) / sum;
                for (int j = 0; j < c; j++) {
                    double pj = Math.exp(z[r * c + j] - max) / sum, delta = j == target ? 1 : 0;
                    g[r * c + j] = (float) switch (output) {
                        case LOGIT -> delta;
                        case LOG_PROBABILITY -> delta - pj;
                        case PROBABILITY -> py * (delta - pj);
                    };
                }
            }
            dLogits.copyFrom(g);
            model.backward(dLogits, dIn);
            float[] all = dIn.toFloatArray();
            List<float[]> out = new java.util.ArrayList<>(n);
            for (int r = 0; r < n; r++) {
                out.add(Arrays.copyOfRange(all, r * t * d, (r + 1) * t * d));
            }
            return out;
        }
    }

    /** The model's embeddings [T,D] of token ids. */
    static float[] embed(Classifier model, int[] ids) {
        Device dev = model.device();
        try (Tensor id = dev.upload(ids, 1, ids.length); Tensor len = dev.upload(new int[] {ids.length}, 1);
                Tensor out = dev.floats(1, ids.length, model.embeddingDim())) {
            model.embed(id, len, out);
            return out.toFloatArray();
        }
    }

    /** Tensors open on the device (Device keeps the count package-private; tests read it reflectively). */
    static int liveTensors(Device device) {
        try {
            var m = Device.class.getDeclaredMethod("liveTensors");
            m.setAccessible(true);
            return (int) m.invoke(device);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** Elementwise {@code |a - b| <= atol + rtol |b|}; reports the largest difference and the first mismatches. */
    static void assertClose(double[] expected, double[] actual, double atol, double rtol, String what) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        double worst = 0;
        StringBuilder bad = new StringBuilder();
        int mismatches = 0;
        for (int k = 0; k < expected.length; k++) {
            double diff = Math.abs(expected[k] - actual[k]);
            worst = Math.max(worst, diff);
            if (!(diff <= atol + rtol * Math.abs(expected[k]))) {
                if (mismatches++ < 5) {
                    bad.append(String.format(" [%d] expected %.8g got %.8g;", k, expected[k], actual[k]));
                }
            }
        }
        assertTrue(mismatches == 0, what + ": " + mismatches + " mismatches, max |diff| " + worst + ":" + bad);
    }

    static double sum(double[] v) {
        return Arrays.stream(v).sum();
    }
}
