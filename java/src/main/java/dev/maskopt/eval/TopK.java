package dev.maskopt.eval;

/**
 * The k highest-scoring words of a text: how soft scores become a rationale for ERASER's top-k
 * comprehensiveness and sufficiency, AOPC and the diagnostic masking curve.
 *
 * <p>Ties are broken by position, the earlier word first, so a selection never depends on sort stability
 * or on random noise (MaRC's code adds seeded noise instead). A constant score vector therefore selects a
 * prefix of the text, and a hard 0/1 rationale passed as scores selects its own words first.
 */
public final class TopK {
    private TopK() {}

    /**
     * The number of words selected at a removal level: {@code round(level * words)} (halves round up), at
     * least one word for a positive level so that short texts still lose something at 1%, and at most all
     * words. A tolerance of 1e-9 makes decimal halves round up although {@code 0.29 * 50} is 14.499... in
     * binary. (MaRC's code rounds halves to even; the two differ by one word only where {@code level * words}
     * is an exact half.)
     */
    public static int count(int words, double level) {
        if (words < 0) {
            throw new IllegalArgumentException("word count must be non-negative: " + words);
        }
        if (!(level >= 0 && level <= 1)) {
            throw new IllegalArgumentException("level must be a fraction in [0, 1], got " + level);
        }
        long k = (long) Math.floor(level * words + 0.5 + 1e-9);
        if (level > 0 && words > 0) {
            k = Math.max(1, k);
        }
        return (int) Math.min(words, k);
    }

    /** Marks the {@code k} highest scores (ties: earlier word first). */
    public static boolean[] select(double[] scores, int k) {
        Checks.finite(scores, "scores");
        if (k < 0 || k > scores.length) {
            throw new IllegalArgumentException("k must be in [0, " + scores.length + "], got " + k);
        }
        int[] order = order(scores);
        boolean[] out = new boolean[scores.length];
        for (int i = 0; i < k; i++) {
            out[order[i]] = true;
        }
        return out;
    }

    /** Marks the top {@link #count(int, double) count(scores.length, level)} scores. */
    public static boolean[] atLevel(double[] scores, double level) {
        return select(scores, count(scores.length, level));
    }

    /** Word indices by decreasing score, ties by increasing index. */
    static int[] order(double[] scores) {
        Integer[] idx = new Integer[scores.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        // Arrays.sort on objects is stable, so equal scores keep their index order.
        java.util.Arrays.sort(idx, (a, b) -> Double.compare(scores[b], scores[a]));
        int[] out = new int[idx.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx[i];
        }
        return out;
    }
}
