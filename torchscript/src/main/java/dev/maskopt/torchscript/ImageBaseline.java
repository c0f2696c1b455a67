package dev.maskopt.torchscript;

/**
 * What a masked patch becomes (the image-side analogue of a text baseline such as [PAD]). Following MaRC and Fong &amp;
 * Vedaldi's meaningful perturbations: a constant, the image's mean colour, or a blurred copy of the image.
 */
public enum ImageBaseline {
    /** Zeros. */
    BLACK,
    /** Each channel's mean over the image. */
    MEAN,
    /** The image under a Gaussian blur (sigma: {@link ImageExplainer.Builder#optBlurSigma}). */
    BLURRED;

    /** The baseline image for {@code image}; {@code sigma} is used by {@link #BLURRED} only. */
    public PixelImage of(PixelImage image, double sigma) {
        int c = image.channels(), h = image.height(), w = image.width();
        float[] src = image.raw();
        float[] out = new float[src.length];
        switch (this) {
            case BLACK -> { }
            case MEAN -> {
                for (int ch = 0; ch < c; ch++) {
                    double sum = 0;
                    for (int k = 0; k < h * w; k++) {
                        sum += src[ch * h * w + k];
                    }
                    java.util.Arrays.fill(out, ch * h * w, (ch + 1) * h * w, (float) (sum / (h * w)));
                }
            }
            case BLURRED -> {
                if (!(sigma > 0)) {
                    throw new IllegalArgumentException("blur sigma must be positive (got " + sigma + ")");
                }
                for (int ch = 0; ch < c; ch++) {
                    blur(out, src, ch * h * w, h, w, sigma);
                }
            }
        }
        return new PixelImage(c, h, w, out);
    }

    /** Separable Gaussian blur of one channel, radius ceil(3 sigma), edges clamped. */
    static void blur(float[] out, float[] src, int offset, int h, int w, double sigma) {
        int r = (int) Math.ceil(3 * sigma);
        double[] k = new double[2 * r + 1];
        double norm = 0;
        for (int j = -r; j <= r; j++) {
            k[j + r] = Math.exp(-0.5 * j * j / (sigma * sigma));
            norm += k[j + r];
        }
        double[] tmp = new double[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = -r; j <= r; j++) {
                    s += k[j + r] * src[offset + y * w + Math.min(w - 1, Math.max(0, x + j))];
                }
                tmp[y * w + x] = s / norm;
            }
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = -r; j <= r; j++) {
                    s += k[j + r] * tmp[Math.min(h - 1, Math.max(0, y + j)) * w + x];
                }
                out[offset + y * w + x] = (float) (s / norm);
            }
        }
    }
}
