// Checks the home proxy's branch scheduler and response context
// (core/outbound/proxy.h) by the exact action lists it returns, with injected
// time: grouping by instance and trial order (OB-AUTH-01, OB-AUTH-08), serial
// flow retries on 430 / 408 / transport errors / timeouts and no retry after
// an answer (OB-AUTH-02, OB-AUTH-03, OB-430-02, OB-430-04), the 480 when no
// flow answers and the 430 never going upstream (OB-430-03), forking with
// 2xx forwarding and CANCEL of the other branches (RFC 3261 §16.7 steps 5
// and 10, §9.1), the best-response table (§16.7 step 6), upstream CANCEL
// (§16.10), Timer C (§16.8), retransmissions through the client machines,
// non-INVITE requests, and the branch limit.
#include "core/outbound/proxy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fe::outbound {
namespace {

constexpr Time kT0 = Time{} + seconds(1000);

// "SendRequest b0 t1, ForwardResponse b0 180, Done": one readable line per
// action list, so a test states the whole list and any extra action fails it.
std::string describe(std::span<const ProxyAction> actions) {
    std::string out;
    for (const ProxyAction& a : actions) {
        if (!out.empty()) {
            out += ", ";
        }
        out += std::string(proxy_action_kind_name(a.kind)).substr(1);
        if (a.branch_index != kNoBranch) {
            out += " b" + std::to_string(a.branch_index);
        }
        if (a.target_index != kNoTarget) {
            out += " t" + std::to_string(a.target_index);
        }
        if (a.status_code != 0) {
            out += " " + std::to_string(a.status_code);
        }
    }
    return out;
}

Target flow(std::string_view instance, uint32_t reg_id, int updated_s,
            txn::Reliability reliability = txn::Reliability::kReliable) {
    return Target{.instance_key = instance,
                  .reg_id = reg_id,
                  .contact_uri = "sip:bob@192.0.2.2;transport=tcp",
                  .updated = Time{} + seconds(updated_s),
                  .reliability = reliability};
}

ProxyConfig config() {
    return ProxyConfig{};
}

// --- Grouping and order ----------------------------------------------------

TEST(ProxyCall, OneBranchPerInstanceMostRecentFlowFirst) {
    // covers OB-AUTH-01, OB-AUTH-08
    const Target targets[] = {flow("urn:a", 1, 10), flow("urn:a", 2, 20), flow("urn:b", 1, 15)};
    ProxyCall call(config(), RequestKind::kInvite);
    // Instance a's group is the fresher (20 s), so it forks first, with reg-id 2.
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t1, SendRequest b1 t2");
    EXPECT_EQ(call.branch_count(), 2);
    EXPECT_EQ(call.branch_target_index(0), 1);
}

TEST(ProxyCall, PlainBindingsAreEachTheirOwnGroup) {
    const Target targets[] = {flow("", 0, 10), flow("", 0, 30), flow("urn:a", 1, 20)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)),
              "SendRequest b0 t1, SendRequest b1 t2, SendRequest b2 t0");
}

TEST(ProxyCall, EqualUpdateTimesPreferHigherQ) {
    Target low = flow("urn:a", 1, 10);
    low.q_thousandths = 500;
    const Target targets[] = {low, flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t1");
}

TEST(ProxyCall, NoTargetAnswers480AtOnce) {
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start({}, kT0)), "SendFinalResponse 480, Done");
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.next_deadline().has_value());
}

// --- Forking, 2xx and CANCEL ------------------------------------------------

TEST(ProxyCall, TwoInstancesForkFirst200WinsOtherGetsCancel) {
    // covers OB-AUTH-01; RFC 3261 §16.7 steps 5 and 10
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t0, SendRequest b1 t1");
    EXPECT_EQ(describe(call.on_branch_response(0, 100, kT0)), "");  // 100 is never forwarded
    EXPECT_EQ(describe(call.on_branch_response(1, 180, kT0)), "ForwardResponse b1 180");
    EXPECT_EQ(describe(call.on_branch_response(0, 200, kT0)),
              "ForwardResponse b0 200, SendCancel b1, BranchTerminated b0");
    EXPECT_TRUE(call.final_sent());
    EXPECT_EQ(describe(call.on_cancel_response(1, 200, kT0)), "CancelTerminated b1");
    // The cancelled branch's 487 is acknowledged and absorbed.
    EXPECT_EQ(describe(call.on_branch_response(1, 487, kT0)),
              "SendAck b1 487, BranchTerminated b1, Done");
    EXPECT_TRUE(call.done());
}

