package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;
import static dev.maskopt.kernels.KernelCheck.assertBitsEqual;
import static dev.maskopt.kernels.KernelCheck.closeAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import dev.maskopt.internal.CudaGraph;
import dev.maskopt.internal.NativeCore;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * mo_capture_begin / mo_capture_end / mo_graph_launch / mo_graph_destroy: unavailable on the CPU; on CUDA a captured
 * loop body replays, bit for bit, what runs eagerly, and calls that cannot be captured are refused while capturing.
 */
class GraphTest {
    @Test
    void theCpuHasNoGraphs() {
        try (Device dev = Device.cpu()) {
            assertEquals(NativeCore.MO_ERR_UNAVAILABLE, NativeCore.mo_capture_begin(ctx(dev)));
            assertTrue(NativeCore.mo_last_error().startsWith("mo_capture_begin: graphs need the CUDA backend"),
                    NativeCore.mo_last_error());
            long[] out = {-1};
            assertEquals(NativeCore.MO_ERR_UNAVAILABLE, NativeCore.mo_capture_end(ctx(dev), out));
            assertEquals(0, out[0], "no graph");
            MaskoptException e = assertThrows(MaskoptException.class, () -> CudaGraph.capture(dev, () -> {}));
            assertTrue(e.getMessage().contains("CUDA backend"), e.getMessage());
            // Nothing was left half-done: the context runs and waits as usual.
            try (Tensor t = dev.floats(3)) {
                t.fill(2f);
                dev.synchronize();
                assertBitsEqual("fill", new float[] {2f, 2f, 2f}, t.toFloatArray());
            }
        }
    }

    @Test
    void badArgumentsAreRejected() {
        try (Device dev = Device.cpu()) {
            assertEquals(NativeCore.MO_ERR_INVALID, NativeCore.mo_capture_begin(null));
            assertEquals(NativeCore.MO_ERR_INVALID, NativeCore.mo_capture_end(ctx(dev), null));
            assertEquals(NativeCore.MO_ERR_INVALID, NativeCore.mo_graph_launch(ctx(dev), null, 1));
            assertTrue(NativeCore.mo_last_error().startsWith("mo_graph_launch: graph must not be NULL"),
                    NativeCore.mo_last_error());
            assertEquals(NativeCore.MO_OK, NativeCore.mo_graph_destroy(null), "destroying NULL is a no-op");
        }
    }

    /** A gate-sampling + Adam + trace loop driven by the step counter: K eager steps vs 1 eager step + K-1 replays. */
    @Test
    void cudaReplayEqualsTheEagerLoop() {
        assumeTrue(Device.cudaDeviceCount() > 0, "no usable GPU");
        int n = 3, t = 11, steps = 9;
        Random rng = new Random(811);
        int[] len = {11, 4, 1};
        float[] theta0 = KernelCheck.uniform(rng, n * t, -1, 2);
        try (Device dev = Device.cuda(0)) {
            float[][] eager = loop(dev, theta0, len, n, t, steps, false);
            float[][] replayed = loop(dev, theta0, len, n, t, steps, true);
            assertBitsEqual("theta", eager[0], replayed[0]);
            assertBitsEqual("trace", eager[1], replayed[1]);
        }
    }

    /** While capturing, allocation and waiting are refused (and the capture is dropped when the body throws). */
    @Test
    void cudaRefusesUncapturableCallsWhileCapturing() {
        assumeTrue(Device.cudaDeviceCount() > 0, "no usable GPU");
        try (Device dev = Device.cuda(0); Tensor x = dev.floats(8)) {
            x.fill(1f);
            MaskoptException alloc =
                    assertThrows(MaskoptException.class, () -> CudaGraph.capture(dev, () -> dev.floats(4)));
            assertTrue(alloc.getMessage().contains("captures a graph"), alloc.getMessage());
            IllegalStateException sync = assertThrows(IllegalStateException.class,
                    () -> CudaGraph.capture(dev, dev::synchronize));
            assertTrue(sync.getMessage().contains("captures a graph"), sync.getMessage());
            // The device left capture mode: a fill recorded now runs only when launched.
            try (CudaGraph g = CudaGraph.capture(dev, () -> x.fill(3f))) {
                float[] before = x.toFloatArray();
                g.launch(2);
                float[] after = x.toFloatArray();
                assertEquals(1f, before[0]);
                assertEquals(3f, after[7]);
            }
        }
    }

    /** theta after the loop and the trace of z; with {@code graph}: step 0 eagerly, then the captured step replayed. */
    private static float[][] loop(Device dev, float[] theta0, int[] len, int n, int t, int steps, boolean graph) {
        Tensor theta = dev.upload(theta0, n, t), m = dev.floats(n, t), v = dev.floats(n, t);
        Tensor z = dev.floats(1, n, t), dz = dev.floats(1, n, t), lens = dev.upload(len, n);
        Tensor trace = dev.floats(steps, n, t), counter = dev.upload(new long[] {0}, 1);
        m.fill(0f);
        v.fill(0f);
        trace.fill(Float.NaN);
        Runnable step = () -> {
            check(NativeCore.mo_hc_sample_at(ctx(dev), f(z), f(dz), f(theta), i(lens), 1, n, t, 2f / 3, -0.1f, 1.1f, 99,
                    i64(counter)), "hc_sample_at");
            check(NativeCore.mo_trace_write(ctx(dev), f(trace), f(z), i64(counter), steps, (long) n * t),
                    "trace_write");
            check(NativeCore.mo_step_increment(ctx(dev), i64(counter)), "step_increment");
            check(NativeCore.mo_adam_update_at(ctx(dev), f(theta), f(m), f(v), f(dz), (long) n * t, 0.1f, 0.9f, 0.999f,
                    1e-8f, 0f, i64(counter)), "adam_update_at");
        };
        if (graph) {
            step.run();
            try (CudaGraph g = CudaGraph.capture(dev, step)) {
                g.launch(3);
                dev.synchronize();
                g.launch(steps - 4);
            }
        } else {
            for (int k = 0; k < steps; k++) step.run();
        }
        float[][] out = {theta.toFloatArray(), trace.toFloatArray()};
        assertEquals(steps, counter.toLongArray()[0], "counter");
        for (float x : out[1]) assertFalse(Float.isNaN(x), "every trace row written");
        closeAll(theta, m, v, z, dz, lens, trace, counter);
        return out;
    }
}
