package dev.maskopt.torchscript;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TorchScriptClassifierTest {
    private static Device device;

    @BeforeAll
    static void open() {
        device = Device.cpu();
    }

    @AfterAll
    static void close() {
        device.close();
    }

    static TorchScriptClassifier cueWords() {
        return TorchScriptClassifier.load(Fixtures.file("text_embed.pt"), Fixtures.file("words.txt"), device);
    }

    static TorchScriptClassifier position3() {
        return TorchScriptClassifier.load(Fixtures.file("text_table.pt"), Fixtures.file("vocab.txt"), device);
    }

    @Test
    void readsTheContractFromTheModel() {
        try (TorchScriptClassifier a = cueWords(); TorchScriptClassifier b = position3()) {
            assertTrue(a.embedsWithMethod());
            assertEquals(8, a.embeddingDim());
            assertEquals(List.of("negative", "positive"), a.labels());
            assertFalse(b.embedsWithMethod());
            assertEquals(8, b.embeddingDim());
            assertEquals(List.of("a", "b", "c"), b.labels());
            assertEquals(TorchScriptClassifier.DEFAULT_MAX_LENGTH, b.maxLength());
            assertEquals(-1, a.bufferGeneration());
        }
    }

    @Test
    void parametersDoNotRequireGrad() {
        // bad_dim.pt was saved with its Linear layer's parameters requiring grad (the others were saved without).
        try (TorchModule m = new TorchModule(Fixtures.file("bad_dim.pt"), device, 1)) {
            assertEquals(0, m.parametersRequiringGrad());
            assertEquals(2, m.module.parameters(true).size());
        }
    }

    @Test
    void logitsAndInputGradientsMatchPyTorch() {
        for (String name : List.of("text_embed", "text_table")) {
            JsonNode r = Fixtures.recorded().get(name);
            long[] shape = Fixtures.longs(r.get("shape"));
            long b = shape[0], t = shape[1], d = shape[2];
            try (TorchScriptClassifier model = name.equals("text_embed") ? cueWords() : position3();
                    Tensor x = device.upload(Fixtures.floats(r.get("inputs")), b, t, d);
                    Tensor lens = device.upload(Fixtures.ints(r.get("lengths")), b);
                    Tensor logits = device.floats(b, model.labels().size());
                    Tensor dLogits = device.upload(Fixtures.floats(r.get("dlogits")), b, model.labels().size());
                    Tensor dx = device.floats(b, t, d)) {
                logits.fill(Float.NaN);
                dx.fill(Float.NaN);
                model.forward(x, lens, logits);
                model.backward(dLogits, dx);
                double el = Fixtures.assertClose(name + " logits", Fixtures.floats(r.get("logits")), logits.toFloatArray(),
                        1e-5, 1e-5);
                double eg = Fixtures.assertClose(name + " input gradient", Fixtures.floats(r.get("grad")),
                        dx.toFloatArray(), 1e-5, 1e-5);
                System.out.printf("%s: max |logit error| %.2e, max |gradient error| %.2e%n", name, el, eg);
            }
        }
    }

    /** An application's own buffers (here host memory from JavaCPP; device memory on CUDA) go in without copies. */
    @Test
    void runsOnBuffersTheApplicationOwns() {
        JsonNode r = Fixtures.recorded().get("text_embed");
        long[] shape = Fixtures.longs(r.get("shape"));
        int b = (int) shape[0], t = (int) shape[1], d = (int) shape[2];
        try (TorchScriptClassifier model = cueWords();
                org.bytedeco.javacpp.FloatPointer inputs = new org.bytedeco.javacpp.FloatPointer((long) b * t * d);
                org.bytedeco.javacpp.FloatPointer grad = new org.bytedeco.javacpp.FloatPointer((long) b * t * d);
                org.bytedeco.javacpp.IntPointer lengths = new org.bytedeco.javacpp.IntPointer(b)) {
            inputs.put(Fixtures.floats(r.get("inputs")));
            lengths.put(Fixtures.ints(r.get("lengths")));
            try (Tensor x = device.wrap(inputs.address(), Tensor.DType.FLOAT32, b, t, d);
                    Tensor lens = device.wrap(lengths.address(), Tensor.DType.INT32, b);
                    Tensor dx = device.wrap(grad.address(), Tensor.DType.FLOAT32, b, t, d);
                    Tensor logits = device.floats(b, 2);
                    Tensor dLogits = device.upload(Fixtures.floats(r.get("dlogits")), b, 2)) {
                model.forward(x, lens, logits);
                model.backward(dLogits, dx);
                Fixtures.assertClose("logits", Fixtures.floats(r.get("logits")), logits.toFloatArray(), 1e-5, 1e-5);
            }
            float[] g = new float[b * t * d];
            grad.get(g); // the gradient was written into the application's buffer
            Fixtures.assertClose("gradient in the application's buffer", Fixtures.floats(r.get("grad")), g, 1e-5, 1e-5);
        }
    }

    @Test
    void embedsLikeTheModel() {
        JsonNode r = Fixtures.recorded().get("text_embed");
        long[] shape = Fixtures.longs(r.get("shape"));
        try (TorchScriptClassifier model = cueWords();
                Tensor ids = device.upload(Fixtures.ints(r.get("ids")), shape[0], shape[1]);
                Tensor lens = device.upload(Fixtures.ints(r.get("lengths")), shape[0]);
                Tensor out = device.floats(shape[0], shape[1], shape[2])) {
            out.fill(Float.NaN);
            model.embed(ids, lens, out);
            Fixtures.assertClose("embed()", Fixtures.floats(r.get("embedded")), out.toFloatArray(), 0, 0);
        }
    }

    @Test
    void tokenizesWithTheVocabulary() {
        try (TorchScriptClassifier words = cueWords(); TorchScriptClassifier pieces = position3()) {
            Encoding e = words.encode("The movie was GOOD zzz");
            assertEquals(List.of("The", "movie", "was", "GOOD", "zzz"), e.words());
            assertEquals(11, e.ids()[3]); // "good", lowercased
            assertEquals(1, e.ids()[4]); // <unk>
            assertEquals(0, e.baselineIds()[0]); // <pad>
            Encoding p = pieces.encode("the film was unbelievable");
            assertEquals(List.of("[CLS]", "the", "film", "was", "un", "##believ", "##able", "[SEP]"), p.tokens());
            assertEquals(-1, p.wordOfToken()[0]);
            assertEquals(3, p.wordOfToken()[6]);
            assertEquals(0, p.baselineIds()[4]); // [PAD]
        }
    }

    @Test
    void explainsTheCueWord() {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(150).build();
        try (TorchScriptClassifier model = cueWords(); Explainer explainer = Explainer.create(model, cfg)) {
            List<Explanation> es = explainer.explain(List.of("the movie was good and the plot was fine",
                    "it seemed quite long to me and the acting was bad", "a good film"));
            assertEquals(List.of("good"), es.get(0).rationaleWords());
            assertEquals("positive", es.get(0).targetLabel());
            assertEquals(List.of("bad"), es.get(1).rationaleWords());
            assertEquals("negative", es.get(1).targetLabel());
            assertEquals(List.of("good"), es.get(2).rationaleWords());
            for (Explanation e : es) {
                assertTrue(e.comprehensiveness() > 0.3, e.toString());
                assertTrue(e.sufficiency() < 0.05, e.toString());
            }
        }
    }

    @Test
    void explainsTheTokenAtPosition3() {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(150).build();
        try (TorchScriptClassifier model = position3(); Explainer explainer = Explainer.create(model, cfg)) {
            // [CLS] the movie was good [SEP]: position 3 is "was"; [CLS] the film , unbelievable: position 3 is ","
            List<Explanation> es = explainer.explain(List.of("the movie was good", "the film, unbelievable acting"));
            assertEquals(List.of("was"), es.get(0).rationaleWords(), es.get(0).toString());
            assertEquals(List.of(","), es.get(1).rationaleWords(), es.get(1).toString());
        }
    }

    @Test
    void memoryStaysFlatOverThousandsOfSteps() {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(200).build();
        try (TorchScriptClassifier model = cueWords(); Explainer explainer = Explainer.create(model, cfg)) {
            List<String> text = List.of("the movie was good and the plot was fine");
            explainer.explain(text); // warm up: libtorch's lazy initialization, the explainer's buffers
            System.gc();
            long rss200 = org.bytedeco.javacpp.Pointer.physicalBytes();
            long t0 = System.nanoTime();
            for (int k = 0; k < 19; k++) {
                explainer.explain(text);
            }
            double msPerStep = (System.nanoTime() - t0) / 1e6 / (19 * 200);
            System.gc();
            long rss4000 = org.bytedeco.javacpp.Pointer.physicalBytes();
            System.out.printf("RSS after 200 steps %.1f MiB, after 4000 steps %.1f MiB (%+.2f MiB); %.3f ms per step "
                    + "(batch [8, 10, 8])%n", rss200 / 1048576.0, rss4000 / 1048576.0, (rss4000 - rss200) / 1048576.0,
                    msPerStep);
            // Without the per-step release, RSS grew by about 45 MiB over 1,800 steps of the text model.
            assertTrue(rss4000 - rss200 < 24L << 20, "RSS grew by " + (rss4000 - rss200) + " bytes over 3800 steps");
        }
    }

    @Test
    void badInputFailsClearly() {
        Path vocab = Fixtures.file("words.txt");
        var missing = assertThrows(IllegalArgumentException.class,
                () -> TorchScriptClassifier.load(Path.of("no-such-model.pt"), vocab, device));
        assertTrue(missing.getMessage().contains("no TorchScript file"), missing.getMessage());
        var notScript = assertThrows(MaskoptException.class,
                () -> TorchScriptClassifier.load(vocab, vocab, device));
        assertTrue(notScript.getMessage().contains("cannot load TorchScript file"), notScript.getMessage());
        var noVocab = assertThrows(IllegalArgumentException.class,
                () -> TorchScriptClassifier.builder(Fixtures.file("text_embed.pt")).build(device));
        assertTrue(noVocab.getMessage().contains("vocabulary"), noVocab.getMessage());
        var badOutput = assertThrows(MaskoptException.class,
                () -> TorchScriptClassifier.load(Fixtures.file("bad_output.pt"), vocab, device));
        assertTrue(badOutput.getMessage().contains("logits [B, C]"), badOutput.getMessage());
        var badDim = assertThrows(MaskoptException.class,
                () -> TorchScriptClassifier.load(Fixtures.file("bad_dim.pt"), vocab, device));
        assertTrue(badDim.getMessage().contains("D = 8"), badDim.getMessage());
        var noEmbedding = assertThrows(MaskoptException.class,
                () -> TorchScriptClassifier.load(Fixtures.file("image_region.pt"), vocab, device));
        assertTrue(noEmbedding.getMessage().contains("neither an embed(ids) method nor an embedding_table"),
                noEmbedding.getMessage());
        var labels = assertThrows(IllegalArgumentException.class, () -> TorchScriptClassifier
                .builder(Fixtures.file("text_embed.pt")).optVocabulary(vocab).optLabels(List.of("x")).build(device));
        assertTrue(labels.getMessage().contains("2 classes"), labels.getMessage());
        try (TorchScriptClassifier model = cueWords(); Tensor x = device.floats(1, 3, 5); Tensor lens = device.upload(
                new int[] {3}, 1); Tensor logits = device.floats(1, 2); Tensor dx = device.floats(1, 3, 8)) {
            assertThrows(IllegalArgumentException.class, () -> model.forward(x, lens, logits)); // D = 5, not 8
            assertThrows(IllegalStateException.class, () -> model.backward(logits, dx));
        }
        TorchScriptClassifier closed = cueWords();
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.encode("x").length());
    }
}
