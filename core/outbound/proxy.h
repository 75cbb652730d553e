// File: core/outbound/proxy.h
//
// The home (authoritative) proxy's forwarding logic for one request to an
// AOR: RFC 3261 §16.6-16.10 (stateful forking, response context, best
// response, Timer C, CANCEL) with the RFC 5626 §7 rules for outbound
// bindings (OB-AUTH-01..03, OB-AUTH-08, OB-430-02..04). Pure: no I/O, no
// clock, no allocation; every input returns the actions the owner must carry
// out, and next_deadline() says when to call on_timer().
//
//   fe::outbound::ProxyCall call(config, fe::outbound::RequestKind::kInvite);
//   run(call.start(targets, now));           // kSendRequest per instance
//   arm_timer(call.next_deadline());
//   ...a response matched branch 1 (by the branch's Via branch + CSeq method):
//   run(call.on_branch_response(1, 486, now));
//   ...until an action list holds ProxyActionKind::kDone: destroy the call.
//
// Targets and groups. Each Target is one binding. Bindings with the same
// non-empty instance_key form one group (one UA instance); a binding without
// an instance is a group of its own. One branch per group runs at a time
// (OB-AUTH-01), the group's most recently updated binding first (OB-AUTH-08,
// ties by higher q), and all groups are forked in parallel.
//
// Which responses end an instance (OB-AUTH-03, OB-430-04):
//   - 430 and 408 (received, or a synthetic 408 from a transaction timeout or
//     Timer C) and a transport error (a synthetic 503, RFC 3261 §16.9) are
//     "flow failures": the next binding of the same group is tried (OB-AUTH-02,
//     OB-430-02) unless the call has stopped branching.
//   - A received 503 is a flow failure only with Retry503::kTriesNextFlow.
//     The default, kEndsInstance, follows RFC 5626 §7 to the letter: a final
//     response other than 408 or 430 MUST NOT be retried on another flow of
//     the same instance.
//   - Every other final response is the instance's answer.
//
// Response context (§16.7): provisional responses other than 100 are
// forwarded while no final response went upstream; a 2xx is forwarded at
// once (for INVITE every later 2xx too), stops new branches and CANCELs the
// other pending INVITE branches (step 10). A 6xx stops new branches and
// CANCELs the pending ones (step 5) but waits for the best-response choice.
// When no branch is running any more and nothing final went upstream:
//   - the best answer is forwarded (best_response_rank(): 6xx, then the lowest
//     class, preferring 401/407/415/420/484 in 4xx, and 503 last in 5xx);
//     a chosen 503 becomes a generated 500 (step 6);
//   - with no answer at all (every flow failed, or no target): a generated
//     480, because the target set is exhausted (§16.5) and a 430 must never
//     reach an endpoint (OB-430-03); after an upstream CANCEL, a generated 487.
// We deviate from §16.7 step 6 ("no final responses -> 408") on purpose:
// synthetic timeouts and 430s mean the registered flows are unusable, which
// the caller should read as "temporarily unavailable", not as its own
// request timing out.
// Not done: 401/407 challenge aggregation (§16.7 step 7) across branches. A
// chosen 401/407 is forwarded alone; the other branches' challenges are lost.
// Recursion on 3xx is not done either: a 3xx is an answer like any other.
//
// Transactions. Each branch runs its own txn::ClientInviteTransaction or
// ClientNonInviteTransaction (retransmissions, Timer A/B/D/E/F/K), and a
// ClientNonInviteTransaction for its CANCEL. The proxy adds Timer C per
// INVITE branch (§16.8) and the 64*T1 wait after a CANCEL (§9.1). A CANCEL is
// only sent once the branch has had a provisional response (§9.1); until
// then it is held and sent when one arrives. No CANCEL is ever sent for a
// non-INVITE request.
//
// What the owner does per action: see ProxyActionKind. What it feeds back:
//   on_branch_response()  a response matched the branch's request transaction
//                         (client key: branch id + request method)
//   on_cancel_response()  a response matched the branch's CANCEL (same
//                         branch id + method CANCEL)
//   on_branch_transport_error() / on_cancel_transport_error()
//                         the transport could not send the request / CANCEL
//   on_cancel_from_upstream()  the request was CANCELled by the upstream
//                         client; the owner itself answers the CANCEL 200
//   on_timer(now)         at or after next_deadline()
// Responses that match no live branch transaction (a 2xx retransmission after
// the INVITE transaction ended) are the owner's, handled statelessly
// (§16.7: a late 2xx is forwarded).
//
// The span an input returns points into the ProxyCall and is valid until the
// next input: carry the actions out (or copy them) before feeding another.
// The Target views given to start() must stay valid until kDone.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/base/time.h"
#include "core/outbound/proxy_limits.h"
#include "core/txn/client_transaction.h"
#include "core/txn/timers.h"

