package dev.maskopt.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.internal.Natives;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
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

    // ---- argument validation (the ops added after ValidationTest's table) --------------------------

    /**
     * Scratch memory for validation calls: outputs poisoned, inputs valid for every small size (floats 0.5,
     * lengths and word groups that are valid for any T and W). A pointer argument whose name equals
     * {@link #nulled} is passed as NULL.
     */
    static final class Buffers implements AutoCloseable {
        static final int SIZE = 4096;
        final Device dev;
        final Tensor out, out2, out3, in, lengths, group, step;
        String nulled = "";

        Buffers(Backend backend) {
            dev = open(backend);
            out = poison(dev, SIZE);
            out2 = poison(dev, SIZE);
            out3 = poison(dev, SIZE);
            in = dev.floats(SIZE);
            in.fill(0.5f);
            int[] ones = new int[64];
            Arrays.fill(ones, 1);
            lengths = dev.upload(ones, 64); // length 1 is valid for every T
            group = dev.upload(new int[SIZE], SIZE); // word 0: valid for every W
            step = dev.upload(new long[] {1}, 1); // a valid step for the samplers, Adam and a trace of >= 2 rows
        }

        NativeCore.Context ctx() {
            return nulled.equals("ctx") ? null : Natives.ctx(dev);
        }

        /** The float pointer argument `name` on tensor t, or NULL when that argument is the one nulled. */
        FloatPointer f(String name, Tensor t) {
            return nulled.equals(name) ? null : Natives.f(t);
        }

        IntPointer i(String name, Tensor t) {
            return nulled.equals(name) ? null : Natives.i(t);
        }

        LongPointer i64(String name, Tensor t) {
            return nulled.equals(name) ? null : Natives.i64(t);
        }

        @Override
        public void close() {
            dev.close();
        }
    }

    interface Call {
        /** One call of the op with its arguments a[] (sizes and scalars, in the order of Op.args). */
        int run(Buffers x, double[] a);
    }

    /**
     * An op for validation: its scalar argument names (space-separated, the order of a[] in call) with valid
     * defaults, which of them are sizes (rejected at 0 and -1), and which pointers must not be NULL. The first
     * output is always Buffers.out.
     */
    record Op(String name, String args, double[] defaults, String sizes, String pointers, Call call) {
        int index(String arg) {
            int k = Arrays.asList(args.split(" ")).indexOf(arg);
            if (k < 0) throw new IllegalArgumentException(name + " has no argument " + arg);
            return k;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** One broken argument of one op: a scalar set to value, or (arg == null) the pointer `nulled` passed as NULL. */
    record Bad(Op op, String arg, double value, String nulled) {
        @Override
        public String toString() {
            return op.name() + ": " + (arg == null ? nulled + " = NULL" : arg + " = " + num(value));
        }

        private static String num(double v) {
            return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
        }
    }

    /** Every size at 0 and -1, and every non-optional pointer at NULL. */
    static List<Bad> sizeAndPointerCases(Op op) {
        List<Bad> bad = new ArrayList<>();
        for (String s : op.sizes().split(" ")) {
            if (s.isEmpty()) continue;
            bad.add(new Bad(op, s, 0, null));
            bad.add(new Bad(op, s, -1, null));
        }
        for (String p : op.pointers().split(" ")) bad.add(new Bad(op, null, 0, p));
        return bad;
    }

    /** The op's default arguments are accepted (so a rejection is due to the one argument broken). */
    static void assertAccepted(Backend backend, Op op) {
        try (Buffers x = new Buffers(backend)) {
            Natives.check(op.call().run(x, op.defaults().clone()), op.name());
            x.dev.synchronize();
        }
    }

    /**
     * The broken call fails with MO_ERR_INVALID before any kernel runs: mo_last_error reads "mo_<op>: ...",
     * Natives.check throws an IllegalArgumentException naming the op, and the first output keeps its poison.
     */
    static void assertRejected(Backend backend, Bad bad) {
        try (Buffers x = new Buffers(backend)) {
            double[] a = bad.op().defaults().clone();
            if (bad.arg() != null) a[bad.op().index(bad.arg())] = bad.value();
            else x.nulled = bad.nulled();
            int status = bad.op().call().run(x, a);
            assertEquals(NativeCore.MO_ERR_INVALID, status, bad + ": status");
            String lastError = NativeCore.mo_last_error();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Natives.check(status, bad.op().name()));
            assertTrue(e.getMessage().contains(bad.op().name()), "message does not name the op: " + e.getMessage());
            String prefix = "mo_" + bad.op().name() + ": ";
            assertTrue(lastError.startsWith(prefix) && lastError.length() > prefix.length(),
                    bad + ": mo_last_error is '" + lastError + "'");
            if (!"out".equals(x.nulled)) {
                assertEquals(x.out.numel(), x.out.countNonFinite(), bad + ": output written");
            }
        }
    }
}
