package dev.maskopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.bert.BertClassifier;
import dev.maskopt.bert.BertWeights;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.Vocabulary;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the explainer keeps between calls (buffers per batch shape, the CUDA graph of a step) and how it pads
 * lengths must never show in an explanation: bucketing, reuse, graphs and progress reporting all give the same
 * results as a plain run. On the CPU the graph path is not available (those tests compare eager with eager there);
 * with a GPU they exercise capture and replay.
 */
class ExplainerWorkspaceTest {
    private static final ExplainerConfig FAST = ExplainerConfig.builder().optSteps(25).build();
    // 10 and 3 tokens (CNN: tokens = words), so buckets pad both T and W.
    private static final List<String> TEXTS =
            List.of("the plot was great and the acting superb , really", "a dull film");

    static Stream<Backend> backends() {
        return Device.cudaDeviceCount() > 0 ? Stream.of(Backend.CPU, Backend.CUDA) : Stream.of(Backend.CPU);
    }

    @Test
    void bucketsPadByLessThanAnEighthPastSmallSizes() {
        int max = Integer.MAX_VALUE;
        assertEquals(8, Explainer.bucket(1, max));
        assertEquals(8, Explainer.bucket(8, max));
        assertEquals(16, Explainer.bucket(9, max));
        assertEquals(64, Explainer.bucket(64, max));
        assertEquals(72, Explainer.bucket(65, max));
        assertEquals(104, Explainer.bucket(100, max));
        assertEquals(320, Explainer.bucket(300, max));
        assertEquals(512, Explainer.bucket(500, 512));
        assertEquals(40, Explainer.bucket(37, 40), "capped at the model's length");
        assertEquals(41, Explainer.bucket(41, 41));
        for (int size = 1; size < 3000; size++) {
            int b = Explainer.bucket(size, max);
            assertTrue(b >= size && b - size < Math.max(8, size / 8.0), size + " -> " + b);
        }
    }

    @Test
    void bucketingDoesNotChangeExplanations() {
        try (Device dev = Device.cpu(); CnnClassifier cnn = cnn(dev); BertClassifier bert = tinyBert(dev)) {
            List<String> bertTexts = List.of("good bad good bad w9 w10 w11 good w12", "bad", "good w7 bad");
            for (Gate gate : Gate.values()) {
                ExplainerConfig cfg = FAST.toBuilder().optGate(gate).build();
                try (Explainer exact = Explainer.create(cnn, cfg, false);
                        Explainer padded = Explainer.create(cnn, cfg, true)) {
                    assertSameExplanations("CNN " + gate, exact.explain(TEXTS), padded.explain(TEXTS));
                }
                try (Explainer exact = Explainer.create(bert, cfg, false);
                        Explainer padded = Explainer.create(bert, cfg, true)) {
                    assertSameExplanations("BERT " + gate, exact.explain(bertTexts), padded.explain(bertTexts));
                }
            }
        }
    }

    /** Texts of other lengths in the same bucket reuse every buffer: the second call allocates nothing. */
    @Test
    void repeatedCallsReuseTheirBuffers() {
        try (Device dev = Device.cpu(); CnnClassifier model = cnn(dev);
                Explainer ex = Explainer.create(model, FAST, true)) {
            List<Explanation> first = ex.explain(TEXTS);
            long allocations = dev.allocations();
            ex.explain(List.of("one two three four five six seven eight nine ten eleven twelve thirteen", "x"));
            ex.explain(TEXTS, new int[] {1, 0});
            assertEquals(allocations, dev.allocations(), "tensors allocated by calls in the same bucket");
            assertSameExplanations("after reuse", first, ex.explain(TEXTS));
            try (Explainer fresh = Explainer.create(model, FAST, true)) {
                assertSameExplanations("fresh explainer", first, fresh.explain(TEXTS));
            }
        }
    }

