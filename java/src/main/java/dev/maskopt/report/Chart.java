package dev.maskopt.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart as an inline SVG element: axes with ticks and labels, light grid lines, one {@code <path>} per
 * series (NaN points break the line inside that one path) and a legend on the right. Colours and strokes are
 * attributes, so the SVG also reads correctly on its own; fonts come from the page's CSS.
 */
final class Chart {
    /** Tableau 10: distinguishable, and readable for most colour-vision deficiencies. */
    private static final String[] COLORS = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
        "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
    /** After ten series the colours repeat with these dash patterns. */
    private static final String[] DASHES = {null, "6 3", "2 2", "8 3 2 3"};
    private static final int WIDTH = 720, LEFT = 64, RIGHT_LEGEND = 230, TOP = 36, BOTTOM = 56, ROW = 18;
    private static final int LEGEND_NAME_CHARS = 24;

    /**
     * One line.
     *
     * @param name legend and tooltip name
     * @param index fixes the colour, so a method looks the same in every chart
     * @param xs data x per point
     * @param ys data y per point, NaN for a gap
     * @param pointLabels tooltip per point for drawn markers, or null for no markers
     */
    record Series(String name, int index, double[] xs, double[] ys, String[] pointLabels) {}

    /**
     * An axis.
     *
     * @param label axis title
     * @param min data value at the start of the axis
     * @param max data value at the end of the axis
     * @param ticks data values with a tick
     * @param tickLabels text per tick
     */
    record Axis(String label, double min, double max, double[] ticks, String[] tickLabels) {
        /** Evenly spaced "nice" ticks (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
        static Axis nice(String label, double lo, double hi) {
            if (!(hi > lo)) { // one value, or all equal: widen so the line sits in the middle
                double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
                lo -= pad;
                hi += pad;
            }
            double raw = (hi - lo) / 5;
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / magnitude;
            double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
            double start = Math.floor(lo / step) * step, end = Math.ceil(hi / step) * step;
            int n = (int) Math.round((end - start) / step) + 1;
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
            double[] ticks = new double[n];
            String[] labels = new String[n];
            for (int i = 0; i < n; i++) {
                ticks[i] = start + i * step; // multiply, not accumulate, so ticks do not drift
                labels[i] = number(ticks[i], decimals);
            }
            return new Axis(label, start, end, ticks, labels);
        }

        /** The unit interval with ticks every 0.2 (recall, precision). */
        static Axis unit(String label) {
            double[] ticks = {0, 0.2, 0.4, 0.6, 0.8, 1};
            String[] labels = {"0", "0.2", "0.4", "0.6", "0.8", "1"};
            return new Axis(label, 0, 1, ticks, labels);
        }
    }

    private Chart() {}

