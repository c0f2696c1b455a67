package dev.maskopt;

import static dev.maskopt.ExplainerWorkspaceTest.assertSameExplanations;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.bert.BertClassifier;
import dev.maskopt.cnn.CnnClassifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Explainer#explainEmbeddings}: texts the caller has embedded give the explanations of the text path bit for
 * bit (same seed, same optimization), the caller's memory is read in place in every step and never freed, and bad
 * arguments are refused with a message before any native call.
 */
class ExplainerEmbeddingsTest {
    private static final ExplainerConfig FAST = ExplainerConfig.builder().optSteps(25).build();
    // 10, 3 and 1 tokens (CNN: tokens = words).
    private static final List<String> TEXTS =
            List.of("the plot was great and the acting superb , really", "a dull film", "boring");

    static Stream<Backend> backends() {
        return Device.cudaDeviceCount() > 0 ? Stream.of(Backend.CPU, Backend.CUDA) : Stream.of(Backend.CPU);
    }

    private static Device open(Backend backend) {
        return backend == Backend.CUDA ? Device.cuda(0) : Device.cpu();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void givesTheExplanationsOfTheTextPath(Backend backend) {
        try (Device dev = open(backend); CnnClassifier model = ExplainerWorkspaceTest.cnn(dev)) {
            List<Encoding> enc = TEXTS.stream().map(model::encode).toList();
            int t = paddedLength(model, enc);
            int[] lengths = lengths(enc);
            List<List<String>> words = words(enc);
            for (Gate gate : Gate.values()) {
                ExplainerConfig cfg = FAST.toBuilder().optGate(gate).optSeed(5).build();
                try (Explainer ex = Explainer.create(model, cfg); Explainer fresh = Explainer.create(model, cfg);
                        Tensor e = embed(model, enc, t, false, 0f); Tensor b = embed(model, enc, t, true, 0f);
                        Tensor b1 = baselineVector(model, enc.get(0).baselineIds()[0]);
                        Tensor nanPadded = embed(model, enc, t + 5, false, Float.NaN)) {
                    List<Explanation> expected = ex.explain(TEXTS);
                    String at = backend + " " + gate;
                    assertSameExplanations(at + ", baselines [N,T,D]", expected,
                            fresh.explainEmbeddings(e, b, lengths, groups(enc), words, null, null));
                    assertSameExplanations(at + ", one baseline [D]", expected,
                            ex.explainEmbeddings(e, b1, lengths, groups(enc), words, null, null));
                    assertSameExplanations(at + ", NaN padding is never read", expected,
                            ex.explainEmbeddings(nanPadded, b1, lengths, null, words, null, null));
                    int[] targets = {1, 0, 1};
                    assertSameExplanations(at + ", targets", ex.explain(TEXTS, targets),
                            ex.explainEmbeddings(e, b, lengths, null, words, targets, null));
                    List<Explanation> unnamed = new ArrayList<>(ex.explainEmbeddings(e, b, lengths, groups(enc), null));
                    for (int k = 0; k < enc.size(); k++) {
                        List<String> placeholders = new ArrayList<>();
                        for (int j = 0; j < enc.get(k).words().size(); j++) {
                            placeholders.add("#" + j);
                        }
                        assertEquals(placeholders, unnamed.get(k).words(), "placeholder words");
                        unnamed.set(k, renamed(unnamed.get(k), enc.get(k).words()));
                    }
                    assertSameExplanations(at + ", unnamed words", expected, unnamed);
                }
            }
        }
    }

    /** BERT: [CLS] and [SEP] are never masked (word -1) and a word's pieces share a gate. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void neverMaskedTokensKeepTheirInputWhateverTheBaselineHoldsThere(Backend backend) {
        try (Device dev = open(backend); BertClassifier model = ExplainerWorkspaceTest.tinyBert(dev)) {
            List<String> texts = List.of("good bad good bad w9 w10 w11 good w12", "bad", "good w7 bad");
            List<Encoding> enc = texts.stream().map(model::encode).toList();
            assertTrue(Arrays.stream(enc.get(1).wordOfToken()).anyMatch(g -> g < 0), "[CLS]/[SEP] map to -1");
            int t = paddedLength(model, enc);
            int[] lengths = lengths(enc);
            for (Gate gate : Gate.values()) {
                ExplainerConfig cfg = FAST.toBuilder().optGate(gate).build();
                try (Explainer ex = Explainer.create(model, cfg); Tensor e = embed(model, enc, t, false, 0f);
                        Tensor b = embed(model, enc, t, true, 0f);
                        Tensor poisoned = embed(model, enc, t, true, 0f);
                        Tensor pad = baselineVector(model, enc.get(0).baselineIds()[1])) {
                    float[] v = poisoned.toFloatArray();
                    int d = model.embeddingDim();
                    for (int k = 0; k < enc.size(); k++) {
                        int[] g = enc.get(k).wordOfToken();
                        for (int j = 0; j < g.length; j++) {
                            if (g[j] < 0) {
                                Arrays.fill(v, (k * t + j) * d, (k * t + j + 1) * d, Float.NaN);
                            }
                        }
                    }
                    poisoned.copyFrom(v);
                    List<Explanation> expected = ex.explain(texts);
                    String at = backend + " " + gate;
                    assertSameExplanations(at + ", baselines [N,T,D]", expected,
                            ex.explainEmbeddings(e, b, lengths, groups(enc), words(enc), null, null));
                    assertSameExplanations(at + ", [PAD] baseline [D]", expected,
                            ex.explainEmbeddings(e, pad, lengths, groups(enc), words(enc), null, null));
                    assertSameExplanations(at + ", baselines NaN at never-masked tokens", expected,
                            ex.explainEmbeddings(e, poisoned, lengths, groups(enc), words(enc), null, null));
                }
            }
        }
    }

    /**
     * Host memory the test owns, wrapped with {@link Device#wrap}: the explainer reads it where it is, in every step
     * (a change made during the optimization shows from the next step on), allocates no buffer for it, and neither
     * the explainer nor the tensors nor the device free it.
     */
    @Test
    void readsTheCallersMemoryInPlaceAndLeavesItToTheCaller() {
        List<String> a = List.of("the plot was great and the acting superb", "a dull film");
        List<String> b = List.of("a boring plot and the acting was dull", "a great film");
        try (FloatPointer host = new FloatPointer(2L * 8 * 16); FloatPointer hostBase = new FloatPointer(16L)) {
            float[] ea, eb;
            try (Device dev = Device.cpu(); CnnClassifier model = ExplainerWorkspaceTest.cnn(dev);
                    Explainer ex = Explainer.create(model, FAST)) {
                List<Encoding> encA = a.stream().map(model::encode).toList();
                List<Encoding> encB = b.stream().map(model::encode).toList();
                assertEquals(Arrays.toString(lengths(encA)), Arrays.toString(lengths(encB)));
                int[] lengths = lengths(encA);
                try (Tensor x = embed(model, encA, 8, false, 0f); Tensor y = embed(model, encB, 8, false, 0f);
                        Tensor base = baselineVector(model, encA.get(0).baselineIds()[0])) {
                    ea = x.toFloatArray();
                    eb = y.toFloatArray();
                    hostBase.put(base.toFloatArray());
                }
                host.put(ea);
                Tensor inputs = dev.wrap(host.address(), Tensor.DType.FLOAT32, 2, 8, 16);
                Tensor baseline = dev.wrap(hostBase.address(), Tensor.DType.FLOAT32, 16);

                List<Explanation> ra = ex.explainEmbeddings(inputs, baseline, lengths, null, words(encA), null, null);
                assertSameExplanations("texts a", ex.explain(a), ra);
                host.put(eb);
                List<Explanation> rb = ex.explainEmbeddings(inputs, baseline, lengths, null, words(encB), null, null);
                assertSameExplanations("the same tensor, rewritten with texts b", ex.explain(b), rb);

                // Rewritten after step 10 of 25: steps 0-9 are those of texts a, the later ones see texts b.
                host.put(ea);
                List<Explanation> switched = ex.explainEmbeddings(inputs, baseline, lengths, null, words(encA), null,
                        done -> {
                            if (done == 10) {
                                host.put(eb);
                            }
                        });
                for (int k = 0; k < 2; k++) {
                    List<Explanation.Step> before = ra.get(k).trace(), after = switched.get(k).trace();
                    assertEquals(before.subList(0, 10), after.subList(0, 10), "text " + k + ": steps before");
                    assertNotEquals(before.get(10), after.get(10), "text " + k + ": the step after the change");
                }

                // The text path allocates its embeddings and baselines [N,T,D]; this path reads the caller's.
                long start = dev.allocations();
                try (Explainer other = Explainer.create(model, FAST)) {
                    other.explainEmbeddings(inputs, baseline, lengths, null, null);
                }
                long embeddingsPath = dev.allocations() - start;
                start = dev.allocations();
                try (Explainer other = Explainer.create(model, FAST)) {
                    other.explain(a);
                }
                assertEquals(dev.allocations() - start - 2, embeddingsPath, "buffers allocated besides E and B");
                inputs.close();
                Tensor left = dev.wrap(host.address(), Tensor.DType.FLOAT32, 2, 8, 16); // closed with the device
                assertEquals(eb[0], left.toFloatArray()[0]);
            }
            host.put(0, 42f); // still the caller's memory, still valid
            assertEquals(42f, host.get(0));
            assertEquals(eb[1], host.get(1));
        }
    }

    /** Another buffer, or new contents, between calls: with graphs (on CUDA) the same as eager steps. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void graphsFollowTheCallersBuffers(Backend backend) {
        try (Device dev = open(backend); CnnClassifier model = ExplainerWorkspaceTest.cnn(dev)) {
            List<Encoding> enc = TEXTS.stream().map(model::encode).toList();
            List<Encoding> other = List.of(model.encode("a superb film and the plot was dull , really"),
                    model.encode("great acting here"), model.encode("dull"));
            int t = paddedLength(model, enc);
            int[] lengths = lengths(enc);
            assertEquals(Arrays.toString(lengths), Arrays.toString(lengths(other)));
            ExplainerConfig on = FAST.toBuilder().optCudaGraphs(true).build();
            try (Explainer graphs = Explainer.create(model, on);
                    Explainer eager = Explainer.create(model, on.toBuilder().optCudaGraphs(false).build());
                    Tensor e1 = embed(model, enc, t, false, 0f); Tensor e2 = embed(model, enc, t, false, 0f);
                    Tensor f = embed(model, other, t, false, 0f); Tensor b = embed(model, enc, t, true, 0f);
                    Tensor b1 = baselineVector(model, enc.get(0).baselineIds()[0])) {
                List<Explanation> expected = eager.explainEmbeddings(e1, b, lengths, null, null);
                List<Explanation> expectedOther = eager.explainEmbeddings(f, b1, lengths, null, null);
                assertSameExplanations(backend + " recorded", expected, graphs.explainEmbeddings(e1, b, lengths, null,
                        null));
                assertSameExplanations(backend + " replayed", expected, graphs.explainEmbeddings(e1, b, lengths, null,
                        null));
                assertSameExplanations(backend + " another buffer", expected, graphs.explainEmbeddings(e2, b, lengths,
                        null, null));
                assertSameExplanations(backend + " another baseline", expectedOther, graphs.explainEmbeddings(f, b1,
                        lengths, null, null));
                f.copyFrom(e1.toFloatArray());
                assertSameExplanations(backend + " new contents", expected, graphs.explainEmbeddings(f, b, lengths,
                        null, null));
                assertSameExplanations(backend + " texts after embeddings", eager.explain(TEXTS),
                        graphs.explain(TEXTS));
            }
        }
    }

    @Test
    void rejectsBadArgumentsWithClearMessages() {
        try (Device dev = Device.cpu(); CnnClassifier model = ExplainerWorkspaceTest.cnn(dev);
                Explainer ex = Explainer.create(model, FAST); Device other = Device.cpu();
                Tensor e = dev.floats(1, 3, 16); Tensor b = dev.floats(16); Tensor foreign = other.floats(1, 3, 16);
                Tensor ints = dev.ints(1, 3, 16); Tensor flat = dev.floats(3, 16); Tensor narrow = dev.floats(1, 3, 8);
                Tensor tooLong = dev.floats(1, 41, 16); Tensor twoTexts = dev.floats(2, 3, 16)) {
            e.fill(0.5f);
            b.fill(0f);
            int[] len = {3};
            assertRejects("inputs must be given", () -> ex.explainEmbeddings(null, b, len, null, null));
            assertRejects("baselines must be given", () -> ex.explainEmbeddings(e, null, len, null, null));
            assertRejects("not on the model's device", () -> ex.explainEmbeddings(foreign, b, len, null, null));
            assertRejects("not on the model's device", () -> ex.explainEmbeddings(e, foreign, len, null, null));
            assertRejects("must be FLOAT32", () -> ex.explainEmbeddings(ints, b, len, null, null));
            assertRejects("must be [N,T,D]", () -> ex.explainEmbeddings(flat, b, len, null, null));
            assertRejects("embeddingDim() is 16", () -> ex.explainEmbeddings(narrow, b, len, null, null));
            assertRejects("at most 40", () -> ex.explainEmbeddings(tooLong, b, new int[] {3}, null, null));
            assertRejects("baselines must be [N,T,D]", () -> ex.explainEmbeddings(e, narrow, len, null, null));
            assertRejects("baselines must be [N,T,D]", () -> ex.explainEmbeddings(e, twoTexts, len, null, null));
            assertRejects("1 texts in the inputs but no lengths", () -> ex.explainEmbeddings(e, b, null, null, null));
            assertRejects("but 2 lengths", () -> ex.explainEmbeddings(e, b, new int[] {3, 3}, null, null));
            assertRejects("length 0 of text 0 is not in [1, T=3]",
                    () -> ex.explainEmbeddings(e, b, new int[] {0}, null, null));
            assertRejects("length 4 of text 0", () -> ex.explainEmbeddings(e, b, new int[] {4}, null, null));
            assertRejects("1 texts but 2 word maps",
                    () -> ex.explainEmbeddings(e, b, len, new int[][] {{0, 1, 2}, {0}}, null));
            assertRejects("wordOfToken[0] must have one entry per token",
                    () -> ex.explainEmbeddings(e, b, len, new int[][] {{0, 1}}, null));
            assertRejects("wordOfToken[0]: tokens must cover the words in order",
                    () -> ex.explainEmbeddings(e, b, len, new int[][] {{1, 0, 2}}, null));
            assertRejects("wordOfToken[0]: token 2 maps to word -2",
                    () -> ex.explainEmbeddings(e, b, len, new int[][] {{0, 1, -2}}, null));
            assertRejects("wordOfToken[0]: token 2 maps to word 2 of 2", () -> ex.explainEmbeddings(e, b, len,
                    new int[][] {{0, 1, 2}}, List.of(List.of("x", "y")), null, null));
            assertRejects("wordOfToken[0]: word 2 has no token", () -> ex.explainEmbeddings(e, b, len,
                    new int[][] {{0, 0, 1}}, List.of(List.of("x", "y", "z")), null, null));
            assertRejects("1 texts but 2 word lists", () -> ex.explainEmbeddings(e, b, len, null,
                    List.of(List.of("x", "y", "z"), List.of("w")), null, null));
            assertRejects("text 0 has no maskable word",
                    () -> ex.explainEmbeddings(e, b, len, new int[][] {{-1, -1, -1}}, null));
            assertRejects("target 2 of text 0", () -> ex.explainEmbeddings(e, b, len, null, new int[] {2}));
            assertRejects("1 texts but 2 targets", () -> ex.explainEmbeddings(e, b, len, null, new int[] {0, 1}));

            Tensor closed = dev.floats(1, 3, 16);
            closed.close();
            assertRejects("inputs tensor is closed", () -> ex.explainEmbeddings(closed, b, len, null, null));

            float[] v = new float[3 * 16];
            v[2 * 16 + 5] = Float.NaN; // token 2
            e.copyFrom(v);
            assertRejects("the inputs of text 0 contain NaN", () -> ex.explainEmbeddings(e, b, len, null, null));
            ex.explainEmbeddings(e, b, new int[] {2}, new int[][] {{0, 1}}, null); // ... outside the length: unread
            e.fill(0.5f);
            b.copyFrom(new float[] {0, 0, 0, Float.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
            assertRejects("the baseline contains NaN or infinite values",
                    () -> ex.explainEmbeddings(e, b, len, null, null));
        }
        try (Device dev = Device.cpu(); CnnClassifier model = ExplainerWorkspaceTest.cnn(dev);
                Tensor e = dev.floats(1, 3, 16); Tensor b = dev.floats(16)) {
            Explainer closed = Explainer.create(model, FAST);
            closed.close();
            assertThrows(IllegalStateException.class, () -> closed.explainEmbeddings(e, b, new int[] {3}, null, null));
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** The text path's T: the longest text, rounded up to its bucket on CUDA (the same workspace shape). */
    private static int paddedLength(Classifier model, List<Encoding> enc) {
        int t = Arrays.stream(lengths(enc)).max().orElseThrow();
        return model.device().backend() == Backend.CUDA ? Explainer.bucket(t, model.maxLength()) : t;
    }

    /** E [N,T,D] of the encodings' ids (or baseline ids) by the model's own embed, {@code pad} past each length. */
    static Tensor embed(Classifier model, List<Encoding> enc, int t, boolean baselineIds, float pad) {
        Device dev = model.device();
        int n = enc.size(), d = model.embeddingDim();
        int[] ids = new int[n * t], lengths = lengths(enc);
        for (int k = 0; k < n; k++) {
            int[] row = baselineIds ? enc.get(k).baselineIds() : enc.get(k).ids();
            System.arraycopy(row, 0, ids, k * t, row.length);
        }
        Tensor out = dev.floats(n, t, d);
        try (Tensor idt = dev.upload(ids, n, t); Tensor lt = dev.upload(lengths, n)) {
            model.embed(idt, lt, out);
        }
        float[] v = out.toFloatArray();
        for (int k = 0; k < n; k++) {
            Arrays.fill(v, (k * t + lengths[k]) * d, (k + 1) * t * d, pad);
        }
        out.copyFrom(v);
        return out;
    }

    /** The embedding [D] of token {@code id}. */
    private static Tensor baselineVector(Classifier model, int id) {
        Device dev = model.device();
        try (Tensor ids = dev.upload(new int[] {id}, 1, 1); Tensor len = dev.upload(new int[] {1}, 1);
                Tensor row = dev.floats(1, 1, model.embeddingDim())) {
            model.embed(ids, len, row);
            return dev.upload(row.toFloatArray(), model.embeddingDim());
        }
    }

    private static int[] lengths(List<Encoding> enc) {
        return enc.stream().mapToInt(Encoding::length).toArray();
    }

    private static int[][] groups(List<Encoding> enc) {
        return enc.stream().map(Encoding::wordOfToken).toArray(int[][]::new);
    }

    private static List<List<String>> words(List<Encoding> enc) {
        return enc.stream().map(Encoding::words).toList();
    }

    private static Explanation renamed(Explanation x, List<String> words) {
        return new Explanation(words, x.gates(), x.keepProbabilities(), x.rationale(),
                Explanation.spansOf(words, x.rationale()), x.labels(), x.predicted(), x.target(), x.probabilities(),
                x.rationaleOnlyProbability(), x.withoutRationaleProbability(), x.trace(), x.seconds());
    }

    private static void assertRejects(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, fragment);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment
                + "'");
    }
}