TEST(ProxyCall, EveryLater2xxOfAnInviteIsForwardedToo) {
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    (void)call.on_branch_response(1, 180, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 200, kT0)),
              "ForwardResponse b0 200, SendCancel b1, BranchTerminated b0");
    // The 200 crossed our CANCEL: it still goes up (§16.7 step 5).
    EXPECT_EQ(describe(call.on_branch_response(1, 200, kT0)),
              "ForwardResponse b1 200, BranchTerminated b1");
    EXPECT_EQ(describe(call.on_cancel_response(1, 200, kT0)), "CancelTerminated b1, Done");
}

TEST(ProxyCall, CancelWaitsForAProvisionalResponse) {
    // RFC 3261 §9.1: no CANCEL before the branch has had a provisional response.
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 200, kT0)),
              "ForwardResponse b0 200, BranchTerminated b0");
    // The late 180 is not forwarded (a final went up) but releases the CANCEL.
    EXPECT_EQ(describe(call.on_branch_response(1, 180, kT0)), "SendCancel b1");
}

TEST(ProxyCall, SixHundredStopsBranchingCancelsAndWinsWhenAllEnd) {
    // RFC 3261 §16.7 step 5 (6xx not forwarded at once) and step 6 (6xx wins).
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 15), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t0, SendRequest b1 t2");
    EXPECT_EQ(describe(call.on_branch_response(1, 183, kT0)), "ForwardResponse b1 183");
    EXPECT_EQ(describe(call.on_branch_response(0, 603, kT0)),
              "SendCancel b1, StoreResponse b0 603, SendAck b0 603, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_cancel_response(1, 200, kT0)), "CancelTerminated b1");
    EXPECT_EQ(describe(call.on_branch_response(1, 487, kT0)),
              "SendAck b1 487, BranchTerminated b1, ForwardStoredResponse b0 603, Done");
    EXPECT_EQ(call.branch_count(), 2);  // Instance a's second flow was never tried.
}

// --- Serial flow retries (RFC 5626 §7) ---------------------------------------

TEST(ProxyCall, FlowFailed430TriesTheSecondFlow) {
    // covers OB-AUTH-02, OB-430-02, OB-AUTH-08 (RFC 5626 §9.3 msgs 22-24)
    const Target targets[] = {flow("urn:a", 2, 10), flow("urn:a", 1, 20)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t1");
    EXPECT_EQ(describe(call.on_branch_response(0, 430, kT0)),
              "SendRequest b1 t0, SendAck b0 430, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_branch_response(1, 180, kT0)), "ForwardResponse b1 180");
    EXPECT_EQ(describe(call.on_branch_response(1, 200, kT0)),
              "ForwardResponse b1 200, BranchTerminated b1, Done");
}

TEST(ProxyCall, BusyHere486EndsTheInstanceWithoutRetry) {
    // covers OB-AUTH-03
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 486, kT0)),
              "StoreResponse b0 486, SendAck b0 486, BranchTerminated b0, "
              "ForwardStoredResponse b0 486, Done");
    EXPECT_EQ(call.branch_count(), 1);
}

TEST(ProxyCall, RequestTimeout408TriesTheNextFlow) {
    // covers OB-AUTH-03 (408 allowed), OB-430-04
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 408, kT0)),
              "SendRequest b1 t1, SendAck b0 408, BranchTerminated b0");
}

TEST(ProxyCall, EveryFlowFailedAnswers480AndNever430) {
    // covers OB-430-03: the 430s are never passed upstream.
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    (void)call.on_branch_response(0, 430, kT0);
    EXPECT_EQ(describe(call.on_branch_response(1, 430, kT0)),
              "SendAck b1 430, BranchTerminated b1, SendFinalResponse 480, Done");
}

