package dev.maskopt.report;

/**
 * The comparison table (methods x figures) as a GitHub-flavoured Markdown table, for README and results files.
 *
 * <p>One header row (the figure labels with \u2191 for higher-is-better and \u2193 for lower-is-better), one
 * alignment row, then one row per method in report order. Numbers have 3 decimals; a missing or NaN figure is
 * "n/a"; the best value of each column is in bold (ties on the printed digits are all bold; a column with fewer
 * than two values marks none). Markdown punctuation in names is backslash-escaped, so a name shows as written.
 */
public final class MarkdownTable {
    private MarkdownTable() {}

    /** The table, one line per row, each ending in a newline. */
    public static String render(Report report) {
        ComparisonTable t = new ComparisonTable(report);
        StringBuilder sb = new StringBuilder();
        sb.append("| Method |");
        for (Report.Figure f : t.figures) {
            sb.append(' ').append(escape(f.label())).append(' ').append(ComparisonTable.arrow(f)).append(" |");
        }
        sb.append("\n|:---|");
        sb.append("---:|".repeat(t.figures.size()));
        sb.append('\n');
        for (int m = 0; m < t.methods.size(); m++) {
            sb.append("| ").append(escape(t.methods.get(m).name())).append(" |");
            for (int f = 0; f < t.figures.size(); f++) {
                String cell = t.cells[m][f];
                sb.append(' ').append(t.best[m][f] ? "**" + cell + "**" : cell).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Backslash-escapes what Markdown or a table cell would interpret; line breaks become spaces. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r' || c == '\t') {
                sb.append(' ');
            } else {
                if ("\\`*_[]<>|~&#!".indexOf(c) >= 0) {
                    sb.append('\\');
                }
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
