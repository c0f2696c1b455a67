package dev.maskopt;

import dev.maskopt.internal.NativeCore;
import dev.maskopt.internal.Natives;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense row-major float32, int32 or int64 array in a {@link Device}'s memory (GPU memory on CUDA). Created by
 * the device; released by {@link #close()} or when its device closes. Copies to and from Java arrays are
 * the only transfers between host and device.
 */
public final class Tensor implements AutoCloseable {
    /** Element type. */
    public enum DType {
        FLOAT32(4),
        INT32(4),
        /** Counters (an optimization's step number on the device). */
        INT64(8);

        private final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }
    }

    private final Device device;
    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private long address;
    private final boolean owned; // false for memory the caller owns (Device.wrap)
    private long hostWrites;

    Tensor(Device device, DType dtype, long[] shape) {
        this(device, dtype, shape, 0);
    }

    /** Allocates when {@code external} is 0; otherwise a view of the caller's memory at that address. */
    Tensor(Device device, DType dtype, long[] shape, long external) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("a tensor needs at least one dimension");
        }
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor dimensions must be positive: " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        this.device = device;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.numel = n;
        this.owned = external == 0;
        if (external != 0) {
            this.address = external;
            return;
        }
        Pointer p = NativeCore.mo_malloc(device.context(), Math.multiplyExact(dtype.bytes(), n));
        if (p == null || p.isNull()) {
            throw new MaskoptException("cannot allocate " + Arrays.toString(shape) + " " + dtype + " on " + device
                    + ": " + NativeCore.mo_last_error());
        }
        this.address = p.address();
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long dim(int i) {
        return shape[i];
    }

    public long numel() {
        return numel;
    }

    /** Whether {@link #close()} has been called (or the device closed). */
    boolean isClosed() {
        return address == 0;
    }

    /** The raw address (device pointer on CUDA), for interoperating code. */
    public long address() {
        if (address == 0) {
            throw new IllegalStateException("tensor is closed");
        }
        return address;
    }

    public void copyFrom(float[] data) {
        expect(DType.FLOAT32, data.length);
        Natives.check(NativeCore.mo_upload(device.context(), Natives.raw(address()), data, 4L * numel), "upload");
        hostWrites++;
    }

    public void copyFrom(int[] data) {
        expect(DType.INT32, data.length);
        Natives.check(NativeCore.mo_upload(device.context(), Natives.raw(address()), data, 4L * numel), "upload");
        hostWrites++;
    }

    public void copyFrom(long[] data) {
        expect(DType.INT64, data.length);
        Natives.check(NativeCore.mo_upload(device.context(), Natives.raw(address()), data, 8L * numel), "upload");
        hostWrites++;
    }

    /**
     * How many times {@code copyFrom} has written this tensor: lets a model cache what it derived from a
     * host-written tensor (such as a plan from lengths) without reading it back every time.
     */
    public long hostWrites() {
        return hostWrites;
    }

    /** Copies the contents to a new Java array (waits for queued work). */
    public float[] toFloatArray() {
        expect(DType.FLOAT32, numel);
        float[] out = new float[Math.toIntExact(numel)];
        Natives.check(NativeCore.mo_download(device.context(), out, Natives.raw(address()), 4L * numel), "download");
        return out;
    }

    public int[] toIntArray() {
        expect(DType.INT32, numel);
        int[] out = new int[Math.toIntExact(numel)];
        Natives.check(NativeCore.mo_download(device.context(), out, Natives.raw(address()), 4L * numel), "download");
        return out;
    }

    public long[] toLongArray() {
        expect(DType.INT64, numel);
        long[] out = new long[Math.toIntExact(numel)];
        Natives.check(NativeCore.mo_download(device.context(), out, Natives.raw(address()), 8L * numel), "download");
        return out;
    }

    /** Sets every element of a float32 tensor. */
    public void fill(float value) {
        expect(DType.FLOAT32, numel);
        Natives.check(NativeCore.mo_fill(device.context(), floats(), value, numel), "fill");
    }

    /** Number of NaN or infinite elements (waits for queued work). */
    public long countNonFinite() {
        expect(DType.FLOAT32, numel);
        long[] count = new long[1];
        Natives.check(NativeCore.mo_count_nonfinite(device.context(), count, floats(), numel), "count_nonfinite");
        return count[0];
    }

    private FloatPointer floats() {
        return Natives.floats(address(), 0);
    }

    /** Frees the memory now (memory the tensor does not own, see {@link Device#wrap}, is left alone). Idempotent. */
    @Override
    public void close() {
        if (address == 0) {
            return;
        }
        if (owned) {
            NativeCore.mo_free(device.context(), Natives.raw(address));
        }
        address = 0;
        device.release(this);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + device;
    }

    private void expect(DType type, long length) {
        if (dtype != type) {
            throw new IllegalArgumentException("tensor is " + dtype + ", not " + type);
        }
        if (length != numel) {
            throw new IllegalArgumentException("length " + length + " does not match tensor size " + numel + " "
                    + Arrays.toString(shape));
        }
    }
}
