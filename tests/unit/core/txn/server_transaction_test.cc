// Checks the RFC 3261 §17.2 server machines with injected time: 100 Trying
// after 200 ms of TU silence (or at once), the Timer G schedule capped at T2
// and Timer H's timeout, ACK absorption in Confirmed and Timer I, 2xx ending
// the INVITE transaction, non-INVITE retransmissions answered with the last
// response and Timer J, reliable transports without retransmissions or
// lingering, transport errors.
#include "core/txn/server_transaction.h"

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
using InviteState = ServerInviteTransaction::State;
using NonInviteState = ServerNonInviteTransaction::State;

constexpr Reliability kUdp = Reliability::kUnreliable;
constexpr Reliability kTcp = Reliability::kReliable;

// ---------------------------------------------------------------- INVITE

TEST(ServerInviteTest, SendsTryingWhenTuSilentFor200ms) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    EXPECT_EQ(to_vector(txn.start(at_ms(0))), (std::vector<Action>{{K::kPassRequestToTu, 0}}));
    EXPECT_EQ(txn.state(), InviteState::kProceeding);
    EXPECT_EQ(txn.next_deadline(), at_ms(200));
    EXPECT_TRUE(txn.on_timer(at_ms(199)).empty());
    EXPECT_EQ(to_vector(txn.on_timer(at_ms(200))), (std::vector<Action>{{K::kSendTrying, 100}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);  // Proceeding has no RFC timer
    // A retransmitted INVITE gets the 100 again.
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitResponse, 100}}));
}

TEST(ServerInviteTest, NoTryingWhenTuAnswersWithin200ms) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(150), 180)),
              (std::vector<Action>{{K::kSendResponse, 180}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    EXPECT_TRUE(txn.on_timer(at_ms(200)).empty());
    // A retransmission gets the most recent provisional from the TU.
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(300), 183)),
              (std::vector<Action>{{K::kSendResponse, 183}}));
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitResponse, 183}}));
    EXPECT_EQ(txn.last_status_code(), 183);
}

TEST(ServerInviteTest, ZeroTryingDelaySendsTryingAtStart) {
    TimerConfig config;
    config.trying_delay = Duration::zero();
    ServerInviteTransaction txn(config, kUdp);
    EXPECT_EQ(to_vector(txn.start(at_ms(0))),
              (std::vector<Action>{{K::kPassRequestToTu, 0}, {K::kSendTrying, 100}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
}

TEST(ServerInviteTest, RetransmissionBeforeTryingTimerSendsTryingAtOnce) {
    TimerConfig config;
    config.t1 = milliseconds(100);  // a client with a small T1 retransmits early
    ServerInviteTransaction txn(config, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(100))),
              (std::vector<Action>{{K::kSendTrying, 100}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);  // the trying timer is spent
}

TEST(ServerInviteTest, UdpTimerGScheduleThenTimerH) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    std::vector<Event> events;
    test::append(events, at_ms(100), txn.on_tu_response(at_ms(100), 486));
    EXPECT_EQ(txn.state(), InviteState::kCompleted);
    auto timers = run_timers(txn, at_ms(100000));
    events.insert(events.end(), timers.begin(), timers.end());
    // §17.2.1: G at T1, then doubling capped at T2; H at 64*T1 informs the TU.
    EXPECT_EQ(events, (std::vector<Event>{
                          ev(100, K::kSendResponse, 486),
                          ev(600, K::kRetransmitResponse, 486),
                          ev(1600, K::kRetransmitResponse, 486),
                          ev(3600, K::kRetransmitResponse, 486),
                          ev(7600, K::kRetransmitResponse, 486),
                          ev(11600, K::kRetransmitResponse, 486),
                          ev(15600, K::kRetransmitResponse, 486),
                          ev(19600, K::kRetransmitResponse, 486),
                          ev(23600, K::kRetransmitResponse, 486),
                          ev(27600, K::kRetransmitResponse, 486),
                          ev(31600, K::kRetransmitResponse, 486),
                          ev(32100, K::kTimeout),
                          ev(32100, K::kTerminated),
                      }));
    EXPECT_EQ(txn.state(), InviteState::kTerminated);
}

TEST(ServerInviteTest, RetransmittedInviteInCompletedGetsFinalResponse) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(10), 180);
    (void)txn.on_tu_response(at_ms(20), 404);
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(300))),
              (std::vector<Action>{{K::kRetransmitResponse, 404}}));
    // Later TU responses are discarded.
    EXPECT_TRUE(txn.on_tu_response(at_ms(400), 500).empty());
    EXPECT_TRUE(txn.on_tu_response(at_ms(400), 200).empty());
    EXPECT_EQ(txn.last_status_code(), 404);
}

