// Drives a home-proxy ProxyCall (core/outbound/proxy.h) with a script of
// arbitrary inputs (targets with shared or distinct instances, any response
// code on any branch, transport errors, upstream CANCEL, time steps) and
// checks its contracts: a 430 never goes upstream (OB-430-03); each target
// is tried at most once and one branch per instance runs at a time
// (OB-AUTH-01); a non-INVITE gets exactly one final response upstream and an
// INVITE either 2xx responses or one non-2xx; CANCELs go only to INVITE
// branches that had a provisional response (§9.1), once each; kDone comes
// once, last; and driving the timers alone always ends the call.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/assert.h"
#include "core/outbound/proxy.h"

namespace {

using fe::outbound::ProxyAction;
using fe::outbound::ProxyActionKind;

class Script {
  public:
    Script(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool done() const { return pos_ >= size_; }
    uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

constexpr uint16_t kCodes[] = {100, 180, 183, 200, 202, 302, 401, 404, 407, 408,
                               430, 480, 486, 487, 500, 503, 600, 603, 699, 99};

struct Model {
    bool invite = true;
    std::vector<fe::outbound::Target> targets;
    std::vector<int> branch_target;        // branch -> target index
    std::vector<bool> branch_provisional;  // a 1xx was fed while live
    std::vector<bool> branch_cancelled;
    std::vector<bool> target_tried;
    bool non_2xx_final_sent = false;
    int finals_sent = 0;
    bool done = false;
    uint8_t last_code = 0;
};

// OB-AUTH-01: at most one running branch per instance, after every input.
void check_one_branch_per_instance(const Model& m, const fe::outbound::ProxyCall& call) {
    for (uint8_t a = 0; a < call.branch_count(); ++a) {
        const std::string_view instance = m.targets[call.branch_target_index(a)].instance_key;
        if (instance.empty() || !call.branch_running(a)) {
            continue;
        }
        for (uint8_t b = static_cast<uint8_t>(a + 1); b < call.branch_count(); ++b) {
            if (call.branch_running(b)) {
                FE_ASSERT(m.targets[call.branch_target_index(b)].instance_key != instance);
            }
        }
    }
}

void check(Model& m, std::span<const ProxyAction> actions, int fed_branch, uint16_t fed_code) {
    for (size_t i = 0; i < actions.size(); ++i) {
        const ProxyAction& a = actions[i];
        FE_ASSERT(!m.done);
        switch (a.kind) {
            case ProxyActionKind::kSendRequest: {
                FE_ASSERT(a.branch_index == m.branch_target.size());
                FE_ASSERT(a.target_index < m.targets.size());
                FE_ASSERT(!m.target_tried[a.target_index]);
                m.target_tried[a.target_index] = true;
                m.branch_target.push_back(a.target_index);
                m.branch_provisional.push_back(false);
                m.branch_cancelled.push_back(false);
                break;
            }
            case ProxyActionKind::kSendCancel:
                FE_ASSERT(m.invite);
                FE_ASSERT(m.branch_provisional[a.branch_index]);
                FE_ASSERT(!m.branch_cancelled[a.branch_index]);
                m.branch_cancelled[a.branch_index] = true;
                break;
            case ProxyActionKind::kForwardResponse:
                FE_ASSERT(a.status_code != 430);
                FE_ASSERT(a.branch_index == fed_branch);
                FE_ASSERT(a.status_code == fed_code);
                if (a.status_code >= 200) {
                    FE_ASSERT(!m.non_2xx_final_sent);
                    FE_ASSERT(m.invite || m.finals_sent == 0);
                    ++m.finals_sent;
                } else {
                    FE_ASSERT(m.finals_sent == 0);
                }
                break;
            case ProxyActionKind::kStoreResponse:
                FE_ASSERT(a.status_code != 430);
                FE_ASSERT(a.branch_index == fed_branch);
                FE_ASSERT(a.status_code == fed_code);
                break;
            case ProxyActionKind::kForwardStoredResponse:
            case ProxyActionKind::kSendFinalResponse:
                FE_ASSERT(a.status_code >= 300);
                FE_ASSERT(a.status_code != 430);
                FE_ASSERT(m.finals_sent == 0);
                ++m.finals_sent;
                m.non_2xx_final_sent = true;
                break;
            case ProxyActionKind::kDone:
                FE_ASSERT(i + 1 == actions.size());
                FE_ASSERT(m.finals_sent > 0);
                m.done = true;
                break;
            default:
                break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Script s(data, size);
    Model m;
    const uint8_t flags = s.byte();
    m.invite = (flags & 1) == 0;
    fe::outbound::ProxyConfig config;
    config.retry_503 = (flags & 2) ? fe::outbound::Retry503::kTriesNextFlow
                                   : fe::outbound::Retry503::kEndsInstance;
    config.timer_c = fe::seconds(1 + (flags >> 2));
    static const std::string kInstances[] = {"", "urn:a", "urn:b", "urn:c"};
    const uint8_t target_count = s.byte() % 24;
    for (uint8_t i = 0; i < target_count; ++i) {
        const uint8_t t = s.byte();
        m.targets.push_back(
            fe::outbound::Target{.instance_key = kInstances[t & 3],
                                 .contact_uri = "sip:x@192.0.2.1",
                                 .updated = fe::Time{} + fe::seconds(t >> 4),
                                 .reliability = (t & 8) ? fe::txn::Reliability::kReliable
                                                        : fe::txn::Reliability::kUnreliable});
    }
    m.target_tried.assign(m.targets.size(), false);

    fe::outbound::ProxyCall call(config, m.invite ? fe::outbound::RequestKind::kInvite
                                                  : fe::outbound::RequestKind::kNonInvite);
    fe::Time now = fe::Time{} + fe::seconds(1000);
    check(m, call.start(m.targets, now), -1, 0);
    while (!s.done() && !m.done) {
        const uint8_t op = s.byte();
        const uint8_t arg = s.byte();
        const uint8_t branch_count = call.branch_count();
        const uint8_t b = branch_count == 0 ? 0 : static_cast<uint8_t>(arg % branch_count);
        const uint16_t code = kCodes[(arg >> 3) % std::size(kCodes)];
        switch (op % 7) {
            case 0:
            case 1:
                if (branch_count > 0) {
                    if (code >= 100 && code < 200 && call.branch_running(b)) {
                        m.branch_provisional[b] = true;
                    }
                    check(m, call.on_branch_response(b, code, now), b, code);
                }
                break;
            case 2:
                if (branch_count > 0) {
                    check(m, call.on_branch_transport_error(b, now), -1, 0);
                }
                break;
            case 3:
                if (branch_count > 0) {
                    check(m, call.on_cancel_response(b, code, now), -1, 0);
                }
                break;
            case 4:
                check(m, call.on_cancel_from_upstream(now), -1, 0);
                break;
            default: {
                now += fe::milliseconds(arg * 250);
                const auto actions = call.on_timer(now);
                check(m, actions, -1, 0);
                break;
            }
        }
        check_one_branch_per_instance(m, call);
    }
    // Liveness: timers alone end every call.
    for (int step = 0; step < 100000 && !m.done; ++step) {
        const auto next = call.next_deadline();
        FE_ASSERT(next.has_value());
        now = std::max(now, *next);
        check(m, call.on_timer(now), -1, 0);
    }
    FE_ASSERT(m.done);
    FE_ASSERT(call.done());
    FE_ASSERT(!call.next_deadline().has_value());
    return 0;
}