namespace fe::outbound {

// One binding of the AOR, as the node converts it from the store's Binding.
struct Target {
    // The binding's canonical +sip.instance key (registrar-normalised, so two
    // equal instances compare equal byte for byte, OB-INST-03). Empty for a
    // plain RFC 3261 binding.
    std::string_view instance_key = {};
    // The binding's reg-id; 0 for a binding without outbound.
    uint32_t reg_id = 0;
    // The registered Contact URI (addr-spec, no angle brackets): the branch's
    // Request-URI (OB-AUTH-04).
    std::string_view contact_uri = {};
    // The stored Path vector, topmost first: the branch's Route (OB-AUTH-04,
    // RFC 3327 §5.4).
    std::span<const std::string_view> path = {};
    // When the binding was last registered or refreshed (OB-AUTH-08).
    Time updated = {};
    // Contact q-value times 1000 (0..1000); breaks ties within a group.
    uint16_t q_thousandths = 1000;
    // How the branch will travel to its first hop: a reliable transport gets
    // no retransmissions (RFC 3261 §17.1).
    txn::Reliability reliability = txn::Reliability::kUnreliable;
};

enum class RequestKind : uint8_t { kInvite, kNonInvite };

// Whether a received 503 lets the proxy try the instance's next flow. See the
// file comment: RFC 5626 §7 says it must not, so kEndsInstance is the default.
enum class Retry503 : uint8_t { kEndsInstance, kTriesNextFlow };

struct ProxyConfig {
    txn::TimerConfig timers = {};
    // §16.8. Must exceed 3 minutes when used as specified; tests shorten it.
    Duration timer_c = kTimerCDefault;
    Retry503 retry_503 = Retry503::kEndsInstance;
};

enum class ProxyActionKind : uint8_t {
    // Build the branch's request (proxy_request.h: add_branch_edits() with the
    // target's contact and Path and the Via branch id of branch_index), keep
    // its bytes for retransmission, register the client key (branch id,
    // request method) for the branch, and send it.
    kSendRequest,
    // Send the kept branch request once more (Timer A / E).
    kRetransmitRequest,
    // INVITE branch got a 3xx-6xx (status_code): build the ACK (build_ack())
    // from the branch request and the response just passed in, send it, keep
    // it.
    kSendAck,
    // A final response was retransmitted: resend the kept ACK.
    kRetransmitAck,
    // Build the CANCEL (build_cancel()) from the kept branch request, register
    // the client key (branch id, "CANCEL"), send it and keep it.
    kSendCancel,
    // Resend the kept CANCEL.
    kRetransmitCancel,
    // Forward the response just passed in (status_code) upstream now, after
    // removing the top Via (§16.7 step 3): a provisional or a 2xx.
    kForwardResponse,
    // Keep a copy of the response just passed in (status_code); it replaces
    // any earlier kept one: it is the best final answer so far.
    kStoreResponse,
    // Send the kept response upstream as the final response (top Via removed).
    kForwardStoredResponse,
    // Generate a final response to the request (status_code: 480, 487, 500)
    // and send it upstream.
    kSendFinalResponse,
    // The branch's request transaction is over: drop its client key and kept
    // request / ACK bytes.
    kBranchTerminated,
    // The branch's CANCEL transaction is over: drop its client key and bytes.
    kCancelTerminated,
    // The final response went upstream and every transaction ended: destroy
    // the call. Always the last action of its list; nothing follows.
    kDone,
};

std::string_view proxy_action_kind_name(ProxyActionKind kind);

inline constexpr uint8_t kNoBranch = 0xff;
inline constexpr uint8_t kNoTarget = 0xff;

struct ProxyAction {
    ProxyActionKind kind = ProxyActionKind::kDone;
    // The branch concerned; kNoBranch for kSendFinalResponse and kDone.
    uint8_t branch_index = kNoBranch;
    // kSendRequest: index into the span given to start(); else kNoTarget.
    uint8_t target_index = kNoTarget;
    // The response concerned (kSendAck, kForwardResponse, kStoreResponse,
    // kForwardStoredResponse, kSendFinalResponse); 0 otherwise.
    uint16_t status_code = 0;

    friend bool operator==(const ProxyAction&, const ProxyAction&) = default;
};

// §16.7 step 6 preference of a final response that answered an instance:
// higher is better; 0 for codes that never compete (1xx, 2xx, 430). Equal
// ranks keep the first received.
int best_response_rank(uint16_t status_code);

class ProxyCall {
  public:
    ProxyCall(const ProxyConfig& config, RequestKind kind);
    ProxyCall(const ProxyCall&) = delete;
    ProxyCall& operator=(const ProxyCall&) = delete;

