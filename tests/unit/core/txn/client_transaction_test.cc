// Checks the RFC 3261 §17.1 client machines with injected time: the exact
// Timer A schedule up to Timer B, Timer E capped at T2 (and at T2 after a
// provisional response), ACK generation and retransmission for 3xx-6xx, 2xx
// ending the INVITE transaction, Timer D / K lingering (zero on reliable
// transports), no retransmissions on reliable transports, transport errors.
#include "core/txn/client_transaction.h"

#include <gtest/gtest.h>

#include "tests/unit/core/txn/txn_test_util.h"

namespace fe::txn {
namespace {

using test::at_ms;
using test::ev;
using test::Event;
using test::run_timers;
using test::to_vector;
using K = ActionKind;
using InviteState = ClientInviteTransaction::State;
using NonInviteState = ClientNonInviteTransaction::State;

constexpr Reliability kUdp = Reliability::kUnreliable;
constexpr Reliability kTcp = Reliability::kReliable;

// ---------------------------------------------------------------- INVITE

TEST(ClientInviteTest, UdpRetransmitsWithDoublingUntilTimerB) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    std::vector<Event> events;
    test::append(events, at_ms(0), txn.start(at_ms(0)));
    EXPECT_EQ(txn.state(), InviteState::kCalling);
    EXPECT_EQ(txn.next_deadline(), at_ms(500));
    auto timers = run_timers(txn, at_ms(100000));
    events.insert(events.end(), timers.begin(), timers.end());
    // §17.1.1.2: seven sends in 64*T1, intervals doubling, then Timer B
    // informs the TU; no ACK is generated.
    EXPECT_EQ(events, (std::vector<Event>{
                          ev(0, K::kSendRequest),
                          ev(500, K::kRetransmitRequest),
                          ev(1500, K::kRetransmitRequest),
                          ev(3500, K::kRetransmitRequest),
                          ev(7500, K::kRetransmitRequest),
                          ev(15500, K::kRetransmitRequest),
                          ev(31500, K::kRetransmitRequest),
                          ev(32000, K::kTimeout),
                          ev(32000, K::kTerminated),
                      }));
    EXPECT_EQ(txn.state(), InviteState::kTerminated);
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
}

TEST(ClientInviteTest, TcpSendsOnceThenTimesOutAtTimerB) {
    ClientInviteTransaction txn(TimerConfig{}, kTcp);
    EXPECT_EQ(to_vector(txn.start(at_ms(0))), (std::vector<Action>{{K::kSendRequest, 0}}));
    EXPECT_EQ(txn.next_deadline(), at_ms(32000));  // Timer B only, no Timer A
    EXPECT_EQ(run_timers(txn, at_ms(100000)),
              (std::vector<Event>{ev(32000, K::kTimeout), ev(32000, K::kTerminated)}));
}

TEST(ClientInviteTest, EarlyTimerCallDoesNothing) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_TRUE(txn.on_timer(at_ms(499)).empty());
    EXPECT_EQ(txn.next_deadline(), at_ms(500));
}

TEST(ClientInviteTest, ProvisionalStopsRetransmissionsAndTimerB) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_response(at_ms(300), 180)),
              (std::vector<Action>{{K::kPassResponseToTu, 180}}));
    EXPECT_EQ(txn.state(), InviteState::kProceeding);
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    EXPECT_TRUE(txn.on_timer(at_ms(500)).empty());
    EXPECT_TRUE(txn.on_timer(at_ms(40000)).empty());
    // Every further provisional goes up too.
    EXPECT_EQ(to_vector(txn.on_response(at_ms(1000), 183)),
              (std::vector<Action>{{K::kPassResponseToTu, 183}}));
}

