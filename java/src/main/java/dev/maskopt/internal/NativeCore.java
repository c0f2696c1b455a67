package dev.maskopt.internal;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Opaque;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The only JavaCPP peer class: one static native method per function of {@code native/include/maskopt.h},
 * same names, same argument order (outputs, inputs, sizes, scalars). Pointers are context memory (device
 * memory on CUDA) unless the parameter is a Java array, which is always host memory. Every {@code int}
 * result is a status; {@link Natives#check} turns it into an exception.
 */
@Platform(include = "maskopt.h", link = "maskopt")
public final class NativeCore {
    static {
        Loader.load();
    }

    private NativeCore() {}

    public static final int MO_BACKEND_CPU = 0, MO_BACKEND_CUDA = 1;
    public static final int MO_OK = 0, MO_ERR_INVALID = 1, MO_ERR_UNAVAILABLE = 2, MO_ERR_MEMORY = 3,
            MO_ERR_CUDA = 4, MO_ERR_STATE = 5;
    public static final int MO_CUDA_ATTENTION_MAX_T = 1024;
    public static final int MO_CNN_MAX_WIDTHS = 8;

    /** Opaque {@code mo_context*}. */
    @Opaque
    @Name("mo_context")
    public static final class Context extends Pointer {
        public Context() {
            super((Pointer) null);
        }

        public Context(Pointer p) {
            super(p);
        }
    }

    /** Opaque {@code mo_graph*}: an executable CUDA graph. */
    @Opaque
    @Name("mo_graph")
    public static final class Graph extends Pointer {
        public Graph() {
            super((Pointer) null);
        }

        public Graph(Pointer p) {
            super(p);
        }
    }

    // ---- library and backend
    public static native @Cast("const char*") String mo_last_error();

    public static native @Cast("const char*") String mo_build_info();

    public static native int mo_cuda_device_count();

    public static native @Cast("const char*") String mo_cuda_status();

    public static native Context mo_context_create(int backend, int device);

    public static native Context mo_context_create_on_stream(int device, Pointer stream);

    public static native void mo_context_destroy(Context ctx);

    public static native int mo_context_backend(@Const Context ctx);

    public static native int mo_synchronize(Context ctx);

    // ---- CUDA graphs (graph: a host array of one element receiving the mo_graph* address)
    public static native int mo_capture_begin(Context ctx);

    public static native int mo_capture_end(Context ctx, @Cast("mo_graph**") long[] graph);

    public static native int mo_graph_launch(Context ctx, Graph graph, long times);

    public static native int mo_graph_destroy(Graph graph);

    // ---- memory
    public static native Pointer mo_malloc(Context ctx, long bytes);

    public static native int mo_free(Context ctx, Pointer ptr);

    public static native int mo_upload(Context ctx, Pointer dst, @Cast("const void*") float[] hostSrc, long bytes);

    public static native int mo_upload(Context ctx, Pointer dst, @Cast("const void*") int[] hostSrc, long bytes);

    public static native int mo_download(Context ctx, @Cast("void*") float[] hostDst, @Const Pointer src, long bytes);

    public static native int mo_download(Context ctx, @Cast("void*") int[] hostDst, @Const Pointer src, long bytes);

    public static native int mo_upload(Context ctx, Pointer dst, @Cast("const void*") long[] hostSrc, long bytes);

    public static native int mo_download(Context ctx, @Cast("void*") long[] hostDst, @Const Pointer src, long bytes);

    public static native int mo_copy(Context ctx, Pointer dst, @Const Pointer src, long bytes);

    public static native int mo_fill(Context ctx, FloatPointer x, float value, long n);

    public static native int mo_count_nonfinite(Context ctx, @Cast("int64_t*") long[] count, @Const FloatPointer x,
            long n);

    // ---- random numbers
    public static native int mo_uniform(Context ctx, FloatPointer u, @Cast("uint64_t") long seed, long step, long S,
            long N, long T);

    // ---- hard concrete
    public static native int mo_hc_sample(Context ctx, FloatPointer z, FloatPointer dz, @Const FloatPointer logalpha,
            @Const IntPointer lengths, long S, long N, long T, float beta, float l, float r,
            @Cast("uint64_t") long seed, long step);

    public static native int mo_hc_gate(Context ctx, FloatPointer z, @Const FloatPointer logalpha,
            @Const IntPointer lengths, long N, long T, float l, float r);

    public static native int mo_hc_prob_open(Context ctx, FloatPointer p, @Const FloatPointer logalpha,
            @Const IntPointer lengths, long N, long T, float beta, float l, float r);

    public static native int mo_hc_regularize(Context ctx, FloatPointer dLogalpha, FloatPointer reg,
            @Const FloatPointer logalpha, @Const IntPointer lengths, long N, long T, float beta, float l, float r,
            float wL0, float wTrans);

    public static native int mo_hc_regularize_rows(Context ctx, FloatPointer dLogalpha, FloatPointer reg,
            @Const FloatPointer logalpha, @Const IntPointer lengths, @Const FloatPointer wL0Rows, long N, long T,
            float beta, float l, float r, float wTrans);

    // ---- HardKuma
    public static native int mo_kuma_sample(Context ctx, FloatPointer z, FloatPointer dz, @Const FloatPointer params,
            @Const IntPointer lengths, long S, long N, long T, float l, float r, @Cast("uint64_t") long seed,
            long step);

    public static native int mo_kuma_probs(Context ctx, FloatPointer p0, FloatPointer p1, @Const FloatPointer params,
            @Const IntPointer lengths, long N, long T, float l, float r);

    public static native int mo_kuma_gate(Context ctx, FloatPointer z, @Const FloatPointer params,
            @Const IntPointer lengths, long N, long T, float l, float r);

    public static native int mo_kuma_regularize(Context ctx, FloatPointer dParams, FloatPointer reg,
            @Const FloatPointer params, @Const IntPointer lengths, long N, long T, float l, float r, float wL0,
            float wTrans);

    public static native int mo_kuma_regularize_rows(Context ctx, FloatPointer dParams, FloatPointer reg,
            @Const FloatPointer params, @Const IntPointer lengths, @Const FloatPointer wL0Rows, long N, long T,
            float l, float r, float wTrans);

    // ---- target selection rate
    public static native int mo_rate_multiplier(Context ctx, FloatPointer lambda, FloatPointer cma,
            @Const FloatPointer reg, long N, float rho, float eta, float alpha, float lo, float hi);

    public static native int mo_rate_control(Context ctx, FloatPointer w, FloatPointer cma, @Const FloatPointer reg,
            long N, float rho, float gain, float alpha, float lo, float hi);

    // ---- mix
    public static native int mo_mix_forward(Context ctx, FloatPointer out, @Const FloatPointer z,
            @Const FloatPointer emb, @Const FloatPointer base, @Const IntPointer lengths, long S, long N, long T,
            long D, int basePerPosition);

    public static native int mo_mix_backward(Context ctx, FloatPointer dTheta, @Const FloatPointer dOut,
            @Const FloatPointer dz, @Const FloatPointer emb, @Const FloatPointer base, @Const IntPointer lengths,
            long P, long S, long N, long T, long D, int basePerPosition);

    // ---- objectives
    public static native int mo_objective(Context ctx, FloatPointer loss, FloatPointer dLogits,
            @Const FloatPointer logits, @Const IntPointer target, long S, long N, long C, float wSuff, float wComp);

    public static native int mo_cross_entropy(Context ctx, FloatPointer loss, FloatPointer dLogits,
            @Const FloatPointer logits, @Const IntPointer labels, long B, long C, float scale);

    public static native int mo_softmax(Context ctx, FloatPointer probs, @Const FloatPointer logits, long B, long C);

    // ---- optimizer
    public static native int mo_adam_update(Context ctx, FloatPointer param, FloatPointer m, FloatPointer v,
            @Const FloatPointer grad, long n, float lr, float beta1, float beta2, float eps, float weightDecay,
            long step);

    // ---- step counter (step: one int64 in context memory)
    public static native int mo_step_increment(Context ctx, @Cast("int64_t*") LongPointer step);

    public static native int mo_hc_sample_at(Context ctx, FloatPointer z, FloatPointer dz,
            @Const FloatPointer logalpha, @Const IntPointer lengths, long S, long N, long T, float beta, float l,
            float r, @Cast("uint64_t") long seed, @Cast("const int64_t*") LongPointer step);

    public static native int mo_kuma_sample_at(Context ctx, FloatPointer z, FloatPointer dz,
            @Const FloatPointer params, @Const IntPointer lengths, long S, long N, long T, float l, float r,
            @Cast("uint64_t") long seed, @Cast("const int64_t*") LongPointer step);

    public static native int mo_adam_update_at(Context ctx, FloatPointer param, FloatPointer m, FloatPointer v,
            @Const FloatPointer grad, long n, float lr, float beta1, float beta2, float eps, float weightDecay,
            @Cast("const int64_t*") LongPointer step);

    public static native int mo_trace_write(Context ctx, FloatPointer trace, @Const FloatPointer values,
            @Cast("const int64_t*") LongPointer step, long R, long n);

    // ---- embeddings
    public static native int mo_embed(Context ctx, FloatPointer out, @Const IntPointer ids, @Const IntPointer lengths,
            @Const FloatPointer table, long N, long T, long V, long D);

    // ---- CNN (widths is a host array)
    public static native long mo_cnn_param_count(@Const int[] widths, long K, long F, long D, long C);

    public static native int mo_cnn_forward(Context ctx, FloatPointer logits, FloatPointer feat, IntPointer argmax,
            @Const FloatPointer x, @Const IntPointer lengths, @Const FloatPointer params, @Const int[] widths, long K,
            long F, long C, long B, long T, long D);

    public static native int mo_cnn_backward_input(Context ctx, FloatPointer dx, @Const FloatPointer dLogits,
            @Const FloatPointer feat, @Const IntPointer argmax, @Const IntPointer lengths,
            @Const FloatPointer params, @Const int[] widths, long K, long F, long C, long B, long T, long D);

    public static native int mo_cnn_backward_params(Context ctx, FloatPointer dParams, @Const FloatPointer dLogits,
            @Const FloatPointer feat, @Const IntPointer argmax, @Const FloatPointer x, @Const IntPointer lengths,
            @Const FloatPointer params, @Const int[] widths, long K, long F, long C, long B, long T, long D);

    // ---- word-level gates
    public static native int mo_gather_gates(Context ctx, FloatPointer out, @Const FloatPointer in,
            @Const IntPointer group, @Const IntPointer lengths, long P, long S, long N, long T, long W);

    public static native int mo_segment_sum(Context ctx, FloatPointer out, @Const FloatPointer in,
            @Const IntPointer group, @Const IntPointer lengths, long P, long N, long T, long W);

    // ---- transformer encoder ops
    public static final int MO_PRECISION_FP32 = 0, MO_PRECISION_TF32 = 1, MO_PRECISION_BF16 = 2;
    public static final int MO_POOL_MEAN = 0, MO_POOL_FIRST = 1;

    public static native int mo_set_matmul_precision(Context ctx, int precision);

    public static native int mo_matmul(Context ctx, FloatPointer c, @Const FloatPointer a, @Const FloatPointer b,
            @Const FloatPointer bias, long M, long N, long K, int transB, float beta);

    public static native int mo_add(Context ctx, FloatPointer y, @Const FloatPointer a, @Const FloatPointer b, long n);

    public static native int mo_add_position(Context ctx, FloatPointer y, @Const FloatPointer x,
            @Const FloatPointer pos, @Const FloatPointer type, @Const IntPointer lengths, long B, long T, long D);

    public static native int mo_layernorm_forward(Context ctx, FloatPointer y, FloatPointer mean, FloatPointer rstd,
            @Const FloatPointer x, @Const FloatPointer gamma, @Const FloatPointer beta, long R, long D, float eps);

    public static native int mo_layernorm_backward(Context ctx, FloatPointer dx, @Const FloatPointer dy,
            @Const FloatPointer x, @Const FloatPointer mean, @Const FloatPointer rstd, @Const FloatPointer gamma,
            long R, long D);

    public static native int mo_gelu_forward(Context ctx, FloatPointer y, @Const FloatPointer x, long n);

    public static native int mo_gelu_backward(Context ctx, FloatPointer dx, @Const FloatPointer dy,
            @Const FloatPointer x, long n);

    public static native int mo_attention_forward(Context ctx, FloatPointer out, FloatPointer probs,
            @Const FloatPointer qkv, @Const IntPointer lengths, long B, long T, long H, long Dh);

    public static native int mo_attention_backward(Context ctx, FloatPointer dQkv, @Const FloatPointer dOut,
            @Const FloatPointer qkv, @Const FloatPointer probs, @Const IntPointer lengths, long B, long T, long H,
            long Dh);

    public static native int mo_pool_forward(Context ctx, FloatPointer y, @Const FloatPointer x,
            @Const IntPointer lengths, long B, long T, long D, int mode);

    public static native int mo_pool_backward(Context ctx, FloatPointer dx, @Const FloatPointer dy,
            @Const IntPointer lengths, long B, long T, long D, int mode);
}
