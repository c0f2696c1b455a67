// ops: the internal interface between dispatch.cpp and the two backends. Every operation of maskopt.h has
// a CPU twin cpu_<op> (native/src/<file>.cpp) and a CUDA launcher cuda_<op> (cuda/<file>.cu) with the same
// arguments minus the context. Arguments arrive validated (dispatch.cpp). CPU twins run synchronously
// (multi-threaded through parallel.h, deterministic). CUDA launchers queue work on `stream` (a
// cudaStream_t passed as void*, so this header stays free of CUDA types) and return the cudaError_t of
// the launch as an int (0 = success); they never synchronize unless documented.
#ifndef MASKOPT_OPS_H
#define MASKOPT_OPS_H

#include <stdint.h>

namespace mo {

// ---- CPU twins ----
void cpu_uniform(float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T);
void cpu_hc_sample(float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S, int64_t N,
                   int64_t T, float beta, float l, float r, uint64_t seed, int64_t step);
void cpu_hc_gate(float* z, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T, float l, float r);
void cpu_hc_prob_open(float* p, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T, float beta,
                      float l, float r);
void cpu_hc_regularize(float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths, int64_t N,
                       int64_t T, float beta, float l, float r, float w_l0, float w_trans);
void cpu_hc_regularize_rows(float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths,
                            const float* w_l0_rows, int64_t N, int64_t T, float beta, float l, float r, float w_l0,
                            float w_trans);
void cpu_kuma_sample(float* z, float* dz, const float* params, const int32_t* lengths, int64_t S, int64_t N,
                     int64_t T, float l, float r, uint64_t seed, int64_t step);
void cpu_kuma_probs(float* p0, float* p1, const float* params, const int32_t* lengths, int64_t N, int64_t T,
                    float l, float r);
void cpu_kuma_gate(float* z, const float* params, const int32_t* lengths, int64_t N, int64_t T, float l, float r);
void cpu_kuma_regularize(float* d_params, float* reg, const float* params, const int32_t* lengths, int64_t N,
                         int64_t T, float l, float r, float w_l0, float w_trans);
void cpu_kuma_regularize_rows(float* d_params, float* reg, const float* params, const int32_t* lengths,
                              const float* w_l0_rows, int64_t N, int64_t T, float l, float r, float w_l0,
                              float w_trans);
void cpu_rate_multiplier(float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta, float alpha,
                         float lo, float hi);
void cpu_rate_control(float* w, float* cma, const float* reg, int64_t N, float rho, float gain, float alpha, float lo,
                      float hi);
void cpu_mix_forward(float* out, const float* z, const float* emb, const float* base, const int32_t* lengths,
                     int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position);
void cpu_mix_backward(float* d_theta, const float* d_out, const float* dz, const float* emb, const float* base,
                      const int32_t* lengths, int64_t P, int64_t S, int64_t N, int64_t T, int64_t D,
                      int base_per_position);
void cpu_objective(float* loss, float* d_logits, const float* logits, const int32_t* target, int64_t S, int64_t N,
                   int64_t C, float w_suff, float w_comp);
void cpu_cross_entropy(float* loss, float* d_logits, const float* logits, const int32_t* labels, int64_t B,
                       int64_t C, float scale);
void cpu_softmax(float* probs, const float* logits, int64_t B, int64_t C);
void cpu_adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, int64_t step);

// ---- CPU twins: the step counter (step points at host memory on the CPU backend) ----
void cpu_step_increment(int64_t* step);
void cpu_hc_sample_at(float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S, int64_t N,
                      int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step);
void cpu_kuma_sample_at(float* z, float* dz, const float* params, const int32_t* lengths, int64_t S, int64_t N,
                        int64_t T, float l, float r, uint64_t seed, const int64_t* step);
void cpu_adam_update_at(float* param, float* m, float* v, const float* grad, int64_t n, float lr, float beta1,
                        float beta2, float eps, float weight_decay, const int64_t* step);
void cpu_trace_write(float* trace, const float* values, const int64_t* step, int64_t R, int64_t n);
void cpu_embed(float* out, const int32_t* ids, const int32_t* lengths, const float* table, int64_t N, int64_t T,
               int64_t V, int64_t D);
void cpu_fill(float* x, float value, int64_t n);
int64_t cpu_count_nonfinite(const float* x, int64_t n);
void cpu_cnn_forward(float* logits, float* feat, int32_t* argmax, const float* x, const int32_t* lengths,
                     const float* params, const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B,
                     int64_t T, int64_t D);
void cpu_cnn_backward_input(float* dx, const float* d_logits, const float* feat, const int32_t* argmax,
                            const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F,
                            int64_t C, int64_t B, int64_t T, int64_t D);
void cpu_cnn_backward_params(float* d_params, const float* d_logits, const float* feat, const int32_t* argmax,
                             const float* x, const int32_t* lengths, const float* params, const int32_t* widths,
                             int64_t K, int64_t F, int64_t C, int64_t B, int64_t T, int64_t D);

