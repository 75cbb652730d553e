// Checks the RFC 3261 §17 / Table 4 timer values derived from T1, T2, T4:
// defaults, reliable-transport zeros, Timer D's 32 s floor, capped doubling,
// and config validation.
#include "core/txn/timers.h"

#include <gtest/gtest.h>

namespace fe::txn {
namespace {

constexpr Reliability kUdp = Reliability::kUnreliable;
constexpr Reliability kTcp = Reliability::kReliable;

TEST(TimersTest, DefaultsAreRfc3261Values) {
    TimerConfig c;
    EXPECT_EQ(c.t1, milliseconds(500));
    EXPECT_EQ(c.t2, seconds(4));
    EXPECT_EQ(c.t4, seconds(5));
    EXPECT_EQ(c.trying_delay, milliseconds(200));
    EXPECT_TRUE(timer_config_is_valid(c));
}

TEST(TimersTest, DerivedFromDefaultsOverUdp) {
    TimerConfig c;
    EXPECT_EQ(timer_a(c), milliseconds(500));
    EXPECT_EQ(timer_b(c), seconds(32));
    EXPECT_EQ(timer_d(c, kUdp), seconds(32));
    EXPECT_EQ(timer_e(c), milliseconds(500));
    EXPECT_EQ(timer_f(c), seconds(32));
    EXPECT_EQ(timer_g(c), milliseconds(500));
    EXPECT_EQ(timer_h(c), seconds(32));
    EXPECT_EQ(timer_i(c, kUdp), seconds(5));
    EXPECT_EQ(timer_j(c, kUdp), seconds(32));
    EXPECT_EQ(timer_k(c, kUdp), seconds(5));
}

TEST(TimersTest, ReliableTransportsLingerZero) {
    TimerConfig c;
    EXPECT_EQ(timer_d(c, kTcp), Duration::zero());
    EXPECT_EQ(timer_i(c, kTcp), Duration::zero());
    EXPECT_EQ(timer_j(c, kTcp), Duration::zero());
    EXPECT_EQ(timer_k(c, kTcp), Duration::zero());
    // Timeouts do not depend on the transport.
    EXPECT_EQ(timer_b(c), seconds(32));
    EXPECT_EQ(timer_h(c), seconds(32));
}

TEST(TimersTest, ScaleWithT1) {
    TimerConfig c;
    c.t1 = seconds(1);
    EXPECT_EQ(timer_b(c), seconds(64));
    EXPECT_EQ(timer_f(c), seconds(64));
    EXPECT_EQ(timer_h(c), seconds(64));
    EXPECT_EQ(timer_j(c, kUdp), seconds(64));
    EXPECT_EQ(timer_d(c, kUdp), seconds(64));  // follows 64*T1 above the floor
}

TEST(TimersTest, TimerDNeverBelow32SecondsOverUdp) {
    // §17.1.1.2: the client does not know the server's T1, so at least 32 s.
    TimerConfig c;
    c.t1 = milliseconds(100);
    EXPECT_EQ(timer_b(c), milliseconds(6400));
    EXPECT_EQ(timer_d(c, kUdp), seconds(32));
}

TEST(TimersTest, CappedDoublingStopsAtT2) {
    TimerConfig c;
    Duration d = timer_e(c);
    std::vector<int64_t> intervals_ms;
    for (int i = 0; i < 6; ++i) {
        intervals_ms.push_back(std::chrono::duration_cast<milliseconds>(d).count());
        d = next_interval_capped(c, d);
    }
    // §17.1.2.2: "500 ms, 1 s, 2 s, 4 s, 4 s, 4 s, etc."
    EXPECT_EQ(intervals_ms, (std::vector<int64_t>{500, 1000, 2000, 4000, 4000, 4000}));
}

TEST(TimersTest, ReliabilityFollowsTransport) {
    EXPECT_EQ(reliability_of(Transport::kUdp), kUdp);
    EXPECT_EQ(reliability_of(Transport::kTcp), kTcp);
    EXPECT_EQ(reliability_of(Transport::kTls), kTcp);
    EXPECT_EQ(reliability_of(Transport::kWss), kTcp);
}

TEST(TimersTest, InvalidConfigsAreRejected) {
    TimerConfig zero_t1;
    zero_t1.t1 = Duration::zero();
    EXPECT_FALSE(timer_config_is_valid(zero_t1));
    TimerConfig t2_below_t1;
    t2_below_t1.t2 = milliseconds(100);
    EXPECT_FALSE(timer_config_is_valid(t2_below_t1));
    TimerConfig negative_t4;
    negative_t4.t4 = milliseconds(-1);
    EXPECT_FALSE(timer_config_is_valid(negative_t4));
    TimerConfig huge_t1;
    huge_t1.t1 = minutes(2);  // would keep Timer B over two hours
    huge_t1.t2 = minutes(5);
    EXPECT_FALSE(timer_config_is_valid(huge_t1));
}

}  // namespace
}  // namespace fe::txn