    /** The chart's SVG markup; every string is escaped here. */
    static String svg(String id, String title, Axis x, Axis y, List<Series> series) {
        int height = Math.max(380, TOP + BOTTOM + ROW * series.size() + 20);
        double px0 = LEFT, px1 = WIDTH - RIGHT_LEGEND, py0 = TOP, py1 = height - BOTTOM;
        StringBuilder sb = new StringBuilder(4096);
        sb.append("<svg class=\"chart\" id=\"").append(Html.escape(id)).append("\" viewBox=\"0 0 ").append(WIDTH)
                .append(' ').append(height).append("\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" role=\"img\" aria-label=\"").append(Html.escape(title)).append("\">\n");
        sb.append("<title>").append(Html.escape(title)).append("</title>\n");
        sb.append("<text class=\"chart-title\" x=\"").append(fmt((px0 + px1) / 2)).append("\" y=\"20\""
                + " text-anchor=\"middle\">").append(Html.escape(title)).append("</text>\n");

        for (int i = 0; i < x.ticks().length; i++) {
            double px = scale(x.ticks()[i], x, px0, px1);
            line(sb, "grid", px, py0, px, py1);
            line(sb, "tick", px, py1, px, py1 + 5);
            text(sb, "tick-label", px, py1 + 18, "middle", x.tickLabels()[i]);
        }
        for (int i = 0; i < y.ticks().length; i++) {
            double py = scale(y.ticks()[i], y, py1, py0);
            line(sb, "grid", px0, py, px1, py);
            line(sb, "tick", px0 - 5, py, px0, py);
            text(sb, "tick-label", px0 - 8, py + 4, "end", y.tickLabels()[i]);
        }
        line(sb, "axis", px0, py1, px1, py1);
        line(sb, "axis", px0, py0, px0, py1);
        text(sb, "axis-label", (px0 + px1) / 2, height - 14, "middle", x.label());
        double ly = (py0 + py1) / 2;
        sb.append("<text class=\"axis-label\" x=\"16\" y=\"").append(fmt(ly)).append("\" text-anchor=\"middle\""
                + " transform=\"rotate(-90 16 ").append(fmt(ly)).append(")\">").append(Html.escape(y.label()))
                .append("</text>\n");

        for (Series s : series) {
            String color = COLORS[s.index() % COLORS.length];
            String dash = DASHES[(s.index() / COLORS.length) % DASHES.length];
            sb.append("<path class=\"line\" data-series=\"").append(Html.escape(s.name())).append("\" fill=\"none\""
                    + " stroke=\"").append(color).append("\" stroke-width=\"2\"");
            if (dash != null) {
                sb.append(" stroke-dasharray=\"").append(dash).append('"');
            }
            sb.append(" d=\"").append(pathData(s, x, y, px0, px1, py0, py1)).append("\"><title>")
                    .append(Html.escape(s.name())).append("</title></path>\n");
            if (s.pointLabels() != null) {
                for (int i = 0; i < s.xs().length; i++) {
                    if (Double.isNaN(s.ys()[i])) {
                        continue;
                    }
                    sb.append("<circle class=\"point\" cx=\"").append(fmt(scale(s.xs()[i], x, px0, px1)))
                            .append("\" cy=\"").append(fmt(scale(s.ys()[i], y, py1, py0))).append("\" r=\"3\" fill=\"")
                            .append(color).append("\"><title>").append(Html.escape(s.pointLabels()[i]))
                            .append("</title></circle>\n");
                }
            }
        }

        sb.append("<g class=\"legend\">\n");
        double lx = px1 + 16;
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            double ry = py0 + 8 + i * ROW;
            sb.append("<line x1=\"").append(fmt(lx)).append("\" y1=\"").append(fmt(ry)).append("\" x2=\"")
                    .append(fmt(lx + 24)).append("\" y2=\"").append(fmt(ry)).append("\" stroke=\"")
                    .append(COLORS[s.index() % COLORS.length]).append("\" stroke-width=\"3\"");
            String dash = DASHES[(s.index() / COLORS.length) % DASHES.length];
            if (dash != null) {
                sb.append(" stroke-dasharray=\"").append(dash).append('"');
            }
            sb.append("/>\n");
            String name = s.name();
            String shown = name.length() > LEGEND_NAME_CHARS ? name.substring(0, LEGEND_NAME_CHARS - 1) + "\u2026" : name;
            sb.append("<text class=\"legend-label\" x=\"").append(fmt(lx + 30)).append("\" y=\"").append(fmt(ry + 4))
                    .append("\">").append(Html.escape(shown));
            if (!shown.equals(name)) {
                sb.append("<title>").append(Html.escape(name)).append("</title>");
            }
            sb.append("</text>\n");
        }
        sb.append("</g>\n</svg>\n");
        return sb.toString();
    }

    private static String pathData(Series s, Axis x, Axis y, double px0, double px1, double py0, double py1) {
        List<String> parts = new ArrayList<>();
        boolean pen = false;
        for (int i = 0; i < s.xs().length; i++) {
            if (Double.isNaN(s.ys()[i]) || Double.isNaN(s.xs()[i])) {
                pen = false; // a gap: the next point starts a new sub-path
                continue;
            }
            parts.add((pen ? "L" : "M") + fmt(scale(s.xs()[i], x, px0, px1)) + "," + fmt(scale(s.ys()[i], y, py1, py0)));
            pen = true;
        }
        return String.join(" ", parts);
    }

    private static double scale(double v, Axis a, double from, double to) {
        return from + (v - a.min()) / (a.max() - a.min()) * (to - from);
    }

    private static void line(StringBuilder sb, String cls, double x1, double y1, double x2, double y2) {
        String stroke = cls.equals("grid") ? "#e6e6e6" : "#333";
        sb.append("<line class=\"").append(cls).append("\" stroke=\"").append(stroke).append("\" x1=\"").append(fmt(x1)).append("\" y1=\"").append(fmt(y1))
                .append("\" x2=\"").append(fmt(x2)).append("\" y2=\"").append(fmt(y2)).append("\"/>\n");
    }

    private static void text(StringBuilder sb, String cls, double x, double y, String anchor, String s) {
        sb.append("<text class=\"").append(cls).append("\" x=\"").append(fmt(x)).append("\" y=\"").append(fmt(y))
                .append("\" text-anchor=\"").append(anchor).append("\">").append(Html.escape(s)).append("</text>\n");
    }

    /** Pixel coordinates: one decimal is below what a screen shows and keeps the markup short. */
    private static String fmt(double v) {
        return number(v, 1);
    }

    static String number(double v, int decimals) {
        String s = String.format(Locale.ROOT, "%." + decimals + "f", v);
        return s.matches("-0(\\.0*)?") ? s.substring(1) : s;
    }
}
