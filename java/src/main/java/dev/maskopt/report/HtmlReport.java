package dev.maskopt.report;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import dev.maskopt.report.Report.Attribution;
import dev.maskopt.report.Report.Document;
import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import dev.maskopt.report.Report.PrPoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The report as one self-contained HTML page: it loads nothing (CSS, SVG charts and a small script are inline),
 * so it can be mailed, archived or opened offline.
 *
 * <p>Sections: a header (data set, model, removal levels, run settings); the comparison table (methods x
 * figures, 3 decimals, "n/a" for missing or NaN figures, the best value of each column highlighted with the
 * figure's direction; see {@link MarkdownTable} for the tie rule); comprehensiveness and sufficiency against the
 * removal level (levels evenly spaced on the x axis, one line per method); precision-recall curves against human
 * rationales; and a document view that shows the chosen document twice, once with the chosen method's rationale
 * (background: the word's score relative to the largest absolute score in that document, orange for positive
 * and blue for negative; bold underline: the hard rationale) and once with the human rationale.
 *
 * <p>The document view is drawn by inline JavaScript from a compact JSON block embedded once: words, rationales as
 * [start, end) word spans, and scores quantized to one character per word (63 levels; exact scores are in
 * {@link ReportJson}). 200 documents x 9 methods x 800 words make a page of about 3.5 MB.
 */
public final class HtmlReport {
    /** Quantized score alphabet; the page's script holds the same string. Index 0 is "no score". */
    static final String CODES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    private static final String CSS = resource("report.css");
    private static final String SCRIPT = resource("report.js");
    private static final JsonFactory JSON = new JsonFactory();

    private HtmlReport() {}

    /** Writes the page as UTF-8, replacing the file. */
    public static void write(Report report, Path file) throws IOException {
        Files.writeString(file, render(report), StandardCharsets.UTF_8);
    }

    /** The page as a string. */
    public static String render(Report report) {
        StringBuilder sb = new StringBuilder(1 << 16);
        String title = "Explainer comparison: " + report.dataset().name() + " (" + report.dataset().split() + ")";
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(Html.escape(title)).append("</title>\n")
                .append("<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        header(sb, report);
        table(sb, report);
        curves(sb, report);
        precisionRecall(sb, report);
        documents(sb, report);
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    private static void header(StringBuilder sb, Report r) {
        sb.append("<header>\n<h1>Explainer comparison: ").append(Html.escape(r.dataset().name()))
                .append(" <span class=\"split\">(").append(Html.escape(r.dataset().split())).append(")</span></h1>\n");
        sb.append("<dl class=\"meta\">\n");
        meta(sb, "Model", r.model().name());
        meta(sb, "Test accuracy", ComparisonTable.fixed3(r.model().testAccuracy()));
        meta(sb, "How it was made", r.model().provenance());
        meta(sb, "Documents", String.valueOf(r.documents().size()));
        meta(sb, "Methods", String.valueOf(r.methods().size()));
        if (r.levels().length > 0) {
            meta(sb, "Removal levels", String.join(", ", levelLabels(r.levels())));
        }
        sb.append("</dl>\n");
        if (!r.settings().isEmpty()) {
            sb.append("<h2>Run settings</h2>\n<table class=\"settings\">\n");
            for (Map.Entry<String, String> e : r.settings().entrySet()) {
                sb.append("<tr><th scope=\"row\">").append(Html.escape(e.getKey())).append("</th><td>")
                        .append(Html.escape(e.getValue())).append("</td></tr>\n");
            }
            sb.append("</table>\n");
        }
        sb.append("</header>\n");
    }

    private static void meta(StringBuilder sb, String key, String value) {
        sb.append("<dt>").append(Html.escape(key)).append("</dt><dd>").append(Html.escape(value)).append("</dd>\n");
    }

    private static void table(StringBuilder sb, Report r) {
        ComparisonTable t = new ComparisonTable(r);
        sb.append("<section id=\"comparison\">\n<h2>Comparison</h2>\n<div class=\"table-wrap\">\n")
                .append("<table class=\"comparison\">\n<thead><tr><th scope=\"col\">Method</th>");
        for (Figure f : t.figures) {
            sb.append("<th scope=\"col\" data-figure=\"").append(Html.escape(f.key())).append("\" title=\"")
                    .append(Html.escape(f.key() + ": " + (f.higherIsBetter() ? "higher" : "lower") + " is better"))
                    .append("\">").append(Html.escape(f.label())).append(' ').append(ComparisonTable.arrow(f))
                    .append("</th>");
        }
        sb.append("</tr></thead>\n<tbody>\n");
        for (int m = 0; m < t.methods.size(); m++) {
            sb.append("<tr><th scope=\"row\">").append(Html.escape(t.methods.get(m).name())).append("</th>");
            for (int f = 0; f < t.figures.size(); f++) {
                String cell = t.cells[m][f];
                String cls = t.best[m][f] ? " class=\"best\"" : cell.equals(ComparisonTable.NOT_AVAILABLE) ? " class=\"na\"" : "";
                sb.append("<td").append(cls).append('>').append(cell).append("</td>");
            }
            sb.append("</tr>\n");
        }
        sb.append("</tbody>\n</table>\n</div>\n<p class=\"note\">\u2191 higher is better, \u2193 lower is better; the"
                + " best value of each column is highlighted (all tied values on the printed digits; none when fewer"
                + " than two methods have a value). n/a: not measured.</p>\n</section>\n");
    }

    private static void curves(StringBuilder sb, Report r) {
        double[] levels = r.levels();
        List<Chart.Series> comp = new ArrayList<>(), suff = new ArrayList<>();
        double lo = 0, hi = 0; // both charts include 0, the "no effect" line
        double[] xs = new double[levels.length];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = i;
        }
        String[] labels = levelLabels(levels);
        for (int m = 0; m < r.methods().size(); m++) {
            Method method = r.methods().get(m);
            for (double[] curve : List.of(method.comprehensiveness(), method.sufficiency())) {
                for (double v : curve) {
                    if (!Double.isNaN(v)) {
                        lo = Math.min(lo, v);
                        hi = Math.max(hi, v);
                    }
                }
            }
            if (hasValue(method.comprehensiveness())) {
                comp.add(new Chart.Series(method.name(), m, xs, method.comprehensiveness(),
                        pointLabels(method.name(), labels, method.comprehensiveness())));
            }
            if (hasValue(method.sufficiency())) {
                suff.add(new Chart.Series(method.name(), m, xs, method.sufficiency(),
                        pointLabels(method.name(), labels, method.sufficiency())));
            }
        }
        if (comp.isEmpty() && suff.isEmpty()) {
            return;
        }
        // Categorical x: the usual levels (1, 5, 10, 20, 50%) would crowd at the left on a linear axis.
        double pad = levels.length > 1 ? 0.3 : 1;
        Chart.Axis x = new Chart.Axis("removal level (share of words, highest scores first)", -pad,
                levels.length - 1 + pad, xs, labels);
        Chart.Axis y = Chart.Axis.nice("drop in predicted-class probability", lo, hi);
        sb.append("<section id=\"faithfulness\">\n<h2>Faithfulness across removal levels</h2>\n<div class=\"charts\">\n");
        if (!comp.isEmpty()) {
            sb.append("<figure>\n").append(Chart.svg("chart-comprehensiveness",
                    "Comprehensiveness vs removal level", x, y, comp)).append("<figcaption>Comprehensiveness: drop in"
                    + " the predicted class's probability when the top-scored words are removed (higher is"
                    + " better).</figcaption>\n</figure>\n");
        }
        if (!suff.isEmpty()) {
            sb.append("<figure>\n").append(Chart.svg("chart-sufficiency", "Sufficiency vs removal level", x, y, suff))
                    .append("<figcaption>Sufficiency: drop in the predicted class's probability when only the"
                            + " top-scored words are kept (lower is better).</figcaption>\n</figure>\n");
        }
        sb.append("</div>\n</section>\n");
    }

    private static void precisionRecall(StringBuilder sb, Report r) {
        List<Chart.Series> series = new ArrayList<>();
        for (int m = 0; m < r.methods().size(); m++) {
            Method method = r.methods().get(m);
            List<PrPoint> points = method.precisionRecall();
            if (points.isEmpty()) {
                continue;
            }
            double[] recall = new double[points.size()], precision = new double[points.size()];
            for (int i = 0; i < recall.length; i++) {
                recall[i] = points.get(i).recall();
                precision[i] = points.get(i).precision();
            }
            series.add(new Chart.Series(method.name(), m, recall, precision, null));
        }
        if (series.isEmpty()) {
            return;
        }
        sb.append("<section id=\"plausibility\">\n<h2>Agreement with human rationales</h2>\n<figure>\n")
                .append(Chart.svg("chart-precision-recall", "Precision-recall against human rationales",
                        Chart.Axis.unit("recall"), Chart.Axis.unit("precision"), series))
                .append("<figcaption>Token-level precision and recall of each method's scores, thresholded at every"
                        + " value, against the human rationales.</figcaption>\n</figure>\n</section>\n");
    }

    private static void documents(StringBuilder sb, Report r) {
        if (r.documents().isEmpty()) {
            return;
        }
        sb.append("""
                <section id="documents">
                <h2>Documents</h2>
                <div class="controls">
                <label>Document <select id="doc-select"></select></label>
                <button type="button" id="doc-prev" title="previous document">&#9664;</button>
                <button type="button" id="doc-next" title="next document">&#9654;</button>
                <label>Method <select id="method-select"></select></label>
                </div>
                <p id="doc-info"></p>
                <div class="panels">
                <div class="panel"><h3 id="method-title">Method</h3><p class="stats" id="method-stats"></p>\
                <div class="text" id="method-text"></div></div>
                <div class="panel"><h3>Human rationale</h3><p class="stats" id="human-stats"></p>\
                <div class="text" id="human-text"></div></div>
                </div>
                <p class="note">Left: <span class="swatch" style="background:rgba(255,140,0,0.6)">&nbsp;</span>\
                 positive and <span class="swatch" style="background:rgba(30,120,255,0.6)">&nbsp;</span> negative\
                 score, relative to the method's largest absolute score in this document; <b><u>bold\
                 underlined</u></b>: the method's rationale. Right: \
                <span class="swatch" style="background:rgba(46,160,67,0.35)">&nbsp;</span> the human rationale.\
                 Hover over a word for its score.</p>
                <noscript><p>The document view needs JavaScript; the same data is in the report's JSON file.</p></noscript>
                </section>
                <script type="application/json" id="report-data">""");
        sb.append(documentData(r));
        sb.append("</script>\n<script>\n").append(SCRIPT).append("</script>\n");
    }

    /**
     * The document view's data: {@code {methods: [name], docs: [{id, gold, pred, prob, words, human: spans,
     * a: [{q: codes, m: max |score|, r: spans} or null per method]}]}}. Written with '<', '>' and '&' as
     * JSON escapes, so no word can close the script element or open a comment inside it.
     */
    static String documentData(Report r) {
        StringWriter out = new StringWriter(1 << 20);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.setCharacterEscapes(HtmlSafe.INSTANCE);
            g.writeStartObject();
            g.writeArrayFieldStart("methods");
            for (Method m : r.methods()) {
                g.writeString(m.name());
            }
            g.writeEndArray();
            g.writeArrayFieldStart("docs");
            for (Document d : r.documents()) {
                g.writeStartObject();
                g.writeStringField("id", d.id());
                g.writeStringField("gold", d.goldLabel());
                g.writeStringField("pred", d.predictedLabel());
                g.writeFieldName("prob");
                if (Double.isNaN(d.predictedProbability())) {
                    g.writeNull();
                } else {
                    g.writeNumber((float) d.predictedProbability()); // display precision is enough here
                }
                g.writeArrayFieldStart("words");
                for (String w : d.words()) {
                    g.writeString(w);
                }
                g.writeEndArray();
                g.writeFieldName("human");
                spans(g, d.human());
                g.writeArrayFieldStart("a");
                for (Method m : r.methods()) {
                    Attribution a = d.attributions().get(m.name());
                    if (a == null) {
                        g.writeNull();
                        continue;
                    }
                    double[] scores = a.scoresView();
                    double max = 0;
                    for (double s : scores) {
                        if (!Double.isNaN(s)) {
                            max = Math.max(max, Math.abs(s));
                        }
                    }
                    g.writeStartObject();
                    g.writeStringField("q", quantize(scores, max));
                    g.writeNumberField("m", (float) max);
                    g.writeFieldName("r");
                    spans(g, a.rationaleView());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.toString();
    }

    /** One character per score: index 0 for NaN, else 32 + round(31 * score / max) in 1..63. */
    static String quantize(double[] scores, double max) {
        char[] q = new char[scores.length];
        for (int i = 0; i < q.length; i++) {
            double s = scores[i];
            q[i] = CODES.charAt(Double.isNaN(s) ? 0 : max == 0 ? 32 : 32 + (int) Math.round(31 * s / max));
        }
        return new String(q);
    }

    /** A boolean mask as flat [start, end) pairs of its runs. */
    private static void spans(JsonGenerator g, boolean[] mask) throws IOException {
        g.writeStartArray();
        int t = 0;
        while (t < mask.length) {
            if (!mask[t]) {
                t++;
                continue;
            }
            int start = t;
            while (t < mask.length && mask[t]) {
                t++;
            }
            g.writeNumber(start);
            g.writeNumber(t);
        }
        g.writeEndArray();
    }

    private static boolean hasValue(double[] curve) {
        for (double v : curve) {
            if (!Double.isNaN(v)) {
                return true;
            }
        }
        return false;
    }

    private static String[] pointLabels(String method, String[] levels, double[] values) {
        String[] labels = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            labels[i] = method + " at " + levels[i] + ": " + ComparisonTable.fixed3(values[i]);
        }
        return labels;
    }

    /** Levels as percentages when they are fractions (the usual case), else as plain numbers. */
    static String[] levelLabels(double[] levels) {
        boolean fractions = true;
        for (double l : levels) {
            fractions &= l >= 0 && l <= 1;
        }
        String[] labels = new String[levels.length];
        for (int i = 0; i < levels.length; i++) {
            double v = fractions ? levels[i] * 100 : levels[i];
            String s = String.format(Locale.ROOT, "%.2f", v).replaceAll("\\.?0+$", "");
            labels[i] = fractions ? s + "%" : s;
        }
        return labels;
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource dev/maskopt/report/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Standard JSON escapes plus '<', '>' and '&' as unicode escapes, which HTML never interprets in a script. */
    private static final class HtmlSafe extends CharacterEscapes {
        static final HtmlSafe INSTANCE = new HtmlSafe();
        private final int[] codes = standardAsciiEscapesForJSON();

        private HtmlSafe() {
            codes['<'] = ESCAPE_STANDARD;
            codes['>'] = ESCAPE_STANDARD;
            codes['&'] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return codes;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return null;
        }
    }
}
