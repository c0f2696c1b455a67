package dev.maskopt;

/**
 * How a word is removed from a model's input, in the explainer's certificate and in the evaluation
 * metrics alike.
 */
public enum Removal {
    /**
     * The word's tokens become their baseline embeddings ({@link Encoding#baselineIds}) in place: the
     * sequence keeps its length and positions. This is what the mask optimizer mixes towards.
     */
    BASELINE,
    /**
     * The word's tokens are dropped from the sequence (ERASER's original protocol), so later tokens move
     * to earlier positions. When every word is removed, one baseline token stands in for the text.
     */
    DELETE
}
