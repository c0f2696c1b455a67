package dev.maskopt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MarkdownTableTest {

    /** Cells of a row, splitting on pipes that are not backslash-escaped. */
    private static List<String> cells(String row) {
        assertTrue(row.startsWith("| ") || row.startsWith("|:"), row);
        assertTrue(row.endsWith("|"), row);
        String inner = row.substring(1, row.length() - 1);
        return List.of(inner.split("(?<!\\\\)\\|", -1)).stream().map(String::trim).toList();
    }

    @Test
    void tableHasOneHeaderOneAlignmentAndOneRowPerMethod() {
        String md = MarkdownTable.render(Fixtures.small());
        String[] lines = md.split("\n");
        assertEquals(2 + 3, lines.length);
        assertTrue(md.endsWith("\n"));
        assertEquals(List.of("Method", "Comp. \u2191", "Suff. \u2193", "Token F1 \u2191", "AUPRC \u2191", "s/doc \u2193"),
                cells(lines[0]));
        assertEquals(List.of(":---", "---:", "---:", "---:", "---:", "---:"), cells(lines[1]));
        for (String line : lines) {
            assertEquals(6, cells(line).size(), line);
        }
        assertEquals(List.of("maskopt", "**0.900**", "0.100", "**0.500**", "n/a", "n/a"), cells(lines[2]));
        assertEquals(List.of("occlusion", "0.400", "0.200", "**0.500**", "0.600", "1.250"), cells(lines[3]));
        // The hostile name keeps its columns: its pipes, tags and asterisks are escaped, not interpreted.
        List<String> hostile = cells(lines[4]);
        assertEquals("\\</script\\>\\<b\\>bold\\</b\\> \\& \"quoted\" 'single'", hostile.get(0));
        assertEquals(List.of("0.200", "**0.050**", "0.100", "n/a", "**0.002**"), hostile.subList(1, 6));
    }

    @Test
    void pipesAndLineBreaksInNamesCannotBreakTheTable() {
        Report r = new Report(new Report.Dataset("d", "s"), new Report.Model("m", 0.5, "p"), Map.of(), new double[0],
                List.of(new Figure("f", "a|b", true)),
                List.of(new Method("x|y\nz*", Map.of("f", -0.0001), null, null, null)), List.of());
        String[] lines = MarkdownTable.render(r).split("\n");
        assertEquals(3, lines.length);
        assertEquals(List.of("Method", "a\\|b \u2191"), cells(lines[0]));
        assertEquals(List.of("x\\|y z\\*", "0.000"), cells(lines[2]));
        assertFalse(lines[2].contains("**"), "a single value is not marked best");
    }
}
