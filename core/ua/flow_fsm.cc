#include "core/ua/flow_fsm.h"

#include <algorithm>

namespace fe::ua {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

template <size_t N>
void fill_hex(std::array<char, N>& out, Rng& rng) {
    uint64_t word = 0;
    for (size_t i = 0; i < N; ++i) {
        if (i % 16 == 0) {
            word = rng.next_u64();
        }
        out[i] = kHexDigits[word & 0xF];
        word >>= 4;
    }
}

// "Try again later" answers: the request may succeed unchanged after a wait,
// so a refresh keeps its flow (RFC 5626 §4.2.2) and an initial REGISTER is
// resent when the server said when (Retry-After, RFC 3261 §21.5.4).
bool is_recoverable(uint16_t status_code) {
    return status_code == 408 || status_code == 480 || status_code == 500 ||
           status_code == 503 || status_code == 504;
}

Duration clamp_seconds(uint32_t value_s, uint32_t max_s) {
    return seconds(std::min(value_s, max_s));
}

// Uniform in [750, 900] per mille of the granted expiry (limits.h).
Duration refresh_delay(uint32_t granted_s, Rng& rng) {
    const Duration granted = seconds(granted_s);
    const Duration lower = granted / 1000 * kRefreshFractionLower_permille;
    const Duration upper = granted / 1000 * kRefreshFractionUpper_permille;
    return rng.uniform_duration(lower, upper);
}

}  // namespace

std::string_view flow_state_name(FlowState state) {
    switch (state) {
        case FlowState::kIdle: return "idle";
        case FlowState::kConnecting: return "connecting";
        case FlowState::kRegistering: return "registering";
        case FlowState::kRegistered: return "registered";
        case FlowState::kUnregistering: return "unregistering";
        case FlowState::kFailed: return "failed";
        case FlowState::kWaitingBackoff: return "waiting-backoff";
    }
    return "?";
}

std::string_view flow_failure_name(FlowFailure failure) {
    switch (failure) {
        case FlowFailure::kNone: return "none";
        case FlowFailure::kConnectFailed: return "connect-failed";
        case FlowFailure::kConnectTimeout: return "connect-timeout";
        case FlowFailure::kTransportClosed: return "transport-closed";
        case FlowFailure::kRegisterRejected: return "register-rejected";
        case FlowFailure::kRegisterTimeout: return "register-timeout";
        case FlowFailure::kRetryLimit: return "retry-limit";
        case FlowFailure::kBindingNotGranted: return "binding-not-granted";
        case FlowFailure::kNoOutboundSupport: return "no-outbound-support";
        case FlowFailure::kFirstHopLacksOutbound: return "first-hop-lacks-outbound";
        case FlowFailure::kFlowFailed430: return "flow-failed-430";
        case FlowFailure::kPongTimeout: return "pong-timeout";
        case FlowFailure::kStunTimeout: return "stun-timeout";
        case FlowFailure::kStunError: return "stun-error";
        case FlowFailure::kMappedAddressChanged: return "mapped-address-changed";
        case FlowFailure::kBindingExpired: return "binding-expired";
    }
    return "?";
}

std::string_view action_kind_name(ActionKind kind) {
    switch (kind) {
        case ActionKind::kConnect: return "connect";
        case ActionKind::kSendRegister: return "send-register";
        case ActionKind::kSendPing: return "send-ping";
        case ActionKind::kSendStunRequest: return "send-stun-request";
        case ActionKind::kClose: return "close";
        case ActionKind::kArmTimer: return "arm-timer";
        case ActionKind::kCancelTimer: return "cancel-timer";
    }
    return "?";
}

FlowFsm::FlowFsm(uint8_t flow_index, uint32_t reg_id, uint8_t edge_index, Rng& rng)
    : reg_id_(reg_id), flow_index_(flow_index), edge_index_(edge_index) {
    FE_ASSERT(reg_id >= 1);
    FE_ASSERT(flow_index < kFlowCountMax);
    FE_ASSERT(edge_index < kEdgeCountMax);
    fill_hex(call_id_, rng);
    fill_hex(from_tag_, rng);
}

Action FlowFsm::make_action(ActionKind kind) const {
    Action action;
    action.kind = kind;
    action.flow_index = flow_index_;
    return action;
}

