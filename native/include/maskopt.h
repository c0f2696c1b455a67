/*
 * maskopt: the public C API of the native core (bound by JavaCPP, linked by the C++ tests).
 *
 * Plain types only: no CUDA types, so this header compiles everywhere. Every operation takes a
 * context (backend + stream), writes its outputs first, then reads its inputs, then takes sizes and
 * scalars. Memory passed to an operation must belong to the context's backend (device memory from
 * mo_malloc on CUDA, any host memory on the CPU); arrays documented as "host" are always host memory.
 * Every int-returning call returns MO_OK or an error code; mo_last_error() then says why.
 *
 * Shape legend: S samples, N sequences, T max length, D embedding width, C classes, B batch rows,
 * P gate parameters per position (1 for hard concrete: log alpha; 2 for HardKuma: log a, log b),
 * lengths[N] true lengths with 1 <= lengths[n] <= T. Padding (t >= lengths[n]) is never selected and
 * never counted: outputs there are 0 unless an operation says otherwise.
 *
 * Preconditions checked here (shapes, pointers, hyperparameters) fail with MO_ERR_INVALID before any
 * kernel runs. Data preconditions that live in device memory (lengths within [1, T], token ids within
 * the vocabulary, finite values) are the caller's to check: the Java layer validates them on the host
 * before upload, and mo_count_nonfinite checks float data already on the device.
 */
#ifndef MASKOPT_H
#define MASKOPT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MO_BACKEND_CPU = 0, MO_BACKEND_CUDA = 1 };

enum {
    MO_OK = 0,
    MO_ERR_INVALID = 1,     /* bad argument: null pointer, bad size or hyperparameter */
    MO_ERR_UNAVAILABLE = 2, /* backend not compiled in, or no usable GPU */
    MO_ERR_MEMORY = 3,      /* allocation failed */
    MO_ERR_CUDA = 4,        /* a CUDA runtime error (launch, copy, sync) */
    MO_ERR_STATE = 5        /* not allowed now: e.g. allocation, host copies or waiting while a graph is captured */
};

typedef struct mo_context mo_context;

/* ---- library and backend ------------------------------------------------------------------ */

/* Message of the last failed call on this thread ("" if none). Valid until the next failing call. */
const char* mo_last_error(void);
/* Version, compiler and whether CUDA was compiled in, with its architectures. */
const char* mo_build_info(void);
/* Number of usable CUDA devices (probed once, lazily, thread-safely); 0 when none or not compiled in. */
int mo_cuda_device_count(void);
/* Why CUDA is or is not usable (e.g. "no CUDA driver (error 35)"), from the same probe. */
const char* mo_cuda_status(void);

/* A context owns a backend choice and, on CUDA, a device and a non-blocking stream.
 * Returns NULL on failure (mo_last_error says why). Contexts are not thread-safe; use one per thread. */
mo_context* mo_context_create(int backend, int device);
/* A CUDA context on a stream the caller owns (a cudaStream_t of CUDA device `device`, e.g. created by an application
 * through the JavaCPP CUDA preset; 0 is the legacy default stream): operations queue there, and mo_context_destroy
 * leaves the stream alone. The caller keeps the stream alive while the context exists. NULL when CUDA is not usable. */
mo_context* mo_context_create_on_stream(int device, void* stream);
void mo_context_destroy(mo_context* ctx);
int mo_context_backend(const mo_context* ctx);
/* Waits for all work queued on the context (no-op on the CPU). Reports asynchronous CUDA errors. */
int mo_synchronize(mo_context* ctx);

/* ---- CUDA graphs ---------------------------------------------------------------------------------
 * A fixed sequence of operations queued on a CUDA context (one optimization step, say) can be captured once
 * and replayed many times with a single launch each. Capture records the operations without running them.
 * A replay runs the recorded kernels with the recorded arguments: the same device addresses and the same
 * scalars, so anything that changes between replays must live in device memory (see "step counter" below),
 * and every buffer the graph touches must stay allocated while the graph is launched.
 * While a context captures, its calls that would allocate, free, copy to or from the host, or wait
 * (mo_malloc, mo_free, mo_upload, mo_download, mo_synchronize, mo_count_nonfinite) fail with MO_ERR_STATE
 * and do nothing. Capture is per thread: begin and end on the same thread; other threads and contexts are
 * unaffected. The CPU backend has no graphs: mo_capture_begin fails with MO_ERR_UNAVAILABLE there. */
