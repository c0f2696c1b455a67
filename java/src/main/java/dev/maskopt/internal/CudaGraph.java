package dev.maskopt.internal;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;

import dev.maskopt.Device;

/**
 * An executable CUDA graph: the work a piece of code queues on a device's stream, recorded once and replayed with
 * one launch each time. A replay runs the recorded kernels on the recorded addresses with the recorded scalars, so
 * the tensors involved must stay allocated while the graph is used, and values that change between replays must
 * be read from device memory. CUDA devices only (the CPU backend runs each operation when it is called).
 */
public final class CudaGraph implements AutoCloseable {
    private final Device device;
    private NativeCore.Graph graph;

    private CudaGraph(Device device, long address) {
        this.device = device;
        this.graph = new NativeCore.Graph(Natives.raw(address));
    }

    /**
     * Records what {@code body} queues on the device; nothing runs. While recording, the device refuses
     * allocation, release, host copies and waiting (IllegalStateException). If the body throws or the capture
     * fails, the device leaves capture mode, nothing is kept, and the exception propagates.
     */
    public static CudaGraph capture(Device device, Runnable body) {
        NativeCore.Context cx = ctx(device);
        check(NativeCore.mo_capture_begin(cx), "capture_begin");
        long[] out = new long[1];
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            if (NativeCore.mo_capture_end(cx, out) == NativeCore.MO_OK) {
                NativeCore.mo_graph_destroy(new NativeCore.Graph(Natives.raw(out[0])));
            }
            throw e;
        }
        check(NativeCore.mo_capture_end(cx, out), "capture_end");
        return new CudaGraph(device, out[0]);
    }

    /** Queues {@code times} replays on the device's stream (asynchronous). */
    public void launch(long times) {
        if (graph == null) {
            throw new IllegalStateException("graph is closed");
        }
        check(NativeCore.mo_graph_launch(ctx(device), graph, times), "graph_launch");
    }

    /** Releases the graph (replays already queued are unaffected). Idempotent. */
    @Override
    public void close() {
        if (graph != null) {
            NativeCore.mo_graph_destroy(graph);
            graph = null;
        }
    }
}
