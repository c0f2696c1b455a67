package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Word frequencies of a training corpus, the candidate distribution of {@link InputMarginalization} where no
 * masked language model is available. A word is identified by the token ids the model's encoder gives it
 * (so case variants that a lowercasing encoder merges count as one word), listed from the most frequent down
 * (ties in order of first appearance). Never-masked tokens ([CLS], [SEP]) are not words and are not counted.
 */
public final class UnigramDistribution {
    private final List<String> words;
    private final List<int[]> tokenIds;
    private final double[] probabilities;

    private UnigramDistribution(List<String> words, List<int[]> tokenIds, long[] counts) {
        this.words = List.copyOf(words);
        this.tokenIds = tokenIds;
        long total = Arrays.stream(counts).sum();
        this.probabilities = Arrays.stream(counts).mapToDouble(c -> (double) c / total).toArray();
    }

    /** Counts the words of training texts as the model's encoder ({@link Classifier#encode}) splits them. */
    public static UnigramDistribution fromTexts(Classifier model, List<String> texts) {
        Inputs.notNull("model", model);
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("no training texts to count words in");
        }
        List<Encoding> enc = new ArrayList<>(texts.size());
        for (int k = 0; k < texts.size(); k++) {
            if (texts.get(k) == null) {
                throw new IllegalArgumentException("training text " + k + " is null");
            }
            enc.add(model.encode(texts.get(k)));
        }
        return fromEncodings(enc);
    }

    /** Counts the words of encodings made by the model's encoder (for example of a dataset's own tokens). */
    public static UnigramDistribution fromEncodings(List<Encoding> encodings) {
        if (encodings == null || encodings.isEmpty()) {
            throw new IllegalArgumentException("no training texts to count words in");
        }
        Map<String, Integer> index = new LinkedHashMap<>();
        List<String> words = new ArrayList<>();
        List<int[]> ids = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (int k = 0; k < encodings.size(); k++) {
            Encoding e = encodings.get(k);
            if (e == null) {
                throw new IllegalArgumentException("training encoding " + k + " is null");
            }
            int[] all = e.ids(), wordOf = e.wordOfToken();
            for (int w = 0; w < e.words().size(); w++) {
                int[] pieces = pieces(all, wordOf, w);
                String key = Arrays.toString(pieces);
                Integer at = index.get(key);
                if (at == null) {
                    index.put(key, words.size());
                    words.add(e.words().get(w));
                    ids.add(pieces);
                    counts.add(1L);
                } else {
                    counts.set(at, counts.get(at) + 1);
                }
            }
        }
        if (words.isEmpty()) {
            throw new IllegalArgumentException("the training texts contain no words");
        }
        Integer[] order = new Integer[words.size()];
        for (int j = 0; j < order.length; j++) {
            order[j] = j;
        }
        Arrays.sort(order, (a, b) -> Long.compare(counts.get(b), counts.get(a))); // stable: ties keep first appearance
        List<String> sortedWords = new ArrayList<>(order.length);
        List<int[]> sortedIds = new ArrayList<>(order.length);
        long[] sortedCounts = new long[order.length];
        for (int j = 0; j < order.length; j++) {
            sortedWords.add(words.get(order[j]));
            sortedIds.add(ids.get(order[j]));
            sortedCounts[j] = counts.get(order[j]);
        }
        return new UnigramDistribution(sortedWords, sortedIds, sortedCounts);
    }

    /** Number of distinct words. */
    public int size() {
        return words.size();
    }

    /** The k-th most frequent word (as first seen). */
    public String word(int k) {
        return words.get(k);
    }

    /** Its relative frequency. */
    public double probability(int k) {
        return probabilities[k];
    }

    /** Its token ids under the encoder that counted it. */
    int[] tokenIds(int k) {
        return tokenIds.get(k).clone();
    }

    /** The ids of the tokens of word {@code w}, in order. */
    static int[] pieces(int[] ids, int[] wordOf, int w) {
        int n = 0;
        for (int x : wordOf) {
            n += x == w ? 1 : 0;
        }
        int[] out = new int[n];
        for (int t = 0, j = 0; t < ids.length; t++) {
            if (wordOf[t] == w) {
                out[j++] = ids[t];
            }
        }
        return out;
    }
}
