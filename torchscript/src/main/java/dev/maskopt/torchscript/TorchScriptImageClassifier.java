package dev.maskopt.torchscript;

import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * An image classifier exported to TorchScript: {@code forward(images: Tensor[B, C, H, W] float32) -> Tensor[B, K]}
 * (logits), with the pixels as the model expects them (normalization, if any, inside the model). Optional
 * attributes: {@code labels: List[str]}, {@code input_shape: List[int]} ([C, H, W], the shape probed at load;
 * default [3, 224, 224]).
 *
 * <p>Same data path and memory rules as {@link TorchScriptClassifier}: maskopt's pixel buffers are viewed by libtorch
 * without copies, logits and the input gradient are copied into maskopt's buffers, every step's libtorch memory is
 * released at the next forward, parameters do not require grad.
 */
public final class TorchScriptImageClassifier implements AutoCloseable {
    private final TorchModule module;
    private final List<String> labels;
    private final int[] inputShape;
    private long[] lastShape;

    private TorchScriptImageClassifier(Builder b, Device device) {
        TorchModule m = new TorchModule(b.model, device, b.threads);
        try (PointerScope scope = new PointerScope()) {
            int[] shape = b.inputShape != null ? b.inputShape : shapeAttr(m);
            int classes = probe(m, shape);
            this.labels = TorchScriptClassifier.labelsOf(m, b.labels, classes);
            this.inputShape = shape;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        this.module = m;
    }

    /** Loads with the defaults. */
    public static TorchScriptImageClassifier load(Path model, Device device) {
        return builder(model).build(device);
    }

    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /** Options of a TorchScript image classifier; each default is declared here. */
    public static final class Builder {
        private final Path model;
        private List<String> labels;
        private int[] inputShape;
        private int threads = 1;

        private Builder(Path model) {
            this.model = model;
        }

        /** Class names (default: the model's {@code labels} attribute, else "0", "1", ...). */
        public Builder optLabels(List<String> v) { labels = v == null ? null : List.copyOf(v); return this; }
        /** The [C, H, W] shape probed at load (default: the model's {@code input_shape}, else 3 x 224 x 224). */
        public Builder optInputShape(int c, int h, int w) { inputShape = new int[] {c, h, w}; return this; }
        /** libtorch intra-op threads, set once for the process (default 1; 0 keeps libtorch's default). */
        public Builder optThreads(int v) { threads = v; return this; }

        public TorchScriptImageClassifier build(Device device) {
            if (device == null) {
                throw new IllegalArgumentException("device must be given");
            }
            if (inputShape != null && (inputShape[0] < 1 || inputShape[1] < 1 || inputShape[2] < 1)) {
                throw new IllegalArgumentException("input shape must be positive");
            }
            return new TorchScriptImageClassifier(this, device);
        }
    }

    public Device device() {
        return module.device;
    }

    public List<String> labels() {
        return labels;
    }

    /** The [C, H, W] shape checked at load. */
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** Writes {@code logits [B, K]} for {@code images [B, C, H, W]} and keeps the graph for {@link #backward}. */
    public void forward(Tensor images, Tensor logits) {
        module.ensureOpen();
        long[] s = images.shape();
        if (s.length != 4) {
            throw new IllegalArgumentException("images must be [B, C, H, W], got " + images);
        }
        TorchScriptClassifier.expectShape(logits, s[0], labels.size());
        PointerScope step = module.beginStep();
        try {
            module.beforeTorch();
            org.bytedeco.pytorch.Tensor out = module.forward("images " + java.util.Arrays.toString(s),
                    module.view(images, s));
            if (out.dim() != 2 || out.size(0) != s[0] || out.size(1) != labels.size() || !TorchModule.isFloat(out)) {
                throw new MaskoptException("the TorchScript model's forward returned " + TorchScriptClassifier.shape(out)
                        + ", expected logits [" + s[0] + ", " + labels.size() + "]");
            }
            module.view(logits, s[0], labels.size()).copy_(out.detach());
            module.afterTorch();
        } finally {
            step.close();
        }
        lastShape = s;
    }

    /** Writes {@code dImages [B, C, H, W]}, the gradient w.r.t. the last forward's images, given {@code dLogits [B, K]}. */
    public void backward(Tensor dLogits, Tensor dImages) {
        module.ensureOpen();
        if (!module.hasForward()) {
            throw new IllegalStateException("backward without a forward before it");
        }
        TorchScriptClassifier.expectShape(dLogits, lastShape[0], labels.size());
        TorchScriptClassifier.expectShape(dImages, lastShape);
        try (PointerScope scope = new PointerScope()) {
            module.beforeTorch();
            module.backward(module.view(dLogits, lastShape[0], labels.size()), module.view(dImages, lastShape));
            module.afterTorch();
        }
    }

    @Override
    public void close() {
        module.close();
    }

    private static int[] shapeAttr(TorchModule m) {
        if (!m.module.hasattr("input_shape")) {
            return new int[] {3, 224, 224};
        }
        IValue v = m.module.attr("input_shape");
        int[] out = new int[3];
        if (v.isList()) {
            var list = v.toList();
            if (list.size() == 3) {
                for (int k = 0; k < 3; k++) {
                    IValue e = list.get(k);
                    out[k] = e.isInt() ? Math.toIntExact(e.toInt()) : 0;
                }
                if (out[0] > 0 && out[1] > 0 && out[2] > 0) {
                    return out;
                }
            }
        }
        throw new MaskoptException(m.path() + ": its input_shape attribute must be a List[int] [C, H, W]");
    }

    private static int probe(TorchModule m, int[] shape) {
        org.bytedeco.pytorch.Device td = m.device.backend() == dev.maskopt.Backend.CUDA
                ? new org.bytedeco.pytorch.Device(torch.DeviceType.CUDA, (byte) m.device.index())
                : new org.bytedeco.pytorch.Device(torch.DeviceType.CPU);
        org.bytedeco.pytorch.Tensor x = torch.zeros(new long[] {2, shape[0], shape[1], shape[2]},
                new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(td)));
        org.bytedeco.pytorch.Tensor out;
        try {
            out = m.module.forward(new IValueVector(new IValue(x))).toTensor();
        } catch (RuntimeException e) {
            throw new MaskoptException(m.path() + ": forward(images [2, " + shape[0] + ", " + shape[1] + ", " + shape[2]
                    + "]) failed: " + TorchModule.firstLine(e), e);
        }
        if (out.dim() != 2 || out.size(0) != 2 || out.size(1) < 2 || !TorchModule.isFloat(out)) {
            throw new MaskoptException(m.path() + ": forward must return float32 logits [B, K] with K >= 2; on a batch "
                    + "of 2 it returned " + TorchScriptClassifier.shape(out));
        }
        return Math.toIntExact(out.size(1));
    }
}