typedef struct mo_graph mo_graph;
/* Starts capturing the work queued on the context's stream. */
int mo_capture_begin(mo_context* ctx);
/* Stops capturing and instantiates what was captured: *graph (host) receives an executable graph owned by the
 * caller (mo_graph_destroy). The context leaves capture mode even when this fails (*graph is then NULL), e.g.
 * when an operation queued during the capture failed. */
int mo_capture_end(mo_context* ctx, mo_graph** graph);
/* Queues `times` (>= 1) replays of the graph on the stream of the context that captured it; asynchronous. */
int mo_graph_launch(mo_context* ctx, mo_graph* graph, int64_t times);
/* Releases an executable graph (NULL is a no-op). Work already queued is unaffected. */
int mo_graph_destroy(mo_graph* graph);

/* ---- memory (device memory on CUDA, 64-byte aligned host memory on the CPU) ---------------- */

void* mo_malloc(mo_context* ctx, int64_t bytes); /* NULL on failure */
int mo_free(mo_context* ctx, void* ptr);        /* NULL is a no-op */
/* Copies between host and context memory. Blocking with respect to the host buffer. */
int mo_upload(mo_context* ctx, void* dst, const void* host_src, int64_t bytes);
int mo_download(mo_context* ctx, void* host_dst, const void* src, int64_t bytes);
/* Copy within context memory, and fill with a float value. Queued on the stream. */
int mo_copy(mo_context* ctx, void* dst, const void* src, int64_t bytes);
int mo_fill(mo_context* ctx, float* x, float value, int64_t n);
/* count (host) = number of NaN or infinite values in x[n]. Synchronizes. */
int mo_count_nonfinite(mo_context* ctx, int64_t* count, const float* x, int64_t n);

/* ---- random numbers --------------------------------------------------------------------------
 * Philox4x32-10 with key = (seed low 32 bits, seed high 32 bits) and counter =
 * (position t, sequence n, sample s, step). The first 32-bit output x gives
 * u = ((x >> 8) + 0.5) * 2^-24, clamped to [MO_U_EPS, 1 - MO_U_EPS]. CPU and CUDA draw identical u. */
#define MO_U_EPS 1e-6f
/* u[S,N,T] for every position (padding included): exposes the gates' uniforms for tests. */
int mo_uniform(mo_context* ctx, float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T);

/* ---- hard-concrete gates (Louizos et al. 2018; methods.md section 3) ------------------------
 * Parameter: log alpha [N,T]. Constants beta > 0, l < 0, r > 1 (defaults 2/3, -0.1, 1.1). */

/* Reparameterized samples: s = sigmoid((log u - log(1-u) + log alpha) / beta), sbar = l + (r-l) s,
 * z = clamp(sbar, 0, 1); dz = dz/dlogalpha = (r-l) s (1-s) / beta where 0 < sbar < 1, else 0.
 * z, dz: [S,N,T]. */
int mo_hc_sample(mo_context* ctx, float* z, float* dz, const float* logalpha, const int32_t* lengths,
                 int64_t S, int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, int64_t step);
/* Deterministic test-time gate z[N,T] = clamp(sigmoid(log alpha) (r-l) + l, 0, 1). */
int mo_hc_gate(mo_context* ctx, float* z, const float* logalpha, const int32_t* lengths,
               int64_t N, int64_t T, float l, float r);
/* p[N,T] = P(z != 0) = sigmoid(log alpha - beta log(-l/r)). */
int mo_hc_prob_open(mo_context* ctx, float* p, const float* logalpha, const int32_t* lengths,
                    int64_t N, int64_t T, float beta, float l, float r);
/* Expected-L0 and expected-transition terms with closed-form gradients. With p_t = P(z_t != 0):
 *   reg[n,0] = sum_{t<len} p_t / len
 *   reg[n,1] = sum_{t<len-1} (p_t + p_{t+1} - 2 p_t p_{t+1}) / len      (expected number of 0/non-0 changes)
 * d_logalpha[n,t] += w_l0 * d reg[n,0] / d logalpha + w_trans * d reg[n,1] / d logalpha for t < len;
 * padding entries of d_logalpha are left unchanged (accumulating output). reg: [N,2]. */
int mo_hc_regularize(mo_context* ctx, float* d_logalpha, float* reg, const float* logalpha,
                     const int32_t* lengths, int64_t N, int64_t T, float beta, float l, float r,
                     float w_l0, float w_trans);

