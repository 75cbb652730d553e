// Checks RFC 5626 §4.4 keep-alive timing: mechanism per transport, 1000 drawn
// intervals within the bounds for Flow-Timer, CRLF and STUN defaults (and not
// all equal), the minimum against a hostile Flow-Timer, and the RFC 5389
// §7.2.1 STUN retransmission schedule.

#include "core/ua/keepalive.h"

#include <set>

#include <gtest/gtest.h>

namespace fe::ua {
namespace {

struct Range {
    Duration low;
    Duration high;
};

void expect_intervals_in(const KeepaliveConfig& config, KeepaliveKind kind,
                         std::optional<uint32_t> flow_timer_s, Range range) {
    Rng rng(2024);
    std::set<int64_t> distinct;
    for (int i = 0; i < 1000; ++i) {
        const Duration d = keepalive_interval(config, kind, flow_timer_s, rng);
        ASSERT_GE(d, range.low);
        ASSERT_LE(d, range.high);
        distinct.insert(d.count());
    }
    EXPECT_GT(distinct.size(), 900u);  // fresh random value per keep-alive
}

TEST(KeepaliveTest, MechanismFollowsTransport) {
    // covers OB-KA-04, OB-KA-05, OB-KA-11, OB-KA-12
    EXPECT_EQ(keepalive_kind_for(Transport::kTcp), KeepaliveKind::kCrlf);
    EXPECT_EQ(keepalive_kind_for(Transport::kTls), KeepaliveKind::kCrlf);
    EXPECT_EQ(keepalive_kind_for(Transport::kWs), KeepaliveKind::kCrlf);
    EXPECT_EQ(keepalive_kind_for(Transport::kWss), KeepaliveKind::kCrlf);
    EXPECT_EQ(keepalive_kind_for(Transport::kUdp), KeepaliveKind::kStun);
}

// covers OB-KA-01, OB-KA-02, OB-FT-04, OB-FT-05 (Flow-Timer 120: [96, 120] s)
TEST(KeepaliveTest, FlowTimerIntervalsAreEightyToHundredPercent) {
    const KeepaliveConfig config;
    expect_intervals_in(config, KeepaliveKind::kCrlf, 120, {seconds(96), seconds(120)});
    expect_intervals_in(config, KeepaliveKind::kStun, 120, {seconds(96), seconds(120)});
    expect_intervals_in(config, KeepaliveKind::kCrlf, 20, {seconds(16), seconds(20)});
}

// covers OB-KA-03, OB-KA-09, OB-KA-10 (CRLF default 120 s upper, 20 % lower)
TEST(KeepaliveTest, CrlfDefaultIntervals) {
    KeepaliveConfig config;
    EXPECT_EQ(config.crlf_interval_upper, seconds(120));
    expect_intervals_in(config, KeepaliveKind::kCrlf, std::nullopt, {seconds(96), seconds(120)});
    config.crlf_interval_upper = kCrlfIntervalUpperBatteryDefault;
    expect_intervals_in(config, KeepaliveKind::kCrlf, std::nullopt, {seconds(672), seconds(840)});
}

// covers OB-KA-14 (STUN without Flow-Timer: [24, 29] s)
TEST(KeepaliveTest, StunDefaultIntervals) {
    const KeepaliveConfig config;
    expect_intervals_in(config, KeepaliveKind::kStun, std::nullopt, {seconds(24), seconds(29)});
}

TEST(KeepaliveTest, HostileFlowTimerCannotCauseATightLoop) {
    const KeepaliveConfig config;
    Rng rng(1);
    EXPECT_EQ(keepalive_interval(config, KeepaliveKind::kCrlf, 0, rng), kKeepaliveIntervalMin);
    const Duration big = keepalive_interval(config, KeepaliveKind::kCrlf, UINT32_MAX, rng);
    EXPECT_LE(big, seconds(UINT32_MAX));
    EXPECT_GE(big, seconds(UINT32_MAX) * 4 / 5);
}

// covers OB-KA-07 (pong deadline default)
TEST(KeepaliveTest, PongTimeoutIsTenSeconds) {
    EXPECT_EQ(KeepaliveConfig{}.pong_timeout, seconds(10));
}

// covers OB-DEP-13, OB-KA-15 (RTO 500 ms doubling, Rc = 7, Rm = 16: 39.5 s)
TEST(KeepaliveTest, StunRetransmissionSchedule) {
    const StunSchedule schedule{StunRetransmitConfig{}};
    ASSERT_EQ(schedule.request_count(), 7u);
    const int64_t expected_ms[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    for (uint32_t i = 0; i < 7; ++i) {
        EXPECT_EQ(schedule.send_offset(i), milliseconds(expected_ms[i])) << "send " << i;
    }
    EXPECT_EQ(schedule.give_up_offset(), milliseconds(39500));

    StunRetransmitConfig custom;
    custom.rto = milliseconds(100);
    custom.request_count = 3;
    custom.final_wait_rto_count = 4;
    const StunSchedule short_schedule(custom);
    EXPECT_EQ(short_schedule.send_offset(2), milliseconds(300));
    EXPECT_EQ(short_schedule.give_up_offset(), milliseconds(700));
}

}  // namespace
}  // namespace fe::ua