// ---- CPU twins: word gates and encoder ops ----
void cpu_gather_gates(float* out, const float* in, const int32_t* group, const int32_t* lengths, int64_t P, int64_t S,
                      int64_t N, int64_t T, int64_t W);
void cpu_segment_sum(float* out, const float* in, const int32_t* group, const int32_t* lengths, int64_t P, int64_t N,
                     int64_t T, int64_t W);
void cpu_matmul(float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N, int64_t K,
                int trans_b, float beta);
// MO_PRECISION_BF16 on the CPU (matmul_bf16.cpp): only where cpu_matmul_bf16_available() (AVX512-BF16).
bool cpu_matmul_bf16_available();
void cpu_matmul_bf16(float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N, int64_t K,
                     int trans_b, float beta);
void cpu_add(float* y, const float* a, const float* b, int64_t n);
void cpu_add_position(float* y, const float* x, const float* pos, const float* type, const int32_t* lengths, int64_t B,
                      int64_t T, int64_t D);
void cpu_layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                           int64_t R, int64_t D, float eps);
void cpu_layernorm_backward(float* dx, const float* dy, const float* x, const float* mean, const float* rstd,
                            const float* gamma, int64_t R, int64_t D);
void cpu_gelu_forward(float* y, const float* x, int64_t n);
void cpu_gelu_backward(float* dx, const float* dy, const float* x, int64_t n);
void cpu_attention_forward(float* out, float* probs, const float* qkv, const int32_t* lengths, int64_t B, int64_t T,
                           int64_t H, int64_t Dh);
void cpu_attention_backward(float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                            const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh);
void cpu_pool_forward(float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T, int64_t D, int mode);
void cpu_pool_backward(float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T, int64_t D, int mode);

// ---- CUDA runtime plumbing (cuda/runtime.cu); all return a cudaError_t as int ----
int cuda_device_count(int* count);               // cudaGetDeviceCount
int cuda_set_device(int device);                 // makes `device` current on this thread before a launch
const char* cuda_error_string(int err);          // cudaGetErrorString
int cuda_stream_create(int device, void** stream);
int cuda_stream_destroy(int device, void* stream);
int cuda_stream_synchronize(int device, void* stream);
int cuda_malloc(int device, void** ptr, int64_t bytes);
int cuda_free(int device, void* ptr);
int cuda_upload(int device, void* stream, void* dst, const void* host_src, int64_t bytes);    // synchronous
int cuda_download(int device, void* stream, void* host_dst, const void* src, int64_t bytes);  // synchronous
int cuda_copy(void* stream, void* dst, const void* src, int64_t bytes);
int cuda_fill(void* stream, float* x, float value, int64_t n);
int cuda_count_nonfinite(void* stream, int64_t* count, const float* x, int64_t n);           // synchronous
// Graphs: capture on the stream (thread-local mode), end + instantiate (*exec = cudaGraphExec_t, NULL on failure;
// capture mode is left either way), `times` launches on the stream, and release.
int cuda_capture_begin(void* stream);
int cuda_capture_end(void* stream, void** exec);
int cuda_graph_launch(void* stream, void* exec, int64_t times);
int cuda_graph_destroy(int device, void* exec);
const char* cuda_architectures(void);           // e.g. "sm_80 sm_90" (compile-time list)

// ---- CUDA launchers ----
int cuda_uniform(void* stream, float* u, uint64_t seed, int64_t step, int64_t S, int64_t N, int64_t T);
int cuda_hc_sample(void* stream, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                   int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, int64_t step);
int cuda_hc_gate(void* stream, float* z, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
                 float l, float r);
int cuda_hc_prob_open(void* stream, float* p, const float* logalpha, const int32_t* lengths, int64_t N, int64_t T,
                      float beta, float l, float r);
int cuda_hc_regularize(void* stream, float* d_logalpha, float* reg, const float* logalpha, const int32_t* lengths,
                       int64_t N, int64_t T, float beta, float l, float r, float w_l0, float w_trans);
int cuda_hc_regularize_rows(void* stream, float* d_logalpha, float* reg, const float* logalpha,
                            const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float beta, float l,
                            float r, float w_l0, float w_trans);
int cuda_kuma_sample(void* stream, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                     int64_t N, int64_t T, float l, float r, uint64_t seed, int64_t step);
int cuda_kuma_probs(void* stream, float* p0, float* p1, const float* params, const int32_t* lengths, int64_t N,
                    int64_t T, float l, float r);
int cuda_kuma_gate(void* stream, float* z, const float* params, const int32_t* lengths, int64_t N, int64_t T,
                   float l, float r);
int cuda_kuma_regularize(void* stream, float* d_params, float* reg, const float* params, const int32_t* lengths,
                         int64_t N, int64_t T, float l, float r, float w_l0, float w_trans);
int cuda_kuma_regularize_rows(void* stream, float* d_params, float* reg, const float* params,
                              const int32_t* lengths, const float* w_l0_rows, int64_t N, int64_t T, float l, float r,
                              float w_l0, float w_trans);
int cuda_rate_multiplier(void* stream, float* lambda, float* cma, const float* reg, int64_t N, float rho, float eta,
                         float alpha, float lo, float hi);