    /** A forward of another shape between calls makes the model reallocate; the next call must still be right. */
    @Test
    void modelReallocationBetweenCallsChangesNothing() {
        try (Device dev = Device.cpu(); CnnClassifier cnn = cnn(dev); BertClassifier bert = tinyBert(dev)) {
            for (Classifier model : List.<Classifier>of(cnn, bert)) {
                List<String> texts = model == cnn ? TEXTS : List.of("good bad w9 good", "bad good");
                try (Explainer ex = Explainer.create(model, FAST, true)) {
                    List<Explanation> first = ex.explain(texts);
                    long generation = model.bufferGeneration();
                    ex.explain(texts);
                    assertEquals(generation, model.bufferGeneration(),
                            model + ": an explain call keeps one batch shape, so the model keeps its buffers");
                    forwardRows(model, 3 * 2 * FAST.samples() * texts.size());
                    assertNotEquals(generation, model.bufferGeneration(), "the model reallocated");
                    assertSameExplanations(model + " after reallocation", first, ex.explain(texts));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void graphsOnAndOffGiveIdenticalExplanations(Backend backend) {
        try (Device dev = backend == Backend.CUDA ? Device.cuda(0) : Device.cpu(); CnnClassifier model = cnn(dev)) {
            for (Gate gate : Gate.values()) {
                ExplainerConfig on = FAST.toBuilder().optGate(gate).optCudaGraphs(true).build();
                ExplainerConfig off = on.toBuilder().optCudaGraphs(false).build();
                try (Explainer a = Explainer.create(model, on); Explainer b = Explainer.create(model, off)) {
                    List<Explanation> eager = b.explain(TEXTS);
                    assertSameExplanations(backend + " " + gate + " graphs", eager, a.explain(TEXTS));
                    // The second call replays the step recorded in the first from its start.
                    assertSameExplanations(backend + " " + gate + " replay only", eager, a.explain(TEXTS));
                    assertSameExplanations(backend + " " + gate + " with progress", eager,
                            a.explain(TEXTS, null, done -> {}));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void progressIsReportedABoundedNumberOfTimes(Backend backend) {
        try (Device dev = backend == Backend.CUDA ? Device.cuda(0) : Device.cpu(); CnnClassifier model = cnn(dev)) {
            for (int steps : new int[] {1, 7, 20, 45, 200}) {
                ExplainerConfig cfg = FAST.toBuilder().optSteps(steps).build();
                try (Explainer ex = Explainer.create(model, cfg)) {
                    List<Integer> seen = new ArrayList<>();
                    List<Explanation> withProgress = ex.explain(TEXTS, null, seen::add);
                    int every = (steps + 19) / 20;
                    assertEquals((steps + every - 1) / every, seen.size(), steps + " steps: " + seen);
                    assertTrue(seen.size() <= 20, "at most 20 reports: " + seen);
                    assertEquals(steps, seen.get(seen.size() - 1), "last report: all steps");
                    for (int k = 1; k < seen.size(); k++) {
                        assertTrue(seen.get(k) > seen.get(k - 1), "increasing: " + seen);
                    }
                    assertSameExplanations(steps + " steps", ex.explain(TEXTS), withProgress);
                }
            }
        }
    }

    @Test
    void progressWorksForEncodedTextsAndItsExceptionsEndTheCall() {
        try (Device dev = Device.cpu(); CnnClassifier model = cnn(dev); Explainer ex = Explainer.create(model, FAST)) {
            List<Encoding> encoded = List.of(model.encodeWords(List.of("a", "great", "film")));
            List<Integer> seen = new ArrayList<>();
            List<Explanation> out = ex.explainEncoded(encoded, new int[] {1}, seen::add);
            assertEquals(1, out.get(0).target());
            assertEquals(FAST.steps(), seen.get(seen.size() - 1));
            IllegalStateException stop = new IllegalStateException("cancelled");
            assertSame(stop, assertThrows(IllegalStateException.class, () -> ex.explain(TEXTS, null, done -> {
                throw stop;
            })));
            assertSameExplanations("after an aborted call", ex.explainEncoded(encoded, new int[] {1}), out);
        }
    }

    /** Buffers of at most a few batch shapes are kept; closing the explainer releases them all. */
    @Test
    void keepsBuffersForAFewShapesAndReleasesThemOnClose() {
        try (Device dev = Device.cpu(); CnnClassifier model = cnn(dev)) {
            int before = dev.liveTensors();
            List<Integer> live = new ArrayList<>();
            try (Explainer ex = Explainer.create(model, FAST.toBuilder().optSteps(2).build())) {
                for (int n = 1; n <= 7; n++) {
                    ex.explain(java.util.Collections.nCopies(n, "a great film"));
                    live.add(dev.liveTensors());
                }
            }
            int perShape = live.get(1) - live.get(0);
            assertTrue(perShape > 0, "a workspace holds tensors: " + live);
            assertEquals(live.get(3), live.get(6), "no more than 4 shapes kept: " + live);
            assertEquals(live.get(0) + 3 * perShape, live.get(3), live.toString());
            assertTrue(dev.liveTensors() - before <= 2, "only the model's own buffers remain");
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    static void assertSameExplanations(String what, List<Explanation> expected, List<Explanation> got) {
        assertEquals(expected.size(), got.size(), what);
        for (int k = 0; k < expected.size(); k++) {
            Explanation x = expected.get(k), y = got.get(k);
            String at = what + ", text " + k;
            assertEquals(x.words(), y.words(), at);
            assertArrayEquals(x.gates(), y.gates(), at + ": gates");
            assertArrayEquals(x.keepProbabilities(), y.keepProbabilities(), at + ": keep probabilities");
            assertArrayEquals(x.rationale(), y.rationale(), at + ": rationale");
            assertArrayEquals(x.probabilities(), y.probabilities(), at + ": probabilities");
            assertEquals(x.predicted(), y.predicted(), at);
            assertEquals(x.target(), y.target(), at);
            assertEquals(x.sufficiency(), y.sufficiency(), 0.0, at + ": sufficiency");
            assertEquals(x.comprehensiveness(), y.comprehensiveness(), 0.0, at + ": comprehensiveness");
            assertEquals(x.trace(), y.trace(), at + ": trace");
        }
    }

    /** One forward of `rows` padded rows of length 3, as another user of the model would run. */
    private static void forwardRows(Classifier model, int rows) {
        Device dev = model.device();
        int[] lens = new int[rows];
        java.util.Arrays.fill(lens, 3);
        try (Tensor x = dev.floats(rows, 5, model.embeddingDim()); Tensor l = dev.upload(lens, rows);
                Tensor logits = dev.floats(rows, model.labels().size())) {
            x.fill(0.1f);
            model.forward(x, l, logits);
        }
    }

    static CnnClassifier cnn(Device dev) {
        Vocabulary vocab = PlantedTask.vocabulary();
        return CnnClassifier.create(dev, vocab, PlantedTask.embeddings(vocab, 16, 3), 16, PlantedTask.LABELS,
                CnnClassifier.DEFAULT_WIDTHS, 8, 40, 5);
    }

    /** Two layers of random weights, hidden 8, 32 positions; words "good", "bad", "w5".."w19". */
    static BertClassifier tinyBert(Device dev) {
        BertWeights.Config cfg = new BertWeights.Config(2, 8, 2, 16, 32, 2, 20, 1e-12);
        SplittableRandom rng = new SplittableRandom(4);
        BertWeights.Builder b = BertWeights.builder(cfg);
        for (BertWeights.Part p : BertWeights.Part.values()) {
            for (int l = 0; l < (p.perLayer() ? cfg.layers() : 1); l++) {
                float[] v = new float[(int) p.size(cfg)];
                boolean gamma = p.name().endsWith("GAMMA");
                for (int k = 0; k < v.length; k++) {
                    v[k] = (float) ((gamma ? 1 : 0) + 0.3 * (rng.nextDouble() * 2 - 1));
                }
                if (p.perLayer()) {
                    b.set(p, l, v);
                } else {
                    b.set(p, v);
                }
            }
        }
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"));
        while (vocab.size() < 20) {
            vocab.add("w" + vocab.size());
        }
        WordPieceTokenizer tok = WordPieceTokenizer.fromVocabTxt(
                new ByteArrayInputStream(String.join("\n", vocab).getBytes(StandardCharsets.UTF_8)), true);
        float[] head = new float[16];
        for (int k = 0; k < head.length; k++) {
            head[k] = (k % 3) - 1;
        }
        return new BertClassifier(dev, b.build(), tok, List.of("neg", "pos"), head, new float[] {0.1f, -0.1f});
    }
}
