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
import dev.maskopt.text.Vocabulary;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
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
     * @param seed shuffling (and word dropout) seed
     * @param wordDropout probability that a training token is replaced by {@link Vocabulary#PAD} (the zero
     *     vector, the explainer's baseline) in a step; 0 turns it off
     */
    public record Options(int epochs, int batchSize, double learningRate, double weightDecay, long seed,
            double wordDropout) {
        public Options {
            if (epochs <= 0 || batchSize <= 0 || !(learningRate > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("epochs, batch size and learning rate must be positive, weight decay >= 0");
            }
            if (!(wordDropout >= 0 && wordDropout < 1)) {
                throw new IllegalArgumentException("word dropout must be in [0, 1), got " + wordDropout);
            }
        }

        /** Settings without word dropout. */
        public Options(int epochs, int batchSize, double learningRate, double weightDecay, long seed) {
            this(epochs, batchSize, learningRate, weightDecay, seed, 0);
        }

        public static Options defaults() {
            return new Options(8, 32, 3e-3, 1e-4, 0);
        }
    }

    /** A labeled text. */
    public record Example(String text, int label) {}

    /**
     * One finished epoch of {@link #train(CnnClassifier, List, List, Options, Consumer)}.
     *
     * @param epoch 1-based
     * @param trainLoss mean cross-entropy over the epoch's steps (with dropout, as trained)
     * @param validationAccuracy accuracy on the validation texts after the epoch
     * @param trainSeconds time of the epoch's training steps
     * @param validationSeconds time of the validation pass
     */
    public record Epoch(int epoch, double trainLoss, double validationAccuracy, double trainSeconds,
            double validationSeconds) {}

    /**
     * The epochs of a run with validation, and the one whose weights the model was left with.
     *
     * @param epochs every epoch, in order
     * @param best the epoch with the highest validation accuracy (the earliest on ties)
     */
    public record History(List<Epoch> epochs, Epoch best) {
        public History {
            epochs = List.copyOf(epochs);
        }
    }

    private CnnTrainer() {}

    /**
     * Trains the model in place; returns the mean training loss of each epoch. {@code onEpoch} (may be null)
     * receives the number of finished epochs.
     */
    public static double[] train(CnnClassifier model, List<Example> data, Options options, IntConsumer onEpoch) {
        return run(model, data, options, (epoch, loss) -> {
            if (onEpoch != null) {
                onEpoch.accept(epoch);
            }
        });
    }

    /**
     * Trains the model in place for {@code options.epochs()}, measures accuracy on {@code validation} after each
     * epoch, and leaves the model with the weights of the epoch of highest validation accuracy (early stopping
     * by selection: every epoch still runs). {@code listener} (may be null) receives each epoch as it ends.
     */
    public static History train(CnnClassifier model, List<Example> data, List<Example> validation, Options options,
            Consumer<Epoch> listener) {
        if (validation.isEmpty()) {
            throw new IllegalArgumentException("no validation data");
        }
        for (Example e : validation) {
            if (e.label() < 0 || e.label() >= model.labels().size()) {
                throw new IllegalArgumentException("validation label " + e.label() + " outside [0, "
                        + model.labels().size() + ")");
            }
        }
        List<String> texts = validation.stream().map(Example::text).toList();
        List<Epoch> epochs = new ArrayList<>();
        Epoch[] best = {null};
        float[][] bestParams = {null};
        long[] clock = {System.nanoTime()};
        run(model, data, options, (epoch, loss) -> {
            long t1 = System.nanoTime();
            double accuracy = accuracy(model, texts, validation, options.batchSize());
            Epoch e = new Epoch(epoch, loss, accuracy, (t1 - clock[0]) / 1e9, (System.nanoTime() - t1) / 1e9);
            epochs.add(e);
            if (best[0] == null || accuracy > best[0].validationAccuracy()) {
                best[0] = e;
                bestParams[0] = model.params().toFloatArray();
            }
            if (listener != null) {
                listener.accept(e);
            }
            clock[0] = System.nanoTime();
        });
        model.params().copyFrom(bestParams[0]);
        return new History(epochs, best[0]);
    }

    /** Fraction of {@code examples} (whose texts are {@code texts}) the model labels correctly. */
    private static double accuracy(CnnClassifier model, List<String> texts, List<Example> examples, int batchSize) {
        int[] predicted = predict(model, texts, batchSize);
        int correct = 0;
        for (int k = 0; k < predicted.length; k++) {
            correct += predicted[k] == examples.get(k).label() ? 1 : 0;
        }
        return (double) correct / predicted.length;
    }

    /** Called after each epoch with the 1-based epoch and its mean training loss. */
    private interface EpochEnd {
        void accept(int epoch, double meanLoss);
    }

    private static double[] run(CnnClassifier model, List<Example> data, Options options, EpochEnd onEpoch) {
        if (data.isEmpty()) {
            throw new IllegalArgumentException("no training data");
        }
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
        Device dev = model.device();
        long p = model.parameterCount();
        double[] losses = new double[options.epochs()];
        SplittableRandom rng = new SplittableRandom(options.seed());
        // A stream of its own, so that runs without dropout shuffle exactly as before.
        SplittableRandom dropRng = options.wordDropout() > 0 ? rng.split() : null;
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
                        batchEnc.add(dropRng == null ? encodings.get(order[k])
                                : dropWords(encodings.get(order[k]), options.wordDropout(), dropRng));
                        labels[k - from] = data.get(order[k]).label();
                    }
                    sum += step(model, batchEnc, labels, grad, m, v, ++step, options);
                }
                losses[epoch] = sum / order.length;
                onEpoch.accept(epoch + 1, losses[epoch]);
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

    /** The encoding with each token replaced by its baseline id with probability p (at least one token kept). */
    private static Encoding dropWords(Encoding e, double p, SplittableRandom rng) {
        int[] ids = e.ids(), base = e.baselineIds();
        int kept = 0;
        for (int t = 0; t < ids.length; t++) {
            if (rng.nextDouble() < p) {
                ids[t] = base[t];
            } else {
                kept++;
            }
        }
        return kept == 0 ? e : new Encoding(e.tokens(), ids, e.words(), e.wordOfToken(), base);
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
