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
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The masked mix: mo_mix_forward and mo_mix_backward (fused with the reparameterization backward). */
class MixTest {
    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T(), D = sh.D();
        Random rng = new Random(211 + sh.T() * 5L + sh.D());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] z = KernelCheck.uniform(rng, S * N * T, 0, 1); // nonzero at padding too: the kernel must ignore it
        float[] emb = KernelCheck.gaussian(rng, N * T * D, 1);
        try (Device dev = KernelCheck.open(backend)) {
            for (boolean perPosition : new boolean[] {false, true}) {
                float[] base = KernelCheck.gaussian(rng, perPosition ? N * T * D : D, 1);
                float[] got = forward(dev, z, emb, base, len, S, N, T, D, perPosition);
                double[] ref = Reference.mixForward(d(z), d(emb), d(base), len, S, N, T, D, perPosition);
                String what = "mix_forward" + (perPosition ? " per-position base" : " shared base");
                assertClose(what, ref, got, 1e-6, 1e-5);
                assertPaddingZero(what, got, len, N, T, D);
                assertBitsEqual(what + " rerun", got, forward(dev, z, emb, base, len, S, N, T, D, perPosition));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardMatchesReference(Backend backend, KernelCheck.Shape sh) {
        int S = sh.S(), N = sh.N(), T = sh.T(), D = sh.D();
        Random rng = new Random(223 + sh.T() * 5L + sh.D());
        int[] len = KernelCheck.lengths(rng, sh);
        float[] dOut = KernelCheck.gaussian(rng, 2 * S * N * T * D, 1);
        float[] emb = KernelCheck.gaussian(rng, N * T * D, 1);
        try (Device dev = KernelCheck.open(backend)) {
            for (int P = 1; P <= 2; P++)
                for (boolean perPosition : new boolean[] {false, true}) {
                    float[] dz = KernelCheck.gaussian(rng, P * S * N * T, 1); // nonzero at padding too
                    float[] base = KernelCheck.gaussian(rng, perPosition ? N * T * D : D, 1);
                    float[] got = backward(dev, dOut, dz, emb, base, len, P, S, N, T, D, perPosition);
                    double[] ref = Reference.mixBackward(d(dOut), d(dz), d(emb), d(base), len, P, S, N, T, D,
                            perPosition);
                    String what = "mix_backward P=" + P + (perPosition ? " per-position base" : " shared base");
                    // a sum of S D products: looser than elementwise ops
                    assertClose(what, ref, got, 1e-4, 1e-3);
                    assertPaddingZero(what, got, len, N, T, 1);
                    float[] again = backward(dev, dOut, dz, emb, base, len, P, S, N, T, D, perPosition);
                    assertBitsEqual(what + " rerun", got, again);
                }
        }
    }

    /**
     * The reference's backward against central differences of L(theta) = W . mix_forward(z(theta)), with z
     * sampled by each gate at fixed uniforms: checks the mix backward and its chaining with dz in one go.
     */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rng = new Random(12);
        int S = 3, N = 2, T = 5, D = 4, NT = N * T;
        int[] len = {5, 3};
        long seed = 4242, step = 2;
        double beta = 2.0 / 3, l = -0.1, r = 1.1;
        double[] emb = d(KernelCheck.gaussian(rng, NT * D, 1));
        double[] w = d(KernelCheck.gaussian(rng, 2 * S * NT * D, 1));
        for (boolean perPosition : new boolean[] {false, true}) {
            double[] base = d(KernelCheck.gaussian(rng, perPosition ? NT * D : D, 1));

            // hard concrete, P = 1
            double[] logalpha = d(KernelCheck.uniform(rng, NT, -1, 1));
            Reference.Samples hc = Reference.hcSample(logalpha, len, S, N, T, beta, l, r, seed, step);
            double[] analytic = Reference.mixBackward(w, hc.dz, emb, base, len, 1, S, N, T, D, perPosition);
            double[] fd = KernelCheck.numericGradient(la -> KernelCheck.dot(w, Reference.mixForward(
                    Reference.hcSample(la, len, S, N, T, beta, l, r, seed, step).z, emb, base, len, S, N, T, D,
                    perPosition)), logalpha, 1e-6);
            KernelCheck.assertClose("reference mix backward (hard concrete) vs FD", fd, analytic, 1e-7, 1e-6,
                    kinks(hc, 1, S, NT));

            // HardKuma, P = 2
            double[] params = d(KernelCheck.uniform(rng, 2 * NT, -1, 1));
            Reference.Samples ku = Reference.kumaSample(params, len, S, N, T, l, r, seed, step);
            analytic = Reference.mixBackward(w, ku.dz, emb, base, len, 2, S, N, T, D, perPosition);
            fd = KernelCheck.numericGradient(p -> KernelCheck.dot(w, Reference.mixForward(
                    Reference.kumaSample(p, len, S, N, T, l, r, seed, step).z, emb, base, len, S, N, T, D,
                    perPosition)), params, 1e-6);
            KernelCheck.assertClose("reference mix backward (HardKuma) vs FD", fd, analytic, 1e-7, 1e-6,
                    kinks(ku, 2, S, NT));
        }
    }

    /** [P,N,T]: positions where some sample sits at the clamp's kink, so the FD slope is one-sided. */
    private static boolean[] kinks(Reference.Samples smp, int P, int S, int NT) {
        boolean[] skip = new boolean[P * NT];
        int count = 0;
        for (int s = 0; s < S; s++)
            for (int j = 0; j < NT; j++)
                if (smp.nearClamp[s * NT + j]) {
                    for (int p = 0; p < P; p++) skip[p * NT + j] = true;
                    count++;
                }
        assertTrue(count <= NT / 2, "too many kinks to check");
        return skip;
    }

    // ---- native calls ------------------------------------------------------------------------------

    static float[] forward(Device dev, float[] z, float[] emb, float[] base, int[] len, int S, int N, int T, int D,
            boolean perPosition) {
        Tensor zt = dev.upload(z, S, N, T), et = dev.upload(emb, N, T, D), bt = dev.upload(base, base.length);
        Tensor lens = dev.upload(len, N), out = poison(dev, 2, S, N, T, D);
        check(NativeCore.mo_mix_forward(ctx(dev), f(out), f(zt), f(et), f(bt), i(lens), S, N, T, D,
                perPosition ? 1 : 0), "mix_forward");
        float[] result = out.toFloatArray();
        closeAll(zt, et, bt, lens, out);
        return result;
    }

    static float[] backward(Device dev, float[] dOut, float[] dz, float[] emb, float[] base, int[] len, int P, int S,
            int N, int T, int D, boolean perPosition) {
        Tensor dOutT = dev.upload(dOut, 2, S, N, T, D), dzT = dev.upload(dz, P, S, N, T);
        Tensor et = dev.upload(emb, N, T, D), bt = dev.upload(base, base.length), lens = dev.upload(len, N);
        Tensor dTheta = poison(dev, P, N, T);
        check(NativeCore.mo_mix_backward(ctx(dev), f(dTheta), f(dOutT), f(dzT), f(et), f(bt), i(lens), P, S, N, T, D,
                perPosition ? 1 : 0), "mix_backward");
        float[] result = dTheta.toFloatArray();
        closeAll(dOutT, dzT, et, bt, lens, dTheta);
        return result;
    }
}
