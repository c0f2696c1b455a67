package dev.maskopt;

/** Where the kernels run: the C++ CPU twin or the CUDA kernels. Both compute the same function. */
public enum Backend {
    CPU,
    CUDA
}
