// Checks the RFC 5626 UA flow state machine through fe::ua::Ua with a
// virtual clock and a scripted fake edge (ua_harness.h): boot, REGISTER,
// keep-alives, a missing pong or STUN answer, failure, §4.5 back-off and
// recovery; the "all flows failed" base-time; 439 policies; OB-TAG-05;
// refreshes and recoverable errors; and reproducibility from a seed.

#include <gtest/gtest.h>

#include "tests/unit/core/ua/ua_harness.h"

namespace fe::ua {
namespace {

using testing::LoggedAction;
using testing::UaHarness;

UaConfig one_flow_tcp() {
    UaConfig config;
    config.flow_count = 1;
    config.edge_count = 1;
    config.transport = Transport::kTcp;
    return config;
}

Duration since(Time later, Time earlier) { return later - earlier; }

// covers OB-TAG-05 (keep-alives start after 2xx with Require: outbound),
// OB-KA-07 (no pong in 10 s: failed), OB-BO-05 (success needs a pong),
// OB-BO-01 (same reg-id and Call-ID on the replacement flow), OB-BO-04.
TEST(FlowFsmTest, RegisterKeepaliveMissingPongBackoffRecovery) {
    UaHarness h(one_flow_tcp(), 1);
    h.start();
    // Boot: connect and REGISTER at once.
    auto registers = h.find(ActionKind::kSendRegister);
    ASSERT_EQ(registers.size(), 1u);
    EXPECT_EQ(registers[0].at, Time{});
    EXPECT_EQ(registers[0].action.reg_id, 1u);
    EXPECT_EQ(registers[0].action.cseq, 1u);
    EXPECT_EQ(registers[0].action.expires_s, 3600u);
    EXPECT_EQ(registers[0].action.mode, RegisterMode::kOutbound);
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistered);
    EXPECT_FALSE(h.flow(0).attempt_successful());  // no pong yet
    const std::string call_id(h.flow(0).call_id());

    // First ping 96-120 s later (CRLF default), answered: the attempt succeeded.
    h.advance(seconds(121));
    auto pings = h.find(ActionKind::kSendPing);
    ASSERT_EQ(pings.size(), 1u);
    EXPECT_GE(since(pings[0].at, Time{}), seconds(96));
    EXPECT_LE(since(pings[0].at, Time{}), seconds(120));
    EXPECT_TRUE(h.flow(0).attempt_successful());
    EXPECT_EQ(h.flow(0).consecutive_failure_count(), 0u);

    // The edge stops answering: failure exactly 10 s after the next ping.
    h.edge(0).answer_keepalive = false;
    const Time before = h.now();
    h.advance(seconds(131));
    pings = h.find(ActionKind::kSendPing, 0, before);
    ASSERT_GE(pings.size(), 1u);
    auto closes = h.find(ActionKind::kClose);
    ASSERT_EQ(closes.size(), 1u);
    EXPECT_EQ(closes[0].at, pings[0].at + seconds(10));
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kPongTimeout);

    // A flow that had worked is replaced at once (0 failures: 0 s), with the
    // same reg-id and Call-ID and the next CSeq.
    auto connects = h.find(ActionKind::kConnect, 0, closes[0].at);
    ASSERT_EQ(connects.size(), 1u);
    EXPECT_EQ(connects[0].at, closes[0].at);
    registers = h.find(ActionKind::kSendRegister, 0, closes[0].at);
    ASSERT_EQ(registers.size(), 1u);
    EXPECT_EQ(registers[0].action.reg_id, 1u);
    EXPECT_EQ(registers[0].action.cseq, 2u);
    EXPECT_EQ(h.flow(0).call_id(), call_id);

    // That replacement registers but its first ping goes unanswered: still a
    // failure of the attempt (OB-BO-05), so the back-off is 30-60 s.
    const Time second_attempt = closes[0].at;
    h.advance(seconds(200));
    closes = h.find(ActionKind::kClose, 0, second_attempt + seconds(1));
    ASSERT_GE(closes.size(), 1u);
    const Time failed_at = closes[0].at;
    EXPECT_EQ(h.flow(0).consecutive_failure_count() >= 1, true);
    connects = h.find(ActionKind::kConnect, 0, failed_at);
    ASSERT_GE(connects.size(), 1u);
    EXPECT_GE(since(connects[0].at, failed_at), seconds(30));
    EXPECT_LE(since(connects[0].at, failed_at), seconds(60));

