package dev.maskopt.torchscript;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.text.Vocabulary;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A text classifier exported to TorchScript, explained by maskopt through the JavaCPP PyTorch preset.
 *
 * <p><b>The contract</b> (see the README, "Bring your own PyTorch model"):
 * <ul>
 *   <li>{@code forward(embeddings: Tensor[B, T, D] float32, attention_mask: Tensor[B, T] int64) -> Tensor[B, C]}
 *       (logits; the mask is 1 at the real tokens, 0 at padding, which must not change the logits);</li>
 *   <li>the embedding of token ids, either as a method {@code embed(ids: Tensor[B, T] int64) -> Tensor[B, T, D]}
 *       (preferred when both exist) or as a tensor attribute {@code embedding_table} [V, D] (parameter or buffer),
 *       which maskopt copies once and gathers with its own kernel;</li>
 *   <li>optionally {@code labels: List[str]} (the class names) and {@code max_length: int}.</li>
 * </ul>
 * Tokenization comes from the vocabulary file: a BERT {@code vocab.txt} (it has {@code [CLS]} and {@code [SEP]}):
 * WordPiece, {@code [CLS]} and {@code [SEP]} never masked, a word's pieces share one gate, masked pieces become
 * {@code [PAD]} (else {@code [UNK]}); otherwise a word list whose first two lines are {@code <pad>} and {@code <unk>}:
 * lowercased whitespace words, masked words become {@code <pad>}.
 *
 * <p><b>Data path.</b> maskopt's mixed inputs are handed to libtorch as a view of maskopt's own buffer
 * ({@code from_blob}, no copy); the logits [B, C] are copied into maskopt's logits buffer, and the gradient w.r.t.
 * the inputs, which libtorch's autograd allocates, is copied once into maskopt's {@code dInputs} buffer. Model
 * parameters do not require grad. Every step's libtorch memory is released when the next forward starts (see
 * {@link TorchModule}). {@link #bufferGeneration()} stays -1: libtorch allocates during forward and backward, so a
 * step with a TorchScript model is never recorded in a CUDA graph.
 *
 * <p>libtorch's intra-op thread count is process-wide; the builder sets it once ({@link Builder#optThreads}, default
 * 1: on small CPUs libtorch's OpenMP threads otherwise spin against OpenBLAS's and maskopt's own).
 */
public final class TorchScriptClassifier implements Classifier {
    /** Longest sequence when the model states none. */
    public static final int DEFAULT_MAX_LENGTH = 512;

    private final TorchModule module;
    private final List<String> labels;
    private final int dim;
    private final int maxLength;
    private final WordPieceTokenizer wordPieces; // one of these two
    private final Vocabulary words;
    private final int baselineId;
    private final boolean embedMethod;
    private final Tensor table; // [V, D] when the model exports embedding_table instead of embed()
    private final int vocabSize;
    private long lastRows = -1;
    private long lastLength;
    private boolean closed;

    private TorchScriptClassifier(Builder b, Device device) {
        if (b.vocabulary == null) {
            throw new IllegalArgumentException("a vocabulary file is needed to tokenize texts (optVocabulary)");
        }
        if (!Files.isRegularFile(b.vocabulary)) {
            throw new IllegalArgumentException("no vocabulary file at " + b.vocabulary);
        }
        List<String> lines = readLines(b.vocabulary);
        if (lines.contains("[CLS]") && lines.contains("[SEP]")) {
            wordPieces = WordPieceTokenizer.fromVocabTxt(b.vocabulary, b.lowercase);
            words = null;
            baselineId = wordPieces.padId() >= 0 ? wordPieces.padId() : wordPieces.unkId();
            vocabSize = wordPieces.vocabSize();
        } else {
            wordPieces = null;
            words = Vocabulary.fromWords(lines);
            baselineId = 0;
            vocabSize = words.size();
        }
        TorchModule m = new TorchModule(b.model, device, b.threads);
        Tensor tab = null;
        try (PointerScope scope = new PointerScope()) {
            embedMethod = m.hasMethod("embed");
            int d;
            if (embedMethod) {
                d = probeEmbed(m);
            } else if (m.module.hasattr("embedding_table") && m.module.attr("embedding_table").isTensor()) {
                org.bytedeco.pytorch.Tensor t = m.module.attr("embedding_table").toTensor();
                if (t.dim() != 2 || !TorchModule.isFloat(t)) {
                    throw new MaskoptException(b.model + ": embedding_table must be a float32 tensor [V, D]");
                }
                if (t.size(0) < vocabSize) {
                    throw new IllegalArgumentException(b.model + ": embedding_table has " + t.size(0) + " rows but the "
                            + "vocabulary " + b.vocabulary + " has " + vocabSize + " tokens");
                }
                d = Math.toIntExact(t.size(1));
                tab = device.floats(t.size(0), d);
                m.beforeTorch();
                m.view(tab, t.size(0), d).copy_(t);
                m.afterTorch();
            } else {
                throw new MaskoptException(b.model + " exports neither an embed(ids) method nor an embedding_table "
                        + "tensor: maskopt needs one of them to embed tokens and baselines (see the README)");
            }
            this.dim = d;
            int classes = probeForward(m, d, 3);
            int again = probeForward(m, d, 5);
            if (again != classes) {
                throw new MaskoptException(b.model + ": forward must return logits [B, C] whatever the length T; it "
                        + "returned [1, " + classes + "] for T = 3 and [1, " + again + "] for T = 5");
            }
            this.labels = labelsOf(m, b.labels, classes);
            this.maxLength = b.maxLength > 0 ? b.maxLength : intAttr(m, "max_length", DEFAULT_MAX_LENGTH);
        } catch (RuntimeException e) {
            if (tab != null) {
                tab.close();
            }
            m.close();
            throw e;
        }
        this.table = tab;
        this.module = m;
    }

    /** Loads a TorchScript text classifier with its vocabulary file and the defaults. */
    public static TorchScriptClassifier load(Path model, Path vocabulary, Device device) {
        return builder(model).optVocabulary(vocabulary).build(device);
    }

    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /** Options of a TorchScript text classifier; each default is declared here. */
    public static final class Builder {
        private final Path model;
        private Path vocabulary;
        private boolean lowercase = true;
        private List<String> labels;
        private int maxLength = 0;
        private int threads = 1;

        private Builder(Path model) {
            this.model = model;
        }

        /** The vocabulary file (required): BERT {@code vocab.txt} or a word list starting with {@code <pad>}, {@code <unk>}. */
        public Builder optVocabulary(Path v) { vocabulary = v; return this; }
        /** Whether the WordPiece tokenizer lowercases and strips accents (default true; word lists always lowercase). */
        public Builder optLowercase(boolean v) { lowercase = v; return this; }
        /** Class names (default: the model's {@code labels} attribute, else "0", "1", ...). */
        public Builder optLabels(List<String> v) { labels = v == null ? null : List.copyOf(v); return this; }
        /** Longest sequence in tokens (default: the model's {@code max_length} attribute, else 512). */
        public Builder optMaxLength(int v) { maxLength = v; return this; }
        /** libtorch intra-op threads, set once for the process (default 1; 0 keeps libtorch's default). */
        public Builder optThreads(int v) { threads = v; return this; }

        public TorchScriptClassifier build(Device device) {
            if (device == null) {
                throw new IllegalArgumentException("device must be given");
            }
            if (maxLength < 0) {
                throw new IllegalArgumentException("maxLength must be >= 0 (got " + maxLength + ")");
            }
            return new TorchScriptClassifier(this, device);
        }
    }

    @Override
    public Device device() {
        return module.device;
    }

    @Override
    public int embeddingDim() {
        return dim;
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    /** Whether embeddings come from the model's {@code embed} method (else from its {@code embedding_table}). */
    public boolean embedsWithMethod() {
        return embedMethod;
    }

    @Override
    public Encoding encode(String text) {
        ensureOpen();
        if (wordPieces != null) {
            return pieces(wordPieces.tokenize(text));
        }
        return encodeWords(Vocabulary.tokenize(text));
    }

    @Override
    public Encoding encodeWords(List<String> tokens) {
        ensureOpen();
        if (wordPieces != null) {
            return pieces(wordPieces.tokenizeWords(tokens));
        }
        int[] ids = new int[tokens.size()];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = words.id(tokens.get(j));
        }
        return Encoding.ofWords(tokens, ids, baselineId);
    }

    private Encoding pieces(WordPieceTokenizer.Tokens t) {
        int[] ids = t.ids(), wordOf = t.wordOfPiece(), base = new int[ids.length];
        for (int k = 0; k < ids.length; k++) {
            base[k] = wordOf[k] < 0 ? ids[k] : baselineId;
        }
        return new Encoding(t.pieces(), ids, t.words(), wordOf, base);
    }

    @Override
    public void embed(Tensor ids, Tensor lengths, Tensor out) {
        ensureOpen();
        long n = ids.dim(0), t = ids.dim(1);
        expectShape(out, n, t, dim);
        if (table != null) {
            check(NativeCore.mo_embed(ctx(device()), f(out), i(ids), i(lengths), f(table), n, t, table.dim(0), dim),
                    "embed");
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            module.beforeTorch();
            org.bytedeco.pytorch.Tensor idv = module.viewInts(ids, n, t).to(torch.ScalarType.Long);
            org.bytedeco.pytorch.Tensor mask = mask(lengths, n, t);
            org.bytedeco.pytorch.Tensor e;
            try {
                IValue v = module.module.get_method("embed").apply(new IValueVector(new IValue(idv)));
                e = v.toTensor();
            } catch (RuntimeException ex) {
                throw new MaskoptException("the TorchScript model's embed failed on ids [" + n + ", " + t + "]: "
                        + TorchModule.firstLine(ex), ex);
            }
            if (e.dim() != 3 || e.size(0) != n || e.size(1) != t || e.size(2) != dim) {
                throw new MaskoptException("the TorchScript model's embed returned " + shape(e) + ", expected [" + n
                        + ", " + t + ", " + dim + "]");
            }
            module.view(out, n, t, dim).copy_(e.detach().mul(mask.unsqueeze(2).to(torch.ScalarType.Float)));
            module.afterTorch();
        }
    }

    @Override
    public void forward(Tensor inputs, Tensor lengths, Tensor logits) {
        ensureOpen();
        long b = inputs.dim(0), t = inputs.dim(1);
        expectShape(inputs, b, t, dim);
        expectShape(logits, b, labels.size());
        PointerScope step = module.beginStep();
        try {
            module.beforeTorch();
            org.bytedeco.pytorch.Tensor x = module.view(inputs, b, t, dim);
            org.bytedeco.pytorch.Tensor out = module.forward("inputs [" + b + ", " + t + ", " + dim + "]", x,
                    mask(lengths, b, t));
            if (out.dim() != 2 || out.size(0) != b || out.size(1) != labels.size()) {
                throw new MaskoptException("the TorchScript model's forward returned " + shape(out) + ", expected logits ["
                        + b + ", " + labels.size() + "]");
            }
            module.view(logits, b, labels.size()).copy_(out.detach());
            module.afterTorch();
        } finally {
            step.close(); // leaves the scope; its tensors and graph live until backward or the next forward
        }
        lastRows = b;
        lastLength = t;
    }

    @Override
    public void backward(Tensor dLogits, Tensor dInputs) {
        ensureOpen();
        if (!module.hasForward()) {
            throw new IllegalStateException("backward without a forward before it");
        }
        expectShape(dLogits, lastRows, labels.size());
        expectShape(dInputs, lastRows, lastLength, dim);
        try (PointerScope scope = new PointerScope()) {
            module.beforeTorch();
            module.backward(module.view(dLogits, lastRows, labels.size()), module.view(dInputs, lastRows, lastLength, dim));
            module.afterTorch();
        }
    }

    /** Never captured in a CUDA graph: libtorch allocates in every forward and backward. */
    @Override
    public long bufferGeneration() {
        return -1;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (table != null) {
            table.close();
        }
        module.close();
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** attention_mask [n, t] int64: 1 where position < length. */
    private org.bytedeco.pytorch.Tensor mask(Tensor lengths, long n, long t) {
        org.bytedeco.pytorch.Tensor len = module.viewInts(lengths, n).to(torch.ScalarType.Long);
        org.bytedeco.pytorch.Tensor pos = torch.arange(new org.bytedeco.pytorch.Scalar(t),
                new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long).device(
                        new org.bytedeco.pytorch.DeviceOptional(len.device())));
        return pos.unsqueeze(0).lt(len.unsqueeze(1)).to(torch.ScalarType.Long);
    }

    private int probeEmbed(TorchModule m) {
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Tensor ids = torch.zeros(new long[] {1, 1}, new org.bytedeco.pytorch.TensorOptions(
                    torch.ScalarType.Long).device(new org.bytedeco.pytorch.DeviceOptional(torchDevice(m))));
            org.bytedeco.pytorch.Tensor e;
            try {
                e = m.module.get_method("embed").apply(new IValueVector(new IValue(ids))).toTensor();
            } catch (RuntimeException ex) {
                throw new MaskoptException(m.path() + ": embed(ids [1, 1]) failed: " + TorchModule.firstLine(ex), ex);
            }
            if (e.dim() != 3 || e.size(0) != 1 || e.size(1) != 1 || !TorchModule.isFloat(e)) {
                throw new MaskoptException(m.path() + ": embed(ids [1, 1]) must return float32 [1, 1, D], not "
                        + shape(e));
            }
            return Math.toIntExact(e.size(2));
        }
    }

    /** Runs forward on zeros [1, t, D] and returns the number of classes. */
    private static int probeForward(TorchModule m, int d, int t) {
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.DeviceOptional dev = new org.bytedeco.pytorch.DeviceOptional(torchDevice(m));
            org.bytedeco.pytorch.Tensor x = torch.zeros(new long[] {1, t, d},
                    new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float).device(dev));
            org.bytedeco.pytorch.Tensor mask = torch.ones(new long[] {1, t},
                    new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long).device(dev));
            org.bytedeco.pytorch.Tensor out;
            try {
                out = m.module.forward(new IValueVector(new IValue(x), new IValue(mask))).toTensor();
            } catch (RuntimeException ex) {
                throw new MaskoptException(m.path() + ": forward(embeddings [1, " + t + ", " + d + "], attention_mask [1, "
                        + t + "]) "
                        + "failed (D = " + d + " from the model's embeddings): " + TorchModule.firstLine(ex), ex);
            }
            if (out.dim() != 2 || out.size(0) != 1 || out.size(1) < 2 || !TorchModule.isFloat(out)) {
                throw new MaskoptException(m.path() + ": forward must return float32 logits [B, C] with C >= 2; on a "
                        + "batch of 1 it returned " + shape(out));
            }
            return Math.toIntExact(out.size(1));
        }
    }

    private static org.bytedeco.pytorch.Device torchDevice(TorchModule m) {
        return m.device.backend() == dev.maskopt.Backend.CUDA
                ? new org.bytedeco.pytorch.Device(torch.DeviceType.CUDA, (byte) m.device.index())
                : new org.bytedeco.pytorch.Device(torch.DeviceType.CPU);
    }

    static List<String> labelsOf(TorchModule m, List<String> given, int classes) {
        if (given != null) {
            if (given.size() != classes) {
                throw new IllegalArgumentException(given.size() + " labels given but the model has " + classes + " classes");
            }
            return given;
        }
        List<String> out = new ArrayList<>();
        if (m.module.hasattr("labels")) {
            IValue v = m.module.attr("labels");
            if (v.isList()) {
                var list = v.toList();
                for (long k = 0; k < list.size(); k++) {
                    IValue e = list.get(k);
                    if (!e.isString()) {
                        out.clear();
                        break;
                    }
                    out.add(e.toStringRef().getString(StandardCharsets.UTF_8));
                }
            }
            if (out.size() != classes) {
                throw new MaskoptException(m.path() + ": its labels attribute must be a List[str] of " + classes
                        + " names, one per class");
            }
            return List.copyOf(out);
        }
        for (int c = 0; c < classes; c++) {
            out.add(Integer.toString(c));
        }
        return List.copyOf(out);
    }

    static int intAttr(TorchModule m, String name, int fallback) {
        if (m.module.hasattr(name)) {
            IValue v = m.module.attr(name);
            if (v.isInt() && v.toInt() > 0) {
                return Math.toIntExact(v.toInt());
            }
            throw new MaskoptException(m.path() + ": its " + name + " attribute must be a positive int");
        }
        return fallback;
    }

    static String shape(org.bytedeco.pytorch.Tensor t) {
        StringBuilder sb = new StringBuilder("[");
        for (long k = 0; k < t.dim(); k++) {
            sb.append(k > 0 ? ", " : "").append(t.size(k));
        }
        return sb.append("] ").append(t.scalar_type()).toString();
    }

    private static List<String> readLines(Path p) {
        try {
            List<String> lines = new ArrayList<>(Files.readAllLines(p, StandardCharsets.UTF_8));
            lines.replaceAll(String::strip);
            while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
                lines.remove(lines.size() - 1);
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p, e);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    static void expectShape(Tensor t, long... shape) {
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("expected shape " + java.util.Arrays.toString(shape) + ", got " + t);
        }
    }
}
