package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.assertClose;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static dev.maskopt.kernels.KernelCheck.d;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** mo_adam_update: fused Adam / AdamW with bias correction. */
class AdamTest {
    static Stream<Arguments> sizes() {
        return KernelCheck.withBackends(1, 7, 1000, 100_003);
    }

    /** Several consecutive steps against the double reference, from step 1 and from deep in a run. */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void stepsMatchReference(Backend backend, int n) {
        Random rng = new Random(401 + n);
        // (lr, beta1, beta2, eps, weight decay, first step)
        double[][] hyper = {{1e-2, 0.9, 0.999, 1e-8, 0.01, 1}, {3e-2, 0.8, 0.99, 1e-6, 0, 1000}};
        try (Device dev = KernelCheck.open(backend)) {
            for (double[] h : hyper) {
                float lr = (float) h[0], b1 = (float) h[1], b2 = (float) h[2], eps = (float) h[3], wd = (float) h[4];
                long first = (long) h[5];
                float[] param = KernelCheck.gaussian(rng, n, 1);
                // deep in a run the moments are already populated
                float[] m = first == 1 ? new float[n] : KernelCheck.gaussian(rng, n, 0.1);
                float[] v = first == 1 ? new float[n] : KernelCheck.uniform(rng, n, 0.001, 0.1);
                Tensor pT = dev.upload(param, n), mT = dev.upload(m, n), vT = dev.upload(v, n), gT = dev.floats(n);
                double[] rp = d(param), rm = d(m), rv = d(v);
                for (long step = first; step < first + 5; step++) {
                    float[] grad = KernelCheck.gaussian(rng, n, 1);
                    gT.copyFrom(grad);
                    check(NativeCore.mo_adam_update(ctx(dev), f(pT), f(mT), f(vT), f(gT), n, lr, b1, b2, eps, wd, step),
                            "adam_update");
                    Reference.adamUpdate(rp, rm, rv, d(grad), lr, b1, b2, eps, wd, step);
                    String what = "adam step " + step + " ";
                    assertClose(what + "param", rp, pT.toFloatArray(), 1e-6, 1e-5);
                    assertClose(what + "m", rm, mT.toFloatArray(), 1e-7, 1e-5);
                    assertClose(what + "v", rv, vT.toFloatArray(), 1e-8, 1e-5);
                }
                closeAll(pT, mT, vT, gT);
            }
        }
    }

    /**
     * Closed forms. First step without decay: m-hat = g and v-hat = g^2, so param -= lr g / (|g| + eps).
     * Zero gradient with decay: the moments stay 0 and param shrinks by (1 - lr wd).
     */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void closedForms(Backend backend, int n) {
        Random rng = new Random(409 + n);
        float lr = 0.05f, eps = 1e-8f;
        float[] param = KernelCheck.gaussian(rng, n, 1), grad = KernelCheck.gaussian(rng, n, 1);
        try (Device dev = KernelCheck.open(backend)) {
            float[] got = step(dev, param, new float[n], new float[n], grad, lr, 0.9f, 0.999f, eps, 0f, 1);
            double[] want = new double[n];
            for (int k = 0; k < n; k++) want[k] = param[k] - lr * grad[k] / (Math.abs((double) grad[k]) + eps);
            assertClose("adam first step", want, got, 1e-6, 1e-5);
            float[] again = step(dev, param, new float[n], new float[n], grad, lr, 0.9f, 0.999f, eps, 0f, 1);
            assertBitsEqual("adam rerun", got, again);

            float wd = 0.1f;
            got = step(dev, param, new float[n], new float[n], new float[n], lr, 0.9f, 0.999f, eps, wd, 3);
            for (int k = 0; k < n; k++) want[k] = param[k] * (1 - (double) lr * wd);
            assertClose("adam pure decay", want, got, 1e-7, 1e-6);
        }
    }

    /** One update on fresh tensors; returns the new parameters. */
    static float[] step(Device dev, float[] param, float[] m, float[] v, float[] grad, float lr, float b1, float b2,
            float eps, float wd, long step) {
        int n = param.length;
        Tensor pT = dev.upload(param, n), mT = dev.upload(m, n), vT = dev.upload(v, n), gT = dev.upload(grad, n);
        check(NativeCore.mo_adam_update(ctx(dev), f(pT), f(mT), f(vT), f(gT), n, lr, b1, b2, eps, wd, step),
                "adam_update");
        float[] out = pT.toFloatArray();
        closeAll(pT, mT, vT, gT);
        return out;
    }
}
