package dev.maskopt.cli;

import dev.maskopt.Explanation;
import java.util.List;

/** Terminal rendering of an explanation: rationale tokens in bold green (or [brackets]), gold ones underlined. */
final class Highlight {
    private static final String BOLD_GREEN = "\u001b[1;32m", UNDERLINE = "\u001b[4m", RESET = "\u001b[0m";

    private Highlight() {}

    static String render(Explanation e, boolean[] gold, boolean color) {
        List<String> words = e.words();
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < words.size(); j++) {
            if (j > 0) {
                sb.append(' ');
            }
            String w = words.get(j);
            boolean g = gold != null && gold[j];
            if (color) {
                if (e.selected(j)) {
                    sb.append(BOLD_GREEN);
                }
                if (g) {
                    sb.append(UNDERLINE);
                }
                sb.append(w);
                if (e.selected(j) || g) {
                    sb.append(RESET);
                }
            } else {
                String x = g ? "_" + w + "_" : w;
                sb.append(e.selected(j) ? "[" + x + "]" : x);
            }
        }
        return sb.toString();
    }
}
