package dev.maskopt;

/** The stochastic gate family of the mask (methods.md sections 1 and 3). */
public enum Gate {
    /** Stretched and rectified binary concrete (Louizos et al. 2018; DiffMask). One parameter, log alpha. */
    HARD_CONCRETE(1),
    /** Stretched and rectified Kumaraswamy (Bastings et al. 2019). Two parameters, log a and log b. */
    HARD_KUMA(2);

    private final int parameters;

    Gate(int parameters) {
        this.parameters = parameters;
    }

    /** Parameters per token. */
    public int parameters() {
        return parameters;
    }
}
