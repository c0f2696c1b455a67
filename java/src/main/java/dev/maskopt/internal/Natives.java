package dev.maskopt.internal;

import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/** Status checking and raw-address views for calls into {@link NativeCore}. */
public final class Natives {
    private Natives() {}

    /**
     * Throws when a native call failed: invalid arguments become IllegalArgumentException, a call the context
     * refuses in its current state (while it captures a graph) IllegalStateException.
     */
    public static void check(int status, String op) {
        if (status == NativeCore.MO_OK) {
            return;
        }
        String message = op + " failed: " + NativeCore.mo_last_error();
        if (status == NativeCore.MO_ERR_INVALID) {
            throw new IllegalArgumentException(message);
        }
        if (status == NativeCore.MO_ERR_STATE) {
            throw new IllegalStateException(message);
        }
        throw new MaskoptException(message);
    }

    /** A non-owning float view of native memory at {@code address} plus {@code offset} elements. */
    public static FloatPointer floats(long address, long offset) {
        return new FloatPointer(new RawPointer(address + 4 * offset));
    }

    /** A non-owning int32 view of native memory at {@code address} plus {@code offset} elements. */
    public static IntPointer ints(long address, long offset) {
        return new IntPointer(new RawPointer(address + 4 * offset));
    }

    /** Float view of a float32 tensor, {@code offset} elements in (bounds-checked). */
    public static FloatPointer f(Tensor t, long offset) {
        if (t.dtype() != Tensor.DType.FLOAT32) {
            throw new IllegalArgumentException(t + " is not float32");
        }
        if (offset < 0 || offset >= t.numel()) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside " + t);
        }
        return floats(t.address(), offset);
    }

    public static FloatPointer f(Tensor t) {
        return f(t, 0);
    }

    /** Int32 view of an int32 tensor. */
    public static IntPointer i(Tensor t) {
        if (t.dtype() != Tensor.DType.INT32) {
            throw new IllegalArgumentException(t + " is not int32");
        }
        return ints(t.address(), 0);
    }

    /** Int64 view of an int64 tensor (a step counter). */
    public static LongPointer i64(Tensor t) {
        if (t.dtype() != Tensor.DType.INT64) {
            throw new IllegalArgumentException(t + " is not int64");
        }
        return new LongPointer(new RawPointer(t.address()));
    }

    /** The native context of a device. */
    public static NativeCore.Context ctx(Device d) {
        return context(d.handle());
    }

    public static Pointer raw(long address) {
        return new RawPointer(address);
    }

    public static NativeCore.Context context(long address) {
        return new NativeCore.Context(new RawPointer(address));
    }

    /** Pointer subclass that can take an address: JavaCPP's address field is protected. */
    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }
}
