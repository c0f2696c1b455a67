package dev.maskopt.eval;

import static dev.maskopt.eval.TopKTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.Span;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and writing ERASER files on a tiny dataset written here. */
class EraserFilesTest {
    @TempDir
    Path dir;

    private static final Map<String, Double> P = Map.of("NEG", 0.2, "POS", 0.8);

    @BeforeEach
    void writeDataset() throws IOException {
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("docs/d1"), "a b c\n\nd e\n"); // blank line skipped: a b c d e
        Files.writeString(dir.resolve("docs/d2"), "  f   g \nh\n"); // repeated spaces: f g h
        Files.writeString(dir.resolve("test.jsonl"), String.join("\n",
                "{\"annotation_id\": \"d1\", \"classification\": \"POS\", \"docids\": null, \"evidences\": ["
                        + "[{\"docid\": \"d1\", \"start_token\": 1, \"end_token\": 3, \"start_sentence\": -1,"
                        + " \"end_sentence\": -1, \"text\": \"b c\"}],"
                        + " [{\"docid\": \"d1\", \"start_token\": 4, \"end_token\": 5, \"start_sentence\": -1,"
                        + " \"end_sentence\": -1, \"text\": \"e\"}]], \"query\": \"q\", \"query_type\": null}",
                "",
                "{\"annotation_id\": \"d2\", \"classification\": \"NEG\", \"evidences\": []}", ""));
        Files.writeString(dir.resolve("toy_union_human_perf.jsonl"),
                "{\"annotation_id\": \"d1\", \"rationales\": [{\"docid\": \"d1\", \"hard_rationale_predictions\":"
                        + " [{\"start_token\": 0, \"end_token\": 2}]}]}\n");
    }

    @Test
    void readsDocumentsLabelsAndEvidence() {
        EraserDataset data = EraserDataset.open(dir);
        List<EraserDataset.Document> docs = data.split("test");
        assertEquals(2, docs.size());
        EraserDataset.Document d1 = docs.get(0);
        assertEquals("d1", d1.annotationId());
        assertEquals("d1", d1.docid());
        assertEquals(List.of("a", "b", "c", "d", "e"), d1.tokens());
        assertEquals("POS", d1.label());
        assertEquals(List.of(new Span(1, 3, "b c"), new Span(4, 5, "e")), d1.evidence());
        assertArrayEquals(new boolean[] {false, true, true, false, true}, d1.rationale());
        assertEquals(3, d1.rationaleSize());
        EraserDataset.Document d2 = docs.get(1);
        assertEquals(List.of("f", "g", "h"), d2.tokens());
        assertArrayEquals(new boolean[3], d2.rationale());
        List<EraserPrediction> human = data.humanPerformance("union");
        assertEquals(1, human.size());
        assertArrayEquals(new boolean[] {true, true, false, false, false}, human.get(0).hard());
        assertTrue(human.get(0).soft().isEmpty() && human.get(0).classification().isEmpty());
    }

    @Test
    void writesTheScorersFormatAndReadsItBack() throws IOException {
        EraserPrediction p = EraserPrediction.builder("d1", new boolean[] {true, true, false, false, true})
                .soft(new double[] {0.9, 0.8, 0.1, 0.2, 0.7})
                .classification("POS", P)
                .comprehensiveness(Map.of("NEG", 0.6, "POS", 0.4))
                .sufficiency(Map.of("NEG", 0.3, "POS", 0.7))
                .threshold(0.01, Map.of("NEG", 0.25, "POS", 0.75), Map.of("NEG", 0.5, "POS", 0.5))
                .threshold(0.5, Map.of("NEG", 0.7, "POS", 0.3), Map.of("NEG", 0.1, "POS", 0.9))
                .build();
        EraserPrediction q = EraserPrediction.builder("d2", new boolean[3]).soft(new double[3])
                .classification("NEG", EraserPrediction.scores(List.of("NEG", "POS"), new double[] {0.6, 0.4}))
                .comprehensiveness(P).sufficiency(P).threshold(0.01, P, P).threshold(0.5, P, P).build();
        Path file = dir.resolve("out.jsonl");
        EraserPrediction.write(file, List.of(p, q));

        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size());
        JsonNode j = new ObjectMapper().readTree(lines.get(0));
        assertEquals("d1", j.get("annotation_id").asText());
        JsonNode rat = j.get("rationales").get(0);
        assertEquals("d1", rat.get("docid").asText());
        // 11001 is written as its maximal runs [0,2) and [4,5)
        assertEquals("[{\"start_token\":0,\"end_token\":2},{\"start_token\":4,\"end_token\":5}]",
                rat.get("hard_rationale_predictions").toString());
        assertEquals(5, rat.get("soft_rationale_predictions").size());
        assertEquals("POS", j.get("classification").asText());
        assertEquals(0.8, j.get("classification_scores").get("POS").asDouble());
        assertEquals(0.4, j.get("comprehensiveness_classification_scores").get("POS").asDouble());
        assertEquals(0.7, j.get("sufficiency_classification_scores").get("POS").asDouble());
        assertEquals(0.01, j.get("thresholded_scores").get(0).get("threshold").asDouble());
        assertEquals(0.75, j.get("thresholded_scores").get(0).get("comprehensiveness_classification_scores").get("POS")
                .asDouble());
        JsonNode empty = new ObjectMapper().readTree(lines.get(1)).get("rationales").get(0);
        assertEquals(0, empty.get("hard_rationale_predictions").size());

        List<EraserPrediction> back = EraserDataset.open(dir).readPredictions(file);
        assertEquals(2, back.size());
        EraserPrediction r = back.get(0);
        assertArrayEquals(p.hard(), r.hard());
        assertArrayEquals(p.soft().orElseThrow(), r.soft().orElseThrow());
        assertEquals("POS", r.classification().orElseThrow());
        assertEquals(p.classificationScores(), r.classificationScores());
        assertEquals(p.comprehensivenessScores(), r.comprehensivenessScores());
        assertEquals(p.sufficiencyScores(), r.sufficiencyScores());
        assertEquals(p.thresholds(), r.thresholds());
        assertEquals(lines.get(0), r.toJson());
    }

    @Test
    void rejectsMalformedDatasets() throws IOException {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserDataset.open(dir.resolve("docs"))),
                "no docs/");
        EraserDataset data = EraserDataset.open(dir);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.split("dev")), "no split 'dev'");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.tokens("../test.jsonl")), "not a document");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.tokens("d9")), "d9 not found");
        Files.writeString(dir.resolve("val.jsonl"), "{\"annotation_id\": \"d2\", \"classification\": \"NEG\", \"evidences\":"
                + " [[{\"docid\": \"d2\", \"start_token\": 2, \"end_token\": 4, \"text\": \"h ?\"}]]}\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.split("val")), "val.jsonl:1");
        Files.writeString(dir.resolve("val.jsonl"), "{\"annotation_id\": \"d2\", \"evidences\": []}\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.split("val")), "'classification'");
        Files.writeString(dir.resolve("val.jsonl"), "{\"annotation_id\": \"d2\", \"classification\": \"NEG\", \"evidences\":"
                + " [[{\"docid\": \"d1\", \"start_token\": 0, \"end_token\": 1, \"text\": \"a\"},"
                + " {\"docid\": \"d2\", \"start_token\": 0, \"end_token\": 1, \"text\": \"f\"}]]}\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.split("val")), "multi-document");
        Files.writeString(dir.resolve("val.jsonl"), "\n{not json\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.split("val")), "val.jsonl:2: not JSON");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.humanPerformance("majority")),
                "expected one *_majority_human_perf.jsonl");
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"annotation_id\": \"d2\", \"rationales\": [{\"docid\": \"d2\","
                + " \"hard_rationale_predictions\": [{\"start_token\": 1, \"end_token\": 4}]}]}\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.readPredictions(bad)), "outside the 3 tokens");
        Files.writeString(bad, "{\"annotation_id\": \"d2\", \"rationales\": [{\"docid\": \"d2\","
                + " \"soft_rationale_predictions\": [0.5]}]}\n");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.readPredictions(bad)),
                "bad.jsonl:1: 1 soft scores for 3 tokens");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> data.readPredictions(dir.resolve("none"))),
                "does not exist");
    }

    @Test
    void builderAndWriterCheckWhatTheScorerNeeds() {
        boolean[] h = new boolean[3];
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .soft(new double[2])), "2 soft scores for 3 tokens");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .soft(new double[] {0, Double.NaN, 0})), "finite");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .comprehensiveness(P).build()), "need a classification");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .classification("NEUTRAL", P).build()), "not among the scored classes");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .classification("POS", P).sufficiency(Map.of("POS", 1.0)).build()), "scores for classes");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .classification("POS", P).threshold(0.1, P, P).build()), "AOPC scores need");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("x", h)
                .threshold(0.1, P, P).threshold(0.1, P, P)), "given twice");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.builder("", h)), "non-empty");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> EraserPrediction.scores(List.of("A", "A"), new double[] {0.5, 0.5})), "twice");
        EraserPrediction a = EraserPrediction.builder("x", h).build();
        EraserPrediction b = EraserPrediction.builder("y", h).soft(new double[3]).build();
        Path f = dir.resolve("w.jsonl");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.write(f, List.of(a, a))),
                "appears twice");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> EraserPrediction.write(f, List.of(a, b))),
                "same optional fields");
    }
}
