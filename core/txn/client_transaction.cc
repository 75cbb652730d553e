// The §17.1 client machines. Layout of each input: reject inputs that do not
// apply to the current state first, then one transition per branch.
#include "core/txn/client_transaction.h"

#include "core/txn/internal/status_class.h"

namespace fe::txn {
using internal::earliest;
using internal::is_provisional;
using internal::is_success;
using internal::is_valid_status;

static_assert(kNever == internal::kNeverTime, "one spelling of a disarmed timer");

// ---------------------------------------------------------------------------
// INVITE client (§17.1.1, Figure 5)

ClientInviteTransaction::ClientInviteTransaction(const TimerConfig& config, Reliability reliability)
    : config_(config), reliability_(reliability) {
    FE_ASSERT(timer_config_is_valid(config));
}

ActionList ClientInviteTransaction::start(Time now) {
    FE_ASSERT(state_ == State::kInitial);
    ActionList actions;
    state_ = State::kCalling;
    actions.push(ActionKind::kSendRequest);
    if (reliability_ == Reliability::kUnreliable) {
        retransmit_interval_ = timer_a(config_);
        retransmit_at_ = now + retransmit_interval_;
    }
    end_at_ = now + timer_b(config_);
    return actions;
}

void ClientInviteTransaction::enter_completed(Time now, ActionList& actions) {
    state_ = State::kCompleted;
    retransmit_at_ = kNever;
    Duration d = timer_d(config_, reliability_);
    if (d == Duration::zero()) {
        // Timer D of zero fires at once: nothing can be retransmitted to us.
        state_ = State::kTerminated;
        end_at_ = kNever;
        actions.push(ActionKind::kTerminated);
        return;
    }
    end_at_ = now + d;
}

ActionList ClientInviteTransaction::on_response(Time now, uint16_t status_code) {
    ActionList actions;
    if (!is_valid_status(status_code)) {
        return actions;
    }
    switch (state_) {
        case State::kCalling:
        case State::kProceeding:
            actions.push(ActionKind::kPassResponseToTu, status_code);
            if (is_provisional(status_code)) {
                // No more retransmissions and no Timer B in Proceeding.
                state_ = State::kProceeding;
                retransmit_at_ = kNever;
                end_at_ = kNever;
            } else if (is_success(status_code)) {
                // RFC 3261: the 2xx goes up and the transaction ends; the TU
                // acknowledges or forwards it.
                state_ = State::kTerminated;
                retransmit_at_ = kNever;
                end_at_ = kNever;
                actions.push(ActionKind::kTerminated);
            } else {
                // The ACK is sent even over a reliable transport.
                actions.push(ActionKind::kSendAck);
                enter_completed(now, actions);
            }
            return actions;
        case State::kCompleted:
            // A retransmitted final response: ACK again, do not pass it up.
            // 1xx and 2xx after a 3xx-6xx are stray and dropped.
            if (!is_provisional(status_code) && !is_success(status_code)) {
                actions.push(ActionKind::kRetransmitAck);
            }
            return actions;
        case State::kInitial:
        case State::kTerminated:
            return actions;
    }
    return actions;
}

ActionList ClientInviteTransaction::on_timer(Time now) {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    if (now >= end_at_) {
        if (state_ == State::kCalling) {
            actions.push(ActionKind::kTimeout);  // Timer B; no ACK is generated
        }
        state_ = State::kTerminated;  // Timer B in Calling, Timer D in Completed
        retransmit_at_ = kNever;
        end_at_ = kNever;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    if (now >= retransmit_at_) {
        FE_ASSERT(state_ == State::kCalling);
        actions.push(ActionKind::kRetransmitRequest);
        retransmit_interval_ *= 2;
        retransmit_at_ = now + retransmit_interval_;
    }
    return actions;
}

ActionList ClientInviteTransaction::on_transport_error() {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    state_ = State::kTerminated;
    retransmit_at_ = kNever;
    end_at_ = kNever;
    actions.push(ActionKind::kTransportError);
    actions.push(ActionKind::kTerminated);
    return actions;
}

std::optional<Time> ClientInviteTransaction::next_deadline() const {
    return earliest(retransmit_at_, end_at_);
}

// ---------------------------------------------------------------------------
// Non-INVITE client (§17.1.2, Figure 6)

ClientNonInviteTransaction::ClientNonInviteTransaction(const TimerConfig& config,
                                                       Reliability reliability)
    : config_(config), reliability_(reliability) {
    FE_ASSERT(timer_config_is_valid(config));
}

ActionList ClientNonInviteTransaction::start(Time now) {
    FE_ASSERT(state_ == State::kInitial);
    ActionList actions;
    state_ = State::kTrying;
    actions.push(ActionKind::kSendRequest);
    if (reliability_ == Reliability::kUnreliable) {
        retransmit_interval_ = timer_e(config_);
        retransmit_at_ = now + retransmit_interval_;
    }
    end_at_ = now + timer_f(config_);
    return actions;
}

ActionList ClientNonInviteTransaction::on_response(Time now, uint16_t status_code) {
    ActionList actions;
    if (!is_valid_status(status_code)) {
        return actions;
    }
    if (state_ != State::kTrying && state_ != State::kProceeding) {
        // Completed absorbs retransmitted responses; nothing else applies.
        return actions;
    }
    actions.push(ActionKind::kPassResponseToTu, status_code);
    if (is_provisional(status_code)) {
        // Retransmissions go on (to make sure the final response arrives);
        // the pending Timer E keeps its deadline and is reset to T2 when it
        // fires.
        state_ = State::kProceeding;
        return actions;
    }
    state_ = State::kCompleted;
    retransmit_at_ = kNever;
    Duration k = timer_k(config_, reliability_);
    if (k == Duration::zero()) {
        state_ = State::kTerminated;
        end_at_ = kNever;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    end_at_ = now + k;
    return actions;
}

ActionList ClientNonInviteTransaction::on_timer(Time now) {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    if (now >= end_at_) {
        if (state_ != State::kCompleted) {
            actions.push(ActionKind::kTimeout);  // Timer F
        }
        state_ = State::kTerminated;  // Timer F, or Timer K in Completed
        retransmit_at_ = kNever;
        end_at_ = kNever;
        actions.push(ActionKind::kTerminated);
        return actions;
    }
    if (now >= retransmit_at_) {
        FE_ASSERT(state_ == State::kTrying || state_ == State::kProceeding);
        actions.push(ActionKind::kRetransmitRequest);
        retransmit_interval_ = state_ == State::kTrying
                                   ? next_interval_capped(config_, retransmit_interval_)
                                   : config_.t2;
        retransmit_at_ = now + retransmit_interval_;
    }
    return actions;
}

ActionList ClientNonInviteTransaction::on_transport_error() {
    ActionList actions;
    if (state_ == State::kInitial || state_ == State::kTerminated) {
        return actions;
    }
    state_ = State::kTerminated;
    retransmit_at_ = kNever;
    end_at_ = kNever;
    actions.push(ActionKind::kTransportError);
    actions.push(ActionKind::kTerminated);
    return actions;
}

std::optional<Time> ClientNonInviteTransaction::next_deadline() const {
    return earliest(retransmit_at_, end_at_);
}

}  // namespace fe::txn
