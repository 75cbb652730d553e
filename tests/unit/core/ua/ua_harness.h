// Test driver for fe::ua::Ua: a virtual clock, one timer per flow, a log of
// every action with the time it was issued, and a scriptable fake edge that
// answers connects, REGISTERs, pings and STUN requests (or stays silent) so
// that long scenarios run without hand-feeding every step.
#pragma once

#include <deque>
#include <map>
#include <vector>

#include "core/ua/ua.h"

namespace fe::ua::testing {

struct LoggedAction {
    Time at;
    Action action;
};

// How the fake edge behind each flow behaves; tests flip fields mid-run.
struct FakeEdge {
    bool connect_ok = true;
    bool answer_register = true;
    uint16_t register_status = 200;
    bool require_outbound = true;
    std::optional<uint32_t> flow_timer_s;
    std::optional<uint32_t> retry_after_s;
    bool answer_keepalive = true;
    Endpoint mapped = *Endpoint::parse("198.51.100.7:40000");
};

class UaHarness {
public:
    UaHarness(const UaConfig& config, uint64_t seed, bool auto_answer = true)
        : config_(config), ua_(config_, seed, 0), auto_answer_(auto_answer) {
        edges_.resize(config.flow_count);
        timers_.assign(config.flow_count, Time::max());
    }

    Ua& ua() { return ua_; }
    const FlowFsm& flow(uint32_t index) const { return ua_.flow(index); }
    FakeEdge& edge(uint32_t flow_index) { return edges_[flow_index]; }
    Time now() const { return now_; }
    const std::vector<LoggedAction>& log() const { return log_; }
    Time timer(uint32_t flow_index) const { return timers_[flow_index]; }

    void start() {
        ActionList actions;
        ua_.start(now_, actions);
        apply(actions);
    }

    // Feeds one input by hand (auto_answer off, or to inject events).
    template <typename F>
    void input(F&& f) {
        ActionList actions;
        f(ua_, now_, actions);
        apply(actions);
    }

    // Moves the clock to `until`, firing due flow timers in deadline order.
    void advance_to(Time until) {
        for (;;) {
            uint32_t next_flow = 0;
            Time next = Time::max();
            for (uint32_t i = 0; i < timers_.size(); ++i) {
                if (timers_[i] < next) {
                    next = timers_[i];
                    next_flow = i;
                }
            }
            if (next > until) {
                break;
            }
            now_ = std::max(now_, next);
            timers_[next_flow] = Time::max();
            ActionList actions;
            ua_.on_timer(next_flow, now_, actions);
            apply(actions);
        }
        now_ = std::max(now_, until);
    }
    void advance(Duration d) { advance_to(now_ + d); }

    // Actions of one kind (optionally of one flow) logged at or after `since`.
    std::vector<LoggedAction> find(ActionKind kind, int flow_index = -1,
                                   Time since = Time::min()) const {
        std::vector<LoggedAction> out;
        for (const LoggedAction& entry : log_) {
            if (entry.action.kind == kind && entry.at >= since &&
                (flow_index < 0 || entry.action.flow_index == flow_index)) {
                out.push_back(entry);
            }
        }
        return out;
    }

private:
    void apply(const ActionList& actions) {
        std::deque<Action> pending(actions.begin(), actions.end());
        while (!pending.empty()) {
            const Action action = pending.front();
            pending.pop_front();
            log_.push_back({now_, action});
            ActionList reply;
            react(action, reply);
            pending.insert(pending.end(), reply.begin(), reply.end());
        }
    }

    void react(const Action& action, ActionList& reply) {
        const uint32_t f = action.flow_index;
        switch (action.kind) {
            case ActionKind::kArmTimer:
                timers_[f] = action.deadline;
                return;
            case ActionKind::kCancelTimer:
                timers_[f] = Time::max();
                return;
            default:
                break;
        }
        if (!auto_answer_) {
            return;
        }
        const FakeEdge& e = edges_[f];
        switch (action.kind) {
            case ActionKind::kConnect:
                if (e.connect_ok) {
                    ua_.on_connected(f, now_, reply);
                } else {
                    ua_.on_connect_failed(f, now_, reply);
                }
                break;
            case ActionKind::kSendRegister:
                if (e.answer_register) {
                    RegisterResponse r;
                    r.cseq = action.cseq;
                    // OB-439-02: no 439 to a REGISTER without reg-id.
                    r.status_code = (e.register_status == 439 && action.mode == RegisterMode::kPlain)
                                        ? 200
                                        : e.register_status;
                    r.has_require_outbound = e.require_outbound && action.mode == RegisterMode::kOutbound;
                    r.flow_timer_s = e.flow_timer_s;
                    r.expires_s = action.expires_s;
                    r.retry_after_s = e.retry_after_s;
                    ua_.on_register_response(f, now_, r, reply);
                }
                break;
            case ActionKind::kSendPing:
                if (e.answer_keepalive) {
                    ua_.on_pong(f, now_, reply);
                }
                break;
            case ActionKind::kSendStunRequest:
                if (e.answer_keepalive) {
                    StunResponse r;
                    r.transaction_id = action.transaction_id;
                    r.mapped = e.mapped;
                    ua_.on_stun_response(f, now_, r, reply);
                }
                break;
            default:
                break;
        }
    }

    UaConfig config_;
    Ua ua_;
    bool auto_answer_;
    Time now_{};
    std::vector<FakeEdge> edges_;
    std::vector<Time> timers_;  // per flow; Time::max() when not armed
    std::vector<LoggedAction> log_;
};

}  // namespace fe::ua::testing
