package dev.maskopt.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.report.Report.Attribution;
import dev.maskopt.report.Report.Dataset;
import dev.maskopt.report.Report.Document;
import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import dev.maskopt.report.Report.Model;
import dev.maskopt.report.Report.PrPoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ReportTest {
    private static final Dataset DATA = new Dataset("movies", "test");
    private static final Model MODEL = new Model("m", 0.9, "made");

    private static Method method(String name, Map<String, Double> figures) {
        return new Method(name, figures, null, null, null);
    }

    private static Report report(List<Method> methods, List<Document> docs) {
        return new Report(DATA, MODEL, Map.of(), new double[] {0.1, 0.5}, List.of(Figure.TOKEN_F1), methods, docs);
    }

    private static void rejects(String messagePart, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(messagePart), () -> "message '" + e.getMessage() + "' lacks '"
                + messagePart + "'");
    }

    @Test
    void mismatchedLengthsAreRejectedWithTheDocumentAndMethodNamed() {
        rejects("document 'd1' has 3 words but a human rationale of length 2", () -> new Document("d1",
                List.of("a", "b", "c"), "POS", "POS", 0.5, new boolean[2], Map.of()));
        rejects("method 'lime' gave 2 scores", () -> new Document("d1", List.of("a", "b", "c"), "POS", "POS", 0.5,
                new boolean[3], Map.of("lime", new Attribution(new double[2], new boolean[2]))));
        rejects("2 scores but a rationale of length 3", () -> new Attribution(new double[2], new boolean[3]));
        rejects("comprehensiveness curve of 3 values but the report has 2 levels", () -> report(
                List.of(new Method("x", Map.of(), new double[3], null, null)), List.of()));
    }

    @Test
    void namesMustBeConsistentAcrossTheReport() {
        rejects("'token_f2', which is not among the report's figures",
                () -> report(List.of(method("x", Map.of("token_f2", 0.5))), List.of()));
        rejects("method 'x' appears twice", () -> report(List.of(method("x", Map.of()), method("x", Map.of())),
                List.of()));
        rejects("figure 'token_f1' is declared twice", () -> new Report(DATA, MODEL, Map.of(), new double[0],
                List.of(Figure.TOKEN_F1, new Figure("token_f1", "F1 again", true)), List.of(), List.of()));
        Document d = new Document("d", List.of("w"), "POS", "POS", 1, new boolean[1],
                Map.of("ghost", new Attribution(new double[1], new boolean[1])));
        rejects("attribution from 'ghost'", () -> report(List.of(method("x", Map.of())), List.of(d)));
        Document plain = new Document("d", List.of("w"), "POS", "POS", 1, new boolean[1], Map.of());
        rejects("document 'd' appears twice", () -> report(List.of(), List.of(plain, plain)));
    }

    @Test
    void numbersMustBeFiniteOrNaN() {
        rejects("infinite", () -> method("x", Map.of("token_f1", Double.POSITIVE_INFINITY)));
        rejects("scores[1] is infinite", () -> new Attribution(new double[] {0, Double.NEGATIVE_INFINITY},
                new boolean[2]));
        rejects("strictly increasing", () -> new Report(DATA, MODEL, Map.of(), new double[] {0.5, 0.1}, List.of(),
                List.of(), List.of()));
        rejects("strictly increasing", () -> new Report(DATA, MODEL, Map.of(), new double[] {Double.NaN},
                List.of(), List.of(), List.of()));
        rejects("model test accuracy must be in [0, 1]", () -> new Model("m", 1.5, "x"));
        rejects("predicted probability", () -> new Document("d", List.of(), "P", "P", -0.1, new boolean[0], Map.of()));
        rejects("[0, 1]^2", () -> new PrPoint(0.5, Double.NaN));
        // NaN is the documented "not available" and is accepted everywhere else.
        Method m = method("x", Map.of("token_f1", Double.NaN));
        assertTrue(Double.isNaN(m.figure("token_f1")));
        assertTrue(Double.isNaN(m.figure("absent")));
        assertTrue(Double.isNaN(new Model("m", Double.NaN, "x").testAccuracy()));
    }

    @Test
    void missingPartsAreIllegalArgumentsNotNullPointers() {
        rejects("dataset name is required", () -> new Dataset(null, "test"));
        rejects("method name must not be blank", () -> method(" ", Map.of()));
        List<String> words = new ArrayList<>(Arrays.asList("a", null));
        rejects("words of document 'd'[1] is required", () -> new Document("d", words, "P", "P", 0.5, new boolean[2],
                Map.of()));
        rejects("figures[0] is required", () -> new Report(DATA, MODEL, Map.of(), new double[0],
                Arrays.asList((Figure) null), List.of(), List.of()));
    }

    @Test
    void reportIsImmutableAndComparesByValue() {
        double[] scores = {1, 2};
        Attribution a = new Attribution(scores, new boolean[] {true, false});
        scores[0] = 99;
        assertEquals(1, a.scores()[0]);
        a.scores()[1] = 99;
        assertEquals(2, a.scores()[1]);
        assertEquals(a, new Attribution(new double[] {1, 2}, new boolean[] {true, false}));
        assertNotEquals(a, new Attribution(new double[] {1, 2}, new boolean[] {true, true}));
        Report r = Fixtures.small();
        r.levels()[0] = 42;
        assertArrayEquals(Fixtures.LEVELS, r.levels());
        assertEquals(r, Fixtures.small());
        assertEquals(r.hashCode(), Fixtures.small().hashCode());
        assertEquals(List.of("removal", "steps", "levels", "seed", "backend"), List.copyOf(r.settings().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> r.methods().add(null));
        assertEquals("occlusion", r.method("occlusion").name());
    }
}