/* mo_hc_regularize with a per-row L0 weight: row n's L0 gradient is scaled by w_l0_rows[n] (context memory,
 * [N], read when the operation runs, so a captured graph sees the current values) instead of one w_l0; the
 * contiguity term keeps the scalar w_trans. reg is as in mo_hc_regularize. On the CPU the weights must be finite. */
int mo_hc_regularize_rows(mo_context* ctx, float* d_logalpha, float* reg, const float* logalpha,
                          const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float beta, float l,
                          float r, float w_trans);

/* ---- HardKuma gates (Bastings et al. 2019; methods.md section 1) ----------------------------
 * Parameters: params [2,N,T] = (log a, log b); a and b are clamped to [MO_KUMA_MIN, MO_KUMA_MAX]
 * (zero gradient where a clamp is active). Constants l < 0, r > 1 (defaults -0.1, 1.1). */
#define MO_KUMA_MIN 1e-6f
#define MO_KUMA_MAX 100.0f

/* Samples in log space: log v = log1p(-u) / b, log k = log(-expm1(log v)) / a, t = l + (r-l) k,
 * z = clamp(t, 0, 1). dz [2,S,N,T] = (dz/dlog a, dz/dlog b):
 *   dz/dlog a = -(r-l) k ln k,   dz/dlog b = (r-l) k v ln v / (a (1-v)),   both 0 unless 0 < t < 1. */
int mo_kuma_sample(mo_context* ctx, float* z, float* dz, const float* params, const int32_t* lengths,
                   int64_t S, int64_t N, int64_t T, float l, float r, uint64_t seed, int64_t step);
/* Closed forms p0[N,T] = P(z=0) = 1 - (1 - u0^a)^b and p1[N,T] = P(z=1) = (1 - u1^a)^b,
 * u0 = -l/(r-l), u1 = (1-l)/(r-l). */
int mo_kuma_probs(mo_context* ctx, float* p0, float* p1, const float* params, const int32_t* lengths,
                  int64_t N, int64_t T, float l, float r);
/* Deterministic gate z[N,T]: 0 if P0 > P1 else 1; but if 1-P0-P1 exceeds both, the mean of the
 * unstretched Kuma, b B(1 + 1/a, b) (the reference implementation's choice). */
int mo_kuma_gate(mo_context* ctx, float* z, const float* params, const int32_t* lengths,
                 int64_t N, int64_t T, float l, float r);
/* As mo_hc_regularize with p_t = 1 - P0_t; d_params [2,N,T] accumulates (log a, log b) gradients. */
int mo_kuma_regularize(mo_context* ctx, float* d_params, float* reg, const float* params,
                       const int32_t* lengths, int64_t N, int64_t T, float l, float r,
                       float w_l0, float w_trans);

/* mo_kuma_regularize with a per-row L0 weight w_l0_rows [N], as mo_hc_regularize_rows. */
int mo_kuma_regularize_rows(mo_context* ctx, float* d_params, float* reg, const float* params,
                            const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float l, float r,
                            float w_trans);

/* ---- target selection rate (methods.md section 1, "Lagrangian relaxation (GECO-style)") -------------
 * The sparsity weight as a Lagrange multiplier per row for the constraint E[L0]/len <= rho, updated once per step
 * from the regularizer's output, on the device (no host round trip: it runs inside a captured step):
 *   c = reg[n,0] - rho;  cma[n] = alpha cma[n] + (1 - alpha) c;  lambda[n] = clamp(lambda[n] exp(eta cma[n]), lo, hi)
 * lambda, cma [N] (updated in place); reg [N,2] as written by mo_*_regularize(_rows) (only column 0 is read).
 * rho in (0, 1], eta > 0, alpha in [0, 1), 0 < lo <= hi, all finite. Feeding lambda to mo_*_regularize_rows as
 * w_l0_rows makes the expected selection rate track rho. */
int mo_rate_multiplier(mo_context* ctx, float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta,
                       float alpha, float lo, float hi);

