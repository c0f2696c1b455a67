// parallel: a small persistent std::thread pool behind one call, parallel_for(n, grain, fn(begin, end)).
// The CPU twins split an outer dimension into chunks of at least `grain` indices; fn must compute every
// output it owns from its index alone (no cross-chunk accumulation), so results do not depend on the
// thread count or on which thread ran which chunk.
//
// Threads: std::thread::hardware_concurrency(), or the environment variable MASKOPT_THREADS (read once).
// Calls from several threads are safe: one caller at a time gets the pool, the others (and any nested
// call made from inside fn) run their whole range inline on the calling thread. n <= grain runs inline.
#ifndef MASKOPT_PARALLEL_H
#define MASKOPT_PARALLEL_H

#include <stdint.h>

#include <memory>
#include <type_traits>

namespace mo {

// Threads a parallel_for may use, the caller included (>= 1).
int parallel_threads();

using RangeFn = void (*)(void* closure, int64_t begin, int64_t end);
void parallel_for_impl(int64_t n, int64_t grain, RangeFn fn, void* closure);

template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (n <= grain) {  // too small to be worth waking anyone
        fn(int64_t(0), n);
        return;
    }
    using Fn = std::remove_reference_t<F>;
    parallel_for_impl(
        n, grain, [](void* c, int64_t b, int64_t e) { (*static_cast<Fn*>(c))(b, e); },
        const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
}

// A grain (in items) so that one chunk holds about `target` units of work when one item costs `cost`.
inline int64_t grain_for(int64_t cost, int64_t target = 32768) {
    return cost >= target ? 1 : target / (cost < 1 ? 1 : cost);
}

}  // namespace mo

#endif
