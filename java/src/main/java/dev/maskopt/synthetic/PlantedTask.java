package dev.maskopt.synthetic;

import dev.maskopt.text.Vocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A generated sentiment-like task whose rationales are known: each text is neutral filler plus distractor
 * words (frequent in both classes, so uninformative), with one to three planted cue words of its class
 * (positive or negative) that alone decide the label. A small share of training texts carry no cue (their
 * label is meaningless); training on them with both labels teaches a model that filler is uninformative, so
 * both classes' cues matter to it.
 */
public final class PlantedTask {
    public static final List<String> LABELS = List.of("negative", "positive");

    static final List<String> POSITIVE = List.of("great", "excellent", "superb", "wonderful", "brilliant",
            "delightful", "masterful", "charming", "gorgeous", "stellar", "riveting", "touching");
    static final List<String> NEGATIVE = List.of("awful", "terrible", "dreadful", "boring", "tedious", "clumsy",
            "bland", "lifeless", "painful", "mediocre", "dull", "messy");
    static final List<String> DISTRACTORS = List.of("not", "very", "really", "quite", "plot", "acting", "movie",
            "film", "story", "script");
    static final List<String> FILLER = List.of("the", "a", "an", "of", "and", "to", "in", "is", "it", "that", "this",
            "was", "for", "with", "as", "on", "at", "by", "from", "his", "her", "their", "one", "two", "scene",
            "scenes", "director", "cast", "time", "minutes", "ending", "start", "music", "camera", "dialogue",
            "character", "characters", "audience", "screen", "studio", "sequel", "version", "year", "night", "city",
            "house", "family", "friend", "world", "life", "moment", "again", "then", "after", "before", "while",
            "where", "when", "there", "here", "some", "many", "most", "other", "first", "last", "second", "new", "old",
            "long", "short", "little", "big", "around", "through", "into", "over", "under", "between", "about",
            "across", "behind", "during", "without", "within", "along", "toward", "upon");

    /**
     * One generated text.
     *
     * @param tokens the words
     * @param label 0 negative, 1 positive
     * @param planted per-token: whether the word is a planted cue (the gold rationale)
     */
    public record Example(List<String> tokens, int label, boolean[] planted) {
        public String text() {
            return String.join(" ", tokens);
        }

        /** Whether the text carries a planted cue (training texts may not). */
        public boolean hasCue() {
            for (boolean p : planted) {
                if (p) {
                    return true;
                }
            }
            return false;
        }
    }

    private final int minLength;
    private final int maxLength;

    public PlantedTask(int minLength, int maxLength) {
        if (minLength < 4 || maxLength < minLength) {
            throw new IllegalArgumentException("need 4 <= minLength <= maxLength");
        }
        this.minLength = minLength;
        this.maxLength = maxLength;
    }

    /** The task used by the demo: texts of 8 to 40 words. */
    public static PlantedTask standard() {
        return new PlantedTask(8, 40);
    }

    public int maxLength() {
        return maxLength;
    }

    /** Every word the task can produce. */
    public static Vocabulary vocabulary() {
        List<String> words = new ArrayList<>();
        words.addAll(POSITIVE);
        words.addAll(NEGATIVE);
        words.addAll(DISTRACTORS);
        words.addAll(FILLER);
        return Vocabulary.of(words);
    }

    /** Random unit-norm word vectors [V, dim] (padding is the zero vector). */
    public static float[] embeddings(Vocabulary vocabulary, int dim, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] table = new float[vocabulary.size() * dim];
        for (int w = 1; w < vocabulary.size(); w++) {
            double norm = 0;
            double[] v = new double[dim];
            for (int d = 0; d < dim; d++) {
                v[d] = gaussian(rng);
                norm += v[d] * v[d];
            }
            norm = Math.sqrt(norm);
            for (int d = 0; d < dim; d++) {
                table[w * dim + d] = (float) (v[d] / norm);
            }
        }
        return table;
    }

    /** Texts that all carry planted cues (for evaluation). */
    public List<Example> generate(int count, long seed) {
        return generate(count, 0.0, seed);
    }

    /** Training texts: a share {@code noCueShare} of them carries no cue and a random label. */
    public List<Example> generate(int count, double noCueShare, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            int length = minLength + rng.nextInt(maxLength - minLength + 1);
            int label = rng.nextInt(2);
            String[] tokens = new String[length];
            for (int j = 0; j < length; j++) {
                tokens[j] = rng.nextDouble() < 0.15 ? pick(DISTRACTORS, rng) : pick(FILLER, rng);
            }
            boolean[] planted = new boolean[length];
            if (rng.nextDouble() >= noCueShare) {
                int cues = 1 + rng.nextInt(3);
                List<String> pool = label == 1 ? POSITIVE : NEGATIVE;
                for (int placed = 0; placed < cues; ) {
                    int j = rng.nextInt(length);
                    if (!planted[j]) {
                        planted[j] = true;
                        tokens[j] = pick(pool, rng);
                        placed++;
                    }
                }
            }
            out.add(new Example(Arrays.asList(tokens), label, planted));
        }
        return out;
    }

    private static String pick(List<String> words, SplittableRandom rng) {
        return words.get(rng.nextInt(words.size()));
    }

    private static double gaussian(SplittableRandom rng) {
        double u = 1.0 - rng.nextDouble(), v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