TEST(ProxyCall, TransportErrorTriesTheNextFlow) {
    // RFC 3261 §16.9: a transport error is a 503 from nobody: not an answer.
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_transport_error(0, kT0)),
              "SendRequest b1 t1, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_branch_transport_error(1, kT0)),
              "BranchTerminated b1, SendFinalResponse 480, Done");
}

TEST(ProxyCall, Received503EndsTheInstanceByDefaultAndBecomes500) {
    // covers OB-AUTH-03 (503 is not 408/430); RFC 3261 §16.7 step 6 (503 -> 500)
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 503, kT0)),
              "StoreResponse b0 503, SendAck b0 503, BranchTerminated b0, "
              "SendFinalResponse 500, Done");
}

TEST(ProxyCall, Received503TriesTheNextFlowWhenConfigured) {
    ProxyConfig c = config();
    c.retry_503 = Retry503::kTriesNextFlow;
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(c, RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 503, kT0)),
              "SendRequest b1 t1, SendAck b0 503, BranchTerminated b0");
}

TEST(ProxyCall, TimerBOverUdpRetransmitsThenTriesTheNextFlow) {
    // covers OB-AUTH-02 on a timeout; the client machine drives Timer A / B.
    const Target targets[] = {flow("urn:a", 1, 20, txn::Reliability::kUnreliable),
                              flow("urn:a", 2, 10, txn::Reliability::kUnreliable)};
    ProxyCall call(config(), RequestKind::kInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t0");
    EXPECT_EQ(call.next_deadline(), kT0 + milliseconds(500));  // Timer A = T1
    EXPECT_EQ(describe(call.on_timer(kT0 + milliseconds(499))), "");
    EXPECT_EQ(describe(call.on_timer(kT0 + milliseconds(500))), "RetransmitRequest b0");
    EXPECT_EQ(call.next_deadline(), kT0 + milliseconds(1500));  // doubled
    const Time timer_b = kT0 + seconds(32);
    EXPECT_EQ(describe(call.on_timer(timer_b)), "SendRequest b1 t1, BranchTerminated b0");
    EXPECT_EQ(call.next_deadline(), timer_b + milliseconds(500));
}

TEST(ProxyCall, RetransmittedFinalOverUdpIsAckedAgainAndDoneAfterTimerD) {
    const Target targets[] = {flow("urn:a", 1, 20, txn::Reliability::kUnreliable)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_branch_response(0, 486, kT0)),
              "StoreResponse b0 486, SendAck b0 486, ForwardStoredResponse b0 486");
    EXPECT_FALSE(call.done());  // §16.7 step 9: the context outlives the final response.
    EXPECT_EQ(describe(call.on_branch_response(0, 486, kT0 + seconds(1))), "RetransmitAck b0");
    EXPECT_EQ(call.next_deadline(), kT0 + seconds(32));  // Timer D
    EXPECT_EQ(describe(call.on_timer(kT0 + seconds(32))), "BranchTerminated b0, Done");
}

// --- Best response (RFC 3261 §16.7 step 6) ----------------------------------

TEST(ProxyCall, BestResponseRanks) {
    EXPECT_GT(best_response_rank(603), best_response_rank(302));
    EXPECT_GT(best_response_rank(302), best_response_rank(401));
    EXPECT_GT(best_response_rank(407), best_response_rank(404));
    EXPECT_GT(best_response_rank(484), best_response_rank(486));
    EXPECT_GT(best_response_rank(404), best_response_rank(500));
    EXPECT_GT(best_response_rank(500), best_response_rank(503));
    EXPECT_EQ(best_response_rank(430), 0);
    EXPECT_EQ(best_response_rank(200), 0);
    EXPECT_EQ(best_response_rank(180), 0);
}

struct BestCase {
    std::vector<uint16_t> answers;  // One instance each, answering in this order.
    std::string final_actions;      // The call's last two actions.
};

class BestResponse : public testing::TestWithParam<BestCase> {};