    // The edge recovers: one answered keep-alive resets the count.
    h.edge(0).answer_keepalive = true;
    h.advance(seconds(600));
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistered);
    EXPECT_TRUE(h.flow(0).attempt_successful());
    EXPECT_EQ(h.flow(0).consecutive_failure_count(), 0u);
}

// covers OB-BO-04 (consecutive failures double W: rows 1, 2, 3 of Appendix A)
TEST(FlowFsmTest, ConsecutiveConnectFailuresDoubleTheWait) {
    UaHarness h(one_flow_tcp(), 5);
    h.edge(0).connect_ok = false;
    h.start();
    const int64_t upper_s[] = {60, 120, 240, 480, 960, 1800, 1800};
    for (int i = 0; i < 7; ++i) {
        ASSERT_EQ(h.flow(0).state(), FlowState::kWaitingBackoff);
        EXPECT_EQ(h.flow(0).consecutive_failure_count(), static_cast<uint32_t>(i + 1));
        const Duration wait = h.flow(0).backoff_until() - h.now();
        EXPECT_GE(wait, seconds(upper_s[i]) / 2) << "failure " << i + 1;
        EXPECT_LE(wait, seconds(upper_s[i])) << "failure " << i + 1;
        const size_t connects_before = h.find(ActionKind::kConnect).size();
        h.advance_to(h.flow(0).backoff_until() - nanoseconds(1));
        EXPECT_EQ(h.find(ActionKind::kConnect).size(), connects_before);  // never earlier
        h.advance_to(h.flow(0).backoff_until());
        EXPECT_EQ(h.find(ActionKind::kConnect).size(), connects_before + 1);
    }
}

// covers OB-BO-04 (base-time 90 s while another flow works, 30 s when none does)
TEST(FlowFsmTest, BaseTimeDependsOnWhetherAllFlowsFailed) {
    UaConfig config;
    config.flow_count = 2;
    config.edge_count = 2;
    {
        // Flow 0 registered, flow 1's REGISTER gets no answer: 90-180 s.
        UaHarness h(config, 11);
        h.edge(1).answer_register = false;
        h.start();
        h.advance(seconds(32));
        ASSERT_EQ(h.flow(1).last_failure(), FlowFailure::kRegisterTimeout);
        ASSERT_EQ(h.flow(0).state(), FlowState::kRegistered);
        ASSERT_EQ(h.flow(1).state(), FlowState::kWaitingBackoff);
        EXPECT_EQ(h.ua().health_without(1), FlowSetHealth::kSomeWorking);
        const Duration wait = h.flow(1).backoff_until() - h.now();
        EXPECT_GE(wait, seconds(90));
        EXPECT_LE(wait, seconds(180));
    }
    {
        // Neither edge answers: 30-60 s for both.
        UaHarness h(config, 11);
        h.edge(0).connect_ok = false;
        h.edge(1).connect_ok = false;
        h.start();
        for (uint32_t f = 0; f < 2; ++f) {
            ASSERT_EQ(h.flow(f).state(), FlowState::kWaitingBackoff);
            const Duration wait = h.flow(f).backoff_until() - h.now();
            EXPECT_GE(wait, seconds(30));
            EXPECT_LE(wait, seconds(60));
        }
        EXPECT_EQ(h.ua().registered_flow_count(), 0u);
    }
}

// covers OB-KA-11, OB-KA-15, OB-DEP-13 (STUN keep-alive, retransmissions,
// give-up 39.5 s after the first send), OB-KA-14 (24-29 s without Flow-Timer)
TEST(FlowFsmTest, StunKeepaliveRetransmitsThenFails) {
    UaConfig config = one_flow_tcp();
    config.transport = Transport::kUdp;
    UaHarness h(config, 3);
    h.start();
    EXPECT_TRUE(h.find(ActionKind::kSendPing).empty());  // never CRLF on UDP (OB-KA-05)
    h.advance(seconds(30));
    auto stun = h.find(ActionKind::kSendStunRequest);
    ASSERT_EQ(stun.size(), 1u);
    EXPECT_GE(since(stun[0].at, Time{}), seconds(24));
    EXPECT_LE(since(stun[0].at, Time{}), seconds(29));
    EXPECT_TRUE(h.flow(0).attempt_successful());

    h.edge(0).answer_keepalive = false;
    const Time quiet = h.now();
    h.advance(seconds(30));
    stun = h.find(ActionKind::kSendStunRequest, 0, quiet);
    ASSERT_GE(stun.size(), 1u);
    const Time first = stun[0].at;
    h.advance(seconds(60));
    stun = h.find(ActionKind::kSendStunRequest, 0, quiet);
    ASSERT_GE(stun.size(), 7u);
    const int64_t offsets_ms[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    for (int i = 0; i < 7; ++i) {
        EXPECT_EQ(stun[i].at - first, milliseconds(offsets_ms[i])) << "send " << i;
        EXPECT_EQ(stun[i].action.transaction_id, stun[0].action.transaction_id);
    }
    auto closes = h.find(ActionKind::kClose, 0, quiet);
    ASSERT_GE(closes.size(), 1u);
    EXPECT_EQ(closes[0].at - first, milliseconds(39500));
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kStunTimeout);
}

