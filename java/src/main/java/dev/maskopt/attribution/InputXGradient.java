package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.List;

/**
 * Input x gradient (Shrikumar et al. 2017): the elementwise product {@code x_t * dF/dx_t} of each token's
 * input embedding and the gradient of the target output F (see {@link Output}), reduced over the D
 * dimensions ({@link Reduction#SUM} by default: the signed first-order Taylor term of the embedding; MEAN
 * and L2 as in the diagnostic study), then summed over the word's tokens. One forward and one backward pass
 * per text.
 */
public final class InputXGradient implements Attributor {
    private final Output output;
    private final Reduction reduction;

    private InputXGradient(Output output, Reduction reduction) {
        this.output = Inputs.notNull("output", output);
        this.reduction = Inputs.notNull("reduction", reduction);
    }

    /** The sum over D of input x gradient of the target probability. */
    public static InputXGradient create() {
        return new InputXGradient(Output.PROBABILITY, Reduction.SUM);
    }

    public InputXGradient withOutput(Output v) {
        return new InputXGradient(v, reduction);
    }

    public InputXGradient withReduction(Reduction v) {
        return new InputXGradient(output, v);
    }

    public Output output() {
        return output;
    }

    public Reduction reduction() {
        return reduction;
    }

    @Override
    public String name() {
        return "input-x-gradient(" + reduction + ", " + output + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        return Gradients.wordScores(model, enc, y, output, true, reduction::reduce);
    }
}