TEST_P(BestResponse, ChosenWhenEveryBranchEnded) {
    const BestCase& c = GetParam();
    static const std::string kInstances[] = {"urn:a", "urn:b", "urn:c", "urn:d"};
    std::vector<Target> targets;
    for (size_t i = 0; i < c.answers.size(); ++i) {
        targets.push_back(flow(kInstances[i], 1, static_cast<int>(100 - i)));
    }
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    std::string last;
    for (size_t i = 0; i < c.answers.size(); ++i) {
        // Groups are ordered by freshness, so instance i rides branch i.
        last = describe(call.on_branch_response(static_cast<uint8_t>(i), c.answers[i], kT0));
    }
    const size_t cut = last.rfind(", ", last.rfind(", ") - 1);
    EXPECT_EQ(last.substr(cut + 2), c.final_actions);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3261Step6, BestResponse,
    testing::Values(
        // The RFC's own example: 503, 407, 501, 404 -> the 407.
        BestCase{{503, 407, 501, 404}, "ForwardStoredResponse b1 407, Done"},
        BestCase{{486, 603, 404}, "ForwardStoredResponse b1 603, Done"},  // 6xx beats all
        BestCase{{404, 302}, "ForwardStoredResponse b1 302, Done"},       // lowest class
        BestCase{{404, 486}, "ForwardStoredResponse b0 404, Done"},       // first of a class
        BestCase{{500, 503}, "ForwardStoredResponse b0 500, Done"},       // 503 last in 5xx
        BestCase{{503, 500}, "ForwardStoredResponse b1 500, Done"},
        BestCase{{503, 503}, "SendFinalResponse 500, Done"},         // only 503s -> 500
        BestCase{{430, 486}, "ForwardStoredResponse b1 486, Done"},  // 430 never chosen
        BestCase{{430, 408}, "SendFinalResponse 480, Done"}));       // no answer -> 480

// --- Upstream CANCEL (RFC 3261 §16.10) ---------------------------------------

TEST(ProxyCall, UpstreamCancelCancelsPendingBranchesAndStopsRetries) {
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 15), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    (void)call.on_branch_response(0, 180, kT0);
    // Branch 1 has had no provisional response: its CANCEL waits (§9.1).
    EXPECT_EQ(describe(call.on_cancel_from_upstream(kT0)), "SendCancel b0");
    EXPECT_EQ(describe(call.on_cancel_from_upstream(kT0)), "");  // a retransmitted CANCEL
    EXPECT_EQ(describe(call.on_branch_response(1, 100, kT0)), "SendCancel b1");
    // Instance a's first flow fails: no new branch after a CANCEL.
    EXPECT_EQ(describe(call.on_branch_response(0, 430, kT0)),
              "SendAck b0 430, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_branch_response(1, 487, kT0)),
              "StoreResponse b1 487, SendAck b1 487, BranchTerminated b1, "
              "ForwardStoredResponse b1 487");
    EXPECT_EQ(describe(call.on_cancel_response(0, 200, kT0)), "CancelTerminated b0");
    EXPECT_EQ(describe(call.on_cancel_response(1, 200, kT0)), "CancelTerminated b1, Done");
    EXPECT_EQ(call.branch_count(), 2);
}

