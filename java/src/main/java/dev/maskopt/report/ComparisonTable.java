package dev.maskopt.report;

import dev.maskopt.report.Report.Figure;
import dev.maskopt.report.Report.Method;
import java.util.List;
import java.util.Locale;

/** The methods x figures table as display strings, shared by the HTML and Markdown writers. */
final class ComparisonTable {
    static final String NOT_AVAILABLE = "n/a";

    final List<Figure> figures;
    final List<Method> methods;
    /** cells[method][figure], 3 decimals or "n/a". */
    final String[][] cells;
    /** best[method][figure]: this cell shows the column's best value. */
    final boolean[][] best;

    ComparisonTable(Report report) {
        figures = report.figures();
        methods = report.methods();
        cells = new String[methods.size()][figures.size()];
        best = new boolean[methods.size()][figures.size()];
        for (int f = 0; f < figures.size(); f++) {
            Figure figure = figures.get(f);
            double bestValue = Double.NaN;
            int available = 0;
            for (int m = 0; m < methods.size(); m++) {
                double v = methods.get(m).figure(figure.key());
                cells[m][f] = fixed3(v);
                if (!Double.isNaN(v)) {
                    available++;
                    if (Double.isNaN(bestValue) || (figure.higherIsBetter() ? v > bestValue : v < bestValue)) {
                        bestValue = v;
                    }
                }
            }
            // A lone value is not a winner; ties are judged on the printed digits, so equal-looking cells agree.
            if (available >= 2) {
                String shown = fixed3(bestValue);
                for (int m = 0; m < methods.size(); m++) {
                    best[m][f] = cells[m][f].equals(shown);
                }
            }
        }
    }

    /** Direction marker for a column header. */
    static String arrow(Figure f) {
        return f.higherIsBetter() ? "\u2191" : "\u2193";
    }

    /** Three decimals, "n/a" for NaN; never "-0.000". */
    static String fixed3(double v) {
        if (Double.isNaN(v)) {
            return NOT_AVAILABLE;
        }
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.equals("-0.000") ? "0.000" : s;
    }
}
