// philox: the counter-based generator shared by the CPU twins and the CUDA kernels (methods.md, numerical
// notes; Salmon et al. 2011, Philox4x32-10). Compiled as host code by g++ and as host+device code by nvcc,
// so both backends draw bit-identical uniforms for the same (seed, step, sample, sequence, position).
#ifndef MASKOPT_PHILOX_H
#define MASKOPT_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define MO_HD __host__ __device__ __forceinline__
#else
#define MO_HD inline
#endif

namespace mo {

struct Philox4 {
    uint32_t v[4];
};

MO_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

// Philox4x32 with 10 rounds; the key is bumped between rounds (Random123's philox4x32_R(10, ...)).
MO_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += W0;
            k1 += W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        philox_mulhilo(M0, c0, &hi0, &lo0);
        philox_mulhilo(M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    Philox4 out;
    out.v[0] = c0;
    out.v[1] = c1;
    out.v[2] = c2;
    out.v[3] = c3;
    return out;
}

// The uniform used by every gate sampler: counter = (t, n, s, step), key = seed; see MO_U_EPS in maskopt.h.
MO_HD float philox_uniform(uint64_t seed, int64_t step, int64_t s, int64_t n, int64_t t) {
    Philox4 x = philox4x32_10((uint32_t)t, (uint32_t)n, (uint32_t)s, (uint32_t)step, (uint32_t)seed,
                              (uint32_t)(seed >> 32));
    float u = ((float)(x.v[0] >> 8) + 0.5f) * 5.9604644775390625e-08f;  // 2^-24
    const float lo = 1e-6f, hi = 1.0f - 1e-6f;
    return u < lo ? lo : (u > hi ? hi : u);
}

}  // namespace mo

#endif