/* The proportional controller that maskopt's explainer uses for a target rate. In a per-instance optimization of a
 * few hundred Adam steps the multiplicative rule above winds up: the expected rate lags the multiplier by tens of
 * steps, overshoots below the target and leaves the gates saturated (on the planted task with eta 0.1 to 2, targets
 * 0.15 and 0.4 both ended between 0.01 and 0.12); and a rate above what the objective alone keeps needs a negative
 * weight, a reward for selecting. A signed L0 weight per row, from the same smoothed violation:
 *   c = reg[n,0] - rho;  cma[n] = alpha cma[n] + (1 - alpha) c;  w[n] = clamp(gain cma[n], lo, hi)
 * w, cma [N] (cma updated in place, w overwritten); reg [N,2] (column 0 is read). rho in (0, 1], gain > 0, alpha in
 * [0, 1), lo <= hi, all finite (lo may be negative). */
int mo_rate_control(mo_context* ctx, float* w, float* cma, const float* reg, int64_t N, float rho, float gain,
                    float alpha, float lo, float hi);

/* ---- masked forward mix ----------------------------------------------------------------------
 * base is [N,T,D] when base_per_position != 0, else one vector [D] for every position. */

/* out [2,S,N,T,D]: out[0,s,n,t] = z E + (1-z) B (keep), out[1,s,n,t] = (1-z) E + z B (drop),
 * with z = z[s,n,t]; 0 at padding. */
int mo_mix_forward(mo_context* ctx, float* out, const float* z, const float* emb, const float* base,
                   const int32_t* lengths, int64_t S, int64_t N, int64_t T, int64_t D,
                   int base_per_position);
/* Mix backward fused with the reparameterization backward:
 *   g[s,n,t] = sum_d (d_out[0,s,n,t,d] - d_out[1,s,n,t,d]) (E - B)[n,t,d]
 *   d_theta[p,n,t] = sum_s g[s,n,t] dz[p,s,n,t]            (d_theta [P,N,T], 0 at padding)
 * dz [P,S,N,T] is what the sampler wrote. No 1/S factor: the objective's gradient carries it. */
int mo_mix_backward(mo_context* ctx, float* d_theta, const float* d_out, const float* dz,
                    const float* emb, const float* base, const int32_t* lengths, int64_t P, int64_t S,
                    int64_t N, int64_t T, int64_t D, int base_per_position);

/* ---- objectives --------------------------------------------------------------------------- */

/* MaRC-style objective over logits [2,S,N,C] (keep rows, then drop rows), target y = target[n]:
 *   loss[n,0] = mean_s -log softmax(keep_{s,n})_y                  (sufficiency)
 *   loss[n,1] = mean_s -log(1 - softmax(drop_{s,n})_y)             (comprehensiveness)
 * d_logits [2,S,N,C] = gradient of w_suff loss[n,0] + w_comp loss[n,1] summed over n.
 * Computed with log-sum-exp (log(1 - p_y) = LSE_{c != y} - LSE_all): finite for any finite logits. */
int mo_objective(mo_context* ctx, float* loss, float* d_logits, const float* logits, const int32_t* target,
                 int64_t S, int64_t N, int64_t C, float w_suff, float w_comp);
/* Softmax cross-entropy for training: loss[B] = -log softmax(logits_b)_{labels[b]},
 * d_logits[B,C] = scale (softmax - onehot). */
int mo_cross_entropy(mo_context* ctx, float* loss, float* d_logits, const float* logits,
                     const int32_t* labels, int64_t B, int64_t C, float scale);
/* probs[B,C] = softmax(logits). */
int mo_softmax(mo_context* ctx, float* probs, const float* logits, int64_t B, int64_t C);

/* ---- optimizer ---------------------------------------------------------------------------- */

/* Fused Adam / AdamW (decoupled weight decay) on n elements, step >= 1 (bias correction):
 *   param -= lr wd param; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *   param -= lr (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps). */
int mo_adam_update(mo_context* ctx, float* param, float* m, float* v, const float* grad, int64_t n,
                   float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step);

/* ---- step counter -------------------------------------------------------------------------------
 * A captured step must not take its step number by value (the value would be frozen into the graph). These
 * variants read it from step[0], an int64 in context memory, when they run, and give bit for bit what the
 * by-value operation gives for the same step. On the CPU step[0] is checked like the by-value argument; on
 * CUDA it is the caller's to keep in range (the samplers use its low 32 bits; Adam needs step[0] >= 1). */