void FlowFsm::start(Time now, FlowEnv& env) {
    FE_ASSERT(reg_id_ >= 1);
    FE_ASSERT(state_ == FlowState::kIdle);
    stopping_ = false;
    connect(now, env);
    sync_timer(env);
}

void FlowFsm::stop(Time now, FlowEnv& env) {
    switch (state_) {
        case FlowState::kRegistered:
            clear_deadlines();
            stopping_ = true;
            state_ = FlowState::kUnregistering;
            send_register(now, env, 0);
            break;
        case FlowState::kUnregistering:
            stopping_ = true;
            break;
        case FlowState::kIdle:
            break;
        case FlowState::kConnecting:
        case FlowState::kRegistering:
        case FlowState::kFailed:
        case FlowState::kWaitingBackoff:
            go_idle(env);
            break;
    }
    sync_timer(env);
}

void FlowFsm::connect(Time now, FlowEnv& env) {
    FE_ASSERT(edge_index_ < env.config.edge_count);
    clear_deadlines();
    state_ = FlowState::kConnecting;
    attempt_successful_ = false;
    transport_open_ = true;
    register_cseq_ = 0;
    register_retry_count_ = 0;
    stun_send_count_ = 0;
    flow_timer_s_.reset();
    mapped_ = Endpoint{};  // a new connection may get a new NAT mapping
    if (expires_requested_s_ == 0) {
        expires_requested_s_ = env.config.register_expires_s;
    }
    txn_due_ = now + env.config.connect_timeout;
    Action action = make_action(ActionKind::kConnect);
    action.edge_index = edge_index_;
    env.actions.push(action);
}

void FlowFsm::on_connected(Time now, FlowEnv& env) {
    if (state_ != FlowState::kConnecting) {
        return;  // a late completion of an attempt we already gave up (and closed)
    }
    state_ = FlowState::kRegistering;
    send_register(now, env, expires_requested_s_);
    sync_timer(env);
}

void FlowFsm::on_connect_failed(Time /*now*/, FlowEnv& env) {
    if (state_ != FlowState::kConnecting) {
        return;
    }
    transport_open_ = false;
    fail(FlowFailure::kConnectFailed, env);
    sync_timer(env);
}

void FlowFsm::on_transport_closed(Time /*now*/, FlowEnv& env) {
    const bool open_state = state_ == FlowState::kConnecting ||
                            state_ == FlowState::kRegistering ||
                            state_ == FlowState::kRegistered ||
                            state_ == FlowState::kUnregistering;
    if (!open_state) {
        return;
    }
    transport_open_ = false;
    if (stopping_) {
        go_idle(env);
    } else {
        fail(FlowFailure::kTransportClosed, env);
    }
    sync_timer(env);
}

void FlowFsm::send_register(Time now, FlowEnv& env, uint32_t expires_s) {
    FE_ASSERT(transport_open_);
    register_cseq_ = cseq_next_++;
    FE_ASSERT(register_cseq_ != 0);  // 2^32 REGISTERs on one Call-ID would be a bug
    txn_due_ = now + env.config.register_timeout;
    register_at_ = kNever;
    Action action = make_action(ActionKind::kSendRegister);
    action.mode = mode_;
    action.reg_id = reg_id_;
    action.cseq = register_cseq_;
    action.expires_s = expires_s;
    action.branch = env.rng.next_u64();
    env.actions.push(action);
}

