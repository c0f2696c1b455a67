package dev.maskopt.torchscript;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A loaded TorchScript module on a maskopt {@link Device}, and the one place that talks to libtorch: zero-copy views
 * of maskopt tensors, forward with the autograd graph kept for one backward, native memory released step by step.
 *
 * <p>Memory: each forward runs in a JavaCPP {@link PointerScope} that is kept open past the call ({@code extend()})
 * so that the graph survives until the backward; the next forward (or {@link #close()}) deallocates it, and every
 * backward runs in its own scope. libtorch's memory is therefore released every step instead of waiting for the
 * Java garbage collector. The module's parameters have {@code requires_grad} turned off, so nothing accumulates in
 * their {@code .grad}.
 *
 * <p>On a CUDA device the module runs on libtorch's current stream of the same GPU, not on maskopt's stream: the
 * handover waits for maskopt's queued work before libtorch reads maskopt's buffers and for libtorch's work before
 * maskopt reads what libtorch wrote (two synchronizations per forward and per backward).
 */
final class TorchModule implements AutoCloseable {
    static {
        // Extract all of the preset's native libraries before the first one loads. JavaCPP extracts them one by one
        // as it loads them; libtorch.so can then be loaded before libtorch_cpu.so is in the cache, and the dynamic
        // linker resolves libtorch_cpu.so from the system instead: where Debian's libtorch (python3-torch) is
        // installed, that mixes two libtorch versions in one process and crashes the JVM.
        try {
            Loader.cacheResources(TorchModule.class, "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the PyTorch native libraries", e);
        }
    }

    private static final Object THREADS_LOCK = new Object();
    private static int threadsSet = -1;

    final Device device;
    final JitModule module;
    private final org.bytedeco.pytorch.Device torchDevice;
    private final Path path;
    private PointerScope step; // the last forward's tensors and graph, released at the next forward
    private Tensor input; // the last forward's input (requires grad), inside step
    private Tensor output; // the last forward's logits, inside step
    private boolean closed;

    /**
     * Loads {@code file} for {@code device}.
     *
     * @param threads libtorch's intra-op threads for the whole process (set once, by the first model that asks;
     *     0 leaves libtorch's default)
     */
    TorchModule(Path file, Device device, int threads) {
        if (file == null || device == null) {
            throw new IllegalArgumentException("model file and device must be given");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no TorchScript file at " + file);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (got " + threads + ")");
        }
        this.device = device;
        this.path = file;
        setThreads(threads);
        if (device.backend() == Backend.CUDA) {
            if (!torch.cuda_is_available()) {
                throw new MaskoptException("maskopt runs on " + device + " but the PyTorch natives on the class path "
                        + "cannot use CUDA (torch::cuda::is_available() is false): put org.bytedeco:pytorch with the "
                        + "linux-x86_64-gpu classifier on the class path instead of linux-x86_64 (never both), or "
                        + "explain on Device.cpu()");
            }
            torchDevice = new org.bytedeco.pytorch.Device(torch.DeviceType.CUDA, (byte) device.index());
        } else {
            torchDevice = new org.bytedeco.pytorch.Device(torch.DeviceType.CPU);
        }
        JitModule m;
        try {
            m = torch.load(file.toString(), new DeviceOptional(torchDevice), false);
        } catch (RuntimeException e) {
            throw new MaskoptException("cannot load TorchScript file " + file + ": " + firstLine(e), e);
        }
        m.eval();
        for (Tensor p : toList(m)) {
            p.requires_grad_(false);
        }
        this.module = m;
    }

    private static List<Tensor> toList(JitModule m) {
        List<Tensor> out = new ArrayList<>();
        var params = m.parameters(true);
        for (var it = params.begin(); it.notEquals(params.end()); it.increment()) {
            out.add(it.multiply());
        }
        return out;
    }

    private static void setThreads(int threads) {
        synchronized (THREADS_LOCK) {
            if (threads > 0 && threadsSet < 0) {
                torch.set_num_threads(threads);
                threadsSet = threads;
            }
        }
    }

    /** Number of the module's parameters (recursively) that require grad: 0 after loading. */
    long parametersRequiringGrad() {
        try (PointerScope s = new PointerScope()) {
            return toList(module).stream().filter(Tensor::requires_grad).count();
        }
    }

    Path path() {
        return path;
    }

    boolean hasMethod(String name) {
        try (PointerScope s = new PointerScope()) {
            return module.find_method(name).has_value();
        }
    }

    /** A view of a maskopt float32 tensor as a libtorch tensor of the given shape (no copy; maskopt keeps ownership). */
    Tensor view(dev.maskopt.Tensor t, long... shape) {
        return view(t, torch.ScalarType.Float, dev.maskopt.Tensor.DType.FLOAT32, shape);
    }

    /** A view of a maskopt int32 tensor. */
    Tensor viewInts(dev.maskopt.Tensor t, long... shape) {
        return view(t, torch.ScalarType.Int, dev.maskopt.Tensor.DType.INT32, shape);
    }

    private Tensor view(dev.maskopt.Tensor t, torch.ScalarType type, dev.maskopt.Tensor.DType dtype, long... shape) {
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(t + " is not " + dtype);
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != t.numel()) {
            throw new IllegalArgumentException("cannot view " + t + " as " + Arrays.toString(shape));
        }
        return torch.from_blob(new Raw(t.address()), shape, new TensorOptions(type).device(new DeviceOptional(torchDevice)));
    }

    /** Waits for maskopt's queued work before libtorch reads its buffers (CUDA only). */
    void beforeTorch() {
        if (device.backend() == Backend.CUDA) {
            device.synchronize();
        }
    }

    /** Waits for libtorch's queued work before maskopt reads what it wrote (CUDA only). */
    void afterTorch() {
        if (device.backend() == Backend.CUDA) {
            torch.cuda_synchronize();
        }
    }

    /**
     * Runs {@code forward} on {@code x} (made to require grad) and the extra arguments; keeps the graph for
     * {@link #backward}. Must be called inside {@link #beginStep()}'s scope. Returns the output tensor.
     */
    Tensor forward(String what, Tensor x, Tensor... extra) {
        x.requires_grad_(true);
        IValue[] args = new IValue[1 + extra.length];
        args[0] = new IValue(x);
        for (int k = 0; k < extra.length; k++) {
            args[k + 1] = new IValue(extra[k]);
        }
        IValue out;
        try {
            out = module.forward(new IValueVector(args));
        } catch (RuntimeException e) {
            throw new MaskoptException("the TorchScript model's forward failed on " + what + ": " + firstLine(e), e);
        }
        if (!out.isTensor()) {
            throw new MaskoptException("the TorchScript model's forward must return one tensor of logits [B, C], not "
                    + out.tagKind().getString());
        }
        input = x;
        output = out.toTensor();
        return output;
    }

    /** Opens the scope of a new step, releasing the last one. */
    PointerScope beginStep() {
        releaseStep();
        step = new PointerScope();
        step.extend();
        return step;
    }

    /**
     * Backpropagates {@code dOutput} (same shape as the last forward's output) and copies the gradient w.r.t. the last
     * forward's input into {@code gradOut}.
     */
    void backward(Tensor dOutput, Tensor gradOut) {
        if (output == null) {
            throw new IllegalStateException("backward before forward");
        }
        try {
            output.mul(dOutput).sum().backward();
        } catch (RuntimeException e) {
            throw new MaskoptException("the TorchScript model's backward failed: " + firstLine(e), e);
        }
        Tensor g = input.grad();
        if (g == null || !g.defined()) {
            gradOut.zero_(); // the output does not depend on the input
        } else {
            gradOut.copy_(g);
        }
        releaseStep(); // one backward per forward: the graph is spent
    }

    boolean hasForward() {
        return output != null;
    }

    private void releaseStep() {
        input = null;
        output = null;
        if (step != null) {
            step.deallocate();
            step = null;
        }
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        releaseStep();
        module.close();
    }

    /** Whether a libtorch tensor is float32 (the preset's enum values are compared by value). */
    static boolean isFloat(Tensor t) {
        return t.scalar_type().value == torch.ScalarType.Float.value;
    }

    /**
     * The line of a libtorch error that says what went wrong: for a TorchScript interpreter error (a traceback), its
     * final "...Error: ..." line; otherwise the first line (the C++ frames follow it).
     */
    static String firstLine(Throwable e) {
        String[] lines = String.valueOf(e.getMessage()).strip().split("\n");
        for (String line : lines) {
            if (line.strip().matches("[A-Za-z.]*Error: .*")) {
                return line.strip();
            }
        }
        return lines[0].strip();
    }

    /** A non-owning pointer at an address (JavaCPP's address field is protected). */
    static final class Raw extends Pointer {
        Raw(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }
}
