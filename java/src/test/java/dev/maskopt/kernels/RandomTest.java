package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.poison;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** mo_uniform: Philox4x32-10 known answers, then bit-exact agreement with the Java generator. */
class RandomTest {

    /** Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds). */
    @Test
    void philoxKnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Reference.philox4x32_10(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Reference.philox4x32_10(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Reference.philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    /** The uniform mapping: top 24 bits plus one half, scaled by 2^-24 in float, clamped to [1e-6, 1 - 1e-6]. */
    @Test
    void uniformMapping() {
        assertEquals(1e-6f, Reference.uniformFromBits(0));                        // 2^-25, clamped up
        assertEquals(1 - 1e-6f, Reference.uniformFromBits(-1));                   // rounds to 1, clamped down
        assertEquals(0.5f, Reference.uniformFromBits(0x80000000));                // 2^23 + 0.5 rounds to even
        assertEquals(8388607.5f * 0x1p-24f, Reference.uniformFromBits(0x7fffff00)); // exact below 2^23
        // the low 8 bits are dropped
        assertEquals(Reference.uniformFromBits(0x7fffff00), Reference.uniformFromBits(0x7fffffff));
        Random rng = new Random(11);
        for (int k = 0; k < 10000; k++) {
            float u = Reference.uniform(rng.nextLong(), rng.nextInt(1000), rng.nextInt(10), rng.nextInt(10),
                    rng.nextInt(100));
            assertTrue(u >= 1e-6f && u <= 1 - 1e-6f, "u = " + u);
        }
    }

    static Stream<Arguments> cases() {
        return KernelCheck.withBackends((Object[]) KernelCheck.SHAPES);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void uniformMatchesJavaPhiloxBitForBit(Backend backend, KernelCheck.Shape sh) {
        Random rng = new Random(1000 + sh.T());
        // seeds with the high word set, and steps beyond 16 bits, exercise every word of key and counter
        long[] seeds = {0L, 42L, rng.nextLong(), 0xdeadbeef00000001L};
        long[] steps = {0L, 1L, 1L + rng.nextInt(1 << 30)};
        try (Device dev = KernelCheck.open(backend)) {
            Tensor u = dev.floats(sh.S(), sh.N(), sh.T());
            for (long seed : seeds)
                for (long step : steps) {
                    u.fill(Float.NaN);
                    check(NativeCore.mo_uniform(ctx(dev), f(u), seed, step, sh.S(), sh.N(), sh.T()), "uniform");
                    assertBitsEqual("uniform seed " + seed + " step " + step,
                            Reference.uniforms(seed, step, sh.S(), sh.N(), sh.T()), u.toFloatArray());
                }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void differentSeedsAndStepsDiffer(Backend backend) {
        int S = 4, N = 8, T = 64;
        try (Device dev = KernelCheck.open(backend)) {
            float[] base = draw(dev, 7, 3, S, N, T);
            float[] otherSeed = draw(dev, 8, 3, S, N, T);
            float[] otherStep = draw(dev, 7, 4, S, N, T);
            float[] highSeed = draw(dev, 7 | (1L << 40), 3, S, N, T); // the key's high word matters
            // 24-bit uniforms collide by chance with probability ~6e-8 per element
            assertTrue(equalCount(base, otherSeed) <= 2, "seed 7 vs 8 share values");
            assertTrue(equalCount(base, otherStep) <= 2, "step 3 vs 4 share values");
            assertTrue(equalCount(base, highSeed) <= 2, "seed high word ignored");
            assertBitsEqual("same seed and step", base, draw(dev, 7, 3, S, N, T));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.maskopt.kernels.KernelCheck#backends")
    void uniformsAreInRangeWithMeanOneHalf(Backend backend) {
        int S = 10, N = 20, T = 500; // 1e5 draws
        try (Device dev = KernelCheck.open(backend)) {
            float[] u = draw(dev, 123456789L, 17, S, N, T);
            double sum = 0, sumSq = 0;
            for (float x : u) {
                assertTrue(x >= 1e-6f && x <= 1 - 1e-6f, "u out of range: " + x);
                sum += x;
                sumSq += x * (double) x;
            }
            double mean = sum / u.length, var = sumSq / u.length - mean * mean;
            double se = Math.sqrt(1.0 / 12 / u.length);
            assertEquals(0.5, mean, 4 * se, "mean");
            assertEquals(1.0 / 12, var, 4 * Math.sqrt((1.0 / 80 - 1.0 / 144) / u.length), "variance"); // mu4 = 1/80
        }
    }

    private static float[] draw(Device dev, long seed, long step, int S, int N, int T) {
        Tensor u = poison(dev, S, N, T);
        check(NativeCore.mo_uniform(ctx(dev), f(u), seed, step, S, N, T), "uniform");
        float[] out = u.toFloatArray();
        u.close();
        return out;
    }

    private static int equalCount(float[] a, float[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == b[i]) n++;
        return n;
    }
}
