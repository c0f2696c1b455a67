package dev.maskopt.eval;

import java.util.List;

/** Argument checks with messages that name the offending input. */
final class Checks {
    private Checks() {}

    static void finite(double[] values, String what) {
        if (values == null) {
            throw new IllegalArgumentException(what + " is null");
        }
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException(what + " must be finite, got " + values[i] + " at " + i);
            }
        }
    }

    static void notNull(Object value, String what) {
        if (value == null) {
            throw new IllegalArgumentException(what + " is null");
        }
    }

    /** Two per-document lists of equal, non-zero size with no null entries. */
    static void paired(List<?> a, String aName, List<?> b, String bName) {
        notNull(a, aName);
        notNull(b, bName);
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(a.size() + " " + aName + " but " + b.size() + " " + bName);
        }
        if (a.isEmpty()) {
            throw new IllegalArgumentException("no documents");
        }
        for (int d = 0; d < a.size(); d++) {
            if (a.get(d) == null || b.get(d) == null) {
                throw new IllegalArgumentException("document " + d + ": " + (a.get(d) == null ? aName : bName)
                        + " is null");
            }
        }
    }

    static void sameLength(int a, int b, String what, int doc) {
        if (a != b) {
            throw new IllegalArgumentException("document " + doc + ": " + what + " have " + b + " entries for "
                    + a + " tokens");
        }
    }

    static int count(boolean[] mask) {
        int k = 0;
        for (boolean b : mask) {
            k += b ? 1 : 0;
        }
        return k;
    }
}
