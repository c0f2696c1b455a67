package dev.maskopt.kernels;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Backend;
import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import dev.maskopt.Tensor;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.internal.Natives;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad sizes, null pointers and bad hyperparameters fail with MO_ERR_INVALID, which Natives.check turns into an
 * IllegalArgumentException naming the op, before any kernel runs (the output keeps its NaN poison).
 */
class ValidationTest {

    /** The arguments of one call: valid defaults, which a case breaks one at a time. */
    static final class Args {
        long S = 2, N = 3, T = 4, D = 5, C = 3, B = 3, P = 1, n = 16, V = 7, F = 2, step = 1;
        float beta = 2f / 3, l = -0.1f, r = 1.1f;
        int[] widths = {2, 3};
        long K = 2;
        String nulled = ""; // "ctx", "out", "in" or "lengths": that pointer is passed as NULL

        void set(String size, long value) {
            switch (size) {
                case "S" -> S = value;
                case "N" -> N = value;
                case "T" -> T = value;
                case "D" -> D = value;
                case "C" -> C = value;
                case "B" -> B = value;
                case "P" -> P = value;
                case "n" -> n = value;
                case "V" -> V = value;
                case "F" -> F = value;
                case "K" -> K = value;
                default -> throw new IllegalArgumentException(size);
            }
        }
    }

    /** Device buffers big enough for every default size; outputs poisoned, inputs valid. */
    static final class Fx implements AutoCloseable {
        final Device dev;
        final Tensor out, out2, out3, in, lengths, ids, intOut;

        Fx(Backend backend) {
            dev = KernelCheck.open(backend);
            out = KernelCheck.poison(dev, 4096);
            out2 = KernelCheck.poison(dev, 4096);
            out3 = KernelCheck.poison(dev, 4096);
            in = dev.floats(4096);
            in.fill(0.5f);
            int[] ones = new int[64];
            Arrays.fill(ones, 1);
            lengths = dev.upload(ones, 64); // length 1 is valid for every T
            ids = dev.upload(new int[4096], 4096); // class / token / window 0: valid everywhere
            intOut = KernelCheck.poisonInts(dev, 4096);
        }

        NativeCore.Context ctx(Args a) {
            return a.nulled.equals("ctx") ? null : Natives.ctx(dev);
        }

        FloatPointer out(Args a) {
            return a.nulled.equals("out") ? null : f(out);
        }

        FloatPointer in(Args a) {
            return a.nulled.equals("in") ? null : f(in);
        }

        IntPointer lengths(Args a) {
            return a.nulled.equals("lengths") ? null : i(lengths);
        }

        @Override
        public void close() {
            dev.close();
        }
    }

    interface Call {
        int run(Fx fx, Args a);
    }

    /** One op with a way to call it, the sizes it takes, which hyperparameters it checks, what may be null. */
    record Op(String name, Call call, String sizes, String hyper, String pointers) {}

    static final long SEED = 1;