// covers OB-KA-16 (a changed XOR-MAPPED-ADDRESS is a flow failure)
TEST(FlowFsmTest, MappedAddressChangeFailsTheFlow) {
    UaConfig config = one_flow_tcp();
    config.transport = Transport::kUdp;
    UaHarness h(config, 4);
    h.start();
    h.advance(seconds(30));
    ASSERT_EQ(h.flow(0).mapped_address(), h.edge(0).mapped);
    h.edge(0).mapped = *Endpoint::parse("198.51.100.7:40001");  // NAT remapped the port
    h.advance(seconds(30));
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kMappedAddressChanged);
    EXPECT_EQ(h.find(ActionKind::kClose).size(), 1u);
    // Replaced at once (the flow had worked); the new flow learns the new mapping.
    h.advance(seconds(30));
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistered);
    EXPECT_EQ(h.flow(0).mapped_address(), h.edge(0).mapped);
}

// covers OB-KA-07 with Flow-Timer: OB-KA-01 (pings at least every Flow-Timer)
TEST(FlowFsmTest, FlowTimerBoundsPingGaps) {
    UaHarness h(one_flow_tcp(), 8);
    h.edge(0).flow_timer_s = 20;
    h.start();
    h.advance(seconds(2000));
    const auto pings = h.find(ActionKind::kSendPing);
    ASSERT_GT(pings.size(), 90u);
    Time last{};
    for (const LoggedAction& ping : pings) {
        EXPECT_LE(ping.at - last, seconds(20));
        EXPECT_GE(ping.at - last, seconds(16));
        last = ping.at;
    }
}

// covers OB-UA-19 (refresh over the same flow, same reg-id and Call-ID)
TEST(FlowFsmTest, RefreshInTheLastPartOfTheExpiry) {
    UaHarness h(one_flow_tcp(), 9);
    h.start();
    h.advance(seconds(3600 * 3));
    const auto registers = h.find(ActionKind::kSendRegister);
    ASSERT_GE(registers.size(), 4u);
    EXPECT_TRUE(h.find(ActionKind::kClose).empty());
    EXPECT_EQ(h.find(ActionKind::kConnect).size(), 1u);
    for (size_t i = 1; i < registers.size(); ++i) {
        const Duration gap = registers[i].at - registers[i - 1].at;
        EXPECT_GE(gap, seconds(2700));  // 75 % of 3600
        EXPECT_LE(gap, seconds(3240));  // 90 % of 3600
        EXPECT_EQ(registers[i].action.cseq, registers[i - 1].action.cseq + 1);
        EXPECT_EQ(registers[i].action.reg_id, 1u);
    }
}

// covers OB-UA-20, OB-UA-21 (503 + Retry-After to a refresh keeps the flow)
TEST(FlowFsmTest, RecoverableErrorToRefreshKeepsTheFlow) {
    UaHarness h(one_flow_tcp(), 10);
    h.start();
    h.edge(0).register_status = 503;
    h.edge(0).retry_after_s = 60;
    auto registers = h.find(ActionKind::kSendRegister);
    while (registers.size() < 2 && h.now() < Time{} + seconds(3600)) {
        h.advance(seconds(1));
        registers = h.find(ActionKind::kSendRegister);
    }
    ASSERT_EQ(registers.size(), 2u);  // the first refresh, answered 503
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistered);
    h.edge(0).register_status = 200;
    h.advance(seconds(61));
    registers = h.find(ActionKind::kSendRegister);
    ASSERT_EQ(registers.size(), 3u);
    EXPECT_EQ(registers[2].at - registers[1].at, seconds(60));
    EXPECT_TRUE(h.find(ActionKind::kClose).empty());
    EXPECT_EQ(h.find(ActionKind::kConnect).size(), 1u);
}