TEST(ClientInviteTest, SuccessPassesUpAndTerminates) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_response(at_ms(100), 100);
    EXPECT_EQ(to_vector(txn.on_response(at_ms(2000), 200)),
              (std::vector<Action>{{K::kPassResponseToTu, 200}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.state(), InviteState::kTerminated);
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
}

TEST(ClientInviteTest, FailureSendsAckAndLingersTimerDOverUdp) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_response(at_ms(700), 486)),
              (std::vector<Action>{{K::kPassResponseToTu, 486}, {K::kSendAck, 0}}));
    EXPECT_EQ(txn.state(), InviteState::kCompleted);
    EXPECT_EQ(txn.next_deadline(), at_ms(700 + 32000));  // Timer D
    // A retransmitted final response gets the ACK again and is not passed up.
    EXPECT_EQ(to_vector(txn.on_response(at_ms(1200), 486)),
              (std::vector<Action>{{K::kRetransmitAck, 0}}));
    // Provisional and 2xx responses after it are stray and dropped.
    EXPECT_TRUE(txn.on_response(at_ms(1300), 180).empty());
    EXPECT_TRUE(txn.on_response(at_ms(1300), 200).empty());
    // No request retransmissions in Completed.
    EXPECT_EQ(run_timers(txn, at_ms(100000)), (std::vector<Event>{ev(32700, K::kTerminated)}));
}

TEST(ClientInviteTest, FailureOverTcpSendsAckAndTerminatesAtOnce) {
    ClientInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    // The ACK is generated even on a reliable transport; Timer D is zero.
    EXPECT_EQ(to_vector(txn.on_response(at_ms(50), 503)),
              (std::vector<Action>{
                  {K::kPassResponseToTu, 503}, {K::kSendAck, 0}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.state(), InviteState::kTerminated);
}

TEST(ClientInviteTest, FinalAfterProvisionalAlsoAcks) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_response(at_ms(10), 180);
    EXPECT_EQ(to_vector(txn.on_response(at_ms(5000), 302)),
              (std::vector<Action>{{K::kPassResponseToTu, 302}, {K::kSendAck, 0}}));
    EXPECT_EQ(txn.next_deadline(), at_ms(37000));
}

TEST(ClientInviteTest, OutOfRangeStatusIsIgnored) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_TRUE(txn.on_response(at_ms(10), 99).empty());
    EXPECT_TRUE(txn.on_response(at_ms(10), 700).empty());
    EXPECT_TRUE(txn.on_response(at_ms(10), 0).empty());
    EXPECT_EQ(txn.state(), InviteState::kCalling);
    EXPECT_EQ(txn.next_deadline(), at_ms(500));
}

TEST(ClientInviteTest, TransportErrorInformsTuAndTerminates) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_transport_error()),
              (std::vector<Action>{{K::kTransportError, 0}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.state(), InviteState::kTerminated);
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    // A terminated machine ignores everything.
    EXPECT_TRUE(txn.on_transport_error().empty());
    EXPECT_TRUE(txn.on_response(at_ms(1), 200).empty());
    EXPECT_TRUE(txn.on_timer(at_ms(100000)).empty());
}

TEST(ClientInviteTest, TransportErrorSendingAckInCompleted) {
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_response(at_ms(10), 404);
    EXPECT_EQ(to_vector(txn.on_transport_error()),
              (std::vector<Action>{{K::kTransportError, 0}, {K::kTerminated, 0}}));
}

TEST(ClientInviteTest, LateTimerFiresTimerBNotAnotherRetransmission) {
    // The owner's wheel ran late past both Timer A and Timer B.
    ClientInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_timer(at_ms(40000))),
              (std::vector<Action>{{K::kTimeout, 0}, {K::kTerminated, 0}}));
}

TEST(ClientInviteTest, LargerT1StretchesTheSchedule) {
    TimerConfig config;
    config.t1 = seconds(1);
    config.t2 = seconds(8);
    ClientInviteTransaction txn(config, kUdp);
    (void)txn.start(at_ms(0));
    auto events = run_timers(txn, at_ms(1000000));
    ASSERT_EQ(events.size(), 8u);
    EXPECT_EQ(events[0], ev(1000, K::kRetransmitRequest));
    EXPECT_EQ(events[5], ev(63000, K::kRetransmitRequest));
    EXPECT_EQ(events[6], ev(64000, K::kTimeout));
}

// ------------------------------------------------------------ non-INVITE

