// File: core/txn/server_transaction.h
//
// The RFC 3261 §17.2 server transaction machines, pure: time is an argument,
// nothing is sent here. Each input returns the actions the owner must carry
// out (action.h); next_deadline() says when to call on_timer() next.
//
//   fe::txn::ServerInviteTransaction txn(config, fe::txn::Reliability::kUnreliable);
//   run(txn.start(now));                      // kPassRequestToTu
//   arm_timer(txn.next_deadline());           // now + 200 ms: 100 Trying unless the TU answers
//   run(txn.on_tu_response(now, 486));        // kSendResponse(486); Timers G and H armed
//   run(txn.on_ack(now));                     // Confirmed; Timer I armed
//
// Requests reach a machine only after txn_table.h matched them (§17.2.3):
// a match is a retransmission (or, for INVITE, the ACK).
//
// We follow RFC 3261 as written, not the RFC 6026 update: a 2xx from the TU
// ends the INVITE server transaction at once, so the TU retransmits its 2xx
// and the ACK for a 2xx (a new branch) finds no transaction and goes to the
// core.
//
// In Proceeding (INVITE) and Trying / Proceeding (non-INVITE) no RFC timer
// runs: the TU must answer (a proxy does, by Timer C or by its client
// transaction's Timer F turning into a 408).
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/time.h"
#include "core/txn/action.h"
#include "core/txn/internal/status_class.h"
#include "core/txn/timers.h"

namespace fe::txn {

class ServerInviteTransaction {
public:
    // kInitial: built, start() not yet called. The rest are §17.2.1.
    enum class State : uint8_t { kInitial, kProceeding, kCompleted, kConfirmed, kTerminated };

    ServerInviteTransaction(const TimerConfig& config, Reliability reliability);

    // Enter Proceeding: pass the INVITE up; send 100 Trying now if
    // config.trying_delay is zero, else arm the trying timer.
    [[nodiscard]] ActionList start(Time now);
    // The INVITE arrived again: resend the last response (sending 100 Trying
    // at once if nothing was sent yet, to quench retransmissions).
    [[nodiscard]] ActionList on_request_retransmission(Time now);
    // An ACK matched (non-2xx ACK, same branch): Completed -> Confirmed;
    // absorbed in every other state.
    [[nodiscard]] ActionList on_ack(Time now);
    // The TU passes a response (100..699). Discarded once a final response
    // was sent.
    [[nodiscard]] ActionList on_tu_response(Time now, uint16_t status_code);
    [[nodiscard]] ActionList on_timer(Time now);
    // The transport failed to send a response (after the §18 / RFC 3263
    // fallbacks the owner tried).
    [[nodiscard]] ActionList on_transport_error();

    std::optional<Time> next_deadline() const;
    State state() const { return state_; }
    // The code of the last response sent (0 before any): what a
    // kRetransmitResponse resends.
    uint16_t last_status_code() const { return last_status_code_; }

private:
    TimerConfig config_;
    Reliability reliability_;
    State state_ = State::kInitial;
    uint16_t last_status_code_ = 0;
    // The trying timer in Proceeding (until any response is sent), Timer G in
    // Completed over an unreliable transport, kNever otherwise.
    Time retransmit_at_ = internal::kNeverTime;
    // Current Timer G interval: doubles up to T2.
    Duration retransmit_interval_{};
    // Timer H in Completed, Timer I in Confirmed, kNever otherwise.
    Time end_at_ = internal::kNeverTime;
};

class ServerNonInviteTransaction {
public:
    // kInitial: built, start() not yet called. The rest are §17.2.2.
    enum class State : uint8_t { kInitial, kTrying, kProceeding, kCompleted, kTerminated };

    ServerNonInviteTransaction(const TimerConfig& config, Reliability reliability);

    // Enter Trying: pass the request up.
    [[nodiscard]] ActionList start(Time now);
    // The request arrived again: discarded in Trying, answered with the last
    // response in Proceeding and Completed.
    [[nodiscard]] ActionList on_request_retransmission(Time now);
    // The TU passes a response (100..699). Discarded in Completed.
    [[nodiscard]] ActionList on_tu_response(Time now, uint16_t status_code);
    [[nodiscard]] ActionList on_timer(Time now);
    [[nodiscard]] ActionList on_transport_error();

    std::optional<Time> next_deadline() const;
    State state() const { return state_; }
    uint16_t last_status_code() const { return last_status_code_; }

private:
    TimerConfig config_;
    Reliability reliability_;
    State state_ = State::kInitial;
    uint16_t last_status_code_ = 0;
    // Timer J in Completed, kNever otherwise.
    Time end_at_ = internal::kNeverTime;
};

}  // namespace fe::txn
