// File: core/ua/flow_fsm.h
//
// The state machine of one RFC 5626 flow of a user agent towards one edge
// (one reg-id), and the actions it asks its driver to perform. Pure: the
// driver (flowedge-bench, a test client) does the I/O, passes the time in,
// and feeds back what happened.
//
//   kIdle -> kConnecting -> kRegistering -> kRegistered (keep-alives) -+
//               ^                |  (2xx without Require: outbound)    |
//               |                v                                    v
//               |          kUnregistering -----------------------> kFailed
//               +------------- kWaitingBackoff <----------------------+
//
// Every input appends actions to an ActionList: kConnect, kSendRegister,
// kSendPing, kSendStunRequest, kClose, kArmTimer / kCancelTimer. A flow has
// one timer: kArmTimer replaces the previous deadline, and a timer that fires
// late or spuriously is harmless (the flow compares `now` with its own
// deadlines). Usually the FlowFsm is driven through fe::ua::Ua (ua.h), which
// knows the UA's other flows; alone it looks like this:
//
//   fe::ua::UaConfig config;
//   fe::ua::Rng rng(seed, ua_index);
//   fe::ua::FlowFsm flow(/*flow_index=*/0, /*reg_id=*/1, /*edge_index=*/0, rng);
//   fe::ua::ActionList actions;
//   fe::ua::FlowEnv env{config, rng, actions};
//   flow.start(now, env);                // kConnect, kArmTimer
//   flow.on_connected(now, env);         // kSendRegister{reg-id 1, CSeq 1}, kArmTimer
//   ...
//   if (flow.state() == fe::ua::FlowState::kFailed) {
//       flow.recover(now, env, fe::ua::FlowSetHealth::kAllFailed, std::nullopt);
//   }
//
// Recovery rules (§4.5): a flow attempt is *successful* once its outbound
// registration got a 2xx with Require: outbound AND one keep-alive was
// answered (a plain registration after 439 runs no keep-alives, so its 2xx
// suffices). The consecutive-failure count is reset by a successful attempt
// and raised by every failure of an attempt that had not yet succeeded; the
// failure of a flow that had succeeded re-forms it at once (0 failures, 0 s),
// and a failed re-forming attempt then waits 30-60 s (Appendix A row 1).
//
// Refresh rule: the re-REGISTER goes out over the same flow (OB-UA-19) at a
// uniformly random point in [75 %, 90 %] of the granted expiry, counted from
// the 2xx (kRefreshFraction*_permille in limits.h). A recoverable error to it
// (408, 5xx, 503 + Retry-After) keeps the flow and retries after Retry-After
// or refresh_retry_delay (OB-UA-20/21); the flow fails when the binding
// expires without a successful refresh.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/assert.h"
#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/ua/backoff.h"
#include "core/ua/keepalive.h"
#include "core/ua/limits.h"
#include "core/ua/random.h"

