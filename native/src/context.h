// context: the definitions behind the opaque mo_context and mo_graph of maskopt.h. No methods.md section; no shapes.
#ifndef MASKOPT_CONTEXT_H
#define MASKOPT_CONTEXT_H

#include "maskopt.h"

struct mo_context {
    int backend;   // MO_BACKEND_CPU or MO_BACKEND_CUDA
    int device;    // CUDA device ordinal (0 on the CPU)
    void* stream;  // cudaStream_t on CUDA (non-blocking, owned by the context); NULL on the CPU
    int precision = MO_PRECISION_FP32;  // mo_matmul: MO_PRECISION_* (mo_set_matmul_precision); the CPU honours BF16 only
    bool capturing = false;             // between mo_capture_begin and mo_capture_end
    bool owns_stream = true;            // false for mo_context_create_on_stream: the caller's stream, not destroyed
};

struct mo_graph {
    const mo_context* owner;  // the context whose stream was captured (replays go to that stream)
    int device;               // its CUDA device
    void* exec;               // cudaGraphExec_t
};

#endif
