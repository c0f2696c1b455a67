package dev.maskopt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.maskopt.report.Report.Attribution;
import dev.maskopt.report.Report.Document;
import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import dev.maskopt.report.Report.PrPoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportJsonTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Values that stress decimal round trips: extremes, subnormals, signed zero, non-terminating fractions. */
    private static final double[] AWKWARD = {0.0, -0.0, 0.1, 1.0 / 3, -2.0 / 3, Math.PI, Double.MIN_VALUE,
        Double.MIN_NORMAL, Double.MAX_VALUE, -Double.MAX_VALUE, 1e-300, 123456789.123456789, 0.30000000000000004,
        Math.nextUp(1.0), Math.nextDown(0.5), Double.NaN};

    private static Report awkward(long seed) {
        Random rnd = new Random(seed);
        Map<String, Double> figures = new LinkedHashMap<>();
        List<Figure> declared = new ArrayList<>();
        for (int i = 0; i < AWKWARD.length; i++) {
            declared.add(new Figure("f" + i, "F" + i, i % 2 == 0));
            figures.put("f" + i, AWKWARD[i]);
        }
        double[] curve = new double[AWKWARD.length];
        double[] levels = new double[AWKWARD.length];
        double[] scores = new double[AWKWARD.length];
        for (int i = 0; i < curve.length; i++) {
            curve[i] = AWKWARD[(i + 3) % AWKWARD.length];
            levels[i] = (i + 1) / 17.0;
            scores[i] = i % 2 == 0 ? AWKWARD[i] : Double.longBitsToDouble(rnd.nextLong() >>> 2);
        }
        boolean[] rationale = new boolean[AWKWARD.length];
        rationale[0] = rationale[5] = rationale[AWKWARD.length - 1] = true;
        List<String> words = new ArrayList<>();
        for (int i = 0; i < AWKWARD.length; i++) {
            words.add(i == 2 ? "\u00e9t\u00e9 \ud83c\udfac \"\\\" </script>\n\t\u0001" : "w" + i);
        }
        Method m = new Method("m\u00fc \"x\"", figures, curve, curve, List.of(new PrPoint(Double.MIN_VALUE, 1.0 / 3),
                new PrPoint(1, 0)));
        Method empty = new Method("no curves", Map.of(), null, null, null);
        Document d = new Document("d/1", words, "POS", "NEG", 1.0 / 7, rationale,
                Map.of(m.name(), new Attribution(scores, rationale)));
        Document bare = new Document("d2", List.of(), "NEG", "NEG", Double.NaN, new boolean[0], Map.of());
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("z first", "1");
        settings.put("a second", "\u00e9");
        return new Report(new Report.Dataset("movies", "test"), new Report.Model("model", Double.NaN, "p"), settings,
                levels, declared, List.of(m, empty), List.of(d, bare));
    }

    @Test
    void roundTripIsBitExact() {
        Report r = awkward(1);
        String json = ReportJson.toJson(r);
        Report back = ReportJson.fromJson(json);
        assertEquals(r, back); // record equality compares doubles bit for bit (Arrays.equals, Double.equals)
        assertEquals(json, ReportJson.toJson(back));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(back.method("m\u00fc \"x\"")
                .figure("f1")));
        assertEquals(List.of("z first", "a second"), List.copyOf(back.settings().keySet()));
    }

    @Test
    void roundTripOfALargeRandomReport(@TempDir Path dir) throws Exception {
        Report r = Fixtures.large(20, 9, 300, 5);
        Path file = dir.resolve("report.json");
        ReportJson.write(r, file);
        assertEquals(r, ReportJson.read(file));
    }

    @Test
    void nanIsNullAndRationalesAreIndexLists() throws Exception {
        JsonNode root = MAPPER.readTree(ReportJson.toJson(Fixtures.small()));
        assertEquals("maskopt-report", root.get("format").asText());
        JsonNode maskopt = root.get("methods").get(0);
        assertTrue(maskopt.get("figures").get("seconds_per_doc").isNull());
        assertTrue(maskopt.get("figures").get("auprc") == null, "absent figures stay absent");
        assertTrue(root.get("methods").get(1).get("comprehensiveness_curve").get(1).isNull());
        JsonNode doc = root.get("documents").get(0);
        assertEquals("[1,2,4]", doc.get("human_rationale").toString());
        assertEquals("[5,6]", doc.get("attributions").get(Fixtures.HOSTILE_METHOD).get("rationale").toString());
        assertTrue(doc.get("attributions").get("maskopt").get("scores").get(5).isNull());
        assertTrue(root.get("documents").get(1).get("predicted_probability").isNull());
    }

    private static String mutate(java.util.function.Consumer<ObjectNode> change) throws Exception {
        ObjectNode root = (ObjectNode) MAPPER.readTree(ReportJson.toJson(Fixtures.small()));
        change.accept(root);
        return MAPPER.writeValueAsString(root);
    }

    private static void rejects(String messagePart, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReportJson.fromJson(json));
        assertTrue(e.getMessage().contains(messagePart), () -> "message '" + e.getMessage() + "' lacks '"
                + messagePart + "'");
    }

    @Test
    void badInputIsAClearIllegalArgument() throws Exception {
        rejects("not valid JSON", "{\"format\": ");
        rejects("not a maskopt report", "{\"format\": \"other\"}");
        rejects("unsupported report version", mutate(r -> r.put("version", 2)));
        rejects("dataset.split: missing", mutate(r -> ((ObjectNode) r.get("dataset")).remove("split")));
        rejects("methods[1].figures.token_f1: expected a number or null",
                mutate(r -> ((ObjectNode) r.get("methods").get(1).get("figures")).put("token_f1", "0.5")));
        rejects("documents[1].human_rationale[0]: expected a word index in [0, 3), got 3",
                mutate(r -> ((ArrayNode) r.get("documents").get(1).get("human_rationale")).insert(0, 3)));
        rejects("documents[0].attributions.maskopt.rationale[0]: expected a word index",
                mutate(r -> ((ArrayNode) r.get("documents").get(0).get("attributions").get("maskopt")
                        .get("rationale")).insert(0, 1.5)));
        // Model rules apply to what is read, too.
        rejects("has 7 words but method 'maskopt' gave 6 scores",
                mutate(r -> ((ArrayNode) r.get("documents").get(0).get("attributions").get("maskopt")
                        .get("scores")).remove(0)));
        rejects("curve of 4 values but the report has 5 levels",
                mutate(r -> ((ArrayNode) r.get("methods").get(0).get("sufficiency_curve")).remove(0)));
    }
}