    static final Op[] OPS = {
        new Op("uniform", (x, a) -> NativeCore.mo_uniform(x.ctx(a), x.out(a), SEED, a.step, a.S, a.N, a.T), "SNT", "",
                "ctx out"),
        new Op("hc_sample", (x, a) -> NativeCore.mo_hc_sample(x.ctx(a), x.out(a), f(x.out2), x.in(a), x.lengths(a),
                a.S, a.N, a.T, a.beta, a.l, a.r, SEED, a.step), "SNT", "blr", "ctx out in lengths"),
        new Op("hc_gate", (x, a) -> NativeCore.mo_hc_gate(x.ctx(a), x.out(a), x.in(a), x.lengths(a), a.N, a.T, a.l,
                a.r), "NT", "lr", "ctx out in lengths"),
        new Op("hc_prob_open", (x, a) -> NativeCore.mo_hc_prob_open(x.ctx(a), x.out(a), x.in(a), x.lengths(a), a.N, a.T,
                a.beta, a.l, a.r), "NT", "blr", "ctx out in lengths"),
        new Op("hc_regularize", (x, a) -> NativeCore.mo_hc_regularize(x.ctx(a), x.out(a), f(x.out2), x.in(a),
                x.lengths(a), a.N, a.T, a.beta, a.l, a.r, 1f, 1f), "NT", "blr", "ctx out in lengths"),
        new Op("kuma_sample", (x, a) -> NativeCore.mo_kuma_sample(x.ctx(a), x.out(a), f(x.out2), x.in(a), x.lengths(a),
                a.S, a.N, a.T, a.l, a.r, SEED, a.step), "SNT", "lr", "ctx out in lengths"),
        new Op("kuma_probs", (x, a) -> NativeCore.mo_kuma_probs(x.ctx(a), x.out(a), f(x.out2), x.in(a), x.lengths(a),
                a.N, a.T, a.l, a.r), "NT", "lr", "ctx out in lengths"),
        new Op("kuma_gate", (x, a) -> NativeCore.mo_kuma_gate(x.ctx(a), x.out(a), x.in(a), x.lengths(a), a.N, a.T, a.l,
                a.r), "NT", "lr", "ctx out in lengths"),
        new Op("kuma_regularize", (x, a) -> NativeCore.mo_kuma_regularize(x.ctx(a), x.out(a), f(x.out2), x.in(a),
                x.lengths(a), a.N, a.T, a.l, a.r, 1f, 1f), "NT", "lr", "ctx out in lengths"),
        new Op("mix_forward", (x, a) -> NativeCore.mo_mix_forward(x.ctx(a), x.out(a), x.in(a), f(x.in), f(x.in),
                x.lengths(a), a.S, a.N, a.T, a.D, 0), "SNTD", "", "ctx out in lengths"),
        new Op("mix_backward", (x, a) -> NativeCore.mo_mix_backward(x.ctx(a), x.out(a), x.in(a), f(x.in), f(x.in),
                f(x.in), x.lengths(a), a.P, a.S, a.N, a.T, a.D, 0), "PSNTD", "", "ctx out in lengths"),
        new Op("objective", (x, a) -> NativeCore.mo_objective(x.ctx(a), x.out(a), f(x.out2), x.in(a), i(x.ids), a.S,
                a.N, a.C, 1f, 1f), "SNC", "", "ctx out in"),
        new Op("cross_entropy", (x, a) -> NativeCore.mo_cross_entropy(x.ctx(a), x.out(a), f(x.out2), x.in(a), i(x.ids),
                a.B, a.C, 1f), "BC", "", "ctx out in"),
        new Op("softmax", (x, a) -> NativeCore.mo_softmax(x.ctx(a), x.out(a), x.in(a), a.B, a.C), "BC", "",
                "ctx out in"),
        new Op("adam_update", (x, a) -> NativeCore.mo_adam_update(x.ctx(a), x.out(a), f(x.out2), f(x.out3), x.in(a),
                a.n, 1e-2f, 0.9f, 0.999f, 1e-8f, 0f, a.step), "n", "", "ctx out in"),
        new Op("embed", (x, a) -> NativeCore.mo_embed(x.ctx(a), x.out(a), i(x.ids), x.lengths(a), x.in(a), a.N, a.T,
                a.V, a.D), "NTVD", "", "ctx out in lengths"),
        new Op("cnn_forward", (x, a) -> NativeCore.mo_cnn_forward(x.ctx(a), x.out(a), f(x.out2), i(x.intOut), x.in(a),
                x.lengths(a), f(x.in), a.widths, a.K, a.F, a.C, a.B, a.T, a.D), "KFCBTD", "", "ctx out in lengths"),
        new Op("cnn_backward_input", (x, a) -> NativeCore.mo_cnn_backward_input(x.ctx(a), x.out(a), x.in(a), f(x.in),
                i(x.ids), x.lengths(a), f(x.in), a.widths, a.K, a.F, a.C, a.B, a.T, a.D), "KFCBTD", "",
                "ctx out in lengths"),
        new Op("cnn_backward_params", (x, a) -> NativeCore.mo_cnn_backward_params(x.ctx(a), x.out(a), x.in(a), f(x.in),
                i(x.ids), f(x.in), x.lengths(a), f(x.in), a.widths, a.K, a.F, a.C, a.B, a.T, a.D), "KFCBTD", "",
                "ctx out in lengths"),
    };

    /** One broken argument of one op. */
    record Bad(Op op, String what, Consumer<Args> breakIt) {
        @Override
        public String toString() {
            return op.name() + ": " + what;
        }
    }

