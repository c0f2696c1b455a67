package dev.maskopt.torchscript;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Tensor;
import dev.maskopt.internal.GateOps;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Closed-form sparsity and smoothness gradients of gates on a grid of gh x gw patches, from maskopt's 1-D kernels:
 * with p = P(z != 0) per patch and P = gh gw,
 * {@code wL0 * sum p / P + wTV * sum over adjacent pairs (i, j) of (p_i + p_j - 2 p_i p_j) / P} (the expected number
 * of adjacent pairs with exactly one open gate: the expected anisotropic total variation of the open/closed pattern).
 * Rows: the parameters [P, 1, gh gw] read as gh sequences of gw ({@code mo_*_regularize} with per-row lengths); columns:
 * the same on the transposed grid ({@code mo_gather_gates} with a permutation, then {@code mo_segment_sum} back).
 */
final class GridRegularizer implements AutoCloseable {
    private final GateOps rows;
    private final GateOps cols; // null when the TV weight is 0
    private final int gh, gw, np, p;
    private final List<Tensor> owned = new ArrayList<>();
    private final Tensor rowLens, colLens, patchLens, transpose, thetaT, dThetaT, dThetaV, regRows, regCols;

    GridRegularizer(Device dev, ExplainerConfig config, double tvWeight, int gh, int gw) {
        this.gh = gh;
        this.gw = gw;
        this.np = gh * gw;
        this.p = config.gate().parameters();
        this.rows = new GateOps(config.toBuilder().optSparsityWeight(config.sparsityWeight() / gh)
                .optContiguityWeight(tvWeight / gh).build());
        this.cols = tvWeight > 0
                ? new GateOps(config.toBuilder().optSparsityWeight(0).optContiguityWeight(tvWeight / gw).build()) : null;
        int[] perm = new int[np];
        for (int col = 0; col < gw; col++) {
            for (int row = 0; row < gh; row++) {
                perm[col * gh + row] = row * gw + col;
            }
        }
        try {
            rowLens = own(dev.upload(filled(gh, gw), gh));
            colLens = own(dev.upload(filled(gw, gh), gw));
            patchLens = own(dev.upload(new int[] {np}, 1));
            transpose = own(dev.upload(perm, 1, np));
            thetaT = own(dev.floats(p, 1, np));
            dThetaT = own(dev.floats(p, 1, np));
            dThetaV = own(dev.floats(p, 1, np));
            regRows = own(dev.floats(gh, 2));
            regCols = own(dev.floats(gw, 2));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** dTheta [P, 1, gh gw] += the gradients of the sparsity and total-variation terms at theta. */
    void accumulate(Tensor dTheta, Tensor theta) {
        rows.regularize(dTheta, regRows, 0, theta, rowLens, gh, gw);
        if (cols == null) {
            return;
        }
        NativeCore.Context cx = ctx(theta.device());
        check(NativeCore.mo_gather_gates(cx, f(thetaT), f(theta), i(transpose), i(patchLens), p, 1, 1, np, np),
                "gather_gates");
        dThetaT.fill(0f);
        cols.regularize(dThetaT, regCols, 0, thetaT, colLens, gw, gh);
        check(NativeCore.mo_segment_sum(cx, f(dThetaV), f(dThetaT), i(transpose), i(patchLens), p, 1, np, np),
                "segment_sum");
        check(NativeCore.mo_add(cx, f(dTheta), f(dTheta), f(dThetaV), (long) p * np), "add");
    }

    @Override
    public void close() {
        for (int j = owned.size() - 1; j >= 0; j--) {
            owned.get(j).close();
        }
        owned.clear();
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private static int[] filled(int n, int value) {
        int[] out = new int[n];
        Arrays.fill(out, value);
        return out;
    }
}
