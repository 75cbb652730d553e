// The §17.2 server machines. Layout of each input: reject inputs that do not
// apply to the current state first, then one transition per branch.
#include "core/txn/server_transaction.h"

namespace fe::txn {

using internal::earliest;
using internal::is_provisional;
using internal::is_success;
using internal::is_valid_status;
using internal::kNeverTime;

// ---------------------------------------------------------------------------
// INVITE server (§17.2.1, Figure 7)

ServerInviteTransaction::ServerInviteTransaction(const TimerConfig& config, Reliability reliability)
    : config_(config), reliability_(reliability) {
    FE_ASSERT(timer_config_is_valid(config));
}

ActionList ServerInviteTransaction::start(Time now) {
    FE_ASSERT(state_ == State::kInitial);
    ActionList actions;
    state_ = State::kProceeding;
    actions.push(ActionKind::kPassRequestToTu);
    if (config_.trying_delay == Duration::zero()) {
        actions.push(ActionKind::kSendTrying, 100);
        last_status_code_ = 100;
    } else {
        retransmit_at_ = now + config_.trying_delay;
    }
    return actions;
}

ActionList ServerInviteTransaction::on_request_retransmission(Time /*now*/) {
    ActionList actions;
    switch (state_) {
        case State::kProceeding:
            if (last_status_code_ == 0) {
                // The TU is still silent and the trying timer has not fired:
                // quench the retransmissions now.
                retransmit_at_ = kNeverTime;
                last_status_code_ = 100;
                actions.push(ActionKind::kSendTrying, 100);
            } else {
                actions.push(ActionKind::kRetransmitResponse, last_status_code_);
            }
            return actions;
        case State::kCompleted:
            actions.push(ActionKind::kRetransmitResponse, last_status_code_);
            return actions;
        case State::kInitial:
        case State::kConfirmed:  // absorbed
        case State::kTerminated:
            return actions;
    }
    return actions;
}

ActionList ServerInviteTransaction::on_ack(Time now) {
    ActionList actions;
    if (state_ != State::kCompleted) {
        // Confirmed absorbs ACK retransmissions; an ACK before the final
        // response is not ours to act on.
        return actions;
    }
    state_ = State::kConfirmed;
    retransmit_at_ = kNeverTime;  // Timer G is ignored from here
    Duration i = timer_i(config_, reliability_);
    if (i == Duration::zero()) {
        state_ = State::kTerminated;
        end_at_ = kNeverTime;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    end_at_ = now + i;
    return actions;
}

ActionList ServerInviteTransaction::on_tu_response(Time now, uint16_t status_code) {
    FE_ASSERT(is_valid_status(status_code));
    FE_ASSERT(state_ != State::kInitial);
    ActionList actions;
    if (state_ != State::kProceeding) {
        return actions;  // a final response was already sent
    }
    actions.push(ActionKind::kSendResponse, status_code);
    last_status_code_ = status_code;
    retransmit_at_ = kNeverTime;  // the trying timer, if still armed
    if (is_provisional(status_code)) {
        return actions;
    }
    if (is_success(status_code)) {
        // The TU retransmits its own 2xx (§13.3.1.4).
        state_ = State::kTerminated;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    state_ = State::kCompleted;
    if (reliability_ == Reliability::kUnreliable) {
        retransmit_interval_ = timer_g(config_);
        retransmit_at_ = now + retransmit_interval_;
    }
    end_at_ = now + timer_h(config_);
    return actions;
}

ActionList ServerInviteTransaction::on_timer(Time now) {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    if (now >= end_at_) {
        if (state_ == State::kCompleted) {
            actions.push(ActionKind::kTimeout);  // Timer H: the ACK never came
        }
        state_ = State::kTerminated;  // Timer H, or Timer I in Confirmed
        retransmit_at_ = kNeverTime;
        end_at_ = kNeverTime;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    if (now < retransmit_at_) {
        return actions;
    }
    if (state_ == State::kProceeding) {
        // The TU did not answer within the trying delay.
        retransmit_at_ = kNeverTime;
        last_status_code_ = 100;
        actions.push(ActionKind::kSendTrying, 100);
        return actions;
    }
    FE_ASSERT(state_ == State::kCompleted);
    actions.push(ActionKind::kRetransmitResponse, last_status_code_);  // Timer G
    retransmit_interval_ = next_interval_capped(config_, retransmit_interval_);
    retransmit_at_ = now + retransmit_interval_;
    return actions;
}

ActionList ServerInviteTransaction::on_transport_error() {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    state_ = State::kTerminated;
    retransmit_at_ = kNeverTime;
    end_at_ = kNeverTime;
    actions.push(ActionKind::kTransportError);
    actions.push(ActionKind::kTerminated);
    return actions;
}

std::optional<Time> ServerInviteTransaction::next_deadline() const {
    return earliest(retransmit_at_, end_at_);
}

// ---------------------------------------------------------------------------
// Non-INVITE server (§17.2.2, Figure 8)

ServerNonInviteTransaction::ServerNonInviteTransaction(const TimerConfig& config,
                                                       Reliability reliability)
    : config_(config), reliability_(reliability) {
    FE_ASSERT(timer_config_is_valid(config));
}

ActionList ServerNonInviteTransaction::start(Time /*now*/) {
    FE_ASSERT(state_ == State::kInitial);
    ActionList actions;
    state_ = State::kTrying;
    actions.push(ActionKind::kPassRequestToTu);
    return actions;
}

ActionList ServerNonInviteTransaction::on_request_retransmission(Time /*now*/) {
    ActionList actions;
    if (state_ == State::kProceeding || state_ == State::kCompleted) {
        actions.push(ActionKind::kRetransmitResponse, last_status_code_);
    }
    // Trying: discarded, the TU has the request already.
    return actions;
}

ActionList ServerNonInviteTransaction::on_tu_response(Time now, uint16_t status_code) {
    FE_ASSERT(is_valid_status(status_code));
    FE_ASSERT(state_ != State::kInitial);
    ActionList actions;
    if (state_ != State::kTrying && state_ != State::kProceeding) {
        return actions;  // Completed: later responses are discarded
    }
    actions.push(ActionKind::kSendResponse, status_code);
    last_status_code_ = status_code;
    if (is_provisional(status_code)) {
        state_ = State::kProceeding;
        return actions;
    }
    state_ = State::kCompleted;
    Duration j = timer_j(config_, reliability_);
    if (j == Duration::zero()) {
        state_ = State::kTerminated;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    end_at_ = now + j;
    return actions;
}

ActionList ServerNonInviteTransaction::on_timer(Time now) {
    ActionList actions;
    if (state_ != State::kCompleted || now < end_at_) {
        return actions;
    }
    state_ = State::kTerminated;  // Timer J
    end_at_ = kNeverTime;
    actions.push(ActionKind::kTerminated);
    return actions;
}

ActionList ServerNonInviteTransaction::on_transport_error() {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    state_ = State::kTerminated;
    end_at_ = kNeverTime;
    actions.push(ActionKind::kTransportError);
    actions.push(ActionKind::kTerminated);
    return actions;
}

std::optional<Time> ServerNonInviteTransaction::next_deadline() const {
    return earliest(end_at_, kNeverTime);
}

}  // namespace fe::txn
