package dev.maskopt.attribution;

/**
 * Input x gradient (Shrikumar et al. 2017): the elementwise product {@code x_t * dF/dx_t} of each token's
 * input embedding and the gradient of the target output F (see {@link Output}), reduced over the D
 * dimensions ({@link Reduction#SUM} by default: the signed first-order Taylor term of the embedding; MEAN
 * and L2 as in the diagnostic study), then summed over the word's tokens. One forward and one backward pass
 * per text.
 */
public final class InputXGradient extends GradientAttributor<InputXGradient> {
    private InputXGradient(Output output, Reduction reduction) {
        super(output, reduction, true);
    }

    /** The sum over D of input x gradient of the target probability. */
    public static InputXGradient create() {
        return new InputXGradient(Output.PROBABILITY, Reduction.SUM);
    }

    @Override
    InputXGradient with(Output output, Reduction reduction) {
        return new InputXGradient(output, reduction);
    }

    @Override
    String method() {
        return "input-x-gradient";
    }
}