TEST(ServerInviteTest, AckConfirmsStopsTimerGAndAbsorbsRetransmissions) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(0), 603);
    EXPECT_EQ(to_vector(txn.on_timer(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitResponse, 603}}));
    EXPECT_TRUE(txn.on_ack(at_ms(700)).empty());
    EXPECT_EQ(txn.state(), InviteState::kConfirmed);
    EXPECT_EQ(txn.next_deadline(), at_ms(5700));  // Timer I = T4; no Timer G
    // Confirmed absorbs further ACKs and INVITE retransmissions silently.
    EXPECT_TRUE(txn.on_ack(at_ms(1000)).empty());
    EXPECT_TRUE(txn.on_request_retransmission(at_ms(1000)).empty());
    EXPECT_EQ(txn.state(), InviteState::kConfirmed);
    EXPECT_EQ(run_timers(txn, at_ms(100000)), (std::vector<Event>{ev(5700, K::kTerminated)}));
}

TEST(ServerInviteTest, AckBeforeFinalResponseIsIgnored) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_TRUE(txn.on_ack(at_ms(10)).empty());
    EXPECT_EQ(txn.state(), InviteState::kProceeding);
}

TEST(ServerInviteTest, SuccessIsSentOnceAndTerminates) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(50), 200)),
              (std::vector<Action>{{K::kSendResponse, 200}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    EXPECT_TRUE(txn.on_request_retransmission(at_ms(500)).empty());
}

TEST(ServerInviteTest, TcpNoTimerGButTimerHAndZeroTimerI) {
    ServerInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(0), 480);
    EXPECT_EQ(txn.next_deadline(), at_ms(32000));  // Timer H only
    EXPECT_EQ(to_vector(txn.on_ack(at_ms(100))), (std::vector<Action>{{K::kTerminated, 0}}));
}

TEST(ServerInviteTest, TcpWithoutAckTimesOutAtTimerH) {
    ServerInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(0), 480);
    EXPECT_EQ(run_timers(txn, at_ms(100000)),
              (std::vector<Event>{ev(32000, K::kTimeout), ev(32000, K::kTerminated)}));
}

TEST(ServerInviteTest, TransportErrorInformsTuAndTerminates) {
    ServerInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(0), 500);
    EXPECT_EQ(to_vector(txn.on_transport_error()),
              (std::vector<Action>{{K::kTransportError, 0}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    EXPECT_TRUE(txn.on_timer(at_ms(100000)).empty());
}

// ------------------------------------------------------------ non-INVITE

TEST(ServerNonInviteTest, TryingDiscardsRetransmissions) {
    ServerNonInviteTransaction txn(TimerConfig{}, kUdp);
    EXPECT_EQ(to_vector(txn.start(at_ms(0))), (std::vector<Action>{{K::kPassRequestToTu, 0}}));
    EXPECT_EQ(txn.state(), NonInviteState::kTrying);
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
    EXPECT_TRUE(txn.on_request_retransmission(at_ms(500)).empty());
}

TEST(ServerNonInviteTest, ProceedingAnswersRetransmissionWithLastProvisional) {
    ServerNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(10), 100)),
              (std::vector<Action>{{K::kSendResponse, 100}}));
    EXPECT_EQ(txn.state(), NonInviteState::kProceeding);
    (void)txn.on_tu_response(at_ms(20), 182);
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitResponse, 182}}));
}

TEST(ServerNonInviteTest, CompletedAnswersWithFinalUntilTimerJ) {
    ServerNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(40), 200)),
              (std::vector<Action>{{K::kSendResponse, 200}}));
    EXPECT_EQ(txn.state(), NonInviteState::kCompleted);
    EXPECT_EQ(txn.next_deadline(), at_ms(32040));  // Timer J = 64*T1
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(500))),
              (std::vector<Action>{{K::kRetransmitResponse, 200}}));
    // Other final responses from the TU are discarded.
    EXPECT_TRUE(txn.on_tu_response(at_ms(600), 500).empty());
    EXPECT_EQ(to_vector(txn.on_request_retransmission(at_ms(700))),
              (std::vector<Action>{{K::kRetransmitResponse, 200}}));
    // The server never retransmits on its own: only Timer J is left.
    EXPECT_EQ(run_timers(txn, at_ms(100000)), (std::vector<Event>{ev(32040, K::kTerminated)}));
}

TEST(ServerNonInviteTest, TcpTerminatesWhenFinalSent) {
    ServerNonInviteTransaction txn(TimerConfig{}, kTcp);
    (void)txn.start(at_ms(0));
    EXPECT_EQ(to_vector(txn.on_tu_response(at_ms(5), 200)),
              (std::vector<Action>{{K::kSendResponse, 200}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.next_deadline(), std::nullopt);
}

TEST(ServerNonInviteTest, TransportErrorInformsTuAndTerminates) {
    ServerNonInviteTransaction txn(TimerConfig{}, kUdp);
    (void)txn.start(at_ms(0));
    (void)txn.on_tu_response(at_ms(5), 200);
    EXPECT_EQ(to_vector(txn.on_transport_error()),
              (std::vector<Action>{{K::kTransportError, 0}, {K::kTerminated, 0}}));
    EXPECT_EQ(txn.state(), NonInviteState::kTerminated);
    EXPECT_TRUE(txn.on_request_retransmission(at_ms(10)).empty());
}

}  // namespace
}  // namespace fe::txn
