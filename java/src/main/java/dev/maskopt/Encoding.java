package dev.maskopt;

import java.util.List;

/**
 * A text as the model sees it. Rationales are reported on {@code words}; the model reads {@code tokens}
 * (the words themselves for a word-level model, word pieces for a BERT tokenizer). All tokens of a word
 * share one gate.
 *
 * @param tokens the tokens, in order
 * @param ids one vocabulary id per token
 * @param words the words, in order
 * @param wordOfToken for each token, the index of its word, or -1 for a token that is never masked (a
 *     special token such as [CLS]); such a token is kept in both the kept and the dropped inputs
 * @param baselineIds for each token, the id whose embedding replaces it when masked (for example [PAD] or
 *     [MASK]); for a -1 token, its own id
 */
public record Encoding(List<String> tokens, int[] ids, List<String> words, int[] wordOfToken, int[] baselineIds) {
    public Encoding {
        tokens = List.copyOf(tokens);
        ids = ids.clone();
        words = List.copyOf(words);
        wordOfToken = wordOfToken.clone();
        baselineIds = baselineIds.clone();
        int n = tokens.size();
        if (ids.length != n || wordOfToken.length != n || baselineIds.length != n) {
            throw new IllegalArgumentException(n + " tokens but " + ids.length + " ids, " + wordOfToken.length
                    + " word indices and " + baselineIds.length + " baseline ids");
        }
        int next = 0;
        for (int t = 0; t < n; t++) {
            int w = wordOfToken[t];
            if (w < -1 || w >= words.size()) {
                throw new IllegalArgumentException("token " + t + " maps to word " + w + " of " + words.size());
            }
            if (w >= 0) {
                if (w != next && w != next - 1) {
                    throw new IllegalArgumentException("tokens must cover the words in order (token " + t + ")");
                }
                next = w + 1;
            } else if (baselineIds[t] != ids[t]) {
                throw new IllegalArgumentException("a token that is never masked must be its own baseline (token " + t + ")");
            }
        }
        if (next != words.size()) {
            throw new IllegalArgumentException("word " + next + " has no token");
        }
    }

    /** A word-level encoding: each token is a word, masked tokens become {@code baselineId}. */
    public static Encoding ofWords(List<String> words, int[] ids, int baselineId) {
        int[] wordOf = new int[ids.length];
        int[] base = new int[ids.length];
        for (int t = 0; t < ids.length; t++) {
            wordOf[t] = t;
            base[t] = baselineId;
        }
        return new Encoding(words, ids, words, wordOf, base);
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public int[] wordOfToken() {
        return wordOfToken.clone();
    }

    @Override
    public int[] baselineIds() {
        return baselineIds.clone();
    }

    /** Number of tokens. */
    public int length() {
        return ids.length;
    }
}