TEST(ClientNonInviteTest, UdpTimerEDoublesUpToT2ThenTimerF) {
    ClientNonInviteTransaction txn(TimerConfig{}, kUdp);
    std::vector<Event> events;
    test::append(events, at_ms(0), txn.start(at_ms(0)));
    EXPECT_EQ(txn.state(), NonInviteState::kTrying);
    auto timers = run_timers(txn, at_ms(100000));
    events.insert(events.end(), timers.begin(), timers.end());
    // §17.1.2.2: intervals 500 ms, 1 s, 2 s, 4 s, 4 s, ... until 64*T1.
    EXPECT_EQ(events, (std::vector<Event>{
                          ev(0, K::kSendRequest),
                          ev(500, K::kRetransmitRequest),
                          ev(1500, K::kRetransmitRequest),
                          ev(3500, K::kRetransmitRequest),
                          ev(7500, K::kRetransmitRequest),
                          ev(11500, K::kRetransmitRequest),
                          ev(15500, K::kRetransmitRequest),
                          ev(19500, K::kRetransmitRequest),
                          ev(23500, K::kRetransmitRequest),
                          ev(27500, K::kRetransmitRequest),
                          ev(31500, K::kRetransmitRequest),
                          ev(32000, K::kTimeout),
                          ev(32000, K::kTerminated),
                      }));
}

TEST(ClientNonInviteTest, ProvisionalKeepsRetransmittingAtT2) {
    ClientNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_timer(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitRequest, 0}}));
    EXPECT_EQ(to_vector(txn.on_response(at_ms(600), 100)),
              (std::vector<Action>{{K::kPassResponseToTu, 100}}));
    EXPECT_EQ(txn.state(), NonInviteState::kProceeding);
    // The pending Timer E (1.5 s) still fires, then every T2.
    EXPECT_EQ(txn.next_deadline(), at_ms(1500));
    auto events = run_timers(txn, at_ms(14000));
    EXPECT_EQ(events, (std::vector<Event>{
                          ev(1500, K::kRetransmitRequest),
                          ev(5500, K::kRetransmitRequest),
                          ev(9500, K::kRetransmitRequest),
                          ev(13500, K::kRetransmitRequest),
                      }));
    // Timer F still bounds Proceeding.
    auto rest = run_timers(txn, at_ms(100000));
    ASSERT_FALSE(rest.empty());
    EXPECT_EQ(rest[rest.size() - 2], ev(32000, K::kTimeout));
    EXPECT_EQ(rest.back(), ev(32000, K::kTerminated));
}

TEST(ClientNonInviteTest, FinalResponseThenTimerKOverUdp) {
    ClientNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_response(at_ms(800), 200)),
              (std::vector<Action>{{K::kPassResponseToTu, 200}}));
    EXPECT_EQ(txn.state(), NonInviteState::kCompleted);
    EXPECT_EQ(txn.next_deadline(), at_ms(5800));  // Timer K = T4, no more Timer E
    // Retransmitted final responses are absorbed, not passed up again.
    EXPECT_TRUE(txn.on_response(at_ms(1000), 200).empty());
    EXPECT_TRUE(txn.on_response(at_ms(1000), 180).empty());
    EXPECT_EQ(run_timers(txn, at_ms(100000)), (std::vector<Event>{ev(5800, K::kTerminated)}));
}

TEST(ClientNonInviteTest, TcpHasNoRetransmissionsAndNoLinger) {
    ClientNonInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(txn.next_deadline(), at_ms(32000));  // Timer F only
    EXPECT_TRUE(txn.on_timer(at_ms(500)).empty());
    EXPECT_EQ(to_vector(txn.on_response(at_ms(900), 100)),
              (std::vector<Action>{{K::kPassResponseToTu, 100}}));
    EXPECT_EQ(to_vector(txn.on_response(at_ms(1000), 404)),
              (std::vector<Action>{{K::kPassResponseToTu, 404}, {K::kTerminated, 0}}));
}

TEST(ClientNonInviteTest, TcpTimesOutAtTimerFWithoutRetransmitting) {
    ClientNonInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(run_timers(txn, at_ms(100000)),
              (std::vector<Event>{ev(32000, K::kTimeout), ev(32000, K::kTerminated)}));
}

TEST(ClientNonInviteTest, TransportErrorInformsTuAndTerminates) {
    ClientNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_response(at_ms(10), 100);
    EXPECT_EQ(to_vector(txn.on_transport_error()),
              (std::vector<Action>{{K::kTransportError, 0}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
}

TEST(ClientNonInviteTest, OutOfRangeStatusIsIgnored) {
    ClientNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_TRUE(txn.on_response(at_ms(1), 1000).empty());
    EXPECT_EQ(txn.state(), NonInviteState::kTrying);
}

}  // namespace
}  // namespace fe::txn
