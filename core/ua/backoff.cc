#include "core/ua/backoff.h"

#include "core/base/assert.h"

namespace fe::ua {

Duration backoff_upper_bound(const BackoffConfig& config, uint32_t consecutive_failure_count,
                             FlowSetHealth health) {
    FE_ASSERT(config.max_time.count() >= 0);
    FE_ASSERT(config.base_time_all_failed.count() > 0);
    FE_ASSERT(config.base_time_some_working.count() > 0);
    if (consecutive_failure_count == 0) {
        return Duration::zero();
    }
    const Duration base = health == FlowSetHealth::kAllFailed ? config.base_time_all_failed
                                                               : config.base_time_some_working;
    // Double until the cap is reached instead of computing 2^n, so neither the
    // shift nor the product can overflow; at most 63 rounds.
    const int64_t cap = config.max_time.count();
    int64_t w = base.count();
    for (uint32_t i = 0; i < consecutive_failure_count && w < cap; ++i) {
        w = w > cap / 2 ? cap : w * 2;
    }
    return Duration(w < cap ? w : cap);
}

Duration backoff_delay(const BackoffConfig& config, uint32_t consecutive_failure_count,
                       FlowSetHealth health, Rng& rng) {
    const Duration w = backoff_upper_bound(config, consecutive_failure_count, health);
    const Duration half_up = Duration(w.count() / 2 + w.count() % 2);  // ceil, no overflow
    const Duration delay = rng.uniform_duration(half_up, w);
    FE_ASSERT(delay <= w);
    FE_ASSERT(delay >= w - delay);  // at least half of W, written without overflow
    return delay;
}

}  // namespace fe::ua