    // Groups and orders the targets and forks one branch per group. No target
    // gives kSendFinalResponse(480) and kDone at once. targets.size() must be
    // at most kTargetCountMax.
    [[nodiscard]] std::span<const ProxyAction> start(std::span<const Target> targets, Time now);
    [[nodiscard]] std::span<const ProxyAction> on_branch_response(uint8_t branch_index,
                                                                  uint16_t status_code, Time now);
    [[nodiscard]] std::span<const ProxyAction> on_branch_transport_error(uint8_t branch_index,
                                                                         Time now);
    [[nodiscard]] std::span<const ProxyAction> on_cancel_response(uint8_t branch_index,
                                                                  uint16_t status_code, Time now);
    [[nodiscard]] std::span<const ProxyAction> on_cancel_transport_error(uint8_t branch_index,
                                                                         Time now);
    [[nodiscard]] std::span<const ProxyAction> on_cancel_from_upstream(Time now);
    [[nodiscard]] std::span<const ProxyAction> on_timer(Time now);

    // When on_timer() must run next; nullopt when nothing is armed.
    std::optional<Time> next_deadline() const;

    uint8_t branch_count() const { return branch_count_; }
    // The start() index of the target branch_index carries.
    uint8_t branch_target_index(uint8_t branch_index) const;
    // True while the branch's request awaits its final response (no final
    // response, timeout or transport error yet).
    bool branch_running(uint8_t branch_index) const;
    // True once a final response went upstream (forwarded or generated).
    bool final_sent() const { return final_sent_; }
    bool done() const { return done_; }
    // Targets never tried because kBranchCountMax branches were used up.
    uint32_t targets_not_tried() const { return targets_not_tried_; }

  private:
    // Targets sharing an instance; order_[first, first + count) in trial order.
    struct Group {
        uint8_t first = 0;
        uint8_t count = 0;
        uint8_t next = 0;                   // Offset in the group of the next target to try.
        uint8_t active_branch = kNoBranch;  // The group's running branch, if any.
    };

    struct Branch {
        std::optional<txn::ClientInviteTransaction> invite_txn;
        std::optional<txn::ClientNonInviteTransaction> non_invite_txn;
        std::optional<txn::ClientNonInviteTransaction> cancel_txn;
        // Timer C while the INVITE branch waits; after a CANCEL went out, the
        // §9.1 64*T1 limit. kNever otherwise.
        Time give_up_at = txn::kNever;
        // The final status recorded for the branch (synthetic or received); 0 before.
        uint16_t final_status = 0;
        uint8_t target_index = kNoTarget;
        uint8_t group_index = 0;
        bool request_live = false;  // The request transaction has not terminated.
        bool cancel_live = false;   // The CANCEL transaction has not terminated.
        bool has_provisional = false;
        bool has_final = false;      // A final outcome was recorded for the branch.
        bool cancel_wanted = false;  // CANCEL asked for; sent once a 1xx arrives.
        bool cancel_sent = false;
    };

    enum class Outcome : uint8_t { kAnswer, kFlowFailure };

    void begin_input();
    void push(ProxyActionKind kind, uint8_t branch_index, uint16_t status_code = 0,
              uint8_t target_index = kNoTarget);
    void order_targets(std::span<const Target> targets);
    void start_next_in_group(uint8_t group_index, Time now);
    void run_request_actions(uint8_t branch_index, const txn::ActionList& actions, Time now);
    void run_cancel_actions(uint8_t branch_index, const txn::ActionList& actions);
    void on_provisional(uint8_t branch_index, uint16_t status_code, Time now);
    void on_final(uint8_t branch_index, uint16_t status_code, Outcome outcome, Time now);
    void abandon_branch(uint8_t branch_index, Time now);
    void stop_branching_and_cancel(Time now);
    void request_cancel(uint8_t branch_index, Time now);
    void send_cancel(uint8_t branch_index, Time now);
    void finish_if_complete();
    Outcome classify(uint16_t final_status) const;

    ProxyConfig config_;
    RequestKind kind_;
    std::span<const Target> targets_;
    // Target indexes grouped by instance, each group in trial order.
    std::array<uint8_t, kTargetCountMax> order_{};
    std::array<Group, kTargetCountMax> groups_{};
    uint8_t group_count_ = 0;
    // Branches [0, branch_count_) were created; an index is never reused, so
    // its Via branch id stays unique for the call's life.
    std::array<Branch, kBranchCountMax> branches_{};
    uint8_t branch_count_ = 0;
    // Groups with an active branch.
    uint8_t active_group_count_ = 0;
    // The best answer kept so far (kStoreResponse sent for it); kNoBranch when none.
    uint8_t best_branch_ = kNoBranch;
    uint16_t best_status_ = 0;
    bool started_ = false;
    // No new branch may be created (2xx or 6xx received, or upstream CANCEL).
    bool stop_branching_ = false;
    bool cancelled_upstream_ = false;
    bool final_sent_ = false;
    bool done_ = false;
    uint32_t targets_not_tried_ = 0;
    // The current input's actions: [0, action_count_).
    std::array<ProxyAction, kProxyActionCountMax> actions_{};
    uint32_t action_count_ = 0;
};

}  // namespace fe::outbound
