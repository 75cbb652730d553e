// File: core/base/assert.h
//
// Assertions for programmer errors (never for untrusted input; see STYLE §6).
//
//   FE_ASSERT(slot_index < slot_count_);      // on in every build
//   FE_DASSERT(table_is_consistent());        // debug and sanitizer builds only
//   if (FE_BUG(state_ == State::kClosed, "recv after close")) { return; }
//
// FE_BUG is for "should never happen but we can continue": it aborts in debug
// and sanitizer builds, and in release counts the event and logs it
// (rate-limited: once per power of two occurrences per call site).
#pragma once

#include <cstdint>

namespace fe {

[[noreturn]] void assert_fail(const char* file, int line, const char* condition);
void bug_report(const char* file, int line, const char* condition, const char* why,
                uint64_t count);

// Total FE_BUG hits in this process; exported as a stat.
uint64_t bug_count_total();
void bug_count_add();

}  // namespace fe

#define FE_ASSERT(cond)                                                  \
    do {                                                                 \
        if (__builtin_expect(!(cond), 0)) {                              \
            ::fe::assert_fail(__FILE__, __LINE__, #cond);                \
        }                                                                \
    } while (0)

#if !defined(NDEBUG) || defined(FE_SANITIZE) || defined(FE_FUZZ)
#define FE_DASSERT(cond) FE_ASSERT(cond)
#define FE_BUG_ABORTS 1
#else
#define FE_DASSERT(cond) \
    do {                 \
    } while (0 && (cond))
#define FE_BUG_ABORTS 0
#endif

// Evaluates to true when the condition holds (the bug happened), so the caller
// can recover: `if (FE_BUG(x, "why")) { return; }`.
#define FE_BUG(cond, why)                                                        \
    ([&]() -> bool {                                                             \
        if (__builtin_expect(!!(cond), 0)) {                                     \
            static uint64_t fe_bug_site_count_ = 0;                              \
            ++fe_bug_site_count_;                                                \
            ::fe::bug_count_add();                                               \
            if (FE_BUG_ABORTS) {                                                 \
                ::fe::assert_fail(__FILE__, __LINE__, #cond " (" why ")");       \
            }                                                                    \
            if ((fe_bug_site_count_ & (fe_bug_site_count_ - 1)) == 0) {          \
                ::fe::bug_report(__FILE__, __LINE__, #cond, why, fe_bug_site_count_); \
            }                                                                    \
            return true;                                                         \
        }                                                                        \
        return false;                                                            \
    }())
