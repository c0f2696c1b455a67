package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Removal;
import java.util.ArrayList;
import java.util.List;

/**
 * Occlusion (Zeiler and Fergus 2014; leave-one-out for a window of 1): slide a window of {@code window}
 * consecutive words over the text with stride 1, remove the window's words by the {@link Removal} policy,
 * and record the drop in the target probability {@code p_y(text) - p_y(text without the window)}. A word's
 * score is the mean drop over the windows that contain it (Captum's averaging), so with a window of 1 it is
 * the leave-one-word-out drop. A text shorter than the window is one window. Cost per text:
 * {@code words - window + 2} inputs, batched with those of the other texts.
 */
public final class Occlusion implements Attributor {
    private final int window;
    private final Removal removal;

    private Occlusion(int window, Removal removal) {
        Inputs.positive("window", window);
        this.window = window;
        this.removal = Inputs.notNull("removal", removal);
    }

    /** Leave-one-word-out with baseline replacement. */
    public static Occlusion create() {
        return new Occlusion(1, Removal.BASELINE);
    }

    public Occlusion withWindow(int v) {
        return new Occlusion(v, removal);
    }

    public Occlusion withRemoval(Removal v) {
        return new Occlusion(window, v);
    }

    public int window() {
        return window;
    }

    public Removal removal() {
        return removal;
    }

    @Override
    public String name() {
        return "occlusion(w=" + window + ", " + removal + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        // Row 0 of a text is the whole text; row 1 + s removes its words s .. s + w - 1.
        int[] counts = new int[enc.size()];
        for (int k = 0; k < enc.size(); k++) {
            counts[k] = windows(enc.get(k)) + 1;
        }
        double[][] p = Forward.targetProbabilities(model, enc, y, removal, counts, (k, m) -> {
            int words = enc.get(k).words().size(), w = Math.min(window, words);
            boolean[] keep = new boolean[words];
            for (int j = 0; j < words; j++) {
                keep[j] = m == 0 || j < m - 1 || j >= m - 1 + w;
            }
            return keep;
        });
        List<double[]> out = new ArrayList<>(enc.size());
        for (int k = 0; k < enc.size(); k++) {
            int words = enc.get(k).words().size(), w = Math.min(window, words);
            double[] sum = new double[words];
            int[] count = new int[words];
            for (int s = 0; s < windows(enc.get(k)); s++) {
                for (int j = s; j < s + w; j++) {
                    sum[j] += p[k][0] - p[k][s + 1];
                    count[j]++;
                }
            }
            for (int j = 0; j < words; j++) {
                sum[j] /= count[j];
            }
            out.add(sum);
        }
        return out;
    }

    private int windows(Encoding e) {
        int words = e.words().size();
        return words - Math.min(window, words) + 1;
    }
}
