package dev.maskopt;

import dev.maskopt.internal.NativeCore;
import dev.maskopt.internal.Natives;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Set;

/**
 * A backend plus, on CUDA, a device and its stream. Owns the native context and every {@link Tensor}
 * allocated on it: closing the device frees tensors still open. Not thread-safe: use one device per thread.
 *
 * <p>{@link #auto()} picks the backend: the system property {@code maskopt.backend} or the environment
 * variable {@code MASKOPT_BACKEND} ({@code auto}, {@code cpu} or {@code cuda}); with {@code auto}, CUDA
 * when a GPU is usable, else the CPU. Setting {@code maskopt.requireGpu=true} (or
 * {@code MASKOPT_REQUIRE_GPU=1}) turns "no usable GPU" into an error instead of a silent CPU run.
 */
public final class Device implements AutoCloseable {
    private final Backend backend;
    private final int index;
    private NativeCore.Context context;
    private MatmulPrecision precision = MatmulPrecision.FP32;
    private final Set<Tensor> tensors = Collections.newSetFromMap(new IdentityHashMap<>());
    private long allocations;

    private Device(Backend backend, int index) {
        this(backend, index, null);
    }

    private Device(Backend backend, int index, Long stream) {
        this.backend = backend;
        this.index = index;
        int code = backend == Backend.CUDA ? NativeCore.MO_BACKEND_CUDA : NativeCore.MO_BACKEND_CPU;
        NativeCore.Context ctx = stream == null ? NativeCore.mo_context_create(code, index)
                : NativeCore.mo_context_create_on_stream(index, Natives.raw(stream));
        if (ctx == null || ctx.isNull()) {
            throw new MaskoptException("cannot create a " + backend + " context: " + NativeCore.mo_last_error());
        }
        this.context = ctx;
    }

    /** The C++ CPU backend. */
    public static Device cpu() {
        return new Device(Backend.CPU, 0);
    }

    /** CUDA device {@code index}; fails with a clear message when it is not usable. */
    public static Device cuda(int index) {
        return new Device(Backend.CUDA, index);
    }

    /**
     * CUDA device {@code index} running on a stream the caller owns, for interoperating code (an application that
     * manages its GPU through the JavaCPP CUDA preset, say): {@code stream} is the {@code cudaStream_t} address
     * ({@code Pointer.address()} of a {@code CUstream_st}; 0 is the legacy default stream). All of this device's work
     * queues there; closing the device leaves the stream alone, and the caller keeps it alive until then. Fails with a
     * clear message when CUDA is not usable.
     */
    public static Device cudaOnStream(int index, long stream) {
        return new Device(Backend.CUDA, index, stream);
    }

    /** The backend chosen by configuration (see the class comment). */
    public static Device auto() {
        String choice = setting("maskopt.backend", "MASKOPT_BACKEND", "auto").toLowerCase(Locale.ROOT);
        boolean requireGpu = isTrue(setting("maskopt.requireGpu", "MASKOPT_REQUIRE_GPU", "false"));
        switch (choice) {
            case "cpu":
                if (requireGpu) {
                    throw new MaskoptException("a GPU is required (maskopt.requireGpu) but the CPU backend was chosen");
                }
                return cpu();
            case "cuda":
                return cuda(0);
            case "auto":
                if (cudaDeviceCount() > 0) {
                    return cuda(0);
                }
                if (requireGpu) {
                    throw new MaskoptException("a GPU is required (maskopt.requireGpu) but none is usable: " + cudaStatus());
                }
                return cpu();
            default:
                throw new IllegalArgumentException("maskopt.backend must be auto, cpu or cuda (got '" + choice + "')");
        }
    }

    /** Number of usable CUDA devices (0 when none, or when the library was built without CUDA). */
    public static int cudaDeviceCount() {
        return NativeCore.mo_cuda_device_count();
    }

    /** Why CUDA is, or is not, usable. */
    public static String cudaStatus() {
        return NativeCore.mo_cuda_status();
    }

    /** Library version, compiler and compiled CUDA architectures. */
    public static String buildInfo() {
        return NativeCore.mo_build_info();
    }

    public Backend backend() {
        return backend;
    }

    /** The CUDA device index (0 on the CPU). */
    public int index() {
        return index;
    }

    /** Allocates a float32 tensor (contents undefined until written). */
    public Tensor floats(long... shape) {
        return register(new Tensor(this, Tensor.DType.FLOAT32, shape));
    }

