// memory: cpu_fill and cpu_count_nonfinite, the CPU halves of mo_fill and mo_count_nonfinite (no methods.md
// section). Shapes: x [n].
#include <stdint.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "ops.h"
#include "parallel.h"

namespace mo {

void cpu_fill(float* x, float value, int64_t n) {
    parallel_for(n, 1 << 18, [&](int64_t begin, int64_t end) { std::fill(x + begin, x + end, value); });
}

// NaN or infinity = all exponent bits set; tested on the bits so it holds under any floating-point flags.
int64_t cpu_count_nonfinite(const float* x, int64_t n) {
    std::atomic<int64_t> total{0};
    parallel_for(n, 1 << 16, [&](int64_t begin, int64_t end) {
        int64_t count = 0;
        for (int64_t i = begin; i < end; ++i) {
            uint32_t bits;
            std::memcpy(&bits, x + i, sizeof bits);
            count += (bits & 0x7f800000u) == 0x7f800000u;
        }
        total.fetch_add(count, std::memory_order_relaxed);  // integer sum: order does not matter
    });
    return total.load();
}

}  // namespace mo