    static List<Bad> badCalls() {
        List<Bad> bad = new ArrayList<>();
        for (Op op : OPS) {
            for (char size : op.sizes().toCharArray()) {
                String s = String.valueOf(size);
                bad.add(new Bad(op, s + " = 0", a -> a.set(s, 0)));
                bad.add(new Bad(op, s + " = -1", a -> a.set(s, -1)));
            }
            for (String p : op.pointers().split(" ")) bad.add(new Bad(op, p + " = NULL", a -> a.nulled = p));
            if (op.hyper().contains("b")) {
                bad.add(new Bad(op, "beta = 0", a -> a.beta = 0f));
                bad.add(new Bad(op, "beta = -1", a -> a.beta = -1f));
                bad.add(new Bad(op, "beta = NaN", a -> a.beta = Float.NaN));
            }
            if (op.hyper().contains("l")) {
                bad.add(new Bad(op, "l = 0", a -> a.l = 0f));
                bad.add(new Bad(op, "l = 0.05", a -> a.l = 0.05f));
                bad.add(new Bad(op, "l = NaN", a -> a.l = Float.NaN));
            }
            if (op.hyper().contains("r")) {
                bad.add(new Bad(op, "r = 1", a -> a.r = 1f));
                bad.add(new Bad(op, "r = 0.9", a -> a.r = 0.9f));
                bad.add(new Bad(op, "r = NaN", a -> a.r = Float.NaN));
            }
        }
        Op adam = find("adam_update"), objective = find("objective"), mixBackward = find("mix_backward");
        bad.add(new Bad(adam, "step = 0", a -> a.step = 0));
        bad.add(new Bad(adam, "step = -3", a -> a.step = -3));
        bad.add(new Bad(objective, "C = 1 (no other class)", a -> a.C = 1));
        bad.add(new Bad(mixBackward, "P = 3", a -> a.P = 3));
        for (String name : new String[] {"cnn_forward", "cnn_backward_input", "cnn_backward_params"}) {
            Op cnn = find(name);
            bad.add(new Bad(cnn, "K = 9 > MO_CNN_MAX_WIDTHS", a -> {
                a.K = 9;
                a.widths = new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1};
            }));
            bad.add(new Bad(cnn, "a width of 0", a -> a.widths = new int[] {2, 0}));
            bad.add(new Bad(cnn, "a width of 17", a -> a.widths = new int[] {17, 3}));
            bad.add(new Bad(cnn, "a width of -2", a -> a.widths = new int[] {2, -2}));
            bad.add(new Bad(cnn, "widths = NULL", a -> a.widths = null));
        }
        return bad;
    }

    static Op find(String name) {
        return Arrays.stream(OPS).filter(o -> o.name().equals(name)).findFirst().orElseThrow();
    }

    static Stream<Arguments> ops() {
        return KernelCheck.withBackends((Object[]) OPS);
    }

    static Stream<Arguments> bad() {
        return KernelCheck.withBackends(badCalls().toArray());
    }

    /** The defaults are valid, so each failure below is due to the one argument it breaks. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("ops")
    void defaultArgumentsAreAccepted(Backend backend, Op op) {
        try (Fx fx = new Fx(backend)) {
            check(op.call().run(fx, new Args()), op.name());
            fx.dev.synchronize();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bad")
    void badArgumentIsRejectedBeforeAnyKernelRuns(Backend backend, Bad bad) {
        try (Fx fx = new Fx(backend)) {
            Args a = new Args();
            bad.breakIt().accept(a);
            int status = bad.op().call().run(fx, a);
            assertEquals(NativeCore.MO_ERR_INVALID, status, bad + ": status");
            String lastError = NativeCore.mo_last_error();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> check(status, bad.op().name()));
            assertTrue(e.getMessage().contains(bad.op().name()), "message does not name the op: " + e.getMessage());
            // the native message itself names the op and what is wrong
            String prefix = "mo_" + bad.op().name() + ": ";
            assertTrue(lastError.startsWith(prefix) && lastError.length() > prefix.length(),
                    bad + ": mo_last_error is '" + lastError + "'");
            // rejected before any kernel ran: the first output is still all NaN
            if (!a.nulled.equals("out")) {
                assertEquals(fx.out.numel(), fx.out.countNonFinite(), bad + ": output written");
            }
        }
    }

    @Test
    void badBackendOrDeviceIsAClearError() {
        NativeCore.Context ctx = NativeCore.mo_context_create(7, 0);
        assertTrue(ctx == null || ctx.isNull(), "backend 7 accepted");
        assertFalse(NativeCore.mo_last_error().isBlank(), "no message for backend 7");
        MaskoptException e = assertThrows(MaskoptException.class, () -> Device.cuda(99));
        assertTrue(e.getMessage().contains("cuda") || e.getMessage().contains("CUDA"), e.getMessage());
    }
}
