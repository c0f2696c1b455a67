package dev.maskopt.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer, as Hugging Face {@code tokenizers} runs it (BertNormalizer, BertPreTokenizer,
 * WordPiece, then [CLS] … [SEP]), with the alignment between word pieces and words that rationales need.
 *
 * <p>Stages: (1) clean: drop U+0000, U+FFFD and control characters (Cc, Cf, Cs, Co; not tab, CR, LF), map
 * whitespace (Unicode White_Space) to a space; (2) put spaces around CJK ideographs; (3) strip accents (NFD,
 * then drop Mn); (4) lowercase; (5) split on whitespace and punctuation (ASCII punctuation and Unicode P*),
 * each punctuation character a word of its own; (6) WordPiece each word: greedy longest match first,
 * continuations prefixed with "##", a word longer than {@code max_input_chars_per_word} code points or with an
 * unmatchable rest becomes one [UNK].
 *
 * <p>Stages 1 to 4 run one input code point at a time, so every word keeps the character range of the input
 * it came from. Checked against {@code tokenizers} (the build in DJL 0.38.0) on SST-2 dev, all ERASER movie
 * reviews and ~45,000 random Unicode strings: identical ids and word ids. Known differences, all rare: special-token
 * strings typed in the text ("[MASK]") are ordinary text here (deliberate: a user's text cannot inject [SEP]
 * or [MASK]); Java 17 knows Unicode 13, while {@code tokenizers}' character tables are older, so ~370 code
 * points added or recategorized since (new combining marks, U+2E43…, Egyptian format controls) are classified
 * differently; combining marks are not canonically reordered across input characters.
 *
 * <p>Nothing is truncated: a caller whose model has a maximum length uses {@link Tokens#truncate}. Instances
 * are immutable and thread-safe.
 */
public final class WordPieceTokenizer {
    private final String[] vocab;
    private final Map<String, Integer> ids;
    private final String unkToken;
    private final String prefix;
    private final int maxInputCharsPerWord;
    private final boolean cleanText;
    private final boolean handleChineseChars;
    private final boolean stripAccents;
    private final boolean lowercase;
    private final int cls;
    private final int sep;
    private final int pad;
    private final int unk;
    private final int mask;

    private WordPieceTokenizer(String[] vocab, Map<String, Integer> ids, String unkToken, String prefix,
            int maxInputCharsPerWord, boolean cleanText, boolean handleChineseChars, boolean stripAccents,
            boolean lowercase) {
        if (maxInputCharsPerWord < 1) {
            throw new IllegalArgumentException("max_input_chars_per_word must be positive, got " + maxInputCharsPerWord);
        }
        this.vocab = vocab;
        this.ids = ids;
        this.unkToken = unkToken;
        this.prefix = prefix;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
        this.cleanText = cleanText;
        this.handleChineseChars = handleChineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
        this.unk = required(unkToken);
        this.cls = required("[CLS]");
        this.sep = required("[SEP]");
        this.pad = ids.getOrDefault("[PAD]", -1);
        this.mask = ids.getOrDefault("[MASK]", -1);
    }

    private int required(String token) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException("the vocabulary has no " + token + " token");
        }
        return id;
    }

    /**
     * Reads a Hugging Face {@code tokenizer.json} whose model is WordPiece: {@code model.vocab},
     * {@code unk_token}, {@code continuing_subword_prefix}, {@code max_input_chars_per_word}, and the
     * BertNormalizer flags ({@code strip_accents: null} follows {@code lowercase}, as in {@code tokenizers}).
     */
    public static WordPieceTokenizer fromTokenizerJson(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return fromTokenizerJson(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** As {@link #fromTokenizerJson(Path)}, from a stream (for example a classpath resource); does not close it. */
    public static WordPieceTokenizer fromTokenizerJson(InputStream in) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse tokenizer.json", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("tokenizer.json is not a JSON object");
        }
        JsonNode model = root.path("model");
        if (!"WordPiece".equals(model.path("type").asText())) {
            throw new IllegalArgumentException("tokenizer.json model type is '" + model.path("type").asText()
                    + "', expected WordPiece");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw new IllegalArgumentException("tokenizer.json has no model.vocab map");
        }
        Map<String, Integer> ids = new HashMap<>(vocabNode.size() * 2);
        String[] vocab = new String[vocabNode.size()];
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= vocab.length || vocab[id] != null) {
                throw new IllegalArgumentException("tokenizer.json vocab ids must be 0.." + (vocab.length - 1)
                        + ", each once; '" + e.getKey() + "' has " + e.getValue());
            }
            vocab[id] = e.getKey();
            ids.put(e.getKey(), id);
        }
        JsonNode norm = root.path("normalizer");
        boolean clean = true;
        boolean chinese = true;
        boolean lower = false;
        boolean strip = false;
        if (!norm.isMissingNode() && !norm.isNull()) {
            if (!"BertNormalizer".equals(norm.path("type").asText())) {
                throw new IllegalArgumentException("tokenizer.json normalizer is '" + norm.path("type").asText()
                        + "', only BertNormalizer is supported");
            }
            clean = norm.path("clean_text").asBoolean(true);
            chinese = norm.path("handle_chinese_chars").asBoolean(true);
            lower = norm.path("lowercase").asBoolean(true);
            JsonNode sa = norm.path("strip_accents");
            strip = sa.isBoolean() ? sa.asBoolean() : lower;
        }
        JsonNode pre = root.path("pre_tokenizer");
        if (!pre.isMissingNode() && !pre.isNull() && !"BertPreTokenizer".equals(pre.path("type").asText())) {
            throw new IllegalArgumentException("tokenizer.json pre_tokenizer is '" + pre.path("type").asText()
                    + "', only BertPreTokenizer is supported");
        }
        return new WordPieceTokenizer(vocab, ids, model.path("unk_token").asText("[UNK]"),
                model.path("continuing_subword_prefix").asText("##"), model.path("max_input_chars_per_word").asInt(100),
                clean, chinese, strip, lower);
    }

    /**
     * Reads a BERT {@code vocab.txt} (one token per line, id = line number, UTF-8) with BertTokenizer's
     * defaults: [UNK], "##", 100 characters per word, clean text, CJK splitting; accents are stripped exactly
     * when {@code lowercase} is set (the {@code do_lower_case} of the model's tokenizer_config.json).
     */
    public static WordPieceTokenizer fromVocabTxt(Path file, boolean lowercase) {
        try (InputStream in = Files.newInputStream(file)) {
            return fromVocabTxt(in, lowercase);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** As {@link #fromVocabTxt(Path, boolean)}, from a stream; does not close it. */
    public static WordPieceTokenizer fromVocabTxt(InputStream in, boolean lowercase) {
        String text;
        try {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read vocab.txt", e);
        }
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1); // the final newline ends the last line, it does not open a new one
        }
        String[] vocab = new String[lines.size()];
        Map<String, Integer> ids = new HashMap<>(vocab.length * 2);
        for (int i = 0; i < vocab.length; i++) {
            String t = lines.get(i);
            vocab[i] = t.endsWith("\r") ? t.substring(0, t.length() - 1) : t;
            ids.put(vocab[i], i); // a duplicated line maps to its last id, as in BertTokenizer.load_vocab
        }
        if (vocab.length == 0) {
            throw new IllegalArgumentException("vocab.txt is empty");
        }
        return new WordPieceTokenizer(vocab, ids, "[UNK]", "##", 100, true, true, lowercase, lowercase);
    }

    /**
     * The tokens of one text: [CLS], the word pieces of each word in order, [SEP].
     *
     * @param pieces the word pieces (with their "##" prefixes), special tokens included
     * @param ids one vocabulary id per piece
     * @param wordOfPiece for each piece, the index of its word in {@code words}; -1 for [CLS] and [SEP]
     * @param words the words (the pre-tokenized units: runs of non-space, non-punctuation characters, and
     *     single punctuation characters) as written in the input, before normalization
     * @param wordStart for each word, the UTF-16 index in the input where it starts
     * @param wordEnd for each word, the UTF-16 index in the input just past its end
     */
    public record Tokens(List<String> pieces, int[] ids, int[] wordOfPiece, List<String> words, int[] wordStart,
            int[] wordEnd) {
        public Tokens {
            pieces = List.copyOf(pieces);
            ids = ids.clone();
            wordOfPiece = wordOfPiece.clone();
            words = List.copyOf(words);
            wordStart = wordStart.clone();
            wordEnd = wordEnd.clone();
            if (ids.length != pieces.size() || wordOfPiece.length != pieces.size()) {
                throw new IllegalArgumentException(pieces.size() + " pieces but " + ids.length + " ids and "
                        + wordOfPiece.length + " word indices");
            }
            if (wordStart.length != words.size() || wordEnd.length != words.size()) {
                throw new IllegalArgumentException(words.size() + " words but " + wordStart.length + " starts and "
                        + wordEnd.length + " ends");
            }
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }

        @Override
        public int[] wordOfPiece() {
            return wordOfPiece.clone();
        }

        @Override
        public int[] wordStart() {
            return wordStart.clone();
        }

        @Override
        public int[] wordEnd() {
            return wordEnd.clone();
        }

        /** Number of pieces, [CLS] and [SEP] included. */
        public int length() {
            return ids.length;
        }

        /**
         * The leading whole words that fit in {@code maxPieces} pieces with [CLS] and [SEP] (never a word cut
         * between its pieces); this tokens object itself when it already fits.
         */
        public Tokens truncate(int maxPieces) {
            if (maxPieces < 2) {
                throw new IllegalArgumentException("maxPieces must leave room for [CLS] and [SEP], got " + maxPieces);
            }
            if (ids.length <= maxPieces) {
                return this;
            }
            int n = words.size(); // words kept: drop trailing words while [CLS] + pieces + [SEP] is too long
            int end = ids.length - 1; // index of the first piece after the kept words
            while (end + 1 > maxPieces) {
                n--;
                while (end > 1 && wordOfPiece[end - 1] >= n) {
                    end--;
                }
            }
            int[] keptIds = Arrays.copyOf(ids, end + 1);
            int[] keptWordOf = Arrays.copyOf(wordOfPiece, end + 1);
            keptIds[end] = ids[ids.length - 1];
            keptWordOf[end] = -1;
            List<String> keptPieces = new ArrayList<>(pieces.subList(0, end));
            keptPieces.add(pieces.get(pieces.size() - 1));
            return new Tokens(keptPieces, keptIds, keptWordOf, words.subList(0, n), Arrays.copyOf(wordStart, n),
                    Arrays.copyOf(wordEnd, n));
        }
    }

    /**
     * Tokenizes text that is already split into words (for example a dataset's whitespace tokens): each
     * given word keeps its index, and all the pieces it normalizes to belong to it, even when the
     * tokenizer would split it further ("don't" becomes don ' t, one word). A word with no pieces (only
     * characters the normalizer removes) becomes [UNK]. Offsets refer to the words joined by single spaces.
     */
    public Tokens tokenizeWords(List<String> words) {
        if (words == null) {
            throw new IllegalArgumentException("words is null");
        }
        List<String> pieces = new ArrayList<>();
        List<Integer> pieceIds = new ArrayList<>();
        List<Integer> wordOf = new ArrayList<>();
        int[] starts = new int[words.size()], ends = new int[words.size()];
        pieces.add(vocab[cls]);
        pieceIds.add(cls);
        wordOf.add(-1);
        int offset = 0;
        for (int w = 0; w < words.size(); w++) {
            String word = words.get(w);
            if (word == null) {
                throw new IllegalArgumentException("word " + w + " is null");
            }
            Tokens t = tokenize(word);
            int[] ids = t.ids;
            if (ids.length == 2) { // [CLS] [SEP] only
                pieces.add(vocab[unk]);
                pieceIds.add(unk);
                wordOf.add(w);
            }
            for (int k = 1; k < ids.length - 1; k++) {
                pieces.add(t.pieces.get(k));
                pieceIds.add(ids[k]);
                wordOf.add(w);
            }
            starts[w] = offset;
            ends[w] = offset + word.length();
            offset = ends[w] + 1;
        }
        pieces.add(vocab[sep]);
        pieceIds.add(sep);
        wordOf.add(-1);
        return new Tokens(pieces, toArray(pieceIds), toArray(wordOf), words, starts, ends);
    }

    /** Tokenizes {@code text}; see the class comment for the stages. */
    public Tokens tokenize(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text is null");
        }
        List<String> pieces = new ArrayList<>();
        List<Integer> pieceIds = new ArrayList<>();
        List<Integer> wordOf = new ArrayList<>();
        List<String> words = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        List<Integer> ends = new ArrayList<>();
        pieces.add(vocab[cls]);
        pieceIds.add(cls);
        wordOf.add(-1);

        StringBuilder word = new StringBuilder(); // the normalized word being collected
        int wordFrom = -1; // its input range
        int wordTo = -1;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            for (int c : normalize(cp)) {
                if (isWhitespace(c) || isPunctuation(c)) {
                    if (word.length() > 0) {
                        addWord(word.toString(), text.substring(wordFrom, wordTo), wordFrom, wordTo, pieces, pieceIds,
                                wordOf, words, starts, ends);
                        word.setLength(0);
                    }
                    if (!isWhitespace(c)) {
                        addWord(new String(Character.toChars(c)), text.substring(i, next), i, next, pieces, pieceIds,
                                wordOf, words, starts, ends);
                    }
                } else {
                    if (word.length() == 0) {
                        wordFrom = i;
                    }
                    word.appendCodePoint(c);
                    wordTo = next;
                }
            }
            i = next;
        }
        if (word.length() > 0) {
            addWord(word.toString(), text.substring(wordFrom, wordTo), wordFrom, wordTo, pieces, pieceIds, wordOf,
                    words, starts, ends);
        }
        pieces.add(vocab[sep]);
        pieceIds.add(sep);
        wordOf.add(-1);
        return new Tokens(pieces, toArray(pieceIds), toArray(wordOf), words, toArray(starts), toArray(ends));
    }

    /** Stages 1 to 4 for one input code point: zero or more normalized code points. */
    private int[] normalize(int cp) {
        if (cleanText) {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return new int[0];
            }
            if (isWhitespace(cp)) {
                return new int[] {' '};
            }
        }
        String s = new String(Character.toChars(cp));
        if (stripAccents) {
            StringBuilder kept = new StringBuilder();
            Normalizer.normalize(s, Normalizer.Form.NFD).codePoints()
                    .filter(c -> Character.getType(c) != Character.NON_SPACING_MARK)
                    .forEach(kept::appendCodePoint);
            s = kept.toString();
        }
        if (lowercase) {
            // One code point at a time, like Rust's char::to_lowercase (no final-sigma context rule).
            StringBuilder lower = new StringBuilder();
            s.codePoints().forEach(c -> lower.append(new String(Character.toChars(c)).toLowerCase(Locale.ROOT)));
            s = lower.toString();
        }
        if (handleChineseChars && isCjk(cp)) { // the padding goes around whatever the ideograph became
            s = " " + s + " ";
        }
        return s.codePoints().toArray();
    }

    /** Stage 6 for one word, and the word's bookkeeping. */
    private void addWord(String normalized, String surface, int from, int to, List<String> pieces,
            List<Integer> pieceIds, List<Integer> wordOf, List<String> words, List<Integer> starts,
            List<Integer> ends) {
        int w = words.size();
        words.add(surface);
        starts.add(from);
        ends.add(to);
        List<String> found = wordPieces(normalized);
        for (String p : found) {
            pieces.add(p);
            pieceIds.add(ids.get(p));
            wordOf.add(w);
        }
    }

    /** Greedy longest-match-first WordPiece of one normalized word; [UNK] alone if any part fails. */
    private List<String> wordPieces(String word) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxInputCharsPerWord) {
            return List.of(unkToken);
        }
        int[] offset = new int[cps.length + 1]; // UTF-16 offset of each code point boundary
        for (int k = 0; k < cps.length; k++) {
            offset[k + 1] = offset[k] + Character.charCount(cps[k]);
        }
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            String match = null;
            int end = cps.length;
            for (; end > start; end--) {
                String sub = word.substring(offset[start], offset[end]);
                if (start > 0) {
                    sub = prefix + sub;
                }
                if (ids.containsKey(sub)) {
                    match = sub;
                    break;
                }
            }
            if (match == null) {
                return List.of(unkToken);
            }
            out.add(match);
            start = end;
        }
        return out;
    }

    private static int[] toArray(List<Integer> list) {
        int[] a = new int[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    /** Unicode White_Space (Rust's char::is_whitespace), which includes no-break spaces. */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x85 || Character.isSpaceChar(c);
    }

    /**
     * Unicode categories Cc, Cf, Cs and Co, except tab, LF and CR (those count as whitespace). Unassigned code
     * points (Cn) are kept, as {@code tokenizers} keeps them (Python's BertTokenizer would drop them).
     */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE
                || t == Character.PRIVATE_USE;
    }

    /** ASCII punctuation (33-47, 58-64, 91-96, 123-126) and Unicode categories Pc, Pd, Ps, Pe, Pi, Pf, Po. */
    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /**
     * The CJK Unified Ideograph blocks that BERT treats as one word per character. {@code tokenizers} starts
     * Extension E at 0x2B920 where Python's BertTokenizer has 0x2B820; this follows {@code tokenizers}.
     */
    static boolean isCjk(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /** Number of tokens in the vocabulary. */
    public int vocabSize() {
        return vocab.length;
    }

    /** The id of {@code token} (exactly as in the vocabulary, "##" included), or -1 if absent. */
    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    /** The token with id {@code id}. */
    public String token(int id) {
        if (id < 0 || id >= vocab.length) {
            throw new IllegalArgumentException("token id " + id + " is outside 0.." + (vocab.length - 1));
        }
        return vocab[id];
    }

    public int clsId() {
        return cls;
    }

    public int sepId() {
        return sep;
    }

    public int unkId() {
        return unk;
    }

    /** The id of [PAD], or -1 if the vocabulary has none. */
    public int padId() {
        return pad;
    }

    /** The id of [MASK], or -1 if the vocabulary has none. */
    public int maskId() {
        return mask;
    }

    /** Whether text is lowercased (an uncased model). */
    public boolean lowercase() {
        return lowercase;
    }
}
