package dev.maskopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Backend selection, tensor transfers and lifetimes. */
class DeviceTest {
    @Test
    void reportsBuildAndBackend() {
        assertTrue(Device.buildInfo().contains("maskopt"), Device.buildInfo());
        assertTrue(Device.cudaStatus().length() > 0);
        try (Device d = Device.cpu()) {
            assertEquals(Backend.CPU, d.backend());
        }
    }

    @Test
    void roundTripsAndFills() {
        try (Device d = Device.cpu(); Tensor t = d.upload(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
                Tensor u = d.upload(new int[] {7, -8}, 2)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
            assertArrayEquals(new int[] {7, -8}, u.toIntArray());
            assertEquals(0, t.countNonFinite());
            t.fill(Float.NaN);
            assertEquals(6, t.countNonFinite());
            assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[5]));
            assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new int[6]));
        }
    }

    @Test
    void int64TensorsRoundTrip() {
        try (Device d = Device.cpu(); Tensor c = d.upload(new long[] {Long.MIN_VALUE, -1, 1L << 40}, 3)) {
            assertEquals(Tensor.DType.INT64, c.dtype());
            assertEquals(8, c.dtype().bytes());
            assertArrayEquals(new long[] {Long.MIN_VALUE, -1, 1L << 40}, c.toLongArray());
            c.copyFrom(new long[] {3, 2, 1});
            assertArrayEquals(new long[] {3, 2, 1}, c.toLongArray());
            assertThrows(IllegalArgumentException.class, () -> c.copyFrom(new long[2]));
            assertThrows(IllegalArgumentException.class, c::toIntArray);
            assertThrows(IllegalArgumentException.class, () -> c.fill(0f));
        }
    }

    @Test
    void tensorsAreReleasedDeterministically() {
        Device d = Device.cpu();
        Tensor t = d.floats(4);
        t.close();
        t.close(); // idempotent
        assertThrows(IllegalStateException.class, t::address);
        Tensor open = d.floats(8);
        assertEquals(1, d.liveTensors());
        d.close(); // frees what is still open
        d.close();
        assertThrows(IllegalStateException.class, open::address);
        assertThrows(IllegalStateException.class, () -> d.floats(1));
        assertThrows(IllegalArgumentException.class, () -> Device.cpu().floats(0, 3));
    }

    @Test
    void requiringAGpuWithoutOneIsAnError() {
        if (Device.cudaDeviceCount() > 0) {
            return; // the switch only matters where no GPU is usable
        }
        System.setProperty("maskopt.requireGpu", "true");
        try {
            MaskoptException e = assertThrows(MaskoptException.class, Device::auto);
            assertTrue(e.getMessage().contains("GPU is required"), e.getMessage());
            assertThrows(MaskoptException.class, () -> Device.cuda(0));
        } finally {
            System.clearProperty("maskopt.requireGpu");
        }
        try (Device d = Device.auto()) {
            assertEquals(Backend.CPU, d.backend());
        }
    }

    @Test
    void wrapsMemoryTheCallerOwnsWithoutCopyingOrFreeingIt() {
        try (org.bytedeco.javacpp.FloatPointer host = new org.bytedeco.javacpp.FloatPointer(6)) {
            host.put(new float[] {1, 2, 3, 4, 5, 6});
            try (Device d = Device.cpu()) {
                Tensor t = d.wrap(host.address(), Tensor.DType.FLOAT32, 2, 3);
                assertEquals(host.address(), t.address());
                assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
                t.fill(7f); // writes land in the caller's memory
                assertEquals(7f, host.get(4));
                t.close();
                assertThrows(IllegalStateException.class, t::address);
                d.wrap(host.address(), Tensor.DType.INT32, 6).close();
                assertThrows(IllegalArgumentException.class, () -> d.wrap(0, Tensor.DType.FLOAT32, 1));
                assertThrows(IllegalArgumentException.class, () -> d.wrap(host.address() + 4, Tensor.DType.FLOAT32, 1));
                d.wrap(host.address(), Tensor.DType.FLOAT32, 6); // left open: closing the device must not free it
            }
            host.put(0, 8f); // still the caller's, still valid
            assertEquals(8f, host.get(0));
        }
    }

    @Test
    void aContextOnTheCallersStreamNeedsAUsableGpu() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Device.cudaDeviceCount() == 0, "a GPU is usable here");
        MaskoptException e = assertThrows(MaskoptException.class, () -> Device.cudaOnStream(0, 0));
        assertTrue(e.getMessage().contains("mo_context_create_on_stream"), e.getMessage());
    }
}
