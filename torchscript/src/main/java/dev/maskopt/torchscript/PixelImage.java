package dev.maskopt.torchscript;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * An image as a float32 array in channel-major order [C, H, W] (the layout of a PyTorch image batch row), values as
 * the model expects them (images read from files are RGB in [0, 1]).
 *
 * @param channels C
 * @param height H
 * @param width W
 * @param pixels C H W values, channel-major
 */
public record PixelImage(int channels, int height, int width, float[] pixels) {
    public PixelImage {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image dimensions must be positive (got " + channels + "x" + height + "x"
                    + width + ")");
        }
        if (pixels == null || pixels.length != (long) channels * height * width) {
            throw new IllegalArgumentException("an image of " + channels + "x" + height + "x" + width + " needs "
                    + (long) channels * height * width + " values");
        }
        for (float v : pixels) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("image values must be finite");
            }
        }
        pixels = pixels.clone();
    }

    @Override
    public float[] pixels() {
        return pixels.clone();
    }

    float[] raw() {
        return pixels;
    }

    /** Reads an image file (PNG, JPEG, ... as javax.imageio reads them) as RGB in [0, 1]. */
    public static PixelImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no image file at " + file);
        }
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) {
            throw new IOException("cannot read " + file + " as an image");
        }
        return of(img);
    }

    /** An image's RGB values in [0, 1]. */
    public static PixelImage of(BufferedImage img) {
        int h = img.getHeight(), w = img.getWidth();
        float[] p = new float[3 * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                p[y * w + x] = ((rgb >> 16) & 0xff) / 255f;
                p[h * w + y * w + x] = ((rgb >> 8) & 0xff) / 255f;
                p[2 * h * w + y * w + x] = (rgb & 0xff) / 255f;
            }
        }
        return new PixelImage(3, h, w, p);
    }

    /** The image as 8-bit RGB, values clamped to [0, 1] (one channel: gray; more than 3: the first 3). */
    public BufferedImage toBufferedImage() {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                out.setRGB(x, y, rgb(value(0, y, x), value(Math.min(1, channels - 1), y, x),
                        value(Math.min(2, channels - 1), y, x)));
            }
        }
        return out;
    }

    float value(int c, int y, int x) {
        return pixels[(c * height + y) * width + x];
    }

    static int rgb(double r, double g, double b) {
        return (byte8(r) << 16) | (byte8(g) << 8) | byte8(b);
    }

    private static int byte8(double v) {
        return (int) Math.round(Math.max(0, Math.min(1, v)) * 255);
    }
}
