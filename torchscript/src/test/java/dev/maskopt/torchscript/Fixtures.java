package dev.maskopt.torchscript;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The TorchScript files and recorded values written by src/test/python/make_fixtures.py. */
final class Fixtures {
    private static JsonNode recorded;

    private Fixtures() {}

    static Path file(String name) {
        try {
            var url = Fixtures.class.getResource(name);
            if (url == null) {
                throw new IllegalStateException("missing fixture " + name + " (run make_fixtures.py)");
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static synchronized JsonNode recorded() {
        if (recorded == null) {
            try {
                recorded = new ObjectMapper().readTree(file("recorded.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return recorded;
    }

    static float[] floats(JsonNode node) {
        float[] out = new float[node.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = (float) node.get(k).asDouble();
        }
        return out;
    }

    static int[] ints(JsonNode node) {
        int[] out = new int[node.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = node.get(k).asInt();
        }
        return out;
    }

    static long[] longs(JsonNode node) {
        long[] out = new long[node.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = node.get(k).asLong();
        }
        return out;
    }

    /** Asserts |actual - expected| <= atol + rtol |expected| everywhere; returns the max difference. */
    static double assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        double max = 0;
        StringBuilder bad = new StringBuilder();
        int mismatches = 0;
        for (int k = 0; k < expected.length; k++) {
            double diff = Math.abs((double) actual[k] - expected[k]);
            max = Math.max(max, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
            if (!(diff <= atol + rtol * Math.abs(expected[k])) && mismatches++ < 5) {
                bad.append(String.format(" [%d] %g vs %g;", k, actual[k], expected[k]));
            }
        }
        if (mismatches > 0) {
            fail(what + ": " + mismatches + " mismatches, max difference " + max + ", first:" + bad);
        }
        return max;
    }
}
