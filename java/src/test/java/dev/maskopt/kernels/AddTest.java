package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.assertPaddingZero;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;
import static dev.maskopt.kernels.KernelCheck.poison;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_add (elementwise, may alias) and mo_add_position (BERT's embedding sum before its LayerNorm). */
class AddTest {
    static Stream<Arguments> sizes() {
        return KernelCheck.withBackends(1, 2, 17, 1000, 65537);
    }

    /** One float addition per element: the result is the correctly rounded sum, bit for bit. */
    static float[] floatSum(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int k = 0; k < a.length; k++) y[k] = a[k] + b[k];
        return y;
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void addIsExactAndMayAlias(Backend backend, int n) {
        Random rng = new Random(901 + n);
        float[] a = KernelCheck.gaussian(rng, n, 3), b = KernelCheck.gaussian(rng, n, 1e-3);
        float[] want = floatSum(a, b);
        try (Device dev = KernelCheck.open(backend)) {
            Tensor at = dev.upload(a, n), bt = dev.upload(b, n), y = poison(dev, n);
            check(NativeCore.mo_add(ctx(dev), f(y), f(at), f(bt), n), "add");
            float[] got = y.toFloatArray();
            assertClose("add", Reference.add(d(a), d(b)), got, 0, 1e-7);
            assertBitsEqual("add vs float a + b", want, got);
            y.fill(Float.NaN);
            check(NativeCore.mo_add(ctx(dev), f(y), f(at), f(bt), n), "add");
            assertBitsEqual("add rerun", got, y.toFloatArray());
            // y aliases a, then b
            check(NativeCore.mo_add(ctx(dev), f(at), f(at), f(bt), n), "add");
            assertBitsEqual("add into a", want, at.toFloatArray());
            at.copyFrom(a);
            check(NativeCore.mo_add(ctx(dev), f(bt), f(at), f(bt), n), "add");
            assertBitsEqual("add into b", want, bt.toFloatArray());
            // y aliases both: 2a
            check(NativeCore.mo_add(ctx(dev), f(at), f(at), f(at), n), "add");
            assertBitsEqual("add a + a into a", floatSum(a, a), at.toFloatArray());
            closeAll(at, bt, y);
        }
    }

    record Case(int B, int T, int D, int positions, KernelCheck.Lengths lengths) {
        @Override
        public String toString() {
            return "B=" + B + " T=" + T + " D=" + D + " pos rows=" + positions + " " + lengths;
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1, 1, KernelCheck.Lengths.FULL),
        new Case(3, 37, 19, 37, KernelCheck.Lengths.RAGGED),
        new Case(5, 9, 7, 512, KernelCheck.Lengths.ONES),   // a position table longer than T
        new Case(4, 19, 1, 20, KernelCheck.Lengths.FULL),
        new Case(3, 40, 384, 512, KernelCheck.Lengths.RAGGED), // BERT-like
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void addPositionMatchesReference(Backend backend, Case c) {
        int B = c.B(), T = c.T(), D = c.D();
        Random rng = new Random(911 + T * 7L + D);
        int[] len = KernelCheck.lengths(rng, c.lengths(), B, T);
        float[] x = KernelCheck.gaussian(rng, B * T * D, 1); // junk at padding too: must not leak
        float[] pos = KernelCheck.gaussian(rng, c.positions() * D, 0.1), type = KernelCheck.gaussian(rng, D, 0.1);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = addPosition(dev, x, pos, type, len, c.positions(), B, T, D);
            double[] ref = Reference.addPosition(d(x), d(pos), d(type), len, B, T, D);
            assertClose("add_position", ref, got, 1e-6, 1e-6);
            assertPaddingZero("add_position", got, len, B, T, D);
            assertBitsEqual("add_position rerun", got, addPosition(dev, x, pos, type, len, c.positions(), B, T, D));
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op ADD = new KernelCheck.Op("add", "n", new double[] {16}, "n", "ctx out a b",
            (x, a) -> NativeCore.mo_add(x.ctx(), x.f("out", x.out), x.f("a", x.in), x.f("b", x.in), (long) a[0]));
    static final KernelCheck.Op ADD_POSITION = new KernelCheck.Op("add_position", "B T D", new double[] {3, 4, 5},
            "B T D", "ctx out x pos type lengths",
            (x, a) -> NativeCore.mo_add_position(x.ctx(), x.f("out", x.out), x.f("x", x.in), x.f("pos", x.in),
                    x.f("type", x.in), x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(ADD, ADD_POSITION);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(ADD));
        bad.addAll(KernelCheck.sizeAndPointerCases(ADD_POSITION));
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

    static float[] addPosition(Device dev, float[] x, float[] pos, float[] type, int[] len, int positions, int B, int T,
            int D) {
        Tensor xt = dev.upload(x, B, T, D), pt = dev.upload(pos, positions, D), tt = dev.upload(type, D);
        Tensor lens = dev.upload(len, B), y = poison(dev, B, T, D);
        check(NativeCore.mo_add_position(ctx(dev), f(y), f(xt), f(pt), f(tt), i(lens), B, T, D), "add_position");
        float[] result = y.toFloatArray();
        closeAll(xt, pt, tt, lens, y);
        return result;
    }
}
