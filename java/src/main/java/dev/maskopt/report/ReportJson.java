package dev.maskopt.report;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.report.Report.Attribution;
import dev.maskopt.report.Report.Dataset;
import dev.maskopt.report.Report.Document;
import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import dev.maskopt.report.Report.Model;
import dev.maskopt.report.Report.PrPoint;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes a {@link Report} as JSON. Every number survives a round trip bit for bit (doubles are written
 * in their shortest exact decimal form); NaN is written as {@code null}.
 *
 * <p>Layout ({@code "format": "maskopt-report", "version": 1}): {@code dataset {name, split}},
 * {@code model {name, test_accuracy, provenance}}, {@code settings {key: value, ...}} in display order,
 * {@code levels [...]}, {@code figures [{key, label, higher_is_better}]},
 * {@code methods [{name, figures {key: value}, comprehensiveness_curve [...], sufficiency_curve [...],
 * precision_recall [[recall, precision], ...]}]} and {@code documents [{id, words, gold_label, predicted_label,
 * predicted_probability, human_rationale, attributions {method: {scores, rationale}}}]}. Boolean per-word
 * rationales are stored as the ascending indices of the selected words, which keeps long documents small.
 */
public final class ReportJson {
    static final String FORMAT = "maskopt-report";
    static final int VERSION = 1;
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    private ReportJson() {}

