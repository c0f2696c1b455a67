package dev.maskopt.text;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A word vocabulary with whitespace tokenization and lowercasing, for word-level models (the CNN).
 * Id 0 is the padding token {@value #PAD}, id 1 the unknown-word token {@value #UNK}.
 */
public final class Vocabulary {
    public static final String PAD = "<pad>";
    public static final String UNK = "<unk>";
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private final List<String> words;
    private final Map<String, Integer> ids;

    private Vocabulary(List<String> words) {
        this.words = List.copyOf(words);
        this.ids = new HashMap<>(words.size() * 2);
        for (int i = 0; i < words.size(); i++) {
            if (ids.put(words.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate vocabulary word '" + words.get(i) + "'");
            }
        }
    }

    /** A vocabulary of {@link #PAD}, {@link #UNK}, then {@code words} (normalized, in order, duplicates dropped). */
    public static Vocabulary of(Collection<String> words) {
        List<String> all = new ArrayList<>(words.size() + 2);
        all.add(PAD);
        all.add(UNK);
        java.util.Set<String> seen = new java.util.HashSet<>(all);
        for (String w : words) {
            String n = normalize(w);
            if (!n.isEmpty() && seen.add(n)) {
                all.add(n);
            }
        }
        return new Vocabulary(all);
    }

    /** Restores a vocabulary saved as its word list (index = id). */
    public static Vocabulary fromWords(List<String> words) {
        if (words.size() < 2 || !words.get(0).equals(PAD) || !words.get(1).equals(UNK)) {
            throw new IllegalArgumentException("a vocabulary starts with " + PAD + " and " + UNK);
        }
        return new Vocabulary(words);
    }

    public static String normalize(String word) {
        return word.strip().toLowerCase(Locale.ROOT);
    }

    /** Whitespace tokens of a text, as written (not normalized). */
    public static List<String> tokenize(String text) {
        String s = text.strip();
        return s.isEmpty() ? List.of() : List.of(WHITESPACE.split(s));
    }

    public int size() {
        return words.size();
    }

    /** The id of a word, or the id of {@link #UNK}. */
    public int id(String word) {
        return ids.getOrDefault(normalize(word), 1);
    }

    public boolean contains(String word) {
        return ids.containsKey(normalize(word));
    }

    public String word(int id) {
        return words.get(id);
    }

    public List<String> words() {
        return words;
    }
}
