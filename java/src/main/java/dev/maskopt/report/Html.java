package dev.maskopt.report;

/** Escaping for HTML text and attribute values (also valid inside inline SVG, which is parsed as XML). */
final class Html {
    private Html() {}

    /**
     * Escapes the five characters that can end or alter markup. Control characters other than tab and line breaks
     * become U+FFFD, because XML (and so SVG) forbids them; everything else passes unchanged.
     */
    static String escape(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String rep = switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                case '\t', '\n', '\r' -> null;
                default -> c < 0x20 || c == 0x7f ? "\ufffd" : null;
            };
            if (rep != null && sb == null) {
                sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (sb != null) {
                if (rep != null) {
                    sb.append(rep);
                } else {
                    sb.append(s.charAt(i));
                }
            }
        }
        return sb == null ? s : sb.toString();
    }
}
