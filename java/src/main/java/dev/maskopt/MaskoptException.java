package dev.maskopt;

/**
 * The one unchecked exception of the library: a native operation failed (CUDA error, allocation failure,
 * no usable GPU where one was required). Bad arguments are reported earlier, as
 * {@link IllegalArgumentException}, before any native call.
 */
public class MaskoptException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MaskoptException(String message) {
        super(message);
    }

    public MaskoptException(String message, Throwable cause) {
        super(message, cause);
    }
}
