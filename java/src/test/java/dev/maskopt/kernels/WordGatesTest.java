package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Word-level gates: mo_gather_gates (word gates onto tokens) and mo_segment_sum (its adjoint: tokens onto words). */
class WordGatesTest {
    /** P planes, S samples, N sequences, T length, W words; groups like a BERT tokenizer's, or random. */
    record Case(int P, int S, int N, int T, int W, KernelCheck.Lengths lengths, boolean wordPieces) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "P=%d S=%d N=%d T=%d W=%d %s %s", P, S, N, T, W, lengths,
                    wordPieces ? "word pieces" : "random groups");
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1, 1, 1, KernelCheck.Lengths.FULL, true),
        new Case(2, 3, 4, 17, 9, KernelCheck.Lengths.RAGGED, true),
        new Case(1, 2, 5, 23, 30, KernelCheck.Lengths.RAGGED, false), // W > T: many empty words
        new Case(2, 1, 3, 8, 1, KernelCheck.Lengths.ONES, false),
        new Case(1, 3, 6, 12, 5, KernelCheck.Lengths.FULL, false),
        new Case(2, 4, 16, 64, 40, KernelCheck.Lengths.RAGGED, true),
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    /**
     * group [N,T]. Word pieces: [CLS] and [SEP] (first and last of rows longer than 2) are -1, the tokens between
     * are runs of 1 to 3 pieces of words 0, 1, 2, ... (capped at W - 1). Random: any value in [-1, W). Padding
     * holds random valid values, which the kernels must ignore.
     */
    static int[] groups(Random rng, int[] len, int N, int T, int W, boolean wordPieces) {
        int[] g = new int[N * T];
        for (int n = 0; n < N; n++) {
            int w = 0, pieces = 0;
            for (int t = 0; t < T; t++) {
                int v;
                if (t >= len[n] || !wordPieces) {
                    v = rng.nextInt(W + 1) - 1;
                } else if ((t == 0 || t == len[n] - 1) && len[n] > 2) {
                    v = -1;
                } else {
                    if (pieces > 0 && (pieces == 3 || rng.nextBoolean())) {
                        w = Math.min(w + 1, W - 1);
                        pieces = 0;
                    }
                    v = w;
                    pieces++;
                }
                g[n * T + t] = v;
            }
        }
        return g;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void gatherMatchesReference(Backend backend, Case c) {
        int P = c.P(), S = c.S(), N = c.N(), T = c.T(), W = c.W();
        Random rng = new Random(701 + T * 7L + W);
        int[] len = KernelCheck.lengths(rng, c.lengths(), N, T);
        int[] group = groups(rng, len, N, T, W, c.wordPieces());
        float[] in = KernelCheck.gaussian(rng, P * S * N * W, 1);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = gather(dev, in, group, len, P, S, N, T, W);
            double[] ref = Reference.gatherGates(d(in), group, len, P, S, N, T, W);
            assertClose("gather_gates", ref, got, 0, 0); // a gather: exact
            // padding and never-masked (-1) tokens are exactly +0
            for (int ps = 0; ps < P * S; ps++)
                for (int n = 0; n < N; n++)
                    for (int t = 0; t < T; t++)
                        if (t >= len[n] || group[n * T + t] < 0) {
                            int at = (ps * N + n) * T + t;
                            assertZeroBits("gather_gates", got, at, n, t, len[n], group[n * T + t]);
                        }
            assertBitsEqual("gather_gates rerun", got, gather(dev, in, group, len, P, S, N, T, W));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void segmentSumMatchesReference(Backend backend, Case c) {
        int P = c.P(), N = c.N(), T = c.T(), W = c.W();
        Random rng = new Random(709 + T * 7L + W);
        int[] len = KernelCheck.lengths(rng, c.lengths(), N, T);
        int[] group = groups(rng, len, N, T, W, c.wordPieces());
        float[] in = KernelCheck.gaussian(rng, P * N * T, 1);
        for (int p = 0; p < P; p++) // junk at padding: must not be summed
            for (int n = 0; n < N; n++)
                for (int t = len[n]; t < T; t++) in[(p * N + n) * T + t] = 1000 + 100 * (float) rng.nextGaussian();
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = segmentSum(dev, in, group, len, P, N, T, W);
            assertClose("segment_sum", Reference.segmentSum(d(in), group, len, P, N, T, W), got, 1e-6, 1e-5);
            // the header fixes the order (increasing t), so the float result is determined bit for bit
            assertBitsEqual("segment_sum vs float sum in increasing t", floatSegmentSum(in, group, len, P, N, T, W),
                    got);
            assertBitsEqual("segment_sum rerun", got, segmentSum(dev, in, group, len, P, N, T, W));
        }
    }

    /** out [P,N,W] summed in float, in increasing t, starting from +0 (empty words stay +0). */
    private static float[] floatSegmentSum(float[] in, int[] group, int[] len, int P, int N, int T, int W) {
        float[] out = new float[P * N * W];
        for (int p = 0; p < P; p++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < len[n]; t++) {
                    int w = group[n * T + t];
                    if (w >= 0) out[(p * N + n) * W + w] += in[(p * N + n) * T + t];
                }
        return out;
    }

    /**
     * The native pair is adjoint: <gather(x), y> = <x, segment_sum(y)> for x [P,1,N,W] and y [P,N,T], so
     * segment_sum is gather's backward.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void segmentSumIsTheAdjointOfGather(Backend backend, Case c) {
        int P = c.P(), N = c.N(), T = c.T(), W = c.W();
        Random rng = new Random(719 + T * 7L + W);
        int[] len = KernelCheck.lengths(rng, c.lengths(), N, T);
        int[] group = groups(rng, len, N, T, W, c.wordPieces());
        float[] x = KernelCheck.gaussian(rng, P * N * W, 1), y = KernelCheck.gaussian(rng, P * N * T, 1);
        try (Device dev = KernelCheck.open(backend)) {
            double lhs = KernelCheck.dot(d(gather(dev, x, group, len, P, 1, N, T, W)), d(y));
            double rhs = KernelCheck.dot(d(x), d(segmentSum(dev, y, group, len, P, N, T, W)));
            assertClose("<gather x, y> vs <x, segment_sum y>", new double[] {lhs}, new double[] {rhs}, 1e-4, 1e-5,
                    null);
        }
    }

    /** The reference segment sum against central differences of W . gather(in), in [P,S,N,W] as P S planes. */
    @Test
    void referenceSegmentSumIsTheGradientOfGather() {
        Random rng = new Random(31);
        int P = 2, S = 2, N = 3, T = 7, W = 5;
        int[] len = {7, 1, 4};
        for (boolean pieces : new boolean[] {true, false}) {
            int[] group = groups(rng, len, N, T, W, pieces);
            double[] in = d(KernelCheck.gaussian(rng, P * S * N * W, 1));
            double[] w = d(KernelCheck.gaussian(rng, P * S * N * T, 1));
            double[] fd = KernelCheck.numericGradient(
                    v -> KernelCheck.dot(w, Reference.gatherGates(v, group, len, P, S, N, T, W)), in, 1e-6);
            double[] analytic = Reference.segmentSum(w, group, len, P * S, N, T, W);
            KernelCheck.assertClose("reference segment_sum vs FD of gather", fd, analytic, 1e-7, 1e-6, null);
        }
    }

    private static void assertZeroBits(String what, float[] got, int i, int n, int t, int len, int group) {
        if (Float.floatToRawIntBits(got[i]) != 0) {
            fail(String.format(Locale.ROOT, "%s: [%d] (n=%d, t=%d, len %d, group %d) is %s, want +0", what, i, n, t,
                    len, group, got[i]));
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op GATHER = new KernelCheck.Op("gather_gates", "P S N T W", new double[] {2, 2, 3, 4, 5},
            "P S N T W", "ctx out in group lengths",
            (x, a) -> NativeCore.mo_gather_gates(x.ctx(), x.f("out", x.out), x.f("in", x.in), x.i("group", x.group),
                    x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], (long) a[3], (long) a[4]));
    static final KernelCheck.Op SEGMENT_SUM = new KernelCheck.Op("segment_sum", "P N T W", new double[] {2, 3, 4, 5},
            "P N T W", "ctx out in group lengths",
            (x, a) -> NativeCore.mo_segment_sum(x.ctx(), x.f("out", x.out), x.f("in", x.in), x.i("group", x.group),
                    x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], (long) a[3]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(GATHER, SEGMENT_SUM);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(GATHER));
        bad.addAll(KernelCheck.sizeAndPointerCases(SEGMENT_SUM));
        return KernelCheck.withBackends(bad.toArray());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("ops")
    void defaultArgumentsAreAccepted(Backend backend, KernelCheck.Op op) {
        KernelCheck.assertAccepted(backend, op);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bad")
    void badArgumentIsRejectedBeforeAnyKernelRuns(Backend backend, KernelCheck.Bad bad) {
        KernelCheck.assertRejected(backend, bad);
    }

    // ---- native calls ------------------------------------------------------------------------------

    static float[] gather(Device dev, float[] in, int[] group, int[] len, int P, int S, int N, int T, int W) {
        Tensor inT = dev.upload(in, P, S, N, W), g = dev.upload(group, N, T), lens = dev.upload(len, N);
        Tensor out = poison(dev, P, S, N, T);
        check(NativeCore.mo_gather_gates(ctx(dev), f(out), f(inT), i(g), i(lens), P, S, N, T, W), "gather_gates");
        float[] result = out.toFloatArray();
        closeAll(inT, g, lens, out);
        assertEquals(P * S * N * T, result.length);
        return result;
    }

    static float[] segmentSum(Device dev, float[] in, int[] group, int[] len, int P, int N, int T, int W) {
        Tensor inT = dev.upload(in, P, N, T), g = dev.upload(group, N, T), lens = dev.upload(len, N);
        Tensor out = poison(dev, P, N, W);
        check(NativeCore.mo_segment_sum(ctx(dev), f(out), f(inT), i(g), i(lens), P, N, T, W), "segment_sum");
        float[] result = out.toFloatArray();
        closeAll(inT, g, lens, out);
        return result;
    }
}