// covers OB-UA-16 (503 + Retry-After: 0 on the initial REGISTER: retry at
// once), and the retry limit against a server that always says so.
TEST(FlowFsmTest, RetryAfterZeroIsBounded) {
    UaHarness h(one_flow_tcp(), 12);
    h.edge(0).register_status = 503;
    h.edge(0).retry_after_s = 0;
    h.start();
    h.advance(seconds(1));  // the Retry-After timers are due at once
    const auto registers = h.find(ActionKind::kSendRegister);
    EXPECT_EQ(registers.size(), kRegisterRetryCountMax + 1);
    for (const LoggedAction& r : registers) {
        EXPECT_EQ(r.at, Time{});
    }
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kRetryLimit);
    EXPECT_EQ(h.flow(0).state(), FlowState::kWaitingBackoff);
}

// covers OB-439-03, OB-UA-17 (after 439, register again without reg-id)
TEST(FlowFsmTest, On439RegisterWithoutOutbound) {
    UaHarness h(one_flow_tcp(), 13);
    h.edge(0).register_status = 439;
    h.start();
    // The fake edge keeps answering 439 only to outbound REGISTERs.
    const auto registers = h.find(ActionKind::kSendRegister);
    ASSERT_GE(registers.size(), 2u);
    EXPECT_EQ(registers[0].action.mode, RegisterMode::kOutbound);
    EXPECT_EQ(registers[1].action.mode, RegisterMode::kPlain);
    EXPECT_TRUE(h.find(ActionKind::kClose).empty());  // same flow
}

// covers OB-439-04, OB-UA-18 (after 439, try another edge of the set)
TEST(FlowFsmTest, On439TryAnotherEdge) {
    UaConfig config;
    config.flow_count = 2;
    config.edge_count = 3;
    config.on_439 = On439Policy::kTryAnotherEdge;
    UaHarness h(config, 14);
    h.edge(0).register_status = 439;
    h.start();
    // Flow 0 hops 0 -> 2 (edge 1 belongs to flow 1) -> 0; once every free
    // edge answered 439 the normal back-off applies.
    const auto connects = h.find(ActionKind::kConnect, 0);
    ASSERT_EQ(connects.size(), 3u);
    EXPECT_EQ(connects[0].action.edge_index, 0u);
    EXPECT_EQ(connects[1].action.edge_index, 2u);
    EXPECT_EQ(connects[2].action.edge_index, 0u);
    EXPECT_EQ(h.find(ActionKind::kClose, 0).size(), 3u);
    EXPECT_EQ(h.flow(0).state(), FlowState::kWaitingBackoff);
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kFirstHopLacksOutbound);
    EXPECT_EQ(h.flow(1).state(), FlowState::kRegistered);
}

// covers OB-TAG-05 (2xx without Require: outbound: no pings, contact removed)
TEST(FlowFsmTest, SuccessWithoutRequireOutboundRemovesTheContact) {
    UaHarness h(one_flow_tcp(), 15);
    h.edge(0).require_outbound = false;
    h.start();
    const auto registers = h.find(ActionKind::kSendRegister);
    ASSERT_EQ(registers.size(), 2u);
    EXPECT_EQ(registers[0].action.expires_s, 3600u);
    EXPECT_EQ(registers[1].action.expires_s, 0u);  // removal
    EXPECT_EQ(registers[1].action.reg_id, 1u);
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kNoOutboundSupport);
    h.advance(seconds(30));
    EXPECT_TRUE(h.find(ActionKind::kSendPing).empty());
}

TEST(FlowFsmTest, ConnectAndRegisterTimeouts) {
    UaHarness h(one_flow_tcp(), 16, /*auto_answer=*/false);
    h.start();
    h.advance(seconds(10));
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kConnectTimeout);
    EXPECT_EQ(h.find(ActionKind::kClose).size(), 1u);  // abort the pending connect
    h.advance_to(h.flow(0).backoff_until());
    h.input([](Ua& ua, Time now, ActionList& a) { ua.on_connected(0, now, a); });
    ASSERT_EQ(h.flow(0).state(), FlowState::kRegistering);
    const Time sent = h.now();
    h.advance(seconds(32));
    EXPECT_EQ(h.flow(0).last_failure(), FlowFailure::kRegisterTimeout);
    EXPECT_EQ(h.find(ActionKind::kClose).back().at, sent + seconds(32));
    EXPECT_EQ(h.flow(0).consecutive_failure_count(), 2u);
}

