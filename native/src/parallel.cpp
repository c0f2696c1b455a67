// parallel: the thread pool behind parallel_for (see parallel.h). No methods.md section; no shapes.
//
// One job at a time: the caller publishes (fn, n, chunk) under the pool mutex, wakes the workers, and
// claims chunks itself from an atomic counter alongside them; it returns once no chunk is left and no
// worker is still inside the job. Chunks are claimed dynamically, which is safe for determinism because
// each chunk writes only outputs that depend on nothing but their own indices.
#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mo {
namespace {

thread_local bool t_inside_job = false;  // nested parallel_for calls run inline

int configured_threads() {
    if (const char* env = std::getenv("MASKOPT_THREADS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= 1 && v <= 1024) return (int)v;
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : (int)(hw > 1024 ? 1024 : hw);
}

class Pool {
public:
    explicit Pool(int threads) {
        for (int i = 1; i < threads; ++i) {
            try {
                workers_.emplace_back([this] { worker_loop(); });
            } catch (...) {  // could not start another thread: run with the ones we have
                break;
            }
        }
    }

    int threads() const { return (int)workers_.size() + 1; }

    // Returns false (having done nothing) when another caller holds the pool.
    bool run(int64_t n, int64_t grain, RangeFn fn, void* closure) {
        std::unique_lock<std::mutex> owner(owner_, std::try_to_lock);
        if (!owner.owns_lock()) return false;
        int64_t target_chunks = (int64_t)threads() * 4;  // a few chunks per thread to even out the load
        int64_t chunk = (n + target_chunks - 1) / target_chunks;
        if (chunk < grain) chunk = grain;
        {
            std::lock_guard<std::mutex> lk(m_);
            fn_ = fn;
            closure_ = closure;
            n_ = n;
            chunk_ = chunk;
            next_.store(0, std::memory_order_relaxed);
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        work(fn, closure, n, chunk);
        std::exception_ptr error;
        {
            std::unique_lock<std::mutex> lk(m_);
            done_.wait(lk, [this] { return active_ == 0; });
            fn_ = nullptr;  // a worker waking late must not join a finished job
            error = error_;
            error_ = nullptr;
        }
        if (error) std::rethrow_exception(error);
        return true;
    }

private:
    // Claims and runs chunks until none is left; the first exception stops further claims.
    void work(RangeFn fn, void* closure, int64_t n, int64_t chunk) {
        t_inside_job = true;
        for (;;) {
            int64_t begin = next_.fetch_add(chunk, std::memory_order_relaxed);
            if (begin >= n) break;
            int64_t end = n - begin < chunk ? n : begin + chunk;
            try {
                fn(closure, begin, end);
            } catch (...) {
                std::lock_guard<std::mutex> lk(m_);
                if (!error_) error_ = std::current_exception();
                next_.store(n, std::memory_order_relaxed);
            }
        }
        t_inside_job = false;
    }

    void worker_loop() {
        uint64_t seen = 0;
        for (;;) {
            RangeFn fn;
            void* closure;
            int64_t n, chunk;
            {
                std::unique_lock<std::mutex> lk(m_);
                wake_.wait(lk, [&] { return generation_ != seen; });
                seen = generation_;
                if (fn_ == nullptr) continue;  // that job is already over
                fn = fn_;
                closure = closure_;
                n = n_;
                chunk = chunk_;
                ++active_;
            }
            work(fn, closure, n, chunk);
            {
                std::lock_guard<std::mutex> lk(m_);
                if (--active_ == 0) done_.notify_all();
            }
        }
    }

    std::vector<std::thread> workers_;
    std::mutex owner_;  // held by the caller whose job is running
    std::mutex m_;      // guards the job description, active_ and generation_
    std::condition_variable wake_, done_;
    RangeFn fn_ = nullptr;
    void* closure_ = nullptr;
    int64_t n_ = 0, chunk_ = 1;
    std::atomic<int64_t> next_{0};
    int active_ = 0;
    uint64_t generation_ = 0;
    std::exception_ptr error_;
};

// Created on first use and intentionally never destroyed: idle workers block on a condition variable,
// and tearing them down during process exit (possibly while another thread still calls in) gains nothing.
Pool& pool() {
    static Pool* p = new Pool(configured_threads());
    return *p;
}

}  // namespace

int parallel_threads() { return pool().threads(); }

void parallel_for_impl(int64_t n, int64_t grain, RangeFn fn, void* closure) {
    if (t_inside_job || pool().threads() == 1 || !pool().run(n, grain, fn, closure)) fn(closure, 0, n);
}

}  // namespace mo