void FlowFsm::on_register_response(Time now, const RegisterResponse& response, FlowEnv& env) {
    const bool waiting = state_ == FlowState::kRegistering || state_ == FlowState::kRegistered ||
                         state_ == FlowState::kUnregistering;
    if (!waiting || register_cseq_ == 0 || response.cseq != register_cseq_) {
        return;  // stale, duplicate or stray: not the outstanding REGISTER
    }
    if (response.status_code < 200) {
        return;  // provisional; keep waiting for the final response
    }
    register_cseq_ = 0;
    txn_due_ = kNever;
    const uint16_t code = response.status_code;
    if (state_ == FlowState::kUnregistering) {
        on_removal_done(env);
    } else if (code >= 200 && code < 300) {
        on_registered(now, response, env);
    } else if (code == 423 && response.min_expires_s.has_value()) {
        // Interval Too Brief: ask again for what the registrar wants.
        expires_requested_s_ = std::clamp(*response.min_expires_s, expires_requested_s_,
                                          std::max(expires_requested_s_, kMinExpiresMax_s));
        if (++register_retry_count_ > kRegisterRetryCountMax) {
            fail(FlowFailure::kRetryLimit, env);
        } else {
            send_register(now, env, expires_requested_s_);
        }
    } else if (code == 439) {
        on_439(now, env);
    } else if (code == 430) {
        fail(FlowFailure::kFlowFailed430, env);
    } else if (is_recoverable(code)) {
        on_recoverable_error(now, response, env);
    } else {
        fail(FlowFailure::kRegisterRejected, env);
    }
    sync_timer(env);
}

void FlowFsm::on_registered(Time now, const RegisterResponse& response, FlowEnv& env) {
    // A registrar may shorten the interval but not lengthen it (RFC 3261
    // §10.3 step 7); never trust a longer one.
    const uint32_t granted_s = std::min(response.expires_s.value_or(expires_requested_s_),
                                        expires_requested_s_);
    if (granted_s == 0) {
        fail(FlowFailure::kBindingNotGranted, env);
        return;
    }
    if (mode_ == RegisterMode::kOutbound && !response.has_require_outbound) {
        // OB-TAG-05: the registrar or an edge ignored outbound, so the contact
        // may be unroutable. Remove it; the flow then counts as failed.
        clear_deadlines();
        state_ = FlowState::kUnregistering;
        send_register(now, env, 0);
        return;
    }
    const bool first_2xx = state_ != FlowState::kRegistered;
    state_ = FlowState::kRegistered;
    register_retry_count_ = 0;
    binding_expires_at_ = now + seconds(granted_s);
    register_at_ = now + refresh_delay(granted_s, env.rng);
    if (mode_ == RegisterMode::kPlain) {
        on_keepalive_answered();  // no keep-alives in use: the 2xx is success (§4.5)
        return;
    }
    const std::optional<uint32_t> old_flow_timer = flow_timer_s_;
    flow_timer_s_ = response.flow_timer_s;
    const KeepaliveKind kind = keepalive_kind_for(env.config.transport);
    if (first_2xx) {
        // §4.2.1: keep-alives start with the 2xx carrying Require: outbound.
        keepalive_at_ = now + keepalive_interval(env.config.keepalive, kind, flow_timer_s_, env.rng);
    } else if (flow_timer_s_ != old_flow_timer && flow_timer_s_.has_value() &&
               keepalive_at_ > now + seconds(*flow_timer_s_)) {
        // A shorter Flow-Timer must take effect before the old interval ends.
        keepalive_at_ = now + keepalive_interval(env.config.keepalive, kind, flow_timer_s_, env.rng);
    }
}

void FlowFsm::on_recoverable_error(Time now, const RegisterResponse& response, FlowEnv& env) {
    if (++register_retry_count_ > kRegisterRetryCountMax) {
        fail(FlowFailure::kRetryLimit, env);
        return;
    }
    if (state_ == FlowState::kRegistering) {
        if (!response.retry_after_s.has_value()) {
            fail(FlowFailure::kRegisterRejected, env);
            return;
        }
        // OB-UA-16: Retry-After: 0 means "again at once".
        register_at_ = now + clamp_seconds(*response.retry_after_s, kRetryAfterMax_s);
        return;
    }
    FE_ASSERT(state_ == FlowState::kRegistered);
    // OB-UA-20/21: keep the flow; binding_expires_at_ bounds the retries.
    register_at_ = now + (response.retry_after_s.has_value()
                              ? clamp_seconds(*response.retry_after_s, kRetryAfterMax_s)
                              : env.config.refresh_retry_delay);
}

void FlowFsm::on_439(Time now, FlowEnv& env) {
    if (env.config.on_439 == On439Policy::kRegisterWithoutOutbound &&
        mode_ == RegisterMode::kOutbound) {
        // OB-439-03: same flow, no reg-id; no keep-alives are expected then.
        mode_ = RegisterMode::kPlain;
        clear_deadlines();
        stun_send_count_ = 0;
        state_ = FlowState::kRegistering;
        send_register(now, env, expires_requested_s_);
        return;
    }
    fail(FlowFailure::kFirstHopLacksOutbound, env);
}

