// The home proxy's response context and branch scheduler (RFC 3261 §16.6-16.10,
// RFC 5626 §7). Layout: inputs feed the per-branch client machines, whose
// actions are translated here (run_*_actions) into proxy actions; the proxy
// decisions sit in on_provisional(), on_final() and finish_if_complete().
#include "core/outbound/proxy.h"

#include <algorithm>

#include "core/base/assert.h"

namespace fe::outbound {
namespace {

constexpr bool is_provisional(uint16_t code) {
    return code >= 100 && code <= 199;
}
constexpr bool is_success(uint16_t code) {
    return code >= 200 && code <= 299;
}

// Codes a proxy stands in for a branch that produced no response.
constexpr uint16_t kSyntheticTimeout = 408;         // §16.8, Timer B / F
constexpr uint16_t kSyntheticTransportError = 503;  // §16.9
constexpr uint16_t kFlowFailed = 430;               // RFC 5626 §11.5

}  // namespace

std::string_view proxy_action_kind_name(ProxyActionKind kind) {
    switch (kind) {
        case ProxyActionKind::kSendRequest:
            return "kSendRequest";
        case ProxyActionKind::kRetransmitRequest:
            return "kRetransmitRequest";
        case ProxyActionKind::kSendAck:
            return "kSendAck";
        case ProxyActionKind::kRetransmitAck:
            return "kRetransmitAck";
        case ProxyActionKind::kSendCancel:
            return "kSendCancel";
        case ProxyActionKind::kRetransmitCancel:
            return "kRetransmitCancel";
        case ProxyActionKind::kForwardResponse:
            return "kForwardResponse";
        case ProxyActionKind::kStoreResponse:
            return "kStoreResponse";
        case ProxyActionKind::kForwardStoredResponse:
            return "kForwardStoredResponse";
        case ProxyActionKind::kSendFinalResponse:
            return "kSendFinalResponse";
        case ProxyActionKind::kBranchTerminated:
            return "kBranchTerminated";
        case ProxyActionKind::kCancelTerminated:
            return "kCancelTerminated";
        case ProxyActionKind::kDone:
            return "kDone";
    }
    return "?";
}

int best_response_rank(uint16_t status_code) {
    if (status_code < 300 || status_code > 699 || status_code == kFlowFailed) {
        return 0;  // Not a candidate: 1xx/2xx never wait, 430 never goes upstream.
    }
    if (status_code >= 600) {
        return 6;  // "MUST choose from the 6xx class responses if any exist".
    }
    if (status_code < 400) {
        return 5;  // Lowest class first.
    }
    if (status_code < 500) {
        // "SHOULD give preference to responses that provide information
        // affecting resubmission of this request".
        const bool resubmission = status_code == 401 || status_code == 407 || status_code == 415 ||
                                  status_code == 420 || status_code == 484;
        return resubmission ? 4 : 3;
    }
    // A 503 SHOULD NOT go upstream; any other 5xx says more.
    return status_code == 503 ? 1 : 2;
}

ProxyCall::ProxyCall(const ProxyConfig& config, RequestKind kind) : config_(config), kind_(kind) {
    FE_ASSERT(txn::timer_config_is_valid(config.timers));
    FE_ASSERT(config.timer_c > Duration::zero());
}

uint8_t ProxyCall::branch_target_index(uint8_t branch_index) const {
    FE_ASSERT(branch_index < branch_count_);
    return branches_[branch_index].target_index;
}

bool ProxyCall::branch_running(uint8_t branch_index) const {
    FE_ASSERT(branch_index < branch_count_);
    return branches_[branch_index].request_live && !branches_[branch_index].has_final;
}

void ProxyCall::begin_input() {
    action_count_ = 0;
}

void ProxyCall::push(ProxyActionKind kind, uint8_t branch_index, uint16_t status_code,
                     uint8_t target_index) {
    FE_ASSERT(action_count_ < kProxyActionCountMax);
    FE_ASSERT(!done_);
    actions_[action_count_] = ProxyAction{kind, branch_index, target_index, status_code};
    ++action_count_;
}

void ProxyCall::order_targets(std::span<const Target> targets) {
    const size_t count = targets.size();
    // leader[i]: the first target of i's instance (itself for a plain binding).
    std::array<uint8_t, kTargetCountMax> leader{};
    // freshest[leader]: the group's most recent update, which orders groups.
    std::array<Time, kTargetCountMax> freshest{};
    for (size_t i = 0; i < count; ++i) {
        leader[i] = static_cast<uint8_t>(i);
        if (!targets[i].instance_key.empty()) {
            for (size_t j = 0; j < i; ++j) {
                if (targets[j].instance_key == targets[i].instance_key) {
                    leader[i] = leader[j];
                    break;
                }
            }
        }
        freshest[leader[i]] =
            leader[i] == i ? targets[i].updated : std::max(freshest[leader[i]], targets[i].updated);
        order_[i] = static_cast<uint8_t>(i);
    }
    std::sort(order_.begin(), order_.begin() + static_cast<ptrdiff_t>(count),
              [&](uint8_t a, uint8_t b) {
                  if (leader[a] != leader[b]) {
                      if (freshest[leader[a]] != freshest[leader[b]]) {
                          return freshest[leader[a]] > freshest[leader[b]];
                      }
                      return leader[a] < leader[b];
                  }
                  // OB-AUTH-08: the most recent registration's flow first.
                  if (targets[a].updated != targets[b].updated) {
                      return targets[a].updated > targets[b].updated;
                  }
                  if (targets[a].q_thousandths != targets[b].q_thousandths) {
                      return targets[a].q_thousandths > targets[b].q_thousandths;
                  }
                  return a < b;
              });
    group_count_ = 0;
    for (size_t i = 0; i < count; ++i) {
        if (i == 0 || leader[order_[i]] != leader[order_[i - 1]]) {
            groups_[group_count_] = Group{.first = static_cast<uint8_t>(i)};
            ++group_count_;
        }
        ++groups_[group_count_ - 1].count;
    }
}

std::span<const ProxyAction> ProxyCall::start(std::span<const Target> targets, Time now) {
    FE_ASSERT(!started_);
    FE_ASSERT(targets.size() <= kTargetCountMax);
    started_ = true;
    begin_input();
    targets_ = targets;
    order_targets(targets);
    // OB-AUTH-01: one branch per instance at a time; all instances in parallel.
    for (uint8_t g = 0; g < group_count_; ++g) {
        start_next_in_group(g, now);
    }
    finish_if_complete();  // No target at all: 480 at once.
    return {actions_.data(), action_count_};
}

void ProxyCall::start_next_in_group(uint8_t group_index, Time now) {
    Group& group = groups_[group_index];
    FE_ASSERT(group.active_branch == kNoBranch);
    if (stop_branching_ || group.next == group.count) {
        return;
    }
    if (branch_count_ == kBranchCountMax) {
        targets_not_tried_ += static_cast<uint32_t>(group.count - group.next);
        group.next = group.count;
        return;
    }
    const uint8_t target_index = order_[group.first + group.next];
    ++group.next;
    const uint8_t branch_index = branch_count_;
    ++branch_count_;
    Branch& branch = branches_[branch_index];
    branch.target_index = target_index;
    branch.group_index = group_index;
    branch.request_live = true;
    group.active_branch = branch_index;
    ++active_group_count_;

    const txn::Reliability reliability = targets_[target_index].reliability;
    txn::ActionList actions;
    if (kind_ == RequestKind::kInvite) {
        branch.invite_txn.emplace(config_.timers, reliability);
        actions = branch.invite_txn->start(now);
        branch.give_up_at = now + config_.timer_c;  // §16.6 step 11
    } else {
        branch.non_invite_txn.emplace(config_.timers, reliability);
        actions = branch.non_invite_txn->start(now);
    }
    run_request_actions(branch_index, actions, now);
}

void ProxyCall::run_request_actions(uint8_t branch_index, const txn::ActionList& actions,
                                    Time now) {
    Branch& branch = branches_[branch_index];
    for (const txn::Action& a : actions) {
        switch (a.kind) {
            case txn::ActionKind::kSendRequest:
                push(ProxyActionKind::kSendRequest, branch_index, 0, branch.target_index);
                break;
            case txn::ActionKind::kRetransmitRequest:
                push(ProxyActionKind::kRetransmitRequest, branch_index);
                break;
            case txn::ActionKind::kSendAck:
                // The machine passed the final response up just before.
                FE_ASSERT(branch.has_final);
                push(ProxyActionKind::kSendAck, branch_index, branch.final_status);
                break;
            case txn::ActionKind::kRetransmitAck:
                push(ProxyActionKind::kRetransmitAck, branch_index);
                break;
            case txn::ActionKind::kPassResponseToTu:
                if (is_provisional(a.status_code)) {
                    on_provisional(branch_index, a.status_code, now);
                } else {
                    on_final(branch_index, a.status_code, classify(a.status_code), now);
                }
                break;
            case txn::ActionKind::kTimeout:
                on_final(branch_index, kSyntheticTimeout, Outcome::kFlowFailure, now);
                break;
            case txn::ActionKind::kTransportError:
                // After a final response this was the ACK failing: nothing to do.
                if (!branch.has_final) {
                    on_final(branch_index, kSyntheticTransportError, Outcome::kFlowFailure, now);
                }
                break;
            case txn::ActionKind::kTerminated:
                branch.request_live = false;
                push(ProxyActionKind::kBranchTerminated, branch_index);
                break;
            case txn::ActionKind::kPassRequestToTu:
            case txn::ActionKind::kSendTrying:
            case txn::ActionKind::kSendResponse:
            case txn::ActionKind::kRetransmitResponse:
                FE_ASSERT(false && "a client machine produced a server action");
        }
    }
}

void ProxyCall::run_cancel_actions(uint8_t branch_index, const txn::ActionList& actions) {
    Branch& branch = branches_[branch_index];
    for (const txn::Action& a : actions) {
        switch (a.kind) {
            case txn::ActionKind::kSendRequest:
                push(ProxyActionKind::kSendCancel, branch_index);
                break;
            case txn::ActionKind::kRetransmitRequest:
                push(ProxyActionKind::kRetransmitCancel, branch_index);
                break;
            case txn::ActionKind::kTerminated:
                branch.cancel_live = false;
                push(ProxyActionKind::kCancelTerminated, branch_index);
                break;
            case txn::ActionKind::kPassResponseToTu:
            case txn::ActionKind::kTimeout:
            case txn::ActionKind::kTransportError:
                // The CANCEL's own fate changes nothing: the INVITE's final
                // response, or the §9.1 64*T1 limit (give_up_at), ends the branch.
                break;
            case txn::ActionKind::kSendAck:
            case txn::ActionKind::kRetransmitAck:
            case txn::ActionKind::kPassRequestToTu:
            case txn::ActionKind::kSendTrying:
            case txn::ActionKind::kSendResponse:
            case txn::ActionKind::kRetransmitResponse:
                FE_ASSERT(false && "a non-INVITE client machine produced a foreign action");
        }
    }
}

ProxyCall::Outcome ProxyCall::classify(uint16_t final_status) const {
    // OB-AUTH-03, OB-430-04: only 408 and 430 leave the instance unanswered.
    if (final_status == kFlowFailed || final_status == kSyntheticTimeout) {
        return Outcome::kFlowFailure;
    }
    if (final_status == 503 && config_.retry_503 == Retry503::kTriesNextFlow) {
        return Outcome::kFlowFailure;
    }
    return Outcome::kAnswer;
}

void ProxyCall::on_provisional(uint8_t branch_index, uint16_t status_code, Time now) {
    Branch& branch = branches_[branch_index];
    branch.has_provisional = true;
    // §16.7 step 2: any 1xx but 100 restarts Timer C (not once a CANCEL runs:
    // then the §9.1 limit holds).
    if (kind_ == RequestKind::kInvite && status_code != 100 && !branch.cancel_sent) {
        branch.give_up_at = now + config_.timer_c;
    }
    // §9.1: a CANCEL waits for a provisional response.
    if (branch.cancel_wanted && !branch.cancel_sent) {
        send_cancel(branch_index, now);
    }
    // §16.7 step 5: provisional responses but 100, until a final one went up.
    if (status_code != 100 && !final_sent_) {
        push(ProxyActionKind::kForwardResponse, branch_index, status_code);
    }
}

void ProxyCall::on_final(uint8_t branch_index, uint16_t status_code, Outcome outcome, Time now) {
    Branch& branch = branches_[branch_index];
    FE_ASSERT(!branch.has_final);
    branch.has_final = true;
    branch.give_up_at = txn::kNever;
    branch.final_status = status_code;
    Group& group = groups_[branch.group_index];
    FE_ASSERT(group.active_branch == branch_index);
    group.active_branch = kNoBranch;
    FE_ASSERT(active_group_count_ > 0);
    --active_group_count_;

    if (is_success(status_code)) {
        // §16.7 step 5: a 2xx goes up at once; for INVITE every 2xx does.
        if (!final_sent_ || kind_ == RequestKind::kInvite) {
            push(ProxyActionKind::kForwardResponse, branch_index, status_code);
        }
        final_sent_ = true;
        stop_branching_and_cancel(now);  // §16.7 step 10
        return;
    }
    if (outcome == Outcome::kFlowFailure) {
        // OB-AUTH-02, OB-430-02: the instance's next flow replaces this one.
        start_next_in_group(branch.group_index, now);
        return;
    }
    // The instance answered (OB-AUTH-03): its group is over.
    groups_[branch.group_index].next = groups_[branch.group_index].count;
    if (final_sent_) {
        return;  // Absorbed: only a 2xx may follow a final response upstream.
    }
    if (status_code >= 600) {
        stop_branching_and_cancel(now);  // §16.7 step 5
    }
    if (best_branch_ == kNoBranch ||
        best_response_rank(status_code) > best_response_rank(best_status_)) {
        best_branch_ = branch_index;
        best_status_ = status_code;
        push(ProxyActionKind::kStoreResponse, branch_index, status_code);
    }
}

void ProxyCall::stop_branching_and_cancel(Time now) {
    stop_branching_ = true;
    if (kind_ != RequestKind::kInvite) {
        return;  // §9.1: non-INVITE requests are not CANCELled.
    }
    for (uint8_t b = 0; b < branch_count_; ++b) {
        if (branches_[b].request_live && !branches_[b].has_final) {
            request_cancel(b, now);
        }
    }
}

void ProxyCall::request_cancel(uint8_t branch_index, Time now) {
    Branch& branch = branches_[branch_index];
    if (branch.cancel_wanted) {
        return;
    }
    branch.cancel_wanted = true;
    if (branch.has_provisional) {
        send_cancel(branch_index, now);
    }
}

void ProxyCall::send_cancel(uint8_t branch_index, Time now) {
    Branch& branch = branches_[branch_index];
    FE_ASSERT(kind_ == RequestKind::kInvite);
    FE_ASSERT(!branch.cancel_sent);
    branch.cancel_wanted = true;
    branch.cancel_sent = true;
    branch.cancel_live = true;
    // §9.1: no final response within 64*T1 of the CANCEL: give the branch up.
    branch.give_up_at = now + txn::timer_b(config_.timers);
    branch.cancel_txn.emplace(config_.timers, targets_[branch.target_index].reliability);
    run_cancel_actions(branch_index, branch.cancel_txn->start(now));
}

void ProxyCall::abandon_branch(uint8_t branch_index, Time now) {
    Branch& branch = branches_[branch_index];
    FE_ASSERT(branch.request_live);
    branch.request_live = false;
    branch.invite_txn.reset();
    push(ProxyActionKind::kBranchTerminated, branch_index);
    on_final(branch_index, kSyntheticTimeout, Outcome::kFlowFailure, now);
}

void ProxyCall::finish_if_complete() {
    if (!final_sent_ && active_group_count_ == 0) {
        // §16.7 step 6: every branch is over and nothing final went up.
        final_sent_ = true;
        if (best_branch_ != kNoBranch) {
            if (best_status_ == 503) {
                push(ProxyActionKind::kSendFinalResponse, kNoBranch, 500);
            } else {
                push(ProxyActionKind::kForwardStoredResponse, best_branch_, best_status_);
            }
        } else {
            // No instance answered: the target set is exhausted (OB-430-03).
            push(ProxyActionKind::kSendFinalResponse, kNoBranch, cancelled_upstream_ ? 487 : 480);
        }
    }
    if (!final_sent_ || done_) {
        return;
    }
    for (uint8_t b = 0; b < branch_count_; ++b) {
        if (branches_[b].request_live || branches_[b].cancel_live) {
            return;  // §16.7 step 9: the context lives until every transaction ends.
        }
    }
    push(ProxyActionKind::kDone, kNoBranch);
    done_ = true;
}

std::span<const ProxyAction> ProxyCall::on_branch_response(uint8_t branch_index,
                                                           uint16_t status_code, Time now) {
    begin_input();
    FE_ASSERT(branch_index < branch_count_);
    Branch& branch = branches_[branch_index];
    if (done_ || !branch.request_live) {
        return {};
    }
    const txn::ActionList actions = kind_ == RequestKind::kInvite
                                        ? branch.invite_txn->on_response(now, status_code)
                                        : branch.non_invite_txn->on_response(now, status_code);
    run_request_actions(branch_index, actions, now);
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::span<const ProxyAction> ProxyCall::on_branch_transport_error(uint8_t branch_index, Time now) {
    begin_input();
    FE_ASSERT(branch_index < branch_count_);
    Branch& branch = branches_[branch_index];
    if (done_ || !branch.request_live) {
        return {};
    }
    const txn::ActionList actions = kind_ == RequestKind::kInvite
                                        ? branch.invite_txn->on_transport_error()
                                        : branch.non_invite_txn->on_transport_error();
    run_request_actions(branch_index, actions, now);
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::span<const ProxyAction> ProxyCall::on_cancel_response(uint8_t branch_index,
                                                           uint16_t status_code, Time now) {
    begin_input();
    FE_ASSERT(branch_index < branch_count_);
    Branch& branch = branches_[branch_index];
    if (done_ || !branch.cancel_live) {
        return {};
    }
    run_cancel_actions(branch_index, branch.cancel_txn->on_response(now, status_code));
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::span<const ProxyAction> ProxyCall::on_cancel_transport_error(uint8_t branch_index, Time now) {
    (void)now;
    begin_input();
    FE_ASSERT(branch_index < branch_count_);
    Branch& branch = branches_[branch_index];
    if (done_ || !branch.cancel_live) {
        return {};
    }
    run_cancel_actions(branch_index, branch.cancel_txn->on_transport_error());
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::span<const ProxyAction> ProxyCall::on_cancel_from_upstream(Time now) {
    begin_input();
    // §9.2: a CANCEL does not affect a non-INVITE request; nor a second time.
    if (done_ || kind_ != RequestKind::kInvite || cancelled_upstream_) {
        return {};
    }
    cancelled_upstream_ = true;
    stop_branching_and_cancel(now);  // §16.10
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::span<const ProxyAction> ProxyCall::on_timer(Time now) {
    begin_input();
    if (done_) {
        return {};
    }
    // branch_count_ may grow inside the loop (a retry); new branches' timers
    // lie in the future, so visiting them is harmless.
    for (uint8_t b = 0; b < branch_count_; ++b) {
        Branch& branch = branches_[b];
        if (branch.request_live) {
            const std::optional<Time> due = kind_ == RequestKind::kInvite
                                                ? branch.invite_txn->next_deadline()
                                                : branch.non_invite_txn->next_deadline();
            if (due && *due <= now) {
                run_request_actions(b,
                                    kind_ == RequestKind::kInvite
                                        ? branch.invite_txn->on_timer(now)
                                        : branch.non_invite_txn->on_timer(now),
                                    now);
            }
        }
        if (branch.cancel_live) {
            const std::optional<Time> due = branch.cancel_txn->next_deadline();
            if (due && *due <= now) {
                run_cancel_actions(b, branch.cancel_txn->on_timer(now));
            }
        }
        if (branch.request_live && !branch.has_final && branch.give_up_at <= now) {
            if (branch.has_provisional && !branch.cancel_sent) {
                send_cancel(b, now);  // §16.8: Timer C after a provisional
            } else {
                // §16.8 Timer C before any provisional counts as a 408;
                // §9.1: no final response 64*T1 after our CANCEL.
                abandon_branch(b, now);
            }
        }
    }
    finish_if_complete();
    return {actions_.data(), action_count_};
}

std::optional<Time> ProxyCall::next_deadline() const {
    if (done_) {
        return std::nullopt;
    }
    Time earliest = txn::kNever;
    for (uint8_t b = 0; b < branch_count_; ++b) {
        const Branch& branch = branches_[b];
        if (branch.request_live) {
            const std::optional<Time> due = kind_ == RequestKind::kInvite
                                                ? branch.invite_txn->next_deadline()
                                                : branch.non_invite_txn->next_deadline();
            if (due) {
                earliest = std::min(earliest, *due);
            }
            if (!branch.has_final) {
                earliest = std::min(earliest, branch.give_up_at);
            }
        }
        if (branch.cancel_live) {
            const std::optional<Time> due = branch.cancel_txn->next_deadline();
            if (due) {
                earliest = std::min(earliest, *due);
            }
        }
    }
    if (earliest == txn::kNever) {
        return std::nullopt;
    }
    return earliest;
}

}  // namespace fe::outbound
