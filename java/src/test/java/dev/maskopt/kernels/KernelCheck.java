package dev.maskopt.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** Shared helpers of the kernel tests: backends, ragged shapes, poisoned outputs, tolerant comparisons. */
final class KernelCheck {
    private KernelCheck() {}

    // ---- backends --------------------------------------------------------------------------------

    /** CPU always; CUDA too when a GPU is usable. */
    static Stream<Backend> backends() {
        return Device.cudaDeviceCount() > 0 ? Stream.of(Backend.CPU, Backend.CUDA) : Stream.of(Backend.CPU);
    }

    static Device open(Backend backend) {
        return backend == Backend.CUDA ? Device.cuda(0) : Device.cpu();
    }

    /** Every case crossed with every available backend, backend first. */
    static Stream<Arguments> withBackends(Object... cases) {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            for (Object c : cases) out.add(Arguments.of(b, c));
        });
        return out.stream();
    }

    // ---- shapes ----------------------------------------------------------------------------------

    enum Lengths {
        RAGGED, // random in [1, T], with 1 and T both present when N >= 2
        FULL,   // every length T
        ONES    // every length 1
    }

    /** S samples, N sequences, T max length, D width; unused sizes are ignored by a test. */
    record Shape(int S, int N, int T, int D, Lengths lengths) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "S=%d N=%d T=%d D=%d %s", S, N, T, D, lengths);
        }
    }

    /** The standard ragged cases: degenerate sizes, odd sizes, and one moderately large case. */
    static final Shape[] SHAPES = {
        new Shape(1, 1, 1, 1, Lengths.FULL),
        new Shape(1, 3, 37, 19, Lengths.RAGGED),
        new Shape(3, 5, 37, 19, Lengths.ONES),
        new Shape(2, 4, 19, 1, Lengths.FULL),
        new Shape(5, 1, 64, 33, Lengths.RAGGED),
        new Shape(4, 9, 23, 7, Lengths.RAGGED),
        new Shape(8, 16, 160, 48, Lengths.RAGGED),
    };

    static int[] lengths(Random rng, Lengths mode, int N, int T) {
        int[] len = new int[N];
        for (int n = 0; n < N; n++) {
            len[n] = switch (mode) {
                case FULL -> T;
                case ONES -> 1;
                case RAGGED -> 1 + rng.nextInt(T);
            };
        }
        if (mode == Lengths.RAGGED && N >= 2) {
            len[0] = 1;
            len[N - 1] = T;
        }
        return len;
    }

    static int[] lengths(Random rng, Shape sh) {
        return lengths(rng, sh.lengths(), sh.N(), sh.T());
    }

    // ---- random data -----------------------------------------------------------------------------

    static float[] uniform(Random rng, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        return a;
    }

    static float[] gaussian(Random rng, int n, double sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (sd * rng.nextGaussian());
        return a;
    }

    static int[] ints(Random rng, int n, int bound) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = rng.nextInt(bound);
        return a;
    }

    static double[] d(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        return out;
    }

    // ---- device buffers --------------------------------------------------------------------------

    /** A float output filled with NaN, so any element the kernel does not write shows up. */
    static Tensor poison(Device dev, long... shape) {
        Tensor t = dev.floats(shape);
        t.fill(Float.NaN);
        return t;
    }

    static final int INT_POISON = Integer.MIN_VALUE;

    /** An int output filled with a sentinel no kernel writes. */
    static Tensor poisonInts(Device dev, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        int[] sentinel = new int[Math.toIntExact(n)];
        Arrays.fill(sentinel, INT_POISON);
        return dev.upload(sentinel, shape);
    }

    static void closeAll(Tensor... tensors) {
        for (Tensor t : tensors) t.close();
    }

    // ---- comparisons -----------------------------------------------------------------------------

    /** |got - ref| <= atol + rtol |ref| everywhere (NaN never passes). */
    static void assertClose(String what, double[] ref, float[] got, double atol, double rtol) {
        assertClose(what, ref, d(got), atol, rtol, null);
    }

    /** As above, ignoring elements where skip is true (ill-conditioned points the float kernel may round across). */
    static void assertClose(String what, double[] ref, float[] got, double atol, double rtol, boolean[] skip) {
        assertClose(what, ref, d(got), atol, rtol, skip);
    }

    static void assertClose(String what, double[] ref, double[] got, double atol, double rtol, boolean[] skip) {
        assertEquals(ref.length, got.length, what + ": length");
        int bad = 0;
        double maxDiff = 0;
        int maxAt = -1;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < ref.length; i++) {
            if (skip != null && skip[i]) continue;
            double diff = Math.abs(got[i] - ref[i]);
            boolean ok = diff <= atol + rtol * Math.abs(ref[i]); // false for NaN
            if (!ok) {
                if (bad < 5) {
                    first.append(String.format(Locale.ROOT, "%n  [%d] got %.9g, ref %.9g, |diff| %.3g",
                            i, got[i], ref[i], diff));
                }
                bad++;
            }
            double rank = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff; // a NaN is the worst mismatch
            if (rank > maxDiff) {
                maxDiff = rank;
                maxAt = i;
            }
        }
        if (bad > 0) {
            fail(String.format(Locale.ROOT,
                    "%s: %d of %d elements outside atol %.1e + rtol %.1e |ref|; max |diff| %.3g at [%d]; first:%s",
                    what, bad, ref.length, atol, rtol, maxDiff, maxAt, first));
        }
    }

    /** Bit-identical float arrays (determinism, and exact copies). */
    static void assertBitsEqual(String what, float[] expected, float[] got) {
        assertEquals(expected.length, got.length, what + ": length");
        for (int i = 0; i < got.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(got[i])) {
                fail(String.format(Locale.ROOT, "%s: not bit-identical at [%d]: %s vs %s",
                        what, i, expected[i], got[i]));
            }
        }
    }

    static void assertFinite(String what, float[] got) {
        for (int i = 0; i < got.length; i++) {
            if (!Float.isFinite(got[i])) fail(what + ": non-finite value " + got[i] + " at [" + i + "]");
        }
    }

    /** Elements of [outer, N, T, inner] at t >= lengths[n] equal expected[i] exactly (0 or unchanged input). */
    static void assertPadding(String what, float[] got, float[] expected, int[] lengths, int N, int T, int inner) {
        int outer = got.length / (N * T * inner);
        for (int o = 0; o < outer; o++)
            for (int n = 0; n < N; n++)
                for (int t = lengths[n]; t < T; t++)
                    for (int k = 0; k < inner; k++) {
                        int i = ((o * N + n) * T + t) * inner + k;
                        float want = expected == null ? 0f : expected[i];
                        if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want)) {
                            fail(String.format(Locale.ROOT, "%s: padding [%d] (n=%d, t=%d >= len %d) is %s, want %s",
                                    what, i, n, t, lengths[n], got[i], want));
                        }
                    }
    }

    static void assertPaddingZero(String what, float[] got, int[] lengths, int N, int T, int inner) {
        assertPadding(what, got, null, lengths, N, T, inner);
    }

    // ---- finite differences ----------------------------------------------------------------------

    /** Central differences of a scalar function in double: (f(x + h e_i) - f(x - h e_i)) / 2h for every i. */
    static double[] numericGradient(ToDoubleFunction<double[]> f, double[] x, double h) {
        double[] g = new double[x.length];
        double[] xp = x.clone();
        for (int i = 0; i < x.length; i++) {
            xp[i] = x[i] + h;
            double up = f.applyAsDouble(xp);
            xp[i] = x[i] - h;
            double down = f.applyAsDouble(xp);
            xp[i] = x[i];
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    /** sum_i w_i y_i: a random linear functional that turns a vector output into a scalar for gradient checks. */
    static double dot(double[] w, double[] y) {
        double s = 0;
        for (int i = 0; i < w.length; i++) s += w[i] * y[i];
        return s;
    }
}