void FlowFsm::on_removal_done(FlowEnv& env) {
    if (stopping_) {
        go_idle(env);
    } else {
        fail(FlowFailure::kNoOutboundSupport, env);
    }
}

void FlowFsm::go_idle(FlowEnv& env) {
    if (transport_open_) {
        env.actions.push(make_action(ActionKind::kClose));
        transport_open_ = false;
    }
    clear_deadlines();
    register_cseq_ = 0;
    stun_send_count_ = 0;
    stopping_ = false;
    state_ = FlowState::kIdle;
}

void FlowFsm::on_pong(Time /*now*/, FlowEnv& env) {
    if (state_ != FlowState::kRegistered || keepalive_due_ == kNever ||
        keepalive_kind_for(env.config.transport) != KeepaliveKind::kCrlf) {
        return;  // unsolicited CRLF: nothing outstanding to answer
    }
    keepalive_due_ = kNever;
    on_keepalive_answered();
    sync_timer(env);
}

void FlowFsm::on_stun_response(Time /*now*/, const StunResponse& response, FlowEnv& env) {
    if (state_ != FlowState::kRegistered || stun_send_count_ == 0 ||
        response.transaction_id != stun_transaction_id_) {
        return;  // late answer to an abandoned transaction, or not ours
    }
    stun_send_count_ = 0;
    keepalive_due_ = kNever;
    if (response.result == StunResult::kError) {
        fail(FlowFailure::kStunError, env);
    } else if (!mapped_.empty() && response.mapped != mapped_) {
        fail(FlowFailure::kMappedAddressChanged, env);  // OB-KA-16: NAT rebooted or remapped
    } else {
        mapped_ = response.mapped;
        on_keepalive_answered();
    }
    sync_timer(env);
}

void FlowFsm::on_keepalive_answered() {
    if (!attempt_successful_) {
        attempt_successful_ = true;
        consecutive_failure_count_ = 0;
        edge_hop_count_ = 0;
    }
}

void FlowFsm::send_keepalive(Time now, FlowEnv& env) {
    const KeepaliveKind kind = keepalive_kind_for(env.config.transport);
    keepalive_at_ = now + keepalive_interval(env.config.keepalive, kind, flow_timer_s_, env.rng);
    if (kind == KeepaliveKind::kCrlf) {
        env.actions.push(make_action(ActionKind::kSendPing));
        if (keepalive_due_ == kNever) {
            // The oldest unanswered ping sets the deadline: a pong cannot say
            // which ping it answers.
            keepalive_due_ = now + env.config.keepalive.pong_timeout;
        }
        return;
    }
    if (stun_send_count_ > 0) {
        return;  // a transaction is still retransmitting, which keeps the NAT open
    }
    env.rng.fill(stun_transaction_id_);
    stun_first_send_at_ = now;
    send_stun(env);
}

void FlowFsm::send_stun(FlowEnv& env) {
    const StunSchedule schedule(env.config.keepalive.stun);
    FE_ASSERT(stun_send_count_ < schedule.request_count());
    Action action = make_action(ActionKind::kSendStunRequest);
    action.transaction_id = stun_transaction_id_;
    env.actions.push(action);
    ++stun_send_count_;
    keepalive_due_ = stun_first_send_at_ + (stun_send_count_ < schedule.request_count()
                                                ? schedule.send_offset(stun_send_count_)
                                                : schedule.give_up_offset());
}

void FlowFsm::on_timer(Time now, FlowEnv& env) {
    timer_armed_ = kNever;  // the driver's timer fired and is gone
    switch (state_) {
        case FlowState::kConnecting:
            if (now >= txn_due_) {
                fail(FlowFailure::kConnectTimeout, env);
            }
            break;
        case FlowState::kRegistering:
            if (now >= txn_due_) {
                fail(FlowFailure::kRegisterTimeout, env);
            } else if (now >= register_at_) {
                send_register(now, env, expires_requested_s_);
            }
            break;
        case FlowState::kUnregistering:
            if (now >= txn_due_) {
                register_cseq_ = 0;
                on_removal_done(env);
            }
            break;
        case FlowState::kRegistered:
            on_timer_registered(now, env);
            break;
        case FlowState::kWaitingBackoff:
            if (now >= backoff_until_) {
                connect(now, env);
            }
            break;
        case FlowState::kIdle:
        case FlowState::kFailed:
            break;
    }
    sync_timer(env);
}

