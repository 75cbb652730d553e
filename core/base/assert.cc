#include "core/base/assert.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace fe {
namespace {
std::atomic<uint64_t> g_bug_count{0};
}  // namespace

void assert_fail(const char* file, int line, const char* condition) {
    std::fprintf(stderr, "flowedge: assertion failed at %s:%d: %s\n", file, line, condition);
    std::fflush(stderr);
    std::abort();
}

void bug_report(const char* file, int line, const char* condition, const char* why,
                uint64_t count) {
    std::fprintf(stderr, "flowedge: BUG at %s:%d: %s (%s), seen %llu times\n", file, line,
                 condition, why, static_cast<unsigned long long>(count));
}

uint64_t bug_count_total() { return g_bug_count.load(std::memory_order_relaxed); }

void bug_count_add() { g_bug_count.fetch_add(1, std::memory_order_relaxed); }

}  // namespace fe