/* step[0] += 1. */
int mo_step_increment(mo_context* ctx, int64_t* step);
/* mo_hc_sample and mo_kuma_sample with the Philox step read from step[0]. */
int mo_hc_sample_at(mo_context* ctx, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                    int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step);
int mo_kuma_sample_at(mo_context* ctx, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                      int64_t N, int64_t T, float l, float r, uint64_t seed, const int64_t* step);
/* mo_adam_update with the bias-correction step read from step[0]. */
int mo_adam_update_at(mo_context* ctx, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, const int64_t* step);
/* Row step[0] of trace [R,n] = values [n] (a per-step record, e.g. losses written to a scratch row). The other
 * rows are untouched; on CUDA nothing is written when step[0] is outside [0, R). values must not overlap trace. */
int mo_trace_write(mo_context* ctx, float* trace, const float* values, const int64_t* step, int64_t R, int64_t n);

/* ---- embeddings --------------------------------------------------------------------------- */

/* out[N,T,D] = table[ids[n,t]] for t < len, 0 at padding. table [V,D]; ids [N,T] in [0, V). */
int mo_embed(mo_context* ctx, float* out, const int32_t* ids, const int32_t* lengths, const float* table,
             int64_t N, int64_t T, int64_t V, int64_t D);

/* ---- 1-D CNN text classifier (Kim 2014; CNN-static: embeddings are inputs) -----------------
 * widths: host array [K] of convolution widths (1 <= K <= MO_CNN_MAX_WIDTHS, each 1..16), F filters each.
 * params, flat, in this order: for each k: W_k [F, w_k, D], b_k [F]; then fc_W [C, K F], fc_b [C].
 * For row b of length L and width w, windows start at p in [0, max(L - w + 1, 1)); rows >= L read as 0.
 * feat[b, k F + f] = relu(max_p (b_k[f] + sum_{i<w, d} W_k[f,i,d] x[b,p+i,d])); argmax = first maximizing p. */
#define MO_CNN_MAX_WIDTHS 8
int64_t mo_cnn_param_count(const int32_t* widths, int64_t K, int64_t F, int64_t D, int64_t C);
/* logits [B,C], feat [B,K F], argmax [B,K F] (int32). x [B,T,D], lengths [B]. */
int mo_cnn_forward(mo_context* ctx, float* logits, float* feat, int32_t* argmax, const float* x,
                   const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F,
                   int64_t C, int64_t B, int64_t T, int64_t D);
/* dx [B,T,D] from d_logits [B,C] and what the forward wrote (relu'(0) = 0; 0 at padding). */
int mo_cnn_backward_input(mo_context* ctx, float* dx, const float* d_logits, const float* feat,
                          const int32_t* argmax, const int32_t* lengths, const float* params,
                          const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T,
                          int64_t D);
/* d_params (same layout as params, fully written) summed over the B rows. */
int mo_cnn_backward_params(mo_context* ctx, float* d_params, const float* d_logits, const float* feat,
                           const int32_t* argmax, const float* x, const int32_t* lengths,
                           const float* params, const int32_t* widths, int64_t K, int64_t F, int64_t C,
                           int64_t B, int64_t T, int64_t D);

/* ---- word-level gates ------------------------------------------------------------------------
 * Gates may be shared by the tokens of a word (the word pieces of a BERT tokenizer): group [N,T] (int32)
 * maps each token to its word in [0, W), or to -1 for tokens that are never masked (special tokens);
 * a -1 token's baseline is its own embedding, so its gate has no effect. */

/* out [P,S,N,T] = in [P,S,N,W] at group[n,t] for t < len and group >= 0; 0 elsewhere. (P planes, e.g. z
 * with P = 1, or dz with P = 1 or 2.) */
int mo_gather_gates(mo_context* ctx, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                    int64_t P, int64_t S, int64_t N, int64_t T, int64_t W);
/* out [P,N,W] = sum over t < len with group[n,t] = w of in [P,N,T], in increasing t (0 for empty words). */
int mo_segment_sum(mo_context* ctx, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                   int64_t P, int64_t N, int64_t T, int64_t W);

/* ---- transformer encoder ops (post-LayerNorm BERT family) -----------------------------------
 * Shape legend: R rows, B sequences, T length, D hidden width, H heads, Dh = D / H head width. Row-major.
 * Forward ops save what their backward needs; backward ops give input gradients only (no weight grads).
 * Outputs must not overlap inputs, except the elementwise ops (mo_add, mo_add_position, mo_gelu_*), which
 * may work in place. mo_attention_backward also uses d_qkv as scratch between its kernels. */