void FlowFsm::on_timer_registered(Time now, FlowEnv& env) {
    if (now >= binding_expires_at_) {
        fail(FlowFailure::kBindingExpired, env);
        return;
    }
    if (now >= keepalive_due_) {
        if (keepalive_kind_for(env.config.transport) == KeepaliveKind::kCrlf) {
            fail(FlowFailure::kPongTimeout, env);  // OB-KA-07
            return;
        }
        if (stun_send_count_ >= StunSchedule(env.config.keepalive.stun).request_count()) {
            fail(FlowFailure::kStunTimeout, env);  // OB-KA-15
            return;
        }
        send_stun(env);  // retransmission, same transaction id
    }
    if (now >= keepalive_at_) {
        send_keepalive(now, env);
    }
    if (register_cseq_ != 0 && now >= txn_due_) {
        // The refresh got no answer; like a 408 it keeps the flow (OB-UA-21).
        register_cseq_ = 0;
        txn_due_ = kNever;
        RegisterResponse timeout;
        timeout.status_code = 408;
        on_recoverable_error(now, timeout, env);
        if (state_ != FlowState::kRegistered) {
            return;
        }
    }
    if (now >= register_at_) {
        send_register(now, env, expires_requested_s_);  // refresh over the same flow (OB-UA-19)
    }
}

void FlowFsm::fail(FlowFailure failure, FlowEnv& env) {
    FE_ASSERT(failure != FlowFailure::kNone);
    last_failure_ = failure;
    if (transport_open_) {
        env.actions.push(make_action(ActionKind::kClose));
        transport_open_ = false;
    }
    if (!attempt_successful_ && consecutive_failure_count_ < UINT32_MAX) {
        ++consecutive_failure_count_;
    }
    attempt_successful_ = false;
    clear_deadlines();
    register_cseq_ = 0;
    stun_send_count_ = 0;
    state_ = FlowState::kFailed;
}

void FlowFsm::recover(Time now, FlowEnv& env, FlowSetHealth health,
                      std::optional<uint8_t> other_edge) {
    FE_ASSERT(state_ == FlowState::kFailed);
    const bool hop = last_failure_ == FlowFailure::kFirstHopLacksOutbound &&
                     env.config.on_439 == On439Policy::kTryAnotherEdge &&
                     other_edge.has_value() && *other_edge != edge_index_ &&
                     edge_hop_count_ + 1 < env.config.edge_count;
    if (hop) {
        // OB-439-04: another proxy of the set, at once; once every edge
        // answered 439 the normal back-off applies.
        ++edge_hop_count_;
        edge_index_ = *other_edge;
        connect(now, env);
        sync_timer(env);
        return;
    }
    const Duration delay =
        backoff_delay(env.config.backoff, consecutive_failure_count_, health, env.rng);
    if (delay == Duration::zero()) {
        connect(now, env);
    } else {
        state_ = FlowState::kWaitingBackoff;
        backoff_until_ = now + delay;
    }
    sync_timer(env);
}

void FlowFsm::clear_deadlines() {
    txn_due_ = kNever;
    register_at_ = kNever;
    binding_expires_at_ = kNever;
    keepalive_at_ = kNever;
    keepalive_due_ = kNever;
    backoff_until_ = kNever;
    stun_first_send_at_ = kNever;
}

void FlowFsm::sync_timer(FlowEnv& env) {
    const Time next = std::min({txn_due_, register_at_, binding_expires_at_, keepalive_at_,
                                keepalive_due_, backoff_until_});
    if (next == timer_armed_) {
        return;
    }
    timer_armed_ = next;
    if (next == kNever) {
        env.actions.push(make_action(ActionKind::kCancelTimer));
        return;
    }
    Action action = make_action(ActionKind::kArmTimer);
    action.deadline = next;
    env.actions.push(action);
}

}  // namespace fe::ua
