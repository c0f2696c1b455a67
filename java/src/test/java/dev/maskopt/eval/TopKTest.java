package dev.maskopt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TopKTest {
    @Test
    void countRoundsHalfUpWithAtLeastOneWord() {
        assertEquals(8, TopK.count(774, 0.01)); // 7.74 -> 8
        assertEquals(39, TopK.count(774, 0.05)); // 38.7 -> 39
        assertEquals(1, TopK.count(10, 0.05)); // 0.5 -> 1 (half up)
        assertEquals(3, TopK.count(5, 0.5)); // 2.5 -> 3
        assertEquals(15, TopK.count(50, 0.29)); // 14.5 -> 15, although 0.29 * 50 is 14.499... in binary
        assertEquals(1, TopK.count(10, 0.01)); // 0.1 -> 0, raised to one word
        assertEquals(0, TopK.count(10, 0.0));
        assertEquals(10, TopK.count(10, 1.0));
        assertEquals(0, TopK.count(0, 0.5));
    }

    @Test
    void selectBreaksTiesByPosition() {
        // scores 0.2 0.9 0.2 0.9 0.1: the two 0.9 first (index 1, then 3), then the first 0.2 (index 0)
        double[] s = {0.2, 0.9, 0.2, 0.9, 0.1};
        assertArrayEquals(new boolean[] {false, true, false, false, false}, TopK.select(s, 1));
        assertArrayEquals(new boolean[] {true, true, false, true, false}, TopK.select(s, 3));
        // all equal: a prefix
        assertArrayEquals(new boolean[] {true, true, false}, TopK.select(new double[] {1, 1, 1}, 2));
        assertArrayEquals(new boolean[5], TopK.select(s, 0));
        assertArrayEquals(new boolean[] {true, true, true, true, true}, TopK.select(s, 5));
        // -0.0 and 0.0 compare as Double.compare does: 0.0 ranks above -0.0
        assertArrayEquals(new boolean[] {false, true}, TopK.select(new double[] {-0.0, 0.0}, 1));
        assertArrayEquals(new boolean[] {false, true, false, true, false}, TopK.atLevel(s, 0.4));
    }

    @Test
    void rejectsBadInput() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.count(10, 1.5)), "[0, 1]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.count(10, Double.NaN)), "[0, 1]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.count(-1, 0.5)), "non-negative");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.select(new double[] {1, Double.NaN}, 1)),
                "finite");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.select(new double[] {1, 2}, 3)), "[0, 2]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> TopK.select(null, 0)), "null");
    }

    static void assertMessage(Throwable e, String part) {
        assertTrue(e.getMessage() != null && e.getMessage().contains(part),
                "message '" + e.getMessage() + "' should mention '" + part + "'");
    }
}
