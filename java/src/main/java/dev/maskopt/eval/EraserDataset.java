package dev.maskopt.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.Span;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * An ERASER dataset directory (DeYoung et al., 2020), read in place: {@code docs/<docid>} with one
 * sentence per line and whitespace-separated tokens, {@code {train,val,test}.jsonl} with labels and
 * evidence spans, and optionally {@code *_{union,majority}_human_perf.jsonl} with a second annotator's
 * rationales. Token offsets index a document's tokens across sentences, as in ERASER's flattened
 * documents. Only single-document annotations (such as Movie Reviews) are supported.
 */
public final class EraserDataset {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    /**
     * One annotated document.
     *
     * @param annotationId ERASER's annotation id
     * @param docid the document file name under {@code docs/}
     * @param tokens the document's whitespace tokens, sentences concatenated
     * @param label the gold class ({@code classification})
     * @param evidence the gold evidence spans (token offsets, end exclusive, and their text), in file order;
     *     kept as annotated, including empty ones (the Movies test split has 20, with text ""), which ERASER's
     *     scorer counts as gold spans in IOU F1
     */
    public record Document(String annotationId, String docid, List<String> tokens, String label, List<Span> evidence) {
        public Document {
            tokens = List.copyOf(tokens);
            evidence = List.copyOf(evidence);
            for (Span s : evidence) {
                if (s.start() < 0 || s.end() < s.start() || s.end() > tokens.size()) {
                    throw new IllegalArgumentException(annotationId + ": evidence [" + s.start() + ", " + s.end()
                            + ") is not a range of its " + tokens.size() + " tokens");
                }
            }
        }

        /** The human rationale: whether each token lies in some evidence span. */
        public boolean[] rationale() {
            boolean[] out = new boolean[tokens.size()];
            for (Span s : evidence) {
                for (int t = s.start(); t < s.end(); t++) {
                    out[t] = true;
                }
            }
            return out;
        }

        /** Number of tokens in the human rationale. */
        public int rationaleSize() {
            return Checks.count(rationale());
        }
    }

    private EraserDataset(Path dir) {
        this.dir = dir;
    }

    /** A dataset directory; it must contain {@code docs/}. Nothing else is read until asked for. */
    public static EraserDataset open(Path dir) {
        Checks.notNull(dir, "dataset directory");
        if (!Files.isDirectory(dir.resolve("docs"))) {
            throw new IllegalArgumentException(dir + " is not an ERASER dataset: it has no docs/ directory");
        }
        return new EraserDataset(dir);
    }

    /** The dataset directory. */
    public Path directory() {
        return dir;
    }

    /** The documents of a split ({@code "train"}, {@code "val"} or {@code "test"}), in file order. */
    public List<Document> split(String name) {
        Checks.notNull(name, "split name");
        Path file = dir.resolve(name + ".jsonl");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no split '" + name + "': " + file + " does not exist");
        }
        return readJsonl(file, (node, where) -> document(node, where));
    }

    /** A document's tokens: non-empty lines, split on spaces, concatenated (ERASER's flattened document). */
    public List<String> tokens(String docid) {
        Checks.notNull(docid, "docid");
        if (docid.isEmpty() || docid.contains("/") || docid.contains("\\") || docid.equals("..")) {
            throw new IllegalArgumentException("'" + docid + "' is not a document id");
        }
        Path file = dir.resolve("docs").resolve(docid);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("document " + docid + " not found at " + file);
        }
        List<String> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                for (String tok : line.strip().split(" ")) {
                    if (!tok.isEmpty()) {
                        out.add(tok);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return out;
    }

    /**
     * Predictions in ERASER's output format, checked against this dataset's documents (span bounds, soft
     * score lengths).
     */
    public List<EraserPrediction> readPredictions(Path file) {
        Checks.notNull(file, "predictions file");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("predictions file " + file + " does not exist");
        }
        Map<String, Integer> lengths = new HashMap<>();
        return readJsonl(file, (node, where) -> EraserPrediction.fromJson(node, where,
                docid -> lengths.computeIfAbsent(docid, d -> tokens(d).size())));
    }

    /**
     * The second annotator's rationales shipped with the dataset ({@code kind} = {@code "union"} or
     * {@code "majority"}), as hard predictions: ERASER's human-agreement reference.
     */
    public List<EraserPrediction> humanPerformance(String kind) {
        Checks.notNull(kind, "kind");
        String suffix = "_" + kind + "_human_perf.jsonl";
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + suffix)) {
            files.forEach(found::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException("expected one *" + suffix + " file in " + dir + ", found " + found.size());
        }
        return readPredictions(found.get(0));
    }

    private Document document(JsonNode node, String where) {
        String id = text(node, "annotation_id", where);
        String label = text(node, "classification", where);
        JsonNode groups = node.get("evidences");
        List<JsonNode> evs = new ArrayList<>();
        if (groups != null && !groups.isNull()) {
            if (!groups.isArray()) {
                throw new IllegalArgumentException(where + ": 'evidences' must be a list of lists");
            }
            for (JsonNode group : groups) {
                if (!group.isArray()) {
                    throw new IllegalArgumentException(where + ": 'evidences' must be a list of lists");
                }
                group.forEach(evs::add);
            }
        }
        String docid = docid(node, evs, id, where);
        List<String> tokens = tokens(docid);
        List<Span> evidence = new ArrayList<>();
        for (JsonNode ev : evs) {
            evidence.add(new Span(integer(ev, "start_token", where), integer(ev, "end_token", where),
                    text(ev, "text", where)));
        }
        try {
            return new Document(id, docid, tokens, label, evidence);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** The one document an annotation is about: its evidence's docid, else {@code docids}, else its id. */
    private static String docid(JsonNode node, List<JsonNode> evs, String id, String where) {
        String docid = null;
        for (JsonNode ev : evs) {
            String d = text(ev, "docid", where);
            if (docid != null && !docid.equals(d)) {
                throw new IllegalArgumentException(where + ": evidence from documents " + docid + " and " + d
                        + "; multi-document annotations are not supported");
            }
            docid = d;
        }
        JsonNode docids = node.get("docids");
        if (docid == null && docids != null && docids.isArray()) {
            if (docids.size() != 1) {
                throw new IllegalArgumentException(where + ": " + docids.size()
                        + " docids; multi-document annotations are not supported");
            }
            docid = docids.get(0).asText();
        }
        return docid == null ? id : docid;
    }

    static String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where + ": missing text field '" + field + "'");
        }
        return v.asText();
    }

    static int integer(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException(where + ": missing integer field '" + field + "'");
        }
        return v.asInt();
    }

    /** Parses each non-blank line; {@code where} is "file:line" for messages. */
    static <T> List<T> readJsonl(Path file, BiFunction<JsonNode, String, T> parse) {
        List<T> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String where = file.getFileName() + ":" + n;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException(where + ": not JSON: " + e.getOriginalMessage(), e);
                }
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException(where + ": expected a JSON object");
                }
                out.add(parse.apply(node, where));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return out;
    }
}
