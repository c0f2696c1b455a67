package dev.maskopt.internal;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.List;

/** The checks every call that runs a model on encoded texts makes before any native call. */
public final class EncodingChecks {
    private EncodingChecks() {}

    /**
     * Each encoding is non-null, has 1 to {@code model.maxLength()} tokens and a maskable word; targets, when
     * given, are one class index per text.
     */
    public static void validate(Classifier model, List<Encoding> encodings, int[] targets) {
        if (targets != null && targets.length != encodings.size()) {
            throw new IllegalArgumentException(encodings.size() + " texts but " + targets.length + " targets");
        }
        int classes = model.labels().size();
        for (int k = 0; k < encodings.size(); k++) {
            Encoding e = encodings.get(k);
            if (e == null) {
                throw new IllegalArgumentException("text " + k + " is null");
            }
            if (e.length() == 0) {
                throw new IllegalArgumentException("text " + k + " has no tokens");
            }
            if (e.length() > model.maxLength()) {
                throw new IllegalArgumentException("text " + k + " has " + e.length() + " tokens; the model accepts at most "
                        + model.maxLength());
            }
            if (e.words().isEmpty()) {
                throw new IllegalArgumentException("text " + k + " has no maskable word");
            }
            if (targets != null && (targets[k] < 0 || targets[k] >= classes)) {
                throw new IllegalArgumentException("target " + targets[k] + " of text " + k
                        + " is not a class index in [0, " + classes + ")");
            }
        }
    }
}
