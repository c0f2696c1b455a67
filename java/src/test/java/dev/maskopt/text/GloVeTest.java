package dev.maskopt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

class GloVeTest {
    private static final String TINY = """
            the 0.5 -1.25 3e-2
            movie 1 2 3
            n't-like -0.5 0 0.125
            """;

    @Test
    void readsAnXzFileWrittenHere(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tiny.txt.xz");
        try (OutputStream out = new XZOutputStream(Files.newOutputStream(file), new LZMA2Options())) {
            out.write(TINY.getBytes(StandardCharsets.UTF_8));
        }
        GloVe g = GloVe.read(file);
        assertEquals(3, g.dim());
        assertEquals(3, g.size());
        assertEquals(List.of("the", "movie", "n't-like"), List.copyOf(g.words()));
        assertArrayEquals(new float[] {0.5f, -1.25f, 0.03f}, g.vector("the"));
        assertArrayEquals(new float[] {-0.5f, 0f, 0.125f}, g.vector("n't-like"));
        assertNull(g.vector("The"), "words are kept as written");
        float[] out = new float[5];
        assertTrue(g.copyTo("movie", out, 1));
        assertArrayEquals(new float[] {0, 1, 2, 3, 0}, out);
        assertFalse(g.copyTo("absent", out, 0));
        g.vector("movie")[0] = 42; // a copy
        assertEquals(1f, g.vector("movie")[0]);
    }

    @Test
    void readsPlainTextAndFilters() throws IOException {
        GloVe g = GloVe.read(stream(TINY), w -> !w.equals("movie"));
        assertEquals(3, g.dim());
        assertEquals(2, g.size());
        assertFalse(g.contains("movie"));
        assertTrue(g.contains("the"));
    }

    @Test
    void rejectsMalformedFilesWithTheLine() {
        IOException e = assertThrows(IOException.class, () -> GloVe.read(stream("a 1 2 3\nb 1 2\n"), w -> true));
        assertTrue(e.getMessage().contains("line 2 has 2 values, expected 3"), e.getMessage());
        e = assertThrows(IOException.class, () -> GloVe.read(stream("a 1 2 3\nb 1 x 3\n"), w -> !w.equals("a")));
        assertTrue(e.getMessage().contains("line 2, value 2 is not a number"), e.getMessage());
        e = assertThrows(IOException.class, () -> GloVe.read(stream("a 1 2\nb 1 2 3\n"), w -> false));
        assertTrue(e.getMessage().contains("line 2 has 3 values, expected 2"), "checked even when filtered out");
        e = assertThrows(IOException.class, () -> GloVe.read(stream("a 1\nb 2\na 3\n"), w -> true));
        assertTrue(e.getMessage().contains("'a' appears twice"), e.getMessage());
        assertThrows(IOException.class, () -> GloVe.read(stream(""), w -> true));
        assertThrows(IOException.class, () -> GloVe.read(stream("lonely\n"), w -> true));
    }

    private static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }
}
