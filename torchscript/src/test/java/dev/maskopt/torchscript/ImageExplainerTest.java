package dev.maskopt.torchscript;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Gate;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageExplainerTest {
    private static Device device;

    @BeforeAll
    static void open() {
        device = Device.cpu();
    }

    @AfterAll
    static void close() {
        device.close();
    }

    static TorchScriptImageClassifier region() {
        return TorchScriptImageClassifier.builder(Fixtures.file("image_region.pt")).optInputShape(3, 16, 16).build(device);
    }

    /** The first recorded image: gray noise with a red bar over rows 4..7, columns 8..15 (patches (1, 2) and (1, 3)). */
    static PixelImage redBar() {
        float[] all = Fixtures.floats(Fixtures.recorded().get("image").get("inputs"));
        return new PixelImage(3, 16, 16, Arrays.copyOf(all, 3 * 16 * 16));
    }

    @Test
    void logitsAndInputGradientsMatchPyTorch() {
        JsonNode r = Fixtures.recorded().get("image");
        try (TorchScriptImageClassifier model = region();
                Tensor x = device.upload(Fixtures.floats(r.get("inputs")), 2, 3, 16, 16);
                Tensor logits = device.floats(2, 2); Tensor dLogits = device.upload(Fixtures.floats(r.get("dlogits")), 2, 2);
                Tensor dx = device.floats(2, 3, 16, 16)) {
            assertEquals(List.of("other", "red square"), model.labels());
            logits.fill(Float.NaN);
            dx.fill(Float.NaN);
            model.forward(x, logits);
            model.backward(dLogits, dx);
            double el = Fixtures.assertClose("image logits", Fixtures.floats(r.get("logits")), logits.toFloatArray(), 1e-5,
                    1e-5);
            double eg = Fixtures.assertClose("image input gradient", Fixtures.floats(r.get("grad")), dx.toFloatArray(),
                    1e-6, 1e-5);
            System.out.printf("image: max |logit error| %.2e, max |gradient error| %.2e%n", el, eg);
        }
    }

    @Test
    void findsTheRegionTheModelLooksAt() {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(150).build();
        try (TorchScriptImageClassifier model = region()) {
            for (ImageBaseline baseline : ImageBaseline.values()) {
                for (Gate gate : Gate.values()) {
                    // sigma 4: a blur wide enough to wash the 4-pixel-high bar out (at sigma 1 it stays red)
                    ImageExplainer explainer = ImageExplainer.builder(model).optPatchSize(4).optBaseline(baseline)
                            .optBlurSigma(4).optConfig(cfg.toBuilder().optGate(gate).build()).build();
                    ImageExplanation e = explainer.explain(redBar());
                    assertEquals("red square", e.targetLabel());
                    List<String> patches = e.selectedPatches().stream().map(Arrays::toString).toList();
                    System.out.printf("%s, %s: patches %s; %s; %.3f s%n", baseline, gate, patches, e, e.seconds());
                    assertTrue(!patches.isEmpty() && List.of("[1, 2]", "[1, 3]").containsAll(patches),
                            baseline + ", " + gate + ": " + patches);
                    assertTrue(e.comprehensiveness() > 0.4, e.toString());
                    assertTrue(e.sufficiency() < 0.1, e.toString());
                }
            }
        }
    }

    @Test
    void memoryStaysFlatOverThousandsOfSteps() {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(200).build();
        try (TorchScriptImageClassifier model = region()) {
            ImageExplainer explainer = ImageExplainer.builder(model).optPatchSize(4).optConfig(cfg).build();
            PixelImage img = redBar();
            explainer.explain(img);
            System.gc();
            long rss200 = org.bytedeco.javacpp.Pointer.physicalBytes();
            long t0 = System.nanoTime();
            for (int k = 0; k < 19; k++) {
                explainer.explain(img);
            }
            double msPerStep = (System.nanoTime() - t0) / 1e6 / (19 * 200);
            System.gc();
            long rss4000 = org.bytedeco.javacpp.Pointer.physicalBytes();
            System.out.printf("image: RSS after 200 steps %.1f MiB, after 4000 steps %.1f MiB (%+.2f MiB); %.3f ms per step "
                    + "(batch [8, 3, 16, 16])%n", rss200 / 1048576.0, rss4000 / 1048576.0, (rss4000 - rss200) / 1048576.0,
                    msPerStep);
            // Without the per-step release, RSS grew by about 45 MiB over 1,800 steps of the text model.
            assertTrue(rss4000 - rss200 < 24L << 20, "RSS grew by " + (rss4000 - rss200) + " bytes over 3800 steps");
        }
    }

    @Test
    void writesTheMaskOverlaidAsPng(@TempDir Path dir) throws Exception {
        ExplainerConfig cfg = ExplainerConfig.builder().optSteps(60).build();
        try (TorchScriptImageClassifier model = region()) {
            PixelImage img = redBar();
            ImageExplanation e = ImageExplainer.builder(model).optPatchSize(4).optBaseline(ImageBaseline.BLACK)
                    .optConfig(cfg).build().explain(img);
            Path png = dir.resolve("overlay.png");
            e.writeOverlay(img, png);
            BufferedImage read = ImageIO.read(png.toFile());
            assertEquals(256, read.getWidth());
            assertEquals(256, read.getHeight());
            assertTrue(Files.size(png) > 100);
            PixelImage back = PixelImage.read(png); // round trip through the reader
            assertEquals(3, back.channels());
            assertThrows(IllegalArgumentException.class, () -> e.overlay(new PixelImage(3, 8, 8, new float[3 * 64])));
        }
    }

    @Test
    void commandLineWritesTheOverlay(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("red-bar.png"), out = dir.resolve("overlay.png");
        ImageIO.write(redBar().toBufferedImage(), "png", png.toFile());
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        int code;
        try (java.io.PrintStream ps = new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8)) {
            System.setOut(ps);
            code = new picocli.CommandLine(new ExplainImage()).execute(Fixtures.file("image_region.pt").toString(),
                    png.toString(), out.toString(), "--patch", "4", "--baseline", "BLACK", "--steps", "100");
        } finally {
            System.setOut(saved);
        }
        String text = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("red square") && text.contains("2 of 16 patches of 4 px selected: [(1,2), (1,3)]"), text);
        assertEquals(256, ImageIO.read(out.toFile()).getWidth());
    }

    @Test
    void baselines() {
        float[] px = new float[2 * 4 * 5];
        for (int k = 0; k < px.length; k++) {
            px[k] = k < 20 ? 0.25f : (k % 3) / 2f;
        }
        PixelImage img = new PixelImage(2, 4, 5, px);
        assertArrayEquals(new float[px.length], ImageBaseline.BLACK.of(img, 1).pixels());
        float[] mean = ImageBaseline.MEAN.of(img, 1).pixels();
        double m1 = 0;
        for (int k = 20; k < 40; k++) {
            m1 += px[k] / 20.0;
        }
        assertEquals(0.25f, mean[3], 1e-7);
        assertEquals(m1, mean[33], 1e-6);
        float[] blurred = ImageBaseline.BLURRED.of(img, 1.5).pixels();
        for (int k = 0; k < 20; k++) {
            assertEquals(0.25f, blurred[k], 1e-6); // a constant channel stays constant
        }
        double before = 0, after = 0, spread = 0;
        for (int k = 20; k < 40; k++) {
            before += px[k];
            after += blurred[k];
            spread = Math.max(spread, Math.abs(blurred[k] - m1));
        }
        assertTrue(Math.abs(before - after) < 0.5 && spread < 0.3, "blur smooths: " + Arrays.toString(blurred));
        assertThrows(IllegalArgumentException.class, () -> ImageBaseline.BLURRED.of(img, 0));
    }

    @Test
    void badInputFailsClearly() {
        var text = assertThrows(MaskoptException.class,
                () -> TorchScriptImageClassifier.builder(Fixtures.file("text_embed.pt")).optInputShape(3, 16, 16)
                        .build(device));
        assertTrue(text.getMessage().contains("forward(images [2, 3, 16, 16]) failed"), text.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> TorchScriptImageClassifier.load(Path.of("missing.pt"), device));
        try (TorchScriptImageClassifier model = region()) {
            assertThrows(IllegalArgumentException.class, () -> ImageExplainer.builder(model).optPatchSize(0).build());
            ImageExplainer ex = ImageExplainer.builder(model).optPatchSize(4).build();
            assertThrows(IllegalArgumentException.class, () -> ex.explain(redBar(), 2));
            var small = assertThrows(MaskoptException.class, () -> ex.explain(new PixelImage(3, 4, 4, new float[48])));
            assertTrue(small.getMessage().contains("forward failed"), small.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new PixelImage(3, 2, 2, new float[5]));
        }
    }
}