TEST(FlowFsmTest, StaleAndProvisionalResponsesAreIgnored) {
    UaHarness h(one_flow_tcp(), 17, /*auto_answer=*/false);
    h.start();
    h.input([](Ua& ua, Time now, ActionList& a) { ua.on_connected(0, now, a); });
    RegisterResponse r;
    r.status_code = 200;
    r.has_require_outbound = true;
    r.cseq = 7;  // not the outstanding CSeq
    h.input([&](Ua& ua, Time now, ActionList& a) { ua.on_register_response(0, now, r, a); });
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistering);
    r.cseq = 1;
    r.status_code = 100;
    h.input([&](Ua& ua, Time now, ActionList& a) { ua.on_register_response(0, now, r, a); });
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistering);
    r.status_code = 200;
    h.input([&](Ua& ua, Time now, ActionList& a) { ua.on_register_response(0, now, r, a); });
    EXPECT_EQ(h.flow(0).state(), FlowState::kRegistered);
    // A pong nobody asked for changes nothing.
    h.input([](Ua& ua, Time now, ActionList& a) { ua.on_pong(0, now, a); });
    EXPECT_FALSE(h.flow(0).attempt_successful());
}

TEST(FlowFsmTest, StopRemovesBindingsAndCloses) {
    UaConfig config;
    UaHarness h(config, 18);
    h.start();
    ASSERT_EQ(h.ua().registered_flow_count(), 2u);
    h.input([](Ua& ua, Time now, ActionList& a) { ua.stop(now, a); });
    const auto registers = h.find(ActionKind::kSendRegister);
    ASSERT_EQ(registers.size(), 4u);
    EXPECT_EQ(registers[2].action.expires_s, 0u);
    EXPECT_EQ(registers[3].action.expires_s, 0u);
    EXPECT_EQ(h.find(ActionKind::kClose).size(), 2u);
    EXPECT_EQ(h.flow(0).state(), FlowState::kIdle);
    EXPECT_EQ(h.flow(1).state(), FlowState::kIdle);
    EXPECT_EQ(h.timer(0), Time::max());
}

// covers OB-UA-12, OB-UA-13, OB-UA-15 (distinct reg-ids 1..K in the same
// order on every boot; one Call-ID per flow)
TEST(FlowFsmTest, RegIdsAndCallIdsPerFlow) {
    UaConfig config;
    config.flow_count = 4;
    config.edge_count = 4;
    UaHarness h(config, 19);
    h.start();
    for (uint32_t f = 0; f < 4; ++f) {
        EXPECT_EQ(h.flow(f).reg_id(), f + 1);
        EXPECT_EQ(h.flow(f).call_id().size(), 32u);
        for (uint32_t g = 0; g < f; ++g) {
            EXPECT_NE(h.flow(f).call_id(), h.flow(g).call_id());
        }
    }
}

std::vector<LoggedAction> flaky_run(uint64_t seed) {
    UaConfig config;
    config.transport = Transport::kUdp;
    UaHarness h(config, seed);
    h.edge(1).connect_ok = false;
    h.start();
    h.advance(seconds(600));
    h.edge(0).answer_keepalive = false;
    h.edge(1).connect_ok = true;
    h.advance(seconds(3600));
    return h.log();
}

// Reproducibility: the same seed gives the same actions at the same times.
TEST(FlowFsmTest, SameSeedSameRun) {
    const auto a = flaky_run(77);
    const auto b = flaky_run(77);
    const auto c = flaky_run(78);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].at, b[i].at);
        EXPECT_EQ(a[i].action.kind, b[i].action.kind);
        EXPECT_EQ(a[i].action.branch, b[i].action.branch);
        EXPECT_EQ(a[i].action.transaction_id, b[i].action.transaction_id);
    }
    bool differs = a.size() != c.size();
    for (size_t i = 0; !differs && i < a.size(); ++i) {
        differs = a[i].at != c[i].at;
    }
    EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace fe::ua