    /** Writes the report as indented JSON; the writer is left open. */
    public static void write(Report report, Writer out) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.useDefaultPrettyPrinter();
            writeReport(g, report);
        }
    }

    /** Writes the report as UTF-8 JSON to a file, replacing it. */
    public static void write(Report report, Path file) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            write(report, out);
        }
    }

    /** The report as a JSON string. */
    public static String toJson(Report report) {
        StringWriter out = new StringWriter();
        try {
            write(report, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.toString();
    }

    /**
     * Reads a report.
     *
     * @throws IllegalArgumentException if the text is not JSON, not a report of this format, or describes an
     *     invalid report (the message names the offending field)
     * @throws IOException if the reader fails
     */
    public static Report read(Reader in) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(in);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
        return parseReport(root);
    }

    /** Reads a report from a UTF-8 file; see {@link #read(Reader)}. */
    public static Report read(Path file) throws IOException {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(in);
        }
    }

    /** Reads a report from a string; see {@link #read(Reader)}. */
    public static Report fromJson(String json) {
        try {
            return read(new java.io.StringReader(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringReader does not fail
        }
    }

    // ---- writing ----

    private static void writeReport(JsonGenerator g, Report r) throws IOException {
        g.writeStartObject();
        g.writeStringField("format", FORMAT);
        g.writeNumberField("version", VERSION);
        g.writeObjectFieldStart("dataset");
        g.writeStringField("name", r.dataset().name());
        g.writeStringField("split", r.dataset().split());
        g.writeEndObject();
        g.writeObjectFieldStart("model");
        g.writeStringField("name", r.model().name());
        number(g, "test_accuracy", r.model().testAccuracy());
        g.writeStringField("provenance", r.model().provenance());
        g.writeEndObject();
        g.writeObjectFieldStart("settings");
        for (Map.Entry<String, String> e : r.settings().entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("levels");
        numbers(g, r.levels());
        g.writeArrayFieldStart("figures");
        for (Figure f : r.figures()) {
            g.writeStartObject();
            g.writeStringField("key", f.key());
            g.writeStringField("label", f.label());
            g.writeBooleanField("higher_is_better", f.higherIsBetter());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("methods");
        for (Method m : r.methods()) {
            g.writeStartObject();
            g.writeStringField("name", m.name());
            g.writeObjectFieldStart("figures");
            for (Map.Entry<String, Double> e : m.figures().entrySet()) {
                number(g, e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeFieldName("comprehensiveness_curve");
            numbers(g, m.comprehensiveness());
            g.writeFieldName("sufficiency_curve");
            numbers(g, m.sufficiency());
            g.writeArrayFieldStart("precision_recall");
            for (PrPoint p : m.precisionRecall()) {
                g.writeStartArray();
                g.writeNumber(p.recall());
                g.writeNumber(p.precision());
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("documents");
        for (Document d : r.documents()) {
            g.writeStartObject();
            g.writeStringField("id", d.id());
            g.writeArrayFieldStart("words");
            for (String w : d.words()) {
                g.writeString(w);
            }
            g.writeEndArray();
            g.writeStringField("gold_label", d.goldLabel());
            g.writeStringField("predicted_label", d.predictedLabel());
            number(g, "predicted_probability", d.predictedProbability());
            g.writeFieldName("human_rationale");
            indices(g, d.human());
            g.writeObjectFieldStart("attributions");
            for (Map.Entry<String, Attribution> e : d.attributions().entrySet()) {
                g.writeObjectFieldStart(e.getKey());
                g.writeFieldName("scores");
                numbers(g, e.getValue().scoresView());
                g.writeFieldName("rationale");
                indices(g, e.getValue().rationaleView());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void number(JsonGenerator g, String field, double v) throws IOException {
        g.writeFieldName(field);
        number(g, v);
    }

    private static void number(JsonGenerator g, double v) throws IOException {
        if (Double.isNaN(v)) {
            g.writeNull(); // JSON has no NaN
        } else {
            g.writeNumber(v);
        }
    }

    private static void numbers(JsonGenerator g, double[] values) throws IOException {
        g.writeStartArray();
        for (double v : values) {
            number(g, v);
        }
        g.writeEndArray();
    }

    private static void indices(JsonGenerator g, boolean[] selected) throws IOException {
        g.writeStartArray();
        for (int i = 0; i < selected.length; i++) {
            if (selected[i]) {
                g.writeNumber(i);
            }
        }
        g.writeEndArray();
    }

    // ---- reading ----

    private static Report parseReport(JsonNode root) {
        object(root, "the document root");
        String format = text(root, "format", "");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("not a maskopt report: format is '" + format + "'");
        }
        JsonNode version = field(root, "version", "");
        if (!version.canConvertToInt() || version.intValue() != VERSION) {
            throw new IllegalArgumentException("unsupported report version " + version + " (this reader reads "
                    + VERSION + ")");
        }
        JsonNode ds = object(field(root, "dataset", ""), "dataset");
        JsonNode mo = object(field(root, "model", ""), "model");
        Dataset dataset = new Dataset(text(ds, "name", "dataset"), text(ds, "split", "dataset"));
        Model model = new Model(text(mo, "name", "model"), number(mo, "test_accuracy", "model"),
                text(mo, "provenance", "model"));
        Map<String, String> settings = new LinkedHashMap<>();
        JsonNode st = object(field(root, "settings", ""), "settings");
        for (Iterator<Map.Entry<String, JsonNode>> it = st.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            settings.put(e.getKey(), text(st, e.getKey(), "settings"));
        }
        double[] levels = numbers(field(root, "levels", ""), "levels");
        List<Figure> figures = new ArrayList<>();
        JsonNode fs = array(field(root, "figures", ""), "figures");
        for (int i = 0; i < fs.size(); i++) {
            String at = "figures[" + i + "]";
            JsonNode f = object(fs.get(i), at);
            figures.add(new Figure(text(f, "key", at), text(f, "label", at), bool(f, "higher_is_better", at)));
        }
        List<Method> methods = new ArrayList<>();
        JsonNode ms = array(field(root, "methods", ""), "methods");
        for (int i = 0; i < ms.size(); i++) {
            methods.add(parseMethod(object(ms.get(i), "methods[" + i + "]"), "methods[" + i + "]"));
        }
        List<Document> documents = new ArrayList<>();
        JsonNode ds2 = array(field(root, "documents", ""), "documents");
        for (int i = 0; i < ds2.size(); i++) {
            documents.add(parseDocument(object(ds2.get(i), "documents[" + i + "]"), "documents[" + i + "]"));
        }
        return new Report(dataset, model, settings, levels, figures, methods, documents);
    }

    private static Method parseMethod(JsonNode m, String at) {
        Map<String, Double> figures = new LinkedHashMap<>();
        JsonNode fs = object(field(m, "figures", at), at + ".figures");
        for (Iterator<String> it = fs.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            figures.put(key, number(fs, key, at + ".figures"));
        }
        List<PrPoint> pr = new ArrayList<>();
        JsonNode ps = array(field(m, "precision_recall", at), at + ".precision_recall");
        for (int i = 0; i < ps.size(); i++) {
            double[] p = numbers(ps.get(i), at + ".precision_recall[" + i + "]");
            if (p.length != 2) {
                throw new IllegalArgumentException(at + ".precision_recall[" + i + "]: expected [recall, precision]");
            }
            pr.add(new PrPoint(p[0], p[1]));
        }
        return new Method(text(m, "name", at), figures,
                numbers(field(m, "comprehensiveness_curve", at), at + ".comprehensiveness_curve"),
                numbers(field(m, "sufficiency_curve", at), at + ".sufficiency_curve"), pr);
    }

    private static Document parseDocument(JsonNode d, String at) {
        JsonNode ws = array(field(d, "words", at), at + ".words");
        List<String> words = new ArrayList<>(ws.size());
        for (int i = 0; i < ws.size(); i++) {
            if (!ws.get(i).isTextual()) {
                throw new IllegalArgumentException(at + ".words[" + i + "]: expected a string");
            }
            words.add(ws.get(i).textValue());
        }
        int n = words.size();
        Map<String, Attribution> attributions = new LinkedHashMap<>();
        JsonNode as = object(field(d, "attributions", at), at + ".attributions");
        for (Iterator<Map.Entry<String, JsonNode>> it = as.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String aat = at + ".attributions." + e.getKey();
            JsonNode a = object(e.getValue(), aat);
            double[] scores = numbers(field(a, "scores", aat), aat + ".scores");
            attributions.put(e.getKey(), new Attribution(scores,
                    indexSet(field(a, "rationale", aat), scores.length, aat + ".rationale")));
        }
        return new Document(text(d, "id", at), words, text(d, "gold_label", at), text(d, "predicted_label", at),
                number(d, "predicted_probability", at), indexSet(field(d, "human_rationale", at), n,
                        at + ".human_rationale"), attributions);
    }

    private static JsonNode field(JsonNode node, String name, String at) {
        JsonNode v = node.get(name);
        if (v == null) {
            throw new IllegalArgumentException(where(at, name) + ": missing");
        }
        return v;
    }

    private static String where(String at, String name) {
        return at.isEmpty() ? name : at + "." + name;
    }

    private static JsonNode object(JsonNode node, String at) {
        if (!node.isObject()) {
            throw new IllegalArgumentException(at + ": expected an object");
        }
        return node;
    }

    private static JsonNode array(JsonNode node, String at) {
        if (!node.isArray()) {
            throw new IllegalArgumentException(at + ": expected an array");
        }
        return node;
    }

    private static String text(JsonNode node, String name, String at) {
        JsonNode v = field(node, name, at);
        if (!v.isTextual()) {
            throw new IllegalArgumentException(where(at, name) + ": expected a string");
        }
        return v.textValue();
    }

    private static boolean bool(JsonNode node, String name, String at) {
        JsonNode v = field(node, name, at);
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(where(at, name) + ": expected true or false");
        }
        return v.booleanValue();
    }

    private static double number(JsonNode node, String name, String at) {
        return number(field(node, name, at), where(at, name));
    }

    private static double number(JsonNode v, String at) {
        if (v.isNull()) {
            return Double.NaN;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(at + ": expected a number or null");
        }
        return v.doubleValue();
    }

    private static double[] numbers(JsonNode node, String at) {
        array(node, at);
        double[] values = new double[node.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = number(node.get(i), at + "[" + i + "]");
        }
        return values;
    }

    private static boolean[] indexSet(JsonNode node, int n, String at) {
        array(node, at);
        boolean[] selected = new boolean[n];
        for (int i = 0; i < node.size(); i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0 || v.intValue() >= n) {
                throw new IllegalArgumentException(at + "[" + i + "]: expected a word index in [0, " + n + "), got "
                        + v);
            }
            selected[v.intValue()] = true;
        }
        return selected;
    }
}
