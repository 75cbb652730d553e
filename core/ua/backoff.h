// File: core/ua/backoff.h
//
// RFC 5626 §4.5 flow-recovery wait. After a failed attempt to form a flow
// through one edge, the UA waits a random time before the next attempt:
//
//   W     = min(max-time, base-time * 2^consecutive-failures)
//   delay = uniform in [W/2, W]
//
// base-time is 30 s when every flow of the UA has failed and 90 s when at
// least one still works; max-time is 1800 s; 0 failures means "now" (boot,
// or replacing a flow that had been working). Appendix A tabulates it.
//
//   fe::ua::Rng rng(seed);
//   fe::Duration wait = fe::ua::backoff_delay(config, failures,
//                                             fe::ua::FlowSetHealth::kAllFailed, rng);
#pragma once

#include <cstdint>

#include "core/base/time.h"
#include "core/ua/limits.h"
#include "core/ua/random.h"

namespace fe::ua {

// The three times §4.5 says MAY be configurable (OB-BO-02).
struct BackoffConfig {
    Duration max_time = kBackoffMaxTimeDefault;
    Duration base_time_all_failed = kBackoffBaseTimeAllFailedDefault;
    Duration base_time_some_working = kBackoffBaseTimeSomeWorkingDefault;
};

// Which base-time applies: "all of the flows to every URI in the outbound
// proxy set have failed" or not.
enum class FlowSetHealth : uint8_t {
    kAllFailed,
    kSomeWorking,
};

// W, the upper bound of the wait. Saturates at max_time for any failure count
// (no overflow for 2^64 failures). Zero for zero failures.
Duration backoff_upper_bound(const BackoffConfig& config, uint32_t consecutive_failure_count,
                             FlowSetHealth health);

// The retry delay: uniform in [ceil(W/2), W] nanoseconds, so the wait is never
// shorter than half of W (the "MUST wait at least" of OB-BO-03).
Duration backoff_delay(const BackoffConfig& config, uint32_t consecutive_failure_count,
                       FlowSetHealth health, Rng& rng);

}  // namespace fe::ua
