// Checks the RFC 5626 §4.5 flow-recovery wait: the upper bound W against the
// rows of Appendix A for both base-times, the [W/2, W] range of the drawn
// delay over many seeded draws, the cap, configurability and overflow safety.

#include "core/ua/backoff.h"

#include <gtest/gtest.h>

namespace fe::ua {
namespace {

struct AppendixARow {
    uint32_t failures;
    int64_t all_failed_low_s, all_failed_high_s;
    int64_t some_working_low_s, some_working_high_s;
};

// RFC 5626 Appendix A, seconds. "15-30 min" is the 1800 s cap.
constexpr AppendixARow kAppendixA[] = {
    {0, 0, 0, 0, 0},
    {1, 30, 60, 90, 180},
    {2, 60, 120, 180, 360},
    {3, 120, 240, 360, 720},
    {4, 240, 480, 720, 1440},
    {5, 480, 960, 900, 1800},
    {6, 900, 1800, 900, 1800},
    {7, 900, 1800, 900, 1800},
    {40, 900, 1800, 900, 1800},
};

// covers OB-BO-04 (Appendix A table, both columns, the cap, 0 failures at boot)
TEST(BackoffTest, UpperBoundMatchesAppendixA) {
    const BackoffConfig config;
    for (const AppendixARow& row : kAppendixA) {
        EXPECT_EQ(backoff_upper_bound(config, row.failures, FlowSetHealth::kAllFailed),
                  seconds(row.all_failed_high_s))
            << "failures " << row.failures;
        EXPECT_EQ(backoff_upper_bound(config, row.failures, FlowSetHealth::kSomeWorking),
                  seconds(row.some_working_high_s))
            << "failures " << row.failures;
    }
}

// covers OB-BO-03, OB-BO-04 (delay in [50 %, 100 %] of W, never earlier)
TEST(BackoffTest, DelaysStayInsideAppendixARangesOverManySeeds) {
    const BackoffConfig config;
    for (const AppendixARow& row : kAppendixA) {
        for (uint64_t seed = 0; seed < 1000; ++seed) {
            Rng rng(seed);
            const Duration all = backoff_delay(config, row.failures, FlowSetHealth::kAllFailed, rng);
            EXPECT_GE(all, seconds(row.all_failed_low_s));
            EXPECT_LE(all, seconds(row.all_failed_high_s));
            const Duration some =
                backoff_delay(config, row.failures, FlowSetHealth::kSomeWorking, rng);
            EXPECT_GE(some, seconds(row.some_working_low_s));
            EXPECT_LE(some, seconds(row.some_working_high_s));
        }
    }
}

// covers OB-BO-03 (after 3 failures with all flows down: [120, 240] s, spread out)
TEST(BackoffTest, ThreeFailuresAllDownSpreadsOverTheWholeRange) {
    const BackoffConfig config;
    Rng rng(42);
    Duration low = seconds(1000);
    Duration high = seconds(0);
    for (int i = 0; i < 1000; ++i) {
        const Duration d = backoff_delay(config, 3, FlowSetHealth::kAllFailed, rng);
        low = std::min(low, d);
        high = std::max(high, d);
    }
    EXPECT_GE(low, seconds(120));
    EXPECT_LT(low, seconds(125));  // a uniform draw reaches near both ends
    EXPECT_LE(high, seconds(240));
    EXPECT_GT(high, seconds(235));
}

// covers OB-BO-02 (the three times are configurable; defaults 1800/30/90)
TEST(BackoffTest, DefaultsAndCustomTimes) {
    const BackoffConfig defaults;
    EXPECT_EQ(defaults.max_time, seconds(1800));
    EXPECT_EQ(defaults.base_time_all_failed, seconds(30));
    EXPECT_EQ(defaults.base_time_some_working, seconds(90));

    BackoffConfig custom;
    custom.max_time = seconds(100);
    custom.base_time_all_failed = seconds(1);
    custom.base_time_some_working = seconds(5);
    EXPECT_EQ(backoff_upper_bound(custom, 3, FlowSetHealth::kAllFailed), seconds(8));
    EXPECT_EQ(backoff_upper_bound(custom, 3, FlowSetHealth::kSomeWorking), seconds(40));
    EXPECT_EQ(backoff_upper_bound(custom, 5, FlowSetHealth::kSomeWorking), seconds(100));
}

TEST(BackoffTest, HugeFailureCountsSaturateWithoutOverflow) {
    BackoffConfig config;
    config.max_time = Duration(INT64_MAX);  // no cap below the int64 range
    EXPECT_EQ(backoff_upper_bound(config, UINT32_MAX, FlowSetHealth::kAllFailed),
              Duration(INT64_MAX));
    const BackoffConfig defaults;
    EXPECT_EQ(backoff_upper_bound(defaults, UINT32_MAX, FlowSetHealth::kAllFailed),
              seconds(1800));
    Rng rng(1);
    const Duration d = backoff_delay(config, 200, FlowSetHealth::kSomeWorking, rng);
    EXPECT_GE(d, Duration(INT64_MAX / 2));
}

TEST(BackoffTest, SameSeedSameDelays) {
    const BackoffConfig config;
    Rng a(7, 3);
    Rng b(7, 3);
    Rng other(7, 4);
    bool any_difference = false;
    for (uint32_t failures = 1; failures < 20; ++failures) {
        const Duration da = backoff_delay(config, failures, FlowSetHealth::kAllFailed, a);
        EXPECT_EQ(da, backoff_delay(config, failures, FlowSetHealth::kAllFailed, b));
        any_difference =
            any_difference || da != backoff_delay(config, failures, FlowSetHealth::kAllFailed, other);
    }
    EXPECT_TRUE(any_difference);
}

}  // namespace
}  // namespace fe::ua
