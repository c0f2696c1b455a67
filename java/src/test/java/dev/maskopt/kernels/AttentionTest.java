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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
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

/** Multi-head self-attention over qkv [B,T,3D]: mo_attention_forward and mo_attention_backward. */
class AttentionTest {
    record Case(int B, int T, int H, int Dh, KernelCheck.Lengths lengths) {
        int D() {
            return H * Dh;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "B=%d T=%d H=%d Dh=%d %s", B, T, H, Dh, lengths);
        }
    }

    static final Case[] CASES = {
        new Case(1, 1, 1, 1, KernelCheck.Lengths.FULL),
        new Case(2, 5, 1, 3, KernelCheck.Lengths.RAGGED),
        new Case(3, 9, 2, 5, KernelCheck.Lengths.RAGGED),
        new Case(4, 17, 3, 7, KernelCheck.Lengths.ONES),
        new Case(2, 33, 4, 16, KernelCheck.Lengths.FULL),
        new Case(5, 13, 1, 64, KernelCheck.Lengths.RAGGED),
        new Case(3, 40, 12, 32, KernelCheck.Lengths.RAGGED), // BERT-base heads
    };

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) CASES);
    }

    /** Random lengths and qkv; padding rows hold large junk, which would dominate any unmasked softmax. */
    static final class Data {
        final int[] len;
        final float[] qkv, dOut;

        Data(Case c, long seed) {
            Random rng = new Random(seed);
            int B = c.B(), T = c.T(), D = c.D();
            len = KernelCheck.lengths(rng, c.lengths(), B, T);
            qkv = KernelCheck.gaussian(rng, B * T * 3 * D, 1.5);
            dOut = KernelCheck.gaussian(rng, B * T * D, 1);
            for (int b = 0; b < B; b++)
                for (int t = len[b]; t < T; t++) {
                    for (int k = 0; k < 3 * D; k++) qkv[(b * T + t) * 3 * D + k] = 30 + 10 * (float) rng.nextGaussian();
                    // the output is 0 (constant) at padding rows, so d_out there must not matter
                    for (int k = 0; k < D; k++) dOut[(b * T + t) * D + k] = 1e3f * (float) rng.nextGaussian();
                }
        }
    }

    static final class Forward {
        float[] out, probs;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesReference(Backend backend, Case c) {
        int B = c.B(), T = c.T(), H = c.H(), Dh = c.Dh(), D = c.D();
        Data data = new Data(c, 1201 + T * 7L + H * 3L + Dh);
        try (Device dev = KernelCheck.open(backend)) {
            Forward got = forward(dev, data, c);
            double[][] ref = Reference.attentionForward(d(data.qkv), data.len, B, T, H, Dh);
            assertClose("attention out", ref[0], got.out, 1e-5, 1e-4);
            assertClose("attention probs", ref[1], got.probs, 1e-6, 1e-4);
            assertPaddingZero("attention out", got.out, data.len, B, T, D);
            // probs [B,H,T,T]: exactly 0 at masked keys of real rows and everywhere in padding rows; real rows sum to 1
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++)
                    for (int t = 0; t < T; t++) {
                        int row = ((b * H + h) * T + t) * T;
                        double sum = 0;
                        for (int u = 0; u < T; u++) {
                            float p = got.probs[row + u];
                            if (t >= data.len[b] || u >= data.len[b]) {
                                if (Float.floatToRawIntBits(p) != 0)
                                    fail(String.format(Locale.ROOT, "attention probs[b=%d,h=%d,t=%d,u=%d] (len %d) "
                                            + "is %s, want +0", b, h, t, u, data.len[b], p));
                            } else {
                                sum += p;
                            }
                        }
                        if (t < data.len[b] && !(Math.abs(sum - 1) <= 1e-5))
                            fail(String.format(Locale.ROOT, "attention probs row b=%d h=%d t=%d sums to %.9g", b, h,
                                    t, sum));
                    }
            Forward again = forward(dev, data, c);
            assertBitsEqual("attention out rerun", got.out, again.out);
            assertBitsEqual("attention probs rerun", got.probs, again.probs);
        }
    }

    /** The native backward against the reference's, both given the native forward's probs. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesReference(Backend backend, Case c) {
        int B = c.B(), T = c.T(), H = c.H(), Dh = c.Dh(), D = c.D();
        Data data = new Data(c, 1213 + T * 7L + H * 3L + Dh);
        try (Device dev = KernelCheck.open(backend)) {
            Forward fw = forward(dev, data, c);
            float[] got = backward(dev, data, fw.probs, c);
            double[] ref = Reference.attentionBackward(d(data.dOut), d(data.qkv), d(fw.probs), data.len, B, T, H, Dh);
            assertClose("attention d_qkv", ref, got, 2e-5, 1e-4);
            // padding rows: q, k and v parts all exactly 0 (no query there, and masked as keys and values)
            assertPaddingZero("attention d_qkv", got, data.len, B, T, 3 * D);
            assertBitsEqual("attention d_qkv rerun", got, backward(dev, data, fw.probs, c));
        }
    }

    /** The reference backward against central differences of W . out(qkv), W nonzero at padding rows too. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rng = new Random(47);
        int B = 3, T = 4, H = 2, Dh = 3, D = H * Dh;
        int[] len = {4, 2, 1};
        double[] qkv = d(KernelCheck.gaussian(rng, B * T * 3 * D, 1.5));
        double[] w = d(KernelCheck.gaussian(rng, B * T * D, 1));
        double[][] at = Reference.attentionForward(qkv, len, B, T, H, Dh);
        double[] analytic = Reference.attentionBackward(w, qkv, at[1], len, B, T, H, Dh);
        double[] fd = KernelCheck.numericGradient(
                v -> KernelCheck.dot(w, Reference.attentionForward(v, len, B, T, H, Dh)[0]), qkv, 1e-6);
        KernelCheck.assertClose("reference attention backward vs FD", fd, analytic, 1e-7, 1e-6, null);
    }

    // ---- validation ------------------------------------------------------------------------------

    static final KernelCheck.Op FORWARD = new KernelCheck.Op("attention_forward", "B T H Dh",
            new double[] {2, 3, 2, 4}, "B T H Dh", "ctx out probs qkv lengths",
            (x, a) -> NativeCore.mo_attention_forward(x.ctx(), x.f("out", x.out), x.f("probs", x.out2),
                    x.f("qkv", x.in), x.i("lengths", x.lengths), (long) a[0], (long) a[1], (long) a[2], (long) a[3]));
    static final KernelCheck.Op BACKWARD = new KernelCheck.Op("attention_backward", "B T H Dh",
            new double[] {2, 3, 2, 4}, "B T H Dh", "ctx out d_out qkv probs lengths",
            (x, a) -> NativeCore.mo_attention_backward(x.ctx(), x.f("out", x.out), x.f("d_out", x.in),
                    x.f("qkv", x.in), x.f("probs", x.in), x.i("lengths", x.lengths), (long) a[0], (long) a[1],
                    (long) a[2], (long) a[3]));

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends(FORWARD, BACKWARD);
    }

    static Stream<Arguments> bad() {
        List<KernelCheck.Bad> bad = new ArrayList<>(KernelCheck.sizeAndPointerCases(FORWARD));
        bad.addAll(KernelCheck.sizeAndPointerCases(BACKWARD));
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

    /**
     * CUDA keeps T scores per query row in shared memory, so T above MO_CUDA_ATTENTION_MAX_T is refused there with a
     * message naming the limit; the CPU has no such limit.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void cudaCapsTheSequenceLength(Backend backend) {
        int T = NativeCore.MO_CUDA_ATTENTION_MAX_T + 1;
        try (Device dev = KernelCheck.open(backend); Tensor qkv = dev.floats(T, 3); Tensor out = poison(dev, T);
                Tensor probs = poison(dev, T, T); Tensor dQkv = poison(dev, T, 3);
                Tensor lens = dev.upload(new int[] {T}, 1)) {
            qkv.fill(0.25f);
            int fw = NativeCore.mo_attention_forward(ctx(dev), f(out), f(probs), f(qkv), i(lens), 1, T, 1, 1);
            String fwMessage = NativeCore.mo_last_error();
            int bw = NativeCore.mo_attention_backward(ctx(dev), f(dQkv), f(out), f(qkv), f(probs), i(lens), 1, T, 1, 1);
            if (backend == Backend.CPU) {
                assertEquals(NativeCore.MO_OK, fw, "CPU forward");
                assertEquals(NativeCore.MO_OK, bw, "CPU backward");
                assertClose("uniform attention", new double[] {1.0 / T}, new float[] {probs.toFloatArray()[0]}, 1e-9,
                        1e-5);
            } else {
                assertEquals(NativeCore.MO_ERR_INVALID, fw, "CUDA forward");
                assertEquals(NativeCore.MO_ERR_INVALID, bw, "CUDA backward");
                assertTrue(fwMessage.contains("T must be <= " + NativeCore.MO_CUDA_ATTENTION_MAX_T + " on CUDA"),
                        fwMessage);
                assertEquals(out.numel(), out.countNonFinite(), "output written");
            }
        }
    }

    // ---- native calls ------------------------------------------------------------------------------

    static Forward forward(Device dev, Data data, Case c) {
        int B = c.B(), T = c.T(), H = c.H(), Dh = c.Dh(), D = c.D();
        Tensor qkv = dev.upload(data.qkv, B, T, 3 * D), lens = dev.upload(data.len, B);
        Tensor out = poison(dev, B, T, D), probs = poison(dev, B, H, T, T);
        check(NativeCore.mo_attention_forward(ctx(dev), f(out), f(probs), f(qkv), i(lens), B, T, H, Dh),
                "attention_forward");
        Forward fw = new Forward();
        fw.out = out.toFloatArray();
        fw.probs = probs.toFloatArray();
        closeAll(qkv, lens, out, probs);
        return fw;
    }

    static float[] backward(Device dev, Data data, float[] probs, Case c) {
        int B = c.B(), T = c.T(), H = c.H(), Dh = c.Dh(), D = c.D();
        Tensor dOut = dev.upload(data.dOut, B, T, D), qkv = dev.upload(data.qkv, B, T, 3 * D);
        Tensor p = dev.upload(probs, B, H, T, T), lens = dev.upload(data.len, B);
        Tensor dQkv = poison(dev, B, T, 3 * D);
        check(NativeCore.mo_attention_backward(ctx(dev), f(dQkv), f(dOut), f(qkv), f(p), i(lens), B, T, H, Dh),
                "attention_backward");
        float[] result = dQkv.toFloatArray();
        closeAll(dOut, qkv, p, lens, dQkv);
        return result;
    }
}
