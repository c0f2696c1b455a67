package dev.maskopt.torchscript;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The grid's sparsity + total-variation gradient against central finite differences of a double reference. */
class GridRegularizerTest {
    @Test
    void hardConcreteGradientMatchesFiniteDifferences() {
        int gh = 3, gw = 5, np = gh * gw;
        double w0 = 0.7, tv = 1.3;
        ExplainerConfig cfg = ExplainerConfig.builder().optSparsityWeight(w0).build();
        double beta = cfg.temperature(), l = cfg.stretchLow(), r = cfg.stretchHigh();
        SplittableRandom rng = new SplittableRandom(3);
        float[] theta = new float[np];
        for (int k = 0; k < np; k++) {
            theta[k] = (float) (rng.nextDouble() * 4 - 2);
        }
        float[] grad;
        try (Device dev = Device.cpu(); GridRegularizer reg = new GridRegularizer(dev, cfg, tv, gh, gw);
                Tensor th = dev.upload(theta, 1, 1, np); Tensor d = dev.floats(1, 1, np)) {
            d.fill(0f);
            reg.accumulate(d, th);
            grad = d.toFloatArray();
        }
        double h = 1e-4;
        double maxErr = 0;
        for (int k = 0; k < np; k++) {
            double[] plus = toDouble(theta), minus = toDouble(theta);
            plus[k] += h;
            minus[k] -= h;
            double fd = (objective(plus, gh, gw, w0, tv, beta, l, r) - objective(minus, gh, gw, w0, tv, beta, l, r)) / (2 * h);
            maxErr = Math.max(maxErr, Math.abs(fd - grad[k]));
            assertEquals(fd, grad[k], 1e-5 + 1e-4 * Math.abs(fd), "patch " + k);
        }
        System.out.printf("grid regularizer: max |gradient - finite difference| %.2e%n", maxErr);
    }

    /** w0 sum p / P + tv sum_adjacent (p_i + p_j - 2 p_i p_j) / P with p = sigmoid(theta - beta log(-l / r)). */
    static double objective(double[] theta, int gh, int gw, double w0, double tv, double beta, double l, double r) {
        int np = gh * gw;
        double[] p = new double[np];
        for (int k = 0; k < np; k++) {
            p[k] = 1 / (1 + Math.exp(-(theta[k] - beta * Math.log(-l / r))));
        }
        double l0 = 0, trans = 0;
        for (int y = 0; y < gh; y++) {
            for (int x = 0; x < gw; x++) {
                int k = y * gw + x;
                l0 += p[k];
                if (x + 1 < gw) {
                    trans += p[k] + p[k + 1] - 2 * p[k] * p[k + 1];
                }
                if (y + 1 < gh) {
                    trans += p[k] + p[k + gw] - 2 * p[k] * p[k + gw];
                }
            }
        }
        return (w0 * l0 + tv * trans) / np;
    }

    private static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int k = 0; k < x.length; k++) {
            out[k] = x[k];
        }
        return out;
    }
}