TEST(ProxyCall, UpstreamCancelWithNoAnswerGenerates487) {
    const Target targets[] = {flow("urn:a", 1, 20)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    (void)call.on_branch_response(0, 180, kT0);
    EXPECT_EQ(describe(call.on_cancel_from_upstream(kT0)), "SendCancel b0");
    EXPECT_EQ(describe(call.on_branch_transport_error(0, kT0)),
              "BranchTerminated b0, SendFinalResponse 487");
}

// --- Timer C (RFC 3261 §16.8) and the CANCEL limit (§9.1) --------------------

TEST(ProxyCall, TimerCAfterAProvisionalSendsCancelThenGivesUpAfter64T1) {
    ProxyConfig c = config();
    c.timer_c = minutes(4);
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(c, RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(call.next_deadline(), kT0 + seconds(32));        // Timer B runs until a 1xx
    (void)call.on_branch_response(0, 180, kT0 + seconds(10));  // restarts Timer C
    EXPECT_EQ(call.next_deadline(), kT0 + seconds(10) + minutes(4));
    (void)call.on_branch_response(0, 100, kT0 + seconds(20));  // a 100 does not
    const Time fire = kT0 + seconds(10) + minutes(4);
    EXPECT_EQ(describe(call.on_timer(fire - milliseconds(1))), "");
    EXPECT_EQ(describe(call.on_timer(fire)), "SendCancel b0");
    EXPECT_EQ(describe(call.on_cancel_response(0, 200, fire)), "CancelTerminated b0");
    EXPECT_EQ(call.next_deadline(), fire + seconds(32));
    // No final response to the INVITE 64*T1 after the CANCEL: the branch is
    // given up as a 408, which lets the instance's next flow be tried.
    EXPECT_EQ(describe(call.on_timer(fire + seconds(32))),
              "BranchTerminated b0, SendRequest b1 t1");
}

TEST(ProxyCall, TimerCBeforeAnyProvisionalCountsAs408) {
    ProxyConfig c = config();
    c.timer_c = seconds(10);  // shorter than Timer B, so it fires first
    const Target targets[] = {flow("urn:a", 1, 20)};
    ProxyCall call(c, RequestKind::kInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_timer(kT0 + seconds(10))),
              "BranchTerminated b0, SendFinalResponse 480, Done");
    // A response after the branch was given up is the owner's (stateless).
    EXPECT_EQ(describe(call.on_branch_response(0, 200, kT0 + seconds(11))), "");
}

TEST(ProxyCall, CancelIsRetransmittedOverUdp) {
    const Target targets[] = {flow("urn:a", 1, 20, txn::Reliability::kUnreliable)};
    ProxyCall call(config(), RequestKind::kInvite);
    (void)call.start(targets, kT0);
    (void)call.on_branch_response(0, 180, kT0);
    EXPECT_EQ(describe(call.on_cancel_from_upstream(kT0)), "SendCancel b0");
    EXPECT_EQ(call.next_deadline(), kT0 + milliseconds(500));  // Timer E of the CANCEL
    EXPECT_EQ(describe(call.on_timer(kT0 + milliseconds(500))), "RetransmitCancel b0");
}

// --- Non-INVITE ---------------------------------------------------------------

TEST(ProxyCall, NonInviteForwardsFirst2xxAbsorbsTheRestAndNeverCancels) {
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:b", 1, 10)};
    ProxyCall call(config(), RequestKind::kNonInvite);
    EXPECT_EQ(describe(call.start(targets, kT0)), "SendRequest b0 t0, SendRequest b1 t1");
    EXPECT_EQ(call.next_deadline(), kT0 + seconds(32));          // Timer F; no Timer C
    EXPECT_EQ(describe(call.on_cancel_from_upstream(kT0)), "");  // §9.2: no effect
    EXPECT_EQ(describe(call.on_branch_response(0, 200, kT0)),
              "ForwardResponse b0 200, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_branch_response(1, 200, kT0)), "BranchTerminated b1, Done");
}

TEST(ProxyCall, NonInviteTimeoutTriesNextFlow) {
    const Target targets[] = {flow("urn:a", 1, 20), flow("urn:a", 2, 10)};
    ProxyCall call(config(), RequestKind::kNonInvite);
    (void)call.start(targets, kT0);
    EXPECT_EQ(describe(call.on_timer(kT0 + seconds(32))), "SendRequest b1 t1, BranchTerminated b0");
    EXPECT_EQ(describe(call.on_branch_response(1, 404, kT0 + seconds(33))),
              "StoreResponse b1 404, BranchTerminated b1, ForwardStoredResponse b1 404, Done");
}

// --- Limits ---------------------------------------------------------------------

TEST(ProxyCall, BranchesBeyondTheLimitAreNotTried) {
    std::vector<Target> targets;
    for (int i = 0; i < 20; ++i) {
        targets.push_back(flow("", 0, 100 - i));
    }
    ProxyCall call(config(), RequestKind::kInvite);
    const std::span<const ProxyAction> actions = call.start(targets, kT0);
    EXPECT_EQ(actions.size(), kBranchCountMax);
    EXPECT_EQ(call.targets_not_tried(), 20 - kBranchCountMax);
    // The freshest bindings got the slots.
    EXPECT_EQ(actions.back().target_index, kBranchCountMax - 1);
}

}  // namespace
}  // namespace fe::outbound