int cuda_rate_control(void* stream, float* w, float* cma, const float* reg, int64_t N, float rho, float gain,
                      float alpha, float lo, float hi);
int cuda_mix_forward(void* stream, float* out, const float* z, const float* emb, const float* base,
                     const int32_t* lengths, int64_t S, int64_t N, int64_t T, int64_t D, int base_per_position);
int cuda_mix_backward(void* stream, float* d_theta, const float* d_out, const float* dz, const float* emb,
                      const float* base, const int32_t* lengths, int64_t P, int64_t S, int64_t N, int64_t T,
                      int64_t D, int base_per_position);
int cuda_objective(void* stream, float* loss, float* d_logits, const float* logits, const int32_t* target, int64_t S,
                   int64_t N, int64_t C, float w_suff, float w_comp);
int cuda_cross_entropy(void* stream, float* loss, float* d_logits, const float* logits, const int32_t* labels,
                       int64_t B, int64_t C, float scale);
int cuda_softmax(void* stream, float* probs, const float* logits, int64_t B, int64_t C);
int cuda_adam_update(void* stream, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                     float beta1, float beta2, float eps, float weight_decay, int64_t step);
// Step counter variants: step is device memory, read by the kernels.
int cuda_step_increment(void* stream, int64_t* step);
int cuda_hc_sample_at(void* stream, float* z, float* dz, const float* logalpha, const int32_t* lengths, int64_t S,
                      int64_t N, int64_t T, float beta, float l, float r, uint64_t seed, const int64_t* step);
int cuda_kuma_sample_at(void* stream, float* z, float* dz, const float* params, const int32_t* lengths, int64_t S,
                        int64_t N, int64_t T, float l, float r, uint64_t seed, const int64_t* step);
int cuda_adam_update_at(void* stream, float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, const int64_t* step);
int cuda_trace_write(void* stream, float* trace, const float* values, const int64_t* step, int64_t R, int64_t n);
int cuda_embed(void* stream, float* out, const int32_t* ids, const int32_t* lengths, const float* table, int64_t N,
               int64_t T, int64_t V, int64_t D);
int cuda_cnn_forward(void* stream, float* logits, float* feat, int32_t* argmax, const float* x,
                     const int32_t* lengths, const float* params, const int32_t* widths, int64_t K, int64_t F,
                     int64_t C, int64_t B, int64_t T, int64_t D);
int cuda_cnn_backward_input(void* stream, float* dx, const float* d_logits, const float* feat, const int32_t* argmax,
                            const int32_t* lengths, const float* params, const int32_t* widths, int64_t K,
                            int64_t F, int64_t C, int64_t B, int64_t T, int64_t D);
int cuda_cnn_backward_params(void* stream, float* d_params, const float* d_logits, const float* feat,
                             const int32_t* argmax, const float* x, const int32_t* lengths, const float* params,
                             const int32_t* widths, int64_t K, int64_t F, int64_t C, int64_t B, int64_t T,
                             int64_t D);

// ---- CUDA launchers: word gates and encoder ops (mo_matmul's precision arrives as an argument) ----
int cuda_gather_gates(void* stream, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                      int64_t P, int64_t S, int64_t N, int64_t T, int64_t W);
int cuda_segment_sum(void* stream, float* out, const float* in, const int32_t* group, const int32_t* lengths,
                     int64_t P, int64_t N, int64_t T, int64_t W);
int cuda_matmul(void* stream, float* c, const float* a, const float* b, const float* bias, int64_t M, int64_t N,
                int64_t K, int trans_b, float beta, int precision);
int cuda_add(void* stream, float* y, const float* a, const float* b, int64_t n);
int cuda_add_position(void* stream, float* y, const float* x, const float* pos, const float* type,
                      const int32_t* lengths, int64_t B, int64_t T, int64_t D);
int cuda_layernorm_forward(void* stream, float* y, float* mean, float* rstd, const float* x, const float* gamma,
                           const float* beta, int64_t R, int64_t D, float eps);
int cuda_layernorm_backward(void* stream, float* dx, const float* dy, const float* x, const float* mean,
                            const float* rstd, const float* gamma, int64_t R, int64_t D);
int cuda_gelu_forward(void* stream, float* y, const float* x, int64_t n);
int cuda_gelu_backward(void* stream, float* dx, const float* dy, const float* x, int64_t n);
int cuda_attention_forward(void* stream, float* out, float* probs, const float* qkv, const int32_t* lengths, int64_t B,
                           int64_t T, int64_t H, int64_t Dh);
int cuda_attention_backward(void* stream, float* d_qkv, const float* d_out, const float* qkv, const float* probs,
                            const int32_t* lengths, int64_t B, int64_t T, int64_t H, int64_t Dh);
int cuda_pool_forward(void* stream, float* y, const float* x, const int32_t* lengths, int64_t B, int64_t T, int64_t D,
                      int mode);
int cuda_pool_backward(void* stream, float* dx, const float* dy, const int32_t* lengths, int64_t B, int64_t T,
                       int64_t D, int mode);

}  // namespace mo

#endif
