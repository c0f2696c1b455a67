package dev.maskopt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class HtmlReportTest {
    private static final String PAGE = HtmlReport.render(Fixtures.small());

    /** Parses a fragment as XML: inline SVG and the table must be well-formed, whatever the strings held. */
    private static Element xml(String fragment) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(fragment.getBytes(StandardCharsets.UTF_8)))
                .getDocumentElement();
    }

    private static List<String> all(String regex, String text) {
        Matcher m = Pattern.compile(regex, Pattern.DOTALL).matcher(text);
        List<String> found = new ArrayList<>();
        while (m.find()) {
            found.add(m.group());
        }
        return found;
    }

    private static int count(String needle, String text) {
        return all(Pattern.quote(needle), text).size();
    }

    private static Element svg(String id) throws Exception {
        List<String> svgs = all("<svg class=\"chart\" id=\"" + id + "\".*?</svg>", PAGE);
        assertEquals(1, svgs.size(), id);
        return xml(svgs.get(0));
    }

    private static List<String> texts(Element root, String cls) {
        List<String> out = new ArrayList<>();
        NodeList nodes = root.getElementsByTagName("text");
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            if (e.getAttribute("class").equals(cls)) {
                out.add(e.getTextContent());
            }
        }
        return out;
    }

    private static List<Element> paths(Element root) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = root.getElementsByTagName("path");
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add((Element) nodes.item(i));
        }
        return out;
    }

    @Test
    void tableHasEveryRowAndMarksTheBestValueByDirection() throws Exception {
        Element table = xml(all("<table class=\"comparison\">.*?</table>", PAGE).get(0));
        NodeList rows = table.getElementsByTagName("tbody").item(0).getChildNodes();
        List<List<String>> cells = new ArrayList<>();
        List<List<Boolean>> best = new ArrayList<>();
        for (int r = 0; r < rows.getLength(); r++) {
            if (!(rows.item(r) instanceof Element row)) {
                continue;
            }
            List<String> c = new ArrayList<>();
            List<Boolean> b = new ArrayList<>();
            NodeList kids = row.getChildNodes();
            for (int k = 0; k < kids.getLength(); k++) {
                Element cell = (Element) kids.item(k);
                c.add(cell.getTextContent());
                b.add(cell.getAttribute("class").equals("best"));
            }
            cells.add(c);
            best.add(b);
        }
        assertEquals(List.of(
                List.of("maskopt", "0.900", "0.100", "0.500", "n/a", "n/a"),
                List.of("occlusion", "0.400", "0.200", "0.500", "0.600", "1.250"),
                List.of(Fixtures.HOSTILE_METHOD, "0.200", "0.050", "0.100", "n/a", "0.002")), cells);
        // comp (higher): maskopt; suff (lower): hostile; F1: a tie on the printed digits; AUPRC: one value, no
        // winner; s/doc (lower): hostile, with maskopt's NaN ignored.
        assertEquals(List.of(
                List.of(false, true, false, true, false, false),
                List.of(false, false, false, true, false, false),
                List.of(false, false, true, false, false, true)), best);
        assertTrue(PAGE.contains("<td class=\"na\">n/a</td>"));
        assertTrue(PAGE.contains(">Suff. \u2193</th>") && PAGE.contains(">Comp. \u2191</th>"));
    }

    @Test
    void headerShowsDatasetModelLevelsAndSettings() {
        assertTrue(PAGE.contains("<title>Explainer comparison: ERASER Movie Reviews (test)</title>"));
        assertTrue(PAGE.contains("<dd>MiniLM + &lt;head&gt;</dd>"));
        assertTrue(PAGE.contains("<dd>0.875</dd>"));
        assertTrue(PAGE.contains("<dd>trained on the train split &amp; tuned on dev</dd>"));
        assertTrue(PAGE.contains("<dd>1%, 5%, 10%, 20%, 50%</dd>"));
        assertTrue(PAGE.contains("<tr><th scope=\"row\">removal</th><td>baseline embedding &lt;pad&gt; &amp; friends</td></tr>"));
    }

    @Test
    void hostileStringsAreEscapedEverywhere() throws Exception {
        // The only closing script tags are the two of the page's own script elements.
        assertEquals(2, count("</script>", PAGE));
        assertEquals(2, count("</script", PAGE.toLowerCase()));
        assertFalse(PAGE.contains("<b>bold"));
        assertFalse(PAGE.contains("<b>great"));
        assertFalse(PAGE.contains("<doc&1>"));
        assertTrue(PAGE.contains("&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &#39;single&#39;"));
        // Inside the JSON block, markup characters are unicode escapes and the data reads back unchanged.
        String data = all("<script type=\"application/json\" id=\"report-data\">.*?</script>", PAGE).get(0);
        String json = data.substring(data.indexOf('>') + 1, data.length() - "</script>".length());
        assertFalse(json.contains("<") || json.contains(">") || json.contains("&"));
        JsonNode root = new ObjectMapper().readTree(json);
        assertEquals(Fixtures.HOSTILE_METHOD, root.get("methods").get(2).asText());
        JsonNode doc = root.get("docs").get(0);
        assertEquals("<doc&1>", doc.get("id").asText());
        assertEquals(Fixtures.HOSTILE_WORD, doc.get("words").get(5).asText());
        assertEquals("<b>great</b>", doc.get("words").get(1).asText());
    }

    @Test
    void pageLoadsNothingFromTheNetwork() {
        String lower = PAGE.toLowerCase();
        assertFalse(lower.contains("http://") || lower.contains("https://") || lower.contains("//cdn"));
        assertFalse(lower.contains("<link") || lower.contains("src=") || lower.contains("@import")
                || lower.contains("url("));
        assertEquals(1, count("<style>", PAGE));
    }

    @Test
    void chartsHaveOneLinePerMethodAxesAndALegend() throws Exception {
        List<String> methods = List.of("maskopt", "occlusion", Fixtures.HOSTILE_METHOD);
        for (String id : List.of("chart-comprehensiveness", "chart-sufficiency", "chart-precision-recall")) {
            Element svg = svg(id);
            List<Element> lines = paths(svg);
            assertEquals(3, lines.size(), id);
            for (int i = 0; i < lines.size(); i++) {
                assertEquals("line", lines.get(i).getAttribute("class"));
                assertEquals(methods.get(i), lines.get(i).getAttribute("data-series"));
                assertTrue(lines.get(i).getAttribute("d").startsWith("M"));
            }
            // Legend: names, truncated past 24 characters with the full name kept as a tooltip.
            List<String> legend = texts(svg, "legend-label");
            assertEquals(3, legend.size());
            assertEquals("maskopt", legend.get(0));
            // textContent includes the tooltip: the shown prefix, the ellipsis, then the full name.
            assertEquals(Fixtures.HOSTILE_METHOD.substring(0, 23) + "\u2026" + Fixtures.HOSTILE_METHOD, legend.get(2));
            assertFalse(texts(svg, "tick-label").isEmpty());
        }
        Element comp = svg("chart-comprehensiveness");
        assertEquals(List.of("removal level (share of words, highest scores first)",
                "drop in predicted-class probability"), texts(comp, "axis-label"));
        assertEquals(List.of("1%", "5%", "10%", "20%", "50%"), texts(comp, "tick-label").subList(0, 5));
        // The y axis covers the data, including the negative point and 0.
        List<String> yTicks = texts(comp, "tick-label").subList(5, texts(comp, "tick-label").size());
        assertTrue(Double.parseDouble(yTicks.get(0)) <= -0.05, yTicks.toString());
        assertTrue(Double.parseDouble(yTicks.get(yTicks.size() - 1)) >= 0.9, yTicks.toString());
        // occlusion's NaN at 5% breaks its line inside the one path: "M a M b L c L d".
        String occlusion = paths(comp).get(1).getAttribute("d");
        assertEquals(2, count("M", occlusion));
        assertEquals(2, count("L", occlusion));
        assertEquals(List.of("recall", "precision"), texts(svg("chart-precision-recall"), "axis-label"));
        assertEquals("Comprehensiveness vs removal level", texts(comp, "chart-title").get(0));
    }

    @Test
    void sectionsWithoutDataAreLeftOut() {
        Report bare = new Report(new Report.Dataset("d", "s"), new Report.Model("m", 0.5, "p"), Map.of(),
                new double[0], List.of(Report.Figure.TOKEN_F1),
                List.of(new Report.Method("x", Map.of("token_f1", 0.5), null, null, null)), List.of());
        String page = HtmlReport.render(bare);
        assertTrue(page.contains("<table class=\"comparison\">"));
        assertFalse(page.contains("<svg") || page.contains("<script") || page.contains("Removal levels"));
    }

    @Test
    void scoresAreQuantizedSymmetricallyAroundZero() {
        String q = HtmlReport.quantize(new double[] {-2, -1, 0, 1, 2, Double.NaN}, 2);
        assertEquals(6, q.length());
        int[] level = q.chars().map(HtmlReport.CODES::indexOf).toArray();
        assertEquals(List.of(1, 17, 32, 48, 63, 0), java.util.Arrays.stream(level).boxed().toList());
        assertEquals("WW", HtmlReport.quantize(new double[] {0, 0}, 0)); // all zero: the middle level
    }

    @Test
    void documentDataRoundsButKeepsSpansAndOrder() throws Exception {
        JsonNode root = new ObjectMapper().readTree(HtmlReport.documentData(Fixtures.small()));
        JsonNode doc = root.get("docs").get(0);
        assertEquals("[1,3,4,5]", doc.get("human").toString()); // words 1-2 and 4 as [start, end) pairs
        JsonNode maskopt = doc.get("a").get(0);
        assertEquals("[1,3,4,5]", maskopt.get("r").toString());
        assertEquals(0.9, maskopt.get("m").asDouble(), 1e-6);
        assertEquals('0', maskopt.get("q").asText().charAt(5)); // the NaN score
        assertTrue(doc.get("a").get(1).isNull(), "occlusion did not explain this document");
        assertTrue(root.get("docs").get(1).get("prob").isNull());
    }

    @Test
    void largeReportStaysSmall(@TempDir Path dir) throws Exception {
        Report large = Fixtures.large(200, 9, 800, 11);
        Path html = dir.resolve("report.html");
        Path json = dir.resolve("report.json");
        HtmlReport.write(large, html);
        ReportJson.write(large, json);
        long htmlBytes = Files.size(html), jsonBytes = Files.size(json);
        System.out.printf("200 docs x 9 methods x 800 words: HTML %.2f MB, JSON %.2f MB%n", htmlBytes / 1e6,
                jsonBytes / 1e6);
        assertTrue(htmlBytes < 15_000_000, "HTML is " + htmlBytes + " bytes");
        assertEquals(3 * 9, count("<path class=\"line\"", Files.readString(html)));
        String out = System.getProperty("maskopt.report.sample");
        if (out != null) { // for looking at the page in a browser
            Files.copy(html, Path.of(out), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
