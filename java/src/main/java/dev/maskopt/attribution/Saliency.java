package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.List;

/**
 * Gradient saliency (Simonyan et al. 2014): the absolute gradient {@code |dF/dx_t|} of the target output
 * F (see {@link Output}) w.r.t. each token's input embedding, reduced over the D dimensions by the Euclidean
 * norm ({@link Reduction#L2}, the default) or the mean ({@link Reduction#MEAN}, i.e. the mean of |g|, as
 * Captum's default {@code abs=True} makes it), then summed over the word's tokens. Unsigned: it says how
 * sensitive the output is to a word, not in which direction. One forward and one backward pass per text.
 */
public final class Saliency implements Attributor {
    private final Output output;
    private final Reduction reduction;

    private Saliency(Output output, Reduction reduction) {
        this.output = Inputs.notNull("output", output);
        this.reduction = Inputs.notNull("reduction", reduction);
    }

    /** The L2 norm of the gradient of the target probability. */
    public static Saliency create() {
        return new Saliency(Output.PROBABILITY, Reduction.L2);
    }

    public Saliency withOutput(Output v) {
        return new Saliency(v, reduction);
    }

    public Saliency withReduction(Reduction v) {
        return new Saliency(output, v);
    }

    public Output output() {
        return output;
    }

    public Reduction reduction() {
        return reduction;
    }

    @Override
    public String name() {
        return "saliency(" + reduction + ", " + output + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        return Gradients.wordScores(model, enc, y, output, false, reduction::reduce);
    }
}