namespace fe::ua {

// What a UA does with a 439 (First Hop Lacks Outbound Support), §4.2.1.
enum class On439Policy : uint8_t {
    // Register again over the same flow without reg-id (OB-439-03).
    kRegisterWithoutOutbound,
    // Close the flow and form it through another edge of the outbound-proxy
    // set, one not used by another flow of this UA (OB-439-04).
    kTryAnotherEdge,
};

struct UaConfig {
    // Flows (K), one per edge; flow i uses reg-id i + 1 and starts on edge i.
    uint32_t flow_count = 2;
    // Size of the outbound-proxy-set; flow_count <= edge_count.
    uint32_t edge_count = 2;
    Transport transport = Transport::kTcp;
    uint32_t register_expires_s = kRegisterExpiresDefault_s;
    Duration connect_timeout = kConnectTimeoutDefault;
    Duration register_timeout = kRegisterTimeoutDefault;
    Duration refresh_retry_delay = kRefreshRetryDelayDefault;
    On439Policy on_439 = On439Policy::kRegisterWithoutOutbound;
    BackoffConfig backoff;
    KeepaliveConfig keepalive;
};

enum class FlowState : uint8_t {
    kIdle,            // not started, or stopped
    kConnecting,      // kConnect issued, waiting for on_connected
    kRegistering,     // REGISTER sent (or waiting for Retry-After), no 2xx yet
    kRegistered,      // binding held; keep-alives and refreshes running
    kUnregistering,   // removing a binding (unusable contact, or stop())
    kFailed,          // failed; recover() decides the next attempt
    kWaitingBackoff,  // waiting out the §4.5 retry delay
};

// Why the last failure happened (stats and tests).
enum class FlowFailure : uint8_t {
    kNone,
    kConnectFailed,
    kConnectTimeout,
    kTransportClosed,
    kRegisterRejected,       // final non-2xx that is not recoverable
    kRegisterTimeout,        // no final response within register_timeout
    kRetryLimit,             // kRegisterRetryCountMax recoverable errors in a row
    kBindingNotGranted,      // 2xx with Expires 0 for our contact
    kNoOutboundSupport,      // 2xx without Require: outbound (OB-TAG-05)
    kFirstHopLacksOutbound,  // 439 with On439Policy::kTryAnotherEdge
    kFlowFailed430,          // 430 (Flow Failed) to our REGISTER
    kPongTimeout,            // OB-KA-07
    kStunTimeout,            // OB-KA-15
    kStunError,              // OB-KA-15
    kMappedAddressChanged,   // OB-KA-16
    kBindingExpired,         // refreshes kept failing until the expiry
};

std::string_view flow_state_name(FlowState state);
std::string_view flow_failure_name(FlowFailure failure);

// Whether the REGISTER carries reg-id (outbound) or not (after a 439).
enum class RegisterMode : uint8_t {
    kOutbound,
    kPlain,
};

using StunTransactionId = std::array<uint8_t, 12>;

enum class ActionKind : uint8_t {
    kConnect,          // open the flow to edge_index (connection or UDP 5-tuple)
    kSendRegister,     // REGISTER with reg_id, cseq, expires_s, branch, mode
    kSendPing,         // CRLF CRLF on the flow
    kSendStunRequest,  // Binding request with transaction_id (same on retransmission)
    kClose,            // close the flow's transport
    kArmTimer,         // call on_timer(flow_index) at or after deadline; replaces the last one
    kCancelTimer,      // the flow needs no timer now
};

std::string_view action_kind_name(ActionKind kind);

// One thing for the driver to do. Only the fields named for the kind mean
// anything; the rest are zero.
struct Action {
    ActionKind kind = ActionKind::kClose;
    uint8_t flow_index = 0;
    uint8_t edge_index = 0;                       // kConnect
    RegisterMode mode = RegisterMode::kOutbound;  // kSendRegister
    uint32_t reg_id = 0;                          // kSendRegister (also kept in kPlain)
    uint32_t cseq = 0;                            // kSendRegister
    uint32_t expires_s = 0;                       // kSendRegister (0: remove the binding)
    uint64_t branch = 0;                          // kSendRegister: unique Via branch id
    StunTransactionId transaction_id{};           // kSendStunRequest
    Time deadline{};                              // kArmTimer
};

// Fixed-capacity list the handlers append to; the driver executes and clears
// it. Overflow is a programmer error (kActionCountMax bounds one input).
class ActionList {
public:
    void push(const Action& action) {
        FE_ASSERT(count_ < kActionCountMax);
        actions_[count_++] = action;
    }
    void clear() { count_ = 0; }
    uint32_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    const Action& operator[](uint32_t index) const {
        FE_ASSERT(index < count_);
        return actions_[index];
    }
    const Action* begin() const { return actions_.data(); }
    const Action* end() const { return actions_.data() + count_; }

private:
    std::array<Action, kActionCountMax> actions_{};
    uint32_t count_ = 0;  // actions_[0, count_) are valid
};

// The final (or provisional) response to a REGISTER, as the driver decoded it.
struct RegisterResponse {
    uint32_t cseq = 0;  // responses to other CSeqs than the outstanding one are ignored
    uint16_t status_code = 0;
    bool has_require_outbound = false;     // `outbound` in Require
    std::optional<uint32_t> flow_timer_s;  // Flow-Timer header
    // Expires granted for our contact (Contact ;expires= or Expires header).
    std::optional<uint32_t> expires_s;
    std::optional<uint32_t> retry_after_s;  // Retry-After (503 and others)
    std::optional<uint32_t> min_expires_s;  // Min-Expires (423)
};

enum class StunResult : uint8_t {
    kSuccess,  // Binding success response
    kError,    // Binding error response
};

struct StunResponse {
    StunTransactionId transaction_id{};
    StunResult result = StunResult::kSuccess;
    Endpoint mapped;  // XOR-MAPPED-ADDRESS of a success response
};

// What a handler needs from its surroundings: the UA's config, its random
// stream and the list to append actions to.
struct FlowEnv {
    const UaConfig& config;
    Rng& rng;
    ActionList& actions;
};

class FlowFsm {
public:
    // Draws the flow's Call-ID and From tag from `rng`.
    FlowFsm(uint8_t flow_index, uint32_t reg_id, uint8_t edge_index, Rng& rng);
    // An unused slot (reg-id 0); Ua keeps a fixed array of kFlowCountMax.
    FlowFsm() = default;

    // Boot: connect at once (§4.5 "when the UA boots, it immediately tries").
    void start(Time now, FlowEnv& env);
    // Remove the binding (REGISTER Expires: 0) if one is held, then close and
    // go idle; a flow without binding closes and goes idle at once.
    void stop(Time now, FlowEnv& env);

    void on_connected(Time now, FlowEnv& env);
    void on_connect_failed(Time now, FlowEnv& env);
    void on_transport_closed(Time now, FlowEnv& env);
    void on_register_response(Time now, const RegisterResponse& response, FlowEnv& env);
    void on_pong(Time now, FlowEnv& env);
    void on_stun_response(Time now, const StunResponse& response, FlowEnv& env);
    void on_timer(Time now, FlowEnv& env);

