package dev.maskopt.cnn;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Tensor;
import dev.maskopt.internal.Batch;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Trains a {@link CnnClassifier}'s weights with softmax cross-entropy and the fused AdamW kernel, in shuffled
 * mini-batches, entirely on the model's device.
 */
public final class CnnTrainer {
    /**
     * Training settings.
     *
     * @param epochs passes over the data
     * @param batchSize texts per step
     * @param learningRate Adam learning rate
     * @param weightDecay decoupled weight decay
     * @param seed shuffling seed
     */
    public record Options(int epochs, int batchSize, double learningRate, double weightDecay, long seed) {
        public Options {
            if (epochs <= 0 || batchSize <= 0 || !(learningRate > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("epochs, batch size and learning rate must be positive, weight decay >= 0");
            }
        }

        public static Options defaults() {
            return new Options(8, 32, 3e-3, 1e-4, 0);
        }
    }

    /** A labeled text. */
    public record Example(String text, int label) {}

    private CnnTrainer() {}

    /**
     * Trains the model in place; returns the mean training loss of each epoch. {@code onEpoch} (may be null)
     * receives the number of finished epochs.
     */
    public static double[] train(CnnClassifier model, List<Example> data, Options options, IntConsumer onEpoch) {
        if (data.isEmpty()) {
            throw new IllegalArgumentException("no training data");
        }
        Device dev = model.device();
        int c = model.labels().size();
        List<Encoding> encodings = new ArrayList<>(data.size());
        for (Example e : data) {
            if (e.label() < 0 || e.label() >= c) {
                throw new IllegalArgumentException("label " + e.label() + " outside [0, " + c + ")");
            }
            Encoding enc = model.encode(e.text());
            if (enc.length() == 0 || enc.length() > model.maxLength()) {
                throw new IllegalArgumentException("training text has " + enc.length() + " tokens (allowed 1.."
                        + model.maxLength() + ")");
            }
            encodings.add(enc);
        }
        long p = model.parameterCount();
        double[] losses = new double[options.epochs()];
        SplittableRandom rng = new SplittableRandom(options.seed());
        int[] order = new int[data.size()];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        long step = 0;
        try (Tensor m = dev.floats(p); Tensor v = dev.floats(p); Tensor grad = dev.floats(p)) {
            m.fill(0f);
            v.fill(0f);
            for (int epoch = 0; epoch < options.epochs(); epoch++) {
                shuffle(order, rng);
                double sum = 0;
                for (int from = 0; from < order.length; from += options.batchSize()) {
                    int to = Math.min(order.length, from + options.batchSize());
                    List<Encoding> batchEnc = new ArrayList<>(to - from);
                    int[] labels = new int[to - from];
                    for (int k = from; k < to; k++) {
                        batchEnc.add(encodings.get(order[k]));
                        labels[k - from] = data.get(order[k]).label();
                    }
                    sum += step(model, batchEnc, labels, grad, m, v, ++step, options);
                }
                losses[epoch] = sum / order.length;
                if (onEpoch != null) {
                    onEpoch.accept(epoch + 1);
                }
            }
        }
        return losses;
    }

    /** One Adam step on a mini-batch; returns the summed loss. */
    private static double step(CnnClassifier model, List<Encoding> encodings, int[] labels, Tensor grad, Tensor m,
            Tensor v, long step, Options options) {
        Device dev = model.device();
        int c = model.labels().size(), b = labels.length;
        try (Batch batch = Batch.of(model, encodings);
                Tensor labelT = dev.upload(labels, b);
                Tensor logits = dev.floats(b, c);
                Tensor dLogits = dev.floats(b, c);
                Tensor loss = dev.floats(b)) {
            model.forward(batch.embeddings, batch.lengthsTensor, logits);
            check(NativeCore.mo_cross_entropy(ctx(dev), f(loss), f(dLogits), f(logits), i(labelT), b, c, 1f / b),
                    "cross_entropy");
            model.backwardParams(dLogits, grad);
            check(NativeCore.mo_adam_update(ctx(dev), f(model.params()), f(m), f(v), f(grad), model.parameterCount(),
                    (float) options.learningRate(), 0.9f, 0.999f, 1e-8f, (float) options.weightDecay(), step),
                    "adam_update");
            double sum = 0;
            for (float x : loss.toFloatArray()) {
                sum += x;
            }
            return sum;
        }
    }

    /** Predicted class of each text, batched. */
    public static int[] predict(CnnClassifier model, List<String> texts, int batchSize) {
        int c = model.labels().size();
        int[] out = new int[texts.size()];
        for (int from = 0; from < texts.size(); from += batchSize) {
            int to = Math.min(texts.size(), from + batchSize);
            List<Encoding> enc = new ArrayList<>();
            for (String t : texts.subList(from, to)) {
                enc.add(model.encode(t));
            }
            try (Batch batch = Batch.of(model, enc)) {
                float[] probs = batch.probabilities(model);
                for (int k = 0; k < to - from; k++) {
                    int best = 0;
                    for (int j = 1; j < c; j++) {
                        if (probs[k * c + j] > probs[k * c + best]) {
                            best = j;
                        }
                    }
                    out[from + k] = best;
                }
            }
        }
        return out;
    }

    private static void shuffle(int[] a, SplittableRandom rng) {
        for (int k = a.length - 1; k > 0; k--) {
            int j = rng.nextInt(k + 1);
            int tmp = a[k];
            a[k] = a[j];
            a[j] = tmp;
        }
    }
}