enum { MO_PRECISION_FP32 = 0, MO_PRECISION_TF32 = 1, MO_PRECISION_BF16 = 2 };
/* Precision of mo_matmul on this context: FP32 (default; exact enough for parity tests), or CUDA tensor
 * cores with TF32 or BF16 inputs and FP32 accumulation. On the CPU, BF16 rounds the inputs to bfloat16 and
 * accumulates in FP32 (VDPBF16PS) on CPUs with AVX512-BF16, chosen at run time, and computes in FP32 elsewhere;
 * TF32 computes in FP32. (Attention's internal products stay FP32 on the CPU.) */
int mo_set_matmul_precision(mo_context* ctx, int precision);

/* c[M,N] = a[M,K] op(b) + bias[N] + beta c, op(b) = b [K,N] when trans_b = 0, or b^T for b [N,K] when
 * trans_b = 1. bias may be NULL. beta is 0 (c is overwritten) or 1 (c accumulates). */
int mo_matmul(mo_context* ctx, float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
              int64_t K, int trans_b, float beta);
/* y[n] = a[n] + b[n] (y may alias a or b). */
int mo_add(mo_context* ctx, float* y, const float* a, const float* b, int64_t n);

/* BERT embedding sum before its LayerNorm: y[b,t] = x[b,t] + pos[t] + type (token type 0) for t < len,
 * 0 at padding. pos [>= T, D], type [D]. Its input gradient is the identity at real rows. */
int mo_add_position(mo_context* ctx, float* y, const float* x, const float* pos, const float* type,
                    const int32_t* lengths, int64_t B, int64_t T, int64_t D);

/* y[R,D] = (x - mean) rstd gamma + beta with mean, rstd = 1/sqrt(var + eps) over the row (population
 * variance); mean[R] and rstd[R] are saved for the backward. */
int mo_layernorm_forward(mo_context* ctx, float* y, float* mean, float* rstd, const float* x, const float* gamma,
                         const float* beta, int64_t R, int64_t D, float eps);
/* dx[R,D] = input gradient of the LayerNorm given dy (gamma and beta are constants). */
int mo_layernorm_backward(mo_context* ctx, float* dx, const float* dy, const float* x, const float* mean,
                          const float* rstd, const float* gamma, int64_t R, int64_t D);

/* y = 0.5 x (1 + erf(x / sqrt 2)) on n elements (exact GELU). */
int mo_gelu_forward(mo_context* ctx, float* y, const float* x, int64_t n);
int mo_gelu_backward(mo_context* ctx, float* dx, const float* dy, const float* x, int64_t n);

/* Longest T the CUDA attention accepts: its kernels keep 16 (T + 1) scores (forward) or 16 T values (backward)
 * per block in shared memory, and at this T that fits the smallest per-block limit of the GPUs it is built
 * for (99 KiB on sm_86/89/120). Longer sequences fail with MO_ERR_INVALID on CUDA; the CPU has no limit. */
#define MO_CUDA_ATTENTION_MAX_T 1024

/* Multi-head self-attention. qkv [B,T,3D] holds q, k, v side by side in each row (head h uses columns
 * h Dh .. (h+1) Dh - 1 of each of the three). For query rows t < len:
 *   probs[b,h,t,t'] = softmax over t' < len of (q_t . k_t') / sqrt(Dh), 0 for t' >= len
 *   out[b,t, h Dh + j] = sum_t' probs[b,h,t,t'] v[t', h Dh + j]
 * Query rows t >= len: probs and out are 0. probs [B,H,T,T] is saved for the backward. */
int mo_attention_forward(mo_context* ctx, float* out, float* probs, const float* qkv, const int32_t* lengths,
                         int64_t B, int64_t T, int64_t H, int64_t Dh);
/* d_qkv [B,T,3D] from d_out [B,T,D] (0 at padding rows). */
int mo_attention_backward(mo_context* ctx, float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                          const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh);

enum { MO_POOL_MEAN = 0, MO_POOL_FIRST = 1 };
/* y[B,D] = mean of x[b,t] over t < len (MO_POOL_MEAN), or x[b,0] ([CLS], MO_POOL_FIRST). */
int mo_pool_forward(mo_context* ctx, float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T,
                    int64_t D, int mode);
/* dx[B,T,D] from dy[B,D] (0 at padding and, for MO_POOL_FIRST, at t > 0). */
int mo_pool_backward(mo_context* ctx, float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T,
                     int64_t D, int mode);

#ifdef __cplusplus
}
#endif

#endif /* MASKOPT_H */
