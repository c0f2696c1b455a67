package dev.maskopt.bert;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;

import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import java.util.ArrayList;
import java.util.List;

/**
 * How a batch of documents longer than the encoder's positions is read: each document [CLS] p1 .. pL [SEP]
 * becomes overlapping windows [CLS] p_s .. p_{s+w-1} [SEP] of at most {@code positions} tokens, evenly
 * spaced with at most {@code stride} pieces between starts, all run as one batch; a document's logits are
 * the mean of its windows' logits. The mask lives on the document, so one optimization covers every window.
 *
 * <p>Everything is done with existing device ops: the windows are an embedding lookup into the documents'
 * inputs, the mean is a matrix product, and the input gradient sums the windows' gradients back, one lookup
 * per level of overlap (a zero row stands for "no window here").
 */
final class Windows implements AutoCloseable {
    final int docs, length, rows, width, coverage;
    private final Device device;
    private final Tensor gatherIds, windowLengths, mean, meanTransposed;
    private final Tensor[] scatterIds;

    private Windows(Device device, int[] lengths, int length, int positions, int stride) {
        this.device = device;
        this.docs = lengths.length;
        this.length = length;
        int content = positions - 2;
        List<int[]> windows = new ArrayList<>(); // (doc, first content piece, content pieces)
        for (int b = 0; b < docs; b++) {
            int pieces = lengths[b] - 2;
            if (lengths[b] < 2) {
                throw new IllegalArgumentException("row " + b + " is too short for [CLS] and [SEP] (" + lengths[b] + ")");
            }
            if (pieces <= content) {
                windows.add(new int[] {b, 0, pieces});
                continue;
            }
            int n = (pieces - content + stride - 1) / stride + 1;
            for (int j = 0; j < n; j++) {
                long start = Math.round((double) j * (pieces - content) / (n - 1));
                windows.add(new int[] {b, (int) start, content});
            }
        }
        rows = windows.size();
        int w = 0;
        for (int[] win : windows) {
            w = Math.max(w, win[2] + 2);
        }
        width = w;
        int[] ids = new int[rows * width], lens = new int[rows];
        int[] count = new int[docs * length]; // windows covering each document position
        float[] avg = new float[docs * rows], avgT = new float[rows * docs];
        int[] perDoc = new int[docs];
        for (int[] win : windows) {
            perDoc[win[0]]++;
        }
        List<int[]> cover = new ArrayList<>(); // per level k: [docs * length] flat window-row positions
        for (int r = 0; r < rows; r++) {
            int b = windows.get(r)[0], start = windows.get(r)[1], n = windows.get(r)[2];
            lens[r] = n + 2;
            avg[b * rows + r] = 1f / perDoc[b];
            avgT[r * docs + b] = 1f / perDoc[b];
            for (int t = 0; t < n + 2; t++) {
                int pos = t == 0 ? 0 : t == n + 1 ? lengths[b] - 1 : start + t; // position in the document
                ids[r * width + t] = b * length + pos;
                int k = count[b * length + pos]++;
                if (k == cover.size()) {
                    int[] level = new int[docs * length];
                    java.util.Arrays.fill(level, rows * width); // the zero row
                    cover.add(level);
                }
                cover.get(k)[b * length + pos] = r * width + t;
            }
        }
        coverage = cover.size();
        gatherIds = device.upload(ids, rows, width);
        windowLengths = device.upload(lens, rows);
        mean = device.upload(avg, docs, rows);
        meanTransposed = device.upload(avgT, rows, docs);
        scatterIds = new Tensor[coverage];
        for (int k = 0; k < coverage; k++) {
            scatterIds[k] = device.upload(cover.get(k), docs, length);
        }
    }

    /** The windows of documents with the given lengths, padded to {@code length} tokens. */
    static Windows plan(Device device, int[] lengths, int length, int positions, int stride) {
        if (stride < 1 || stride > positions - 2) {
            throw new IllegalArgumentException("stride must be in [1, " + (positions - 2) + "] (got " + stride + ")");
        }
        return new Windows(device, lengths, length, positions, stride);
    }

    Tensor windowLengths() {
        return windowLengths;
    }

    /** windows [rows, width, D] from inputs [docs, length, D]. */
    void gather(Tensor inputs, Tensor windows, int d) {
        check(NativeCore.mo_embed(ctx(device), f(windows), i(gatherIds), i(windowLengths), f(inputs), rows, width,
                (long) docs * length, d), "embed");
    }

    /** logits [docs, C] = mean over each document's windows of windowLogits [rows, C]. */
    void average(Tensor windowLogits, Tensor logits, int c) {
        check(NativeCore.mo_matmul(ctx(device), f(logits), f(mean), f(windowLogits), null, docs, c, rows, 0, 0f),
                "matmul");
    }

    /** dWindowLogits [rows, C] from dLogits [docs, C]. */
    void averageBackward(Tensor dLogits, Tensor dWindowLogits, int c) {
        check(NativeCore.mo_matmul(ctx(device), f(dWindowLogits), f(meanTransposed), f(dLogits), null, rows, c, docs, 0,
                0f), "matmul");
    }

    /**
     * dInputs [docs, length, D] = the sum of the windows' gradients at each document position;
     * {@code dWindows} holds [rows * width + 1, D] with a zero last row; {@code scratch} is [docs, length, D].
     */
    void scatter(Tensor dWindows, Tensor dInputs, Tensor scratch, Tensor docLengths, int d) {
        NativeCore.Context cx = ctx(device);
        long table = (long) rows * width + 1;
        for (int k = 0; k < coverage; k++) {
            Tensor out = k == 0 ? dInputs : scratch;
            check(NativeCore.mo_embed(cx, f(out), i(scatterIds[k]), i(docLengths), f(dWindows), docs, length, table, d),
                    "embed");
            if (k > 0) {
                check(NativeCore.mo_add(cx, f(dInputs), f(dInputs), f(scratch), (long) docs * length * d), "add");
            }
        }
    }

    @Override
    public void close() {
        gatherIds.close();
        windowLengths.close();
        mean.close();
        meanTransposed.close();
        for (Tensor t : scatterIds) {
            t.close();
        }
    }
}
