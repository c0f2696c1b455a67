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
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_embed: a gather, so the comparison is exact. */
class EmbedTest {
    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void embedGathersRowsAndZeroesPadding(Backend backend, KernelCheck.Shape sh) {
        int N = sh.N(), T = sh.T(), D = sh.D();
        Random rng = new Random(501 + T * 7L + D);
        int[] len = KernelCheck.lengths(rng, sh);
        try (Device dev = KernelCheck.open(backend)) {
            for (int V : new int[] {1, 2 + rng.nextInt(50)}) {
                float[] table = KernelCheck.gaussian(rng, V * D, 1);
                int[] ids = KernelCheck.ints(rng, N * T, V);
                ids[0] = V - 1; // the last row of the table is reachable
                float[] got = embed(dev, ids, len, table, N, T, V, D);
                assertClose("embed V=" + V, Reference.embed(ids, len, d(table), N, T, D), got, 0, 0);
                assertPaddingZero("embed V=" + V, got, len, N, T, D);
                assertBitsEqual("embed rerun", got, embed(dev, ids, len, table, N, T, V, D));
            }
        }
    }

    static float[] embed(Device dev, int[] ids, int[] len, float[] table, int N, int T, int V, int D) {
        Tensor idsT = dev.upload(ids, N, T), lens = dev.upload(len, N), tab = dev.upload(table, V, D);
        Tensor out = poison(dev, N, T, D);
        check(NativeCore.mo_embed(ctx(dev), f(out), i(idsT), i(lens), f(tab), N, T, V, D), "embed");
        float[] result = out.toFloatArray();
        closeAll(idsT, lens, tab, out);
        return result;
    }
}
