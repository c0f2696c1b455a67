package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.Collections;
import java.util.List;

/**
 * A feature-attribution method: one soft score per word for a target class (conventions in the
 * {@linkplain dev.maskopt.attribution package documentation}). Implementations are immutable and hold no
 * native memory; each call allocates on the model's device and releases before returning.
 */
public interface Attributor {
    /** A short name with the settings that matter, for tables and logs (e.g. {@code occlusion(w=1, BASELINE)}). */
    String name();

    /**
     * Scores the words of each text for its target class.
     *
     * @param model the classifier (its device runs every forward and backward pass)
     * @param texts encodings produced by the model's encoder, each with at least one word and at most
     *     {@link Classifier#maxLength()} tokens
     * @param targets the class explained for each text, or null for each text's predicted class
     * @return per text, one score per word of its encoding, in word order
     * @throws IllegalArgumentException for empty input, a null or too long text, a text without words, or a
     *     target that is not a class index
     */
    List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets);

    /** Scores the words of one text for class {@code target}. */
    default double[] attribute(Classifier model, Encoding text, int target) {
        return attribute(model, Collections.singletonList(text), new int[] {target}).get(0); // null text: a clear message
    }
}