    /** Allocates an int32 tensor (contents undefined until written). */
    public Tensor ints(long... shape) {
        return register(new Tensor(this, Tensor.DType.INT32, shape));
    }

    /** Allocates an int64 tensor (contents undefined until written). */
    public Tensor longs(long... shape) {
        return register(new Tensor(this, Tensor.DType.INT64, shape));
    }

    /** A float32 tensor holding {@code data}. */
    public Tensor upload(float[] data, long... shape) {
        Tensor t = floats(shape);
        t.copyFrom(data);
        return t;
    }

    /**
     * A tensor over memory the caller owns (device memory on CUDA, host memory on the CPU) at {@code address}, for
     * interoperating code: no allocation and no copy; closing the tensor or the device does not free the memory, and
     * the caller keeps it valid while the tensor is used. The memory must hold the whole shape, aligned to 16 bytes.
     */
    public Tensor wrap(long address, Tensor.DType dtype, long... shape) {
        if (address == 0 || address % 16 != 0) {
            throw new IllegalArgumentException("address must be non-zero and 16-byte aligned (got 0x"
                    + Long.toHexString(address) + ")");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("dtype must be given");
        }
        context(); // fails when the device is closed
        return register(new Tensor(this, dtype, shape, address));
    }

    /** An int32 tensor holding {@code data}. */
    public Tensor upload(int[] data, long... shape) {
        Tensor t = ints(shape);
        t.copyFrom(data);
        return t;
    }

    /** Arithmetic of the matrix products on this device. */
    public enum MatmulPrecision {
        /** Full single precision (the default; what the parity tests use). */
        FP32,
        /** CUDA tensor cores with TF32 inputs and FP32 accumulation; FP32 on the CPU. */
        TF32,
        /**
         * CUDA tensor cores with BF16 inputs and FP32 accumulation; on the CPU the same arithmetic (VDPBF16PS) where
         * the CPU has AVX512-BF16, chosen at run time, else FP32. On the CPU only the encoder's linear layers and
         * heads use it; attention's products stay FP32.
         */
        BF16
    }

    /** Sets the precision of this device's matrix products (encoder layers, heads); returns this device. */
    public Device matmulPrecision(MatmulPrecision precision) {
        if (precision == null) {
            throw new IllegalArgumentException("precision must be given");
        }
        int code = switch (precision) {
            case FP32 -> NativeCore.MO_PRECISION_FP32;
            case TF32 -> NativeCore.MO_PRECISION_TF32;
            case BF16 -> NativeCore.MO_PRECISION_BF16;
        };
        Natives.check(NativeCore.mo_set_matmul_precision(context(), code), "set_matmul_precision");
        this.precision = precision;
        return this;
    }

    public MatmulPrecision matmulPrecision() {
        return precision;
    }

    /** An int64 tensor holding {@code data}. */
    public Tensor upload(long[] data, long... shape) {
        Tensor t = longs(shape);
        t.copyFrom(data);
        return t;
    }

    /** Waits for all queued work and reports asynchronous errors. */
    public void synchronize() {
        Natives.check(NativeCore.mo_synchronize(context()), "synchronize");
    }

    /** The native {@code mo_context*}, for interoperating code; ordinary users never need it. */
    public long handle() {
        return context().address();
    }

    NativeCore.Context context() {
        if (context == null) {
            throw new IllegalStateException("device is closed");
        }
        return context;
    }

    /** Number of tensors allocated on this device and not yet closed. */
    int liveTensors() {
        return tensors.size();
    }

    /** Number of tensors ever allocated on this device. */
    long allocations() {
        return allocations;
    }

    void release(Tensor t) {
        tensors.remove(t);
    }

    private Tensor register(Tensor t) {
        tensors.add(t);
        allocations++;
        return t;
    }

    /** Frees the tensors still open and the native context. Idempotent. */
    @Override
    public void close() {
        if (context == null) {
            return;
        }
        for (Tensor t : tensors.toArray(new Tensor[0])) {
            t.close();
        }
        NativeCore.mo_context_destroy(context);
        context = null;
    }

    @Override
    public String toString() {
        return backend == Backend.CUDA ? "cuda:" + index : "cpu";
    }

    private static String setting(String property, String env, String fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    private static boolean isTrue(String v) {
        return v.equalsIgnoreCase("true") || v.equals("1") || v.equalsIgnoreCase("yes");
    }
}
