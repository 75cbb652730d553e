// File: core/txn/client_transaction.h
//
// The RFC 3261 §17.1 client transaction machines, pure: time is an argument,
// nothing is sent here. Each input returns the actions the owner must carry
// out (action.h); next_deadline() says when to call on_timer() next, so the
// owner arms ONE wheel timer per transaction.
//
//   fe::txn::ClientInviteTransaction txn(config, fe::txn::Reliability::kUnreliable);
//   run(txn.start(now));                    // kSendRequest
//   arm_timer(txn.next_deadline());         // now + T1 (Timer A)
//   ...
//   run(txn.on_response(now, 486));         // kPassResponseToTu(486), kSendAck
//
// We follow RFC 3261 as written, not the RFC 6026 update: a 2xx ends the
// INVITE client transaction at once (no "Accepted" state, no Timer M), so
// 2xx retransmissions find no transaction and go to the core, which forwards
// them (proxy) or acknowledges them (UAC).
//
// Timeouts: Timer B runs only in Calling (Figure 5). Once a provisional
// response arrived, only the TU ends an INVITE: a proxy runs Timer C (§16.8),
// a UAC its own call timer.
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/time.h"
#include "core/txn/action.h"
#include "core/txn/internal/status_class.h"
#include "core/txn/timers.h"

namespace fe::txn {

class ClientInviteTransaction {
public:
    // kInitial: built, start() not yet called. The rest are §17.1.1.2.
    enum class State : uint8_t { kInitial, kCalling, kProceeding, kCompleted, kTerminated };

    ClientInviteTransaction(const TimerConfig& config, Reliability reliability);

    // Enter Calling: send the INVITE, arm Timer A (unreliable only) and B.
    [[nodiscard]] ActionList start(Time now);
    // A response matched this transaction (txn_table.h). Codes outside
    // 100..699 are ignored (the parser should have dropped them).
    [[nodiscard]] ActionList on_response(Time now, uint16_t status_code);
    // The owner's timer fired; handles every timer due at `now`.
    [[nodiscard]] ActionList on_timer(Time now);
    // The transport failed to send the INVITE or the ACK.
    [[nodiscard]] ActionList on_transport_error();

    // When on_timer() must run next; nullopt when no timer is armed.
    std::optional<Time> next_deadline() const;
    State state() const { return state_; }

private:
    void enter_completed(Time now, ActionList& actions);

    TimerConfig config_;
    Reliability reliability_;
    State state_ = State::kInitial;
    // Timer A: armed only in Calling over an unreliable transport.
    Time retransmit_at_ = internal::kNeverTime;
    // Current Timer A interval; doubles at each firing.
    Duration retransmit_interval_{};
    // Timer B in Calling, Timer D in Completed, kNever otherwise.
    Time end_at_ = internal::kNeverTime;
};

class ClientNonInviteTransaction {
public:
    // kInitial: built, start() not yet called. The rest are §17.1.2.2.
    enum class State : uint8_t { kInitial, kTrying, kProceeding, kCompleted, kTerminated };

    ClientNonInviteTransaction(const TimerConfig& config, Reliability reliability);

    // Enter Trying: send the request, arm Timer E (unreliable only) and F.
    [[nodiscard]] ActionList start(Time now);
    // A response matched this transaction. Codes outside 100..699 are ignored.
    [[nodiscard]] ActionList on_response(Time now, uint16_t status_code);
    [[nodiscard]] ActionList on_timer(Time now);
    [[nodiscard]] ActionList on_transport_error();

    std::optional<Time> next_deadline() const;
    State state() const { return state_; }

private:
    TimerConfig config_;
    Reliability reliability_;
    State state_ = State::kInitial;
    // Timer E: armed in Trying and Proceeding over an unreliable transport.
    Time retransmit_at_ = internal::kNeverTime;
    // Current Timer E interval: doubles up to T2 in Trying, T2 in Proceeding.
    Duration retransmit_interval_{};
    // Timer F in Trying and Proceeding, Timer K in Completed.
    Time end_at_ = internal::kNeverTime;
};

}  // namespace fe::txn
