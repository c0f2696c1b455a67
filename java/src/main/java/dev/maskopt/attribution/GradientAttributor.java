package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.List;

/**
 * What {@link Saliency} and {@link InputXGradient} share: one forward and one backward pass per text, the
 * gradient of an {@link Output} w.r.t. each token's input embedding (times the embedding, for input x
 * gradient), reduced over D by a {@link Reduction} and summed over the word's tokens.
 */
abstract class GradientAttributor<T extends GradientAttributor<T>> implements Attributor {
    private final Output output;
    private final Reduction reduction;
    private final boolean timesInput;

    GradientAttributor(Output output, Reduction reduction, boolean timesInput) {
        this.output = Inputs.notNull("output", output);
        this.reduction = Inputs.notNull("reduction", reduction);
        this.timesInput = timesInput;
    }

    /** A copy with other settings. */
    abstract T with(Output output, Reduction reduction);

    /** The method's name in {@link #name()}. */
    abstract String method();

    public T withOutput(Output v) {
        return with(v, reduction);
    }

    public T withReduction(Reduction v) {
        return with(output, v);
    }

    public Output output() {
        return output;
    }

    public Reduction reduction() {
        return reduction;
    }

    @Override
    public String name() {
        return method() + "(" + reduction + ", " + output + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        return Gradients.wordScores(model, enc, y, output, timesInput, reduction::reduce);
    }
}
