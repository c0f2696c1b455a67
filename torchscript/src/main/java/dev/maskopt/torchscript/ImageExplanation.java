package dev.maskopt.torchscript;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * The explanation of one image prediction: which patches the model relied on, and the certificate (same definitions
 * as {@link dev.maskopt.Explanation}: masked patches replaced by the baseline image).
 *
 * @param patchSize side of a square patch in pixels (edge patches may be smaller)
 * @param gridHeight patches per column
 * @param gridWidth patches per row
 * @param gates per-patch deterministic gate in [0, 1], row-major [gridHeight, gridWidth]
 * @param keepProbabilities per-patch probability that the stochastic gate is non-zero
 * @param selected per-patch membership in the rationale (gate at least the threshold)
 * @param labels the class names
 * @param predicted the model's prediction on the image
 * @param target the explained class
 * @param probabilities the model's class probabilities on the image
 * @param rationaleOnlyProbability p_target with only the selected patches kept
 * @param withoutRationaleProbability p_target with the selected patches replaced by the baseline
 * @param trace per step: (sufficiency loss, comprehensiveness loss)
 * @param seconds wall-clock time of the explanation
 */
public record ImageExplanation(int patchSize, int gridHeight, int gridWidth, double[] gates,
        double[] keepProbabilities, boolean[] selected, List<String> labels, int predicted, int target,
        double[] probabilities, double rationaleOnlyProbability, double withoutRationaleProbability,
        List<double[]> trace, double seconds) {

    public ImageExplanation {
        gates = gates.clone();
        keepProbabilities = keepProbabilities.clone();
        selected = selected.clone();
        labels = List.copyOf(labels);
        probabilities = probabilities.clone();
        trace = List.copyOf(trace);
    }

    @Override
    public double[] gates() {
        return gates.clone();
    }

    @Override
    public double[] keepProbabilities() {
        return keepProbabilities.clone();
    }

    @Override
    public boolean[] selected() {
        return selected.clone();
    }

    @Override
    public double[] probabilities() {
        return probabilities.clone();
    }

    public String targetLabel() {
        return labels.get(target);
    }

    /** p_y(image) - p_y(selected patches only); lower is better. */
    public double sufficiency() {
        return probabilities[target] - rationaleOnlyProbability;
    }

    /** p_y(image) - p_y(image without the selected patches); higher is better. */
    public double comprehensiveness() {
        return probabilities[target] - withoutRationaleProbability;
    }

    /** The selected patches as (row, column) pairs, row-major. */
    public List<int[]> selectedPatches() {
        List<int[]> out = new ArrayList<>();
        for (int k = 0; k < selected.length; k++) {
            if (selected[k]) {
                out.add(new int[] {k / gridWidth, k % gridWidth});
            }
        }
        return out;
    }

    /**
     * The image with the mask overlaid: each pixel dimmed by its patch's gate (brightness 0.25 + 0.75 gate), the
     * selected patches outlined in green.
     */
    public BufferedImage overlay(PixelImage image) {
        int h = image.height(), w = image.width();
        if ((h + patchSize - 1) / patchSize != gridHeight || (w + patchSize - 1) / patchSize != gridWidth) {
            throw new IllegalArgumentException("the image is not the one explained (" + h + "x" + w + " pixels)");
        }
        int scale = Math.max(1, 256 / Math.max(h, w)); // small images are enlarged so the outlines stay visible
        BufferedImage out = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        int c = image.channels();
        for (int y = 0; y < h * scale; y++) {
            for (int x = 0; x < w * scale; x++) {
                int py = y / scale, px = x / scale;
                double g = gates[(py / patchSize) * gridWidth + px / patchSize];
                double dim = 0.25 + 0.75 * g;
                out.setRGB(x, y, PixelImage.rgb(dim * image.value(0, py, px), dim * image.value(Math.min(1, c - 1), py, px),
                        dim * image.value(Math.min(2, c - 1), py, px)));
            }
        }
        Graphics2D g2 = out.createGraphics();
        g2.setColor(new Color(0, 220, 0));
        g2.setStroke(new BasicStroke(Math.max(1, scale / 2f)));
        for (int[] rc : selectedPatches()) {
            int x0 = rc[1] * patchSize * scale, y0 = rc[0] * patchSize * scale;
            int pw = Math.min(patchSize, w - rc[1] * patchSize) * scale, ph = Math.min(patchSize, h - rc[0] * patchSize)
                    * scale;
            g2.drawRect(x0, y0, pw - 1, ph - 1);
        }
        g2.dispose();
        return out;
    }

    /** Writes {@link #overlay} as a PNG file. */
    public void writeOverlay(PixelImage image, Path png) throws IOException {
        if (!ImageIO.write(overlay(image), "png", png.toFile())) {
            throw new IOException("no PNG writer");
        }
    }

    @Override
    public String toString() {
        return String.format("ImageExplanation[%s p=%.3f, %d of %d patches, sufficiency=%.3f, comprehensiveness=%.3f]",
                targetLabel(), probabilities[target], selectedPatches().size(), selected.length, sufficiency(),
                comprehensiveness());
    }
}
