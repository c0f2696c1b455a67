package dev.maskopt.attribution;

/**
 * Gradient saliency (Simonyan et al. 2014): the absolute gradient {@code |dF/dx_t|} of the target output
 * F (see {@link Output}) w.r.t. each token's input embedding, reduced over the D dimensions by the Euclidean
 * norm ({@link Reduction#L2}, the default) or the mean ({@link Reduction#MEAN}, i.e. the mean of |g|, as
 * Captum's default {@code abs=True} makes it), then summed over the word's tokens. Unsigned: it says how
 * sensitive the output is to a word, not in which direction. One forward and one backward pass per text.
 */
public final class Saliency extends GradientAttributor<Saliency> {
    private Saliency(Output output, Reduction reduction) {
        super(output, reduction, false);
    }

    /** The L2 norm of the gradient of the target probability. */
    public static Saliency create() {
        return new Saliency(Output.PROBABILITY, Reduction.L2);
    }

    @Override
    Saliency with(Output output, Reduction reduction) {
        return new Saliency(output, reduction);
    }

    @Override
    String method() {
        return "saliency";
    }
}