    // In kFailed: choose the next attempt. `other_edge` is an edge of the
    // outbound-proxy-set no other flow uses (only read for a 439 under
    // kTryAnotherEdge). Leaves the flow in kConnecting or kWaitingBackoff.
    void recover(Time now, FlowEnv& env, FlowSetHealth health, std::optional<uint8_t> other_edge);

    FlowState state() const { return state_; }
    FlowFailure last_failure() const { return last_failure_; }
    uint32_t consecutive_failure_count() const { return consecutive_failure_count_; }
    // True once the current attempt counts as successful (§4.5).
    bool attempt_successful() const { return attempt_successful_; }
    RegisterMode mode() const { return mode_; }
    uint8_t flow_index() const { return flow_index_; }
    uint8_t edge_index() const { return edge_index_; }
    uint32_t reg_id() const { return reg_id_; }
    // Per-flow identifiers kept for the whole life of the UA object, so a
    // refresh and a replacement registration use the same Call-ID (OB-UA-15,
    // OB-BO-01) with a growing CSeq.
    std::string_view call_id() const { return {call_id_.data(), call_id_.size()}; }
    std::string_view from_tag() const { return {from_tag_.data(), from_tag_.size()}; }
    // The flow's timer deadline as last armed (Time::max() when none).
    Time timer_deadline() const { return timer_armed_; }
    // When the current back-off ends (kWaitingBackoff only).
    Time backoff_until() const { return backoff_until_; }
    const Endpoint& mapped_address() const { return mapped_; }

private:
    static constexpr Time kNever = Time::max();

    void connect(Time now, FlowEnv& env);
    void send_register(Time now, FlowEnv& env, uint32_t expires_s);
    void on_registered(Time now, const RegisterResponse& response, FlowEnv& env);
    void on_recoverable_error(Time now, const RegisterResponse& response, FlowEnv& env);
    void on_439(Time now, FlowEnv& env);
    void on_removal_done(FlowEnv& env);
    void go_idle(FlowEnv& env);
    void send_keepalive(Time now, FlowEnv& env);
    void send_stun(FlowEnv& env);
    void on_keepalive_answered();
    void on_timer_registered(Time now, FlowEnv& env);
    void fail(FlowFailure failure, FlowEnv& env);
    void clear_deadlines();
    void sync_timer(FlowEnv& env);
    Action make_action(ActionKind kind) const;

    // ---- Identity (fixed at construction) ----
    std::array<char, 32> call_id_{};  // lowercase hex
    std::array<char, 16> from_tag_{};
    uint32_t reg_id_ = 0;
    uint8_t flow_index_ = 0;
    uint8_t edge_index_ = 0;  // the edge the flow uses now; < UaConfig::edge_count

    FlowState state_ = FlowState::kIdle;
    FlowFailure last_failure_ = FlowFailure::kNone;
    RegisterMode mode_ = RegisterMode::kOutbound;  // kPlain is sticky once a 439 chose it
    // True from connect() until the transport is gone (kClose issued, or the
    // driver reported close/connect failure): decides whether fail() closes.
    bool transport_open_ = false;
    // Set by stop(); the removal's response then leads to kIdle, not kFailed.
    bool stopping_ = false;
    bool attempt_successful_ = false;
    // Attempts since the last successful one that failed; drives W (§4.5).
    uint32_t consecutive_failure_count_ = 0;
    // Edges tried through 439 hops since the last success; bounds hopping.
    uint32_t edge_hop_count_ = 0;
    // Recoverable errors in a row to the outstanding REGISTER.
    uint32_t register_retry_count_ = 0;
    // Next CSeq to use; grows across refreshes and replacement flows, since
    // the Call-ID stays (RFC 3261 §10.2.4).
    uint32_t cseq_next_ = 1;
    // CSeq of the REGISTER awaiting a final response; 0 when none.
    uint32_t register_cseq_ = 0;
    // Expires asked for in REGISTERs (config, or raised by a 423).
    uint32_t expires_requested_s_ = 0;
    std::optional<uint32_t> flow_timer_s_;  // from the last 2xx

    // ---- Deadlines; kNever when not running ----
    Time txn_due_ = kNever;             // connect or REGISTER transaction timeout
    Time register_at_ = kNever;         // send a REGISTER (refresh or Retry-After retry)
    Time binding_expires_at_ = kNever;  // kRegistered: the binding lapses
    Time keepalive_at_ = kNever;        // kRegistered: next ping / STUN transaction
    Time keepalive_due_ = kNever;       // pong deadline, or next STUN send / give-up
    Time backoff_until_ = kNever;       // kWaitingBackoff: connect then
    Time timer_armed_ = kNever;         // deadline last sent in kArmTimer

    // ---- Keep-alive transaction ----
    Time stun_first_send_at_ = kNever;
    uint32_t stun_send_count_ = 0;  // sends of the outstanding transaction; 0 when none
    StunTransactionId stun_transaction_id_{};
    // First XOR-MAPPED-ADDRESS seen on this connection; empty until then.
    Endpoint mapped_;
};

}  // namespace fe::ua
