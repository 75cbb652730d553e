// The home proxy glue: store lookup -> outbound::ProxyCall -> ProxySender,
// with an upstream server transaction per call (RFC 3261 §16, §17.2; RFC 5626
// §7). See proxy.h for the decisions and their reasons.
#include "cluster/proxy.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "cluster/links.h"
#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/outbound/edge.h"
#include "core/sip/edit.h"
#include "core/sip/response.h"
#include "core/syntax/limits.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/uri.h"
#include "core/syntax/via.h"
#include "core/txn/server_transaction.h"

namespace fe::cluster {

namespace {

static_assert(kProxyCallCountMax <= outbound::kProxyBranchSlotCountMax,
              "a call's slot fits its branch id");
static_assert(outbound::kBranchCountMax <= outbound::kProxyBranchIndexCountMax,
              "a branch index fits its branch id");

// The upstream transaction key of RFC 3261 §17.2.3: the top Via's branch and
// sent-by ("branch|host:port"). Only RFC 3261 branches are matched: an RFC
// 2543 peer's requests are each treated as new. Empty when not matchable.
std::string_view upstream_key(const sip::Message& request, std::span<char> out) {
    const sip::ListRange vias = request.list(sip::HeaderId::kVia);
    if (vias.empty()) {
        return {};
    }
    syntax::Via via;
    if (syntax::parse_via(*vias.begin(), via) != syntax::Error::kOk || !via.has_magic_cookie()) {
        return {};
    }
    sip::Writer w(out.data(), out.size());
    w.append(via.branch);
    w.append("|");
    w.append(via.host);
    w.append(":");
    w.append_u32(via.port);
    return w.overflowed() ? std::string_view() : w.view();
}

bool is_2xx(uint16_t status) { return status >= 200 && status < 300; }


}  // namespace

// A proxied request awaiting a final answer, a store answer, or its upstream
// transaction's end.
struct HomeProxy::Feedback {
    enum class Kind : uint8_t { kFlowGone, kTransportError, kCancelTransportError };
    Kind kind = Kind::kFlowGone;
    uint8_t branch_index = 0;
};

// Where one target's branch goes first: down one of our flows (its first
// Path value was our token, now taken off the Route), or to a URI.
struct HomeProxy::BranchHop {
    bool to_flow = false;
    token::Fields flow;             // to_flow
    std::string_view token;         // to_flow: the token text, for the Record-Route
    bool record_route = false;      // to_flow: the Path value had `ob` (OB-EDGE-11)
    std::string_view uri;           // !to_flow: where to send
    Transport transport = Transport::kUdp;
};

struct HomeProxy::Call {
    Call(HomeProxy* owner_in, uint32_t slot_in)
        : timer(&HomeProxy::on_call_timer, this), owner(owner_in), slot(slot_in) {}

    // What one branch sent, kept for retransmission and for its CANCEL / ACK.
    struct BranchIo {
        std::string request;
        std::string ack;
        std::string cancel;
        uint8_t target_index = 0;    // into Call::hops
        bool request_live = false;   // between kSendRequest and kBranchTerminated
    };

    // Armed at the earlier of the ProxyCall's and the server transaction's
    // deadlines whenever the call has one (rearm()).
    time::Timer timer;
    HomeProxy* const owner;
    const uint32_t slot;
    // Bumped by acquire(): a store answer for an earlier occupant of the slot
    // is recognised and dropped.
    uint64_t generation = 0;
    bool in_use = false;
    // A store lookup was issued and has not answered.
    bool lookup_pending = false;
    // No ProxyCall is running: not started yet, or kDone was carried out.
    bool proxy_done = true;
    // The upstream server transaction reached Terminated.
    bool upstream_done = false;
    // CANCELled before the store answered: nothing gets forked.
    bool cancelled_early = false;
    outbound::RequestKind kind = outbound::RequestKind::kNonInvite;
    // How the request came: only an unreliable transport retransmits, so
    // only then is a finished transaction kept in completed_.
    txn::Reliability upstream_reliability = txn::Reliability::kReliable;
    // Set when a 2xx to an INVITE went upstream over UDP: the end of RFC
    // 6026's Accepted state (Timer L), which outlives the RFC 3261 machine.
    std::optional<Time> accepted_until;

    // The received request, copied, and parsed over the copy.
    std::string request_bytes;
    sip::Message request;
    uint64_t hash = 0;
    // by_upstream_key_ maps a view of this string while the call is live.
    std::string upstream_key;
    std::string record_route;
    uint8_t route_values_removed = 0;
    // The caller's flow token (our Via's `fl`) and its Via's received/rport
    // (views into request_bytes).
    std::string caller_token;
    outbound::ViaReceived via;
    std::array<char, 18> to_tag{};  // response_to_tag(): for responses we generate
    Respond respond;

    std::optional<txn::ServerInviteTransaction> server_invite;
    std::optional<txn::ServerNonInviteTransaction> server_non_invite;
    // The last response sent upstream (resent on a retransmitted request or
    // Timer G), and the best final answer kept so far (top Via removed).
    std::string last_response;
    std::string stored_response;

    // The store's bindings, copied, and the Targets viewing them.
    std::vector<state::Binding> bindings;
    std::vector<std::string_view> path_views;
    std::vector<outbound::Target> targets;
    std::vector<BranchHop> hops;  // per target: where the branch goes first
    std::optional<outbound::ProxyCall> proxy;
    std::array<BranchIo, outbound::kBranchCountMax> branches;

    // Send failures found while carrying out an action list, fed to the
    // ProxyCall once that list is done (its span is invalidated by any input).
    std::array<Feedback, 2 * outbound::kBranchCountMax> feedback{};
    uint32_t feedback_count = 0;

    std::string_view to_tag_view() const { return std::string_view(to_tag.data(), to_tag.size()); }
};

HomeProxy::HomeProxy(state::BindingStore& store, ProxySender& sender, time::TimerWheel& wheel,
                     HomeProxyConfig config)
    : store_(store),
      sender_(sender),
      wheel_(wheel),
      config_(std::move(config)),
      completed_(config_.completed),
      arena_(std::make_unique<sip::EditArena>()),
      response_buffer_(std::make_unique<char[]>(kProxyResponseSizeMax)) {
    FE_ASSERT(txn::timer_config_is_valid(config_.proxy.timers));
    FE_ASSERT(!config_.via_host.empty());
    FE_ASSERT(config_.udp_port != 0 || config_.tcp_port != 0);
    FE_ASSERT(config_.call_count_max > 0);
    FE_ASSERT(config_.call_count_max <= kProxyCallCountMax);
    static_assert(sizeof(config_.worker_index) == 1, "the worker index is 2 hex digits");
    FE_ASSERT(config_.keys != nullptr);
    slots_.reserve(config_.call_count_max);
    free_.reserve(config_.call_count_max);
    by_upstream_key_.reserve(config_.call_count_max);
}

HomeProxy::~HomeProxy() {
    for (const std::unique_ptr<Call>& call : slots_) {
        if (call->timer.armed()) {
            wheel().cancel(call->timer);
        }
    }
}

// ---- Requests ---------------------------------------------------------------

void HomeProxy::handle_request(const sip::Message& request, const RequestFlow& flow, Time now,
                               Respond respond) {
    FE_ASSERT(request.is_request());
    ++stats_.requests;
    switch (request.method()) {
        case sip::Method::kAck:
            handle_ack(request, now);
            return;
        case sip::Method::kCancel:
            handle_cancel(request, flow, now, respond);
            return;
        default:
            break;
    }
    if (handle_retransmission(request, now)) {
        return;
    }
    if (txn::reliability_of(flow.transport) == txn::Reliability::kUnreliable &&
        answer_from_completed(request, now, respond)) {
        return;
    }
    start_call(request, flow, now, respond);
}

namespace {

// Answers `request` at once (no call state): errors before forking.
void answer(const sip::Message& request, const RequestFlow& flow, uint16_t status,
            std::string_view reason, const outbound::BranchSecret& secret, char* buffer,
            ProxyService::Respond& respond) {
    sip::Writer out(buffer, kProxyResponseSizeMax);
    const outbound::ViaReceived via = outbound::via_received_of(request, flow.source);
    const outbound::ToTag tag = outbound::response_to_tag(request, secret);
    const sip::ResponseSpec spec{.status_code = status, .reason = reason, .to_tag = tag.view(),
                                 .top_via = via.edit()};
    if (sip::build_response(request, spec, out) == sip::BuildError::kOk && respond) {
        respond(out.view());
    }
}

}  // namespace

HomeProxy::Call* HomeProxy::call_for_upstream_key(const sip::Message& request) const {
    std::array<char, kUpstreamKeySizeMax> key_buf;
    const std::string_view key = upstream_key(request, key_buf);
    const auto it = key.empty() ? by_upstream_key_.end() : by_upstream_key_.find(key);
    return it == by_upstream_key_.end() ? nullptr : slots_[it->second].get();
}

bool HomeProxy::matches_ack(const sip::Message& ack) const {
    const Call* call = call_for_upstream_key(ack);
    if (call != nullptr) {
        return call->kind == outbound::RequestKind::kInvite;
    }
    // The ACK of a non-2xx whose call was released (Confirmed). The edge
    // asks without a time: the wheel's is at most a loop turn old.
    txn::ServerKey key;
    return outbound::server_key_of(ack, key) &&
           completed_.match(key, wheel_.processed_until()).verdict ==
               txn::CompletedVerdict::kAbsorb;
}

void HomeProxy::handle_ack(const sip::Message& ack, Time now) {
    Call* found = call_for_upstream_key(ack);
    if (found == nullptr) {
        txn::ServerKey key;
        if (outbound::server_key_of(ack, key) &&
            completed_.match(key, now).verdict == txn::CompletedVerdict::kAbsorb) {
            // An ACK retransmission for a released call, in Confirmed.
            ++stats_.acks_absorbed;
            ++stats_.completed_absorbed;
            return;
        }
    }
    if (found == nullptr || found->kind != outbound::RequestKind::kInvite) {
        // An ACK for a 2xx follows the dialog's route set (end to end); the
        // edge routes it and hands us only those our transaction matched.
        ++stats_.acks_dropped;
        return;
    }
    Call& call = *found;
    ++stats_.acks_absorbed;  // hop by hop (§17.2.1): the ACK of our non-2xx
    if (!call.upstream_done) {
        run_server(call, call.server_invite->on_ack(now));
    }
    settle(call, now);
}

void HomeProxy::handle_cancel(const sip::Message& cancel, const RequestFlow& flow, Time now,
                              Respond& respond) {
    Call* found = call_for_upstream_key(cancel);
    if (found == nullptr) {
        txn::ServerKey key;
        if (outbound::server_key_of(cancel, key) && completed_.has_invite_for_cancel(key, now)) {
            // §9.2: the INVITE's transaction exists and has its final
            // response: the CANCEL gets 200 and has no effect.
            ++stats_.cancels_matched;
            answer(cancel, flow, 200, {}, config_.branch_secret, response_buffer_.get(), respond);
            return;
        }
        ++stats_.cancels_unmatched;
        answer(cancel, flow, 481, {}, config_.branch_secret, response_buffer_.get(), respond);
        return;
    }
    ++stats_.cancels_matched;
    // §16.10: answer the CANCEL itself first, then act on the INVITE.
    answer(cancel, flow, 200, {}, config_.branch_secret, response_buffer_.get(), respond);
    Call& call = *found;
    if (call.kind != outbound::RequestKind::kInvite) {
        return;  // §9.2: no effect on a non-INVITE request
    }
    if (call.lookup_pending) {
        // Nothing forked yet: answer 487 now and fork nothing later.
        if (!call.cancelled_early) {
            call.cancelled_early = true;
            send_generated(call, 487, now);
        }
    } else if (!call.proxy_done) {
        run(call, call.proxy->on_cancel_from_upstream(now), nullptr, now);
    }
    settle(call, now);
}

bool HomeProxy::handle_retransmission(const sip::Message& request, Time now) {
    Call* found = call_for_upstream_key(request);
    if (found == nullptr) {
        return false;
    }
    Call& call = *found;
    if (call.request.method() != request.method()) {
        return false;  // a different request reusing the branch: treat as new
    }
    ++stats_.retransmissions;
    if (!call.upstream_done) {
        run_server(call, call.kind == outbound::RequestKind::kInvite
                             ? call.server_invite->on_request_retransmission(now)
                             : call.server_non_invite->on_request_retransmission(now));
    }
    settle(call, now);
    return true;
}

// A request whose call was released: its transaction's final again, or
// nothing (an INVITE after its final), never a second fork.
bool HomeProxy::answer_from_completed(const sip::Message& request, Time now,
                                      Respond& respond) {
    txn::ServerKey key;
    if (!outbound::server_key_of(request, key)) {
        return false;
    }
    const txn::CompletedMatch done = completed_.match(key, now);
    switch (done.verdict) {
        case txn::CompletedVerdict::kNone:
            return false;
        case txn::CompletedVerdict::kResend:
            ++stats_.completed_resent;
            if (respond) {
                respond(done.response);
            }
            return true;
        case txn::CompletedVerdict::kAbsorb:
            ++stats_.completed_absorbed;
            return true;
    }
    return false;
}

void HomeProxy::start_call(const sip::Message& request, const RequestFlow& flow, Time now,
                           Respond& respond) {
    // §16.3 step 3; the edge checked too, but a proxy must not rely on it.
    const outbound::MaxForwards mf = outbound::check_max_forwards(request);
    if (mf.verdict == outbound::MaxForwardsVerdict::kTooManyHops) {
        answer(request, flow, 483, {}, config_.branch_secret, response_buffer_.get(), respond);
        return;
    }
    if (mf.verdict == outbound::MaxForwardsVerdict::kMalformed) {
        answer(request, flow, 400, "Bad Max-Forwards", config_.branch_secret, response_buffer_.get(), respond);
        return;
    }
    // §16.5: the target set comes from our location service for a domain
    // we serve; any other URI is its own target.
    syntax::Uri uri;
    char key_buf[syntax::kAorKeySizeMax];
    std::string_view aor_key;
    if (syntax::parse_uri(request.request_uri(), uri) != syntax::Error::kOk || uri.is_tel()) {
        ++stats_.not_found;
        answer(request, flow, 404, {}, config_.branch_secret, response_buffer_.get(), respond);
        return;
    }
    const bool served =
        outbound::serves_domain(uri.host, config_.identity) &&
        outbound::write_local_aor_key(uri, config_.identity, key_buf, sizeof(key_buf), aor_key) ==
            syntax::Error::kOk;
    Call* slot = acquire();
    if (slot == nullptr) {
        ++stats_.overload;
        answer(request, flow, 503, "Proxy Overloaded", config_.branch_secret, response_buffer_.get(), respond);
        return;
    }
    Call& call = *slot;
    ++stats_.calls_started;
    call.request_bytes.assign(request.bytes());
    const sip::ParseError reparsed = call.request.parse(call.request_bytes);
    FE_ASSERT(reparsed == sip::ParseError::kOk);  // the same bytes parsed a moment ago
    call.kind = request.method() == sip::Method::kInvite ? outbound::RequestKind::kInvite
                                                         : outbound::RequestKind::kNonInvite;
    call.hash = outbound::branch_hash(call.request, config_.branch_secret);
    const outbound::ToTag tag = outbound::response_to_tag(call.request, config_.branch_secret);
    std::copy(tag.bytes.begin(), tag.bytes.end(), call.to_tag.begin());
    call.record_route.assign(flow.record_route_value);
    call.route_values_removed = flow.route_values_removed;
    call.caller_token.assign(flow.flow_token);
    call.via = outbound::via_received_of(call.request, flow.source);
    call.respond = std::move(respond);
    std::array<char, kUpstreamKeySizeMax> upstream_buf;
    call.upstream_key.assign(upstream_key(call.request, upstream_buf));
    if (!call.upstream_key.empty() &&
        !by_upstream_key_.emplace(call.upstream_key, call.slot).second) {
        // A live call has the key with another method (the same method was
        // matched as a retransmission above): a peer reusing a branch for a
        // new request (§8.1.1.7 forbids it). This one goes unindexed; its
        // copies and CANCEL find nothing.
        ++stats_.key_reused;
        call.upstream_key.clear();
    }
    const txn::Reliability reliability = txn::reliability_of(flow.transport);
    call.upstream_reliability = reliability;
    if (call.kind == outbound::RequestKind::kInvite) {
        call.server_invite.emplace(config_.proxy.timers, reliability);
        run_server(call, call.server_invite->start(now));
    } else {
        call.server_non_invite.emplace(config_.proxy.timers, reliability);
        run_server(call, call.server_non_invite->start(now));
    }
    if (!served) {
        fork_to_request_uri(call, now);
        settle(call, now);
        return;
    }
    call.lookup_pending = true;
    const uint32_t slot_index = call.slot;
    const uint64_t generation = call.generation;
    store_.lookup(aor_key, now,
                  [this, slot_index, generation, now](state::StoreStatus status,
                                                      const state::AorView& aor) {
                      on_lookup(slot_index, generation, status, aor, now);
                  });
}

// `now` is the time the lookup was issued: the store's answer carries none.
// For the embedded store it is the same instant; a Redis answer is a few ms
// later, which only makes the first deadlines that much early.
void HomeProxy::on_lookup(uint32_t slot_index, uint64_t generation, state::StoreStatus status,
                          const state::AorView& aor, Time now) {
    FE_ASSERT(slot_index < slots_.size());
    Call& call = *slots_[slot_index];
    if (!call.in_use || call.generation != generation || !call.lookup_pending) {
        FE_BUG(true, "a store answer for a call that is gone");
        return;
    }
    call.lookup_pending = false;
    if (call.cancelled_early) {
        settle(call, now);
        return;
    }
    if (status != state::StoreStatus::kOk) {
        ++stats_.store_failures;
        send_generated(call, 500, now);
        settle(call, now);
        return;
    }
    if (aor.bindings.empty()) {
        syntax::Uri uri;
        const bool parsed = syntax::parse_uri(call.request.request_uri(), uri) == syntax::Error::kOk;
        FE_ASSERT(parsed);  // start_call() parsed the same bytes
        if (!outbound::uri_names_node(uri, config_.identity)) {
            // Not an AOR of ours, and not registered here: its own target.
            fork_to_request_uri(call, now);
            settle(call, now);
            return;
        }
        ++stats_.no_bindings;  // ProxyCall answers 480 (§16.5) on no target
    }
    fork(call, aor.bindings, now);
    settle(call, now);
}

void HomeProxy::fork_to_request_uri(Call& call, Time now) {
    ++stats_.forwarded_to_uri;
    call.bindings.clear();
    call.path_views.clear();
    call.targets.clear();
    call.hops.clear();
    const std::string_view uri = call.request.request_uri();
    syntax::Uri parsed;
    Transport transport = Transport::kUdp;
    if (syntax::parse_uri(uri, parsed) == syntax::Error::kOk && parsed.transport()) {
        transport = *parsed.transport();
    }
    BranchHop hop;
    hop.uri = uri;
    hop.transport = transport;
    call.hops.push_back(hop);
    call.targets.push_back(outbound::Target{.contact_uri = uri,
                                            .reliability = txn::reliability_of(transport)});
    call.proxy.emplace(config_.proxy, call.kind);
    call.proxy_done = false;
    run(call, call.proxy->start(call.targets, now), nullptr, now);
}

void HomeProxy::fork(Call& call, std::span<const state::Binding> bindings, Time now) {
    const size_t count = std::min<size_t>(bindings.size(), outbound::kTargetCountMax);
    // Copy-assigning keeps each string's capacity from the slot's last call.
    call.bindings.assign(bindings.begin(), bindings.begin() + static_cast<long>(count));
    call.path_views.clear();
    for (const state::Binding& b : call.bindings) {
        for (const std::string& p : b.path) {
            call.path_views.push_back(p);
        }
    }
    call.targets.clear();
    call.hops.clear();
    size_t path_offset = 0;
    for (const state::Binding& b : call.bindings) {
        std::span<const std::string_view> path(call.path_views.data() + path_offset,
                                               b.path.size());
        path_offset += b.path.size();
        call.hops.push_back(first_hop_of(b, path));
        if (call.hops.back().to_flow) {
            path = path.subspan(1);  // our own value: the flow is the hop (OB-EDGE-12)
        }
        call.targets.push_back(outbound::Target{
            .instance_key = b.instance_key,
            .reg_id = b.reg_id,
            .contact_uri = b.contact_uri,
            .path = path,
            .updated = b.updated_at,
            .q_thousandths = b.has_q ? b.q_thousandths : uint16_t{1000},
            .reliability = txn::reliability_of(call.hops.back().transport),
        });
    }
    call.proxy.emplace(config_.proxy, call.kind);
    call.proxy_done = false;
    run(call, call.proxy->start(call.targets, now), nullptr, now);
}

HomeProxy::BranchHop HomeProxy::first_hop_of(const state::Binding& binding,
                                  std::span<const std::string_view> path) const {
    BranchHop hop;
    // A binding without Path is reached at its Contact (a plain RFC 3261 UA).
    hop.uri = binding.contact_uri;
    if (!path.empty()) {
        const outbound::Hop first = outbound::classify_hop(path.front(), config_.identity,
                                                           *config_.keys, config_.token_cache);
        // Our own flow, or another node's (reached through that node: until
        // the relay exists, a gone flow for us, OB-430-02).
        if (first.kind == outbound::HopKind::kOursToken ||
            first.kind == outbound::HopKind::kClusterToken) {
            hop.to_flow = true;
            hop.flow = first.flow;
            hop.token = first.token;
            hop.record_route = first.ob && first.kind == outbound::HopKind::kOursToken;
            hop.transport = first.flow.transport;
            return hop;
        }
        // Another element's Path (an edge in front of us), or one of ours we
        // cannot verify any more (rotated key): its URI is the next hop, and
        // a stale token of ours gets its 403 / 430 from our own edge.
        if (!first.uri.empty()) {
            hop.uri = first.uri;
        }
    }
    syntax::Uri parsed;
    if (syntax::parse_uri(hop.uri, parsed) == syntax::Error::kOk && parsed.transport()) {
        hop.transport = *parsed.transport();
    }
    return hop;
}

// ---- Carrying out ProxyCall actions ----------------------------------------

void HomeProxy::run(Call& call, std::span<const outbound::ProxyAction> actions,
                    const sip::Message* response, Time now) {
    for (const outbound::ProxyAction& action : actions) {
        run_one(call, action, response, now);
    }
    drain_feedback(call, now);
}

void HomeProxy::drain_feedback(Call& call, Time now) {
    // Each input may fail again (the next flow is gone too); the queue is
    // walked until no send fails, at most once per branch and CANCEL.
    while (call.feedback_count > 0 && !call.proxy_done) {
        const Feedback f = call.feedback[0];
        std::copy(call.feedback.begin() + 1, call.feedback.begin() + call.feedback_count,
                  call.feedback.begin());
        --call.feedback_count;
        std::span<const outbound::ProxyAction> actions;
        switch (f.kind) {
            case Feedback::Kind::kFlowGone:
                // OB-430-02: the edge could not reach the flow; same as a 430.
                actions = call.proxy->on_branch_response(f.branch_index, 430, now);
                break;
            case Feedback::Kind::kTransportError:
                actions = call.proxy->on_branch_transport_error(f.branch_index, now);
                break;
            case Feedback::Kind::kCancelTransportError:
                actions = call.proxy->on_cancel_transport_error(f.branch_index, now);
                break;
        }
        for (const outbound::ProxyAction& action : actions) {
            run_one(call, action, nullptr, now);
        }
    }
    call.feedback_count = 0;
}

void HomeProxy::run_one(Call& call, const outbound::ProxyAction& action,
                        const sip::Message* response, Time now) {
    using Kind = outbound::ProxyActionKind;
    const uint8_t b = action.branch_index;
    switch (action.kind) {
        case Kind::kSendRequest:
            send_branch_request(call, b, action.target_index);
            return;
        case Kind::kRetransmitRequest:
            resend(call, b, call.branches[b].request, /*is_cancel=*/false);
            return;
        case Kind::kSendAck:
            // A synthetic final (430 for a gone flow) was never received, so
            // there is nobody to ACK.
            if (response != nullptr) {
                send_ack(call, b, *response);
            }
            return;
        case Kind::kRetransmitAck:
            if (!call.branches[b].ack.empty()) {
                (void)send_to_branch_hop(call, b, call.branches[b].ack);
            }
            return;
        case Kind::kSendCancel:
            send_cancel(call, b);
            return;
        case Kind::kRetransmitCancel:
            resend(call, b, call.branches[b].cancel, /*is_cancel=*/true);
            return;
        case Kind::kForwardResponse:
            FE_ASSERT(response != nullptr);  // only received responses are forwarded
            forward_stripped(call, *response, action.status_code, now);
            return;
        case Kind::kStoreResponse: {
            FE_ASSERT(response != nullptr);  // synthetic finals are flow failures, never kept
            const size_t size = strip_top_via(*response);
            call.stored_response.assign(response_buffer_.get(), size);
            return;
        }
        case Kind::kForwardStoredResponse:
            send_upstream(call, call.stored_response, action.status_code, now);
            return;
        case Kind::kSendFinalResponse:
            send_generated(call, action.status_code, now);
            return;
        case Kind::kBranchTerminated:
            call.branches[b].request_live = false;
            return;
        case Kind::kCancelTerminated:
            return;
        case Kind::kDone:
            call.proxy_done = true;
            return;
    }
}

void HomeProxy::send_branch_request(Call& call, uint8_t branch_index, uint8_t target_index) {
    FE_ASSERT(branch_index < outbound::kBranchCountMax);
    FE_ASSERT(target_index < call.targets.size());
    const outbound::Target& target = call.targets[target_index];
    const BranchHop& hop = call.hops[target_index];
    Call::BranchIo& io = call.branches[branch_index];
    io.target_index = target_index;
    io.request_live = true;
    io.ack.clear();
    io.cancel.clear();

    // Our Via's sent-by: the port of the transport the branch leaves on.
    const uint16_t port =
        outbound::edge_port_for(hop.transport, {.udp = config_.udp_port,
                                                .tcp = config_.tcp_port,
                                                .tls = config_.tls_port,
                                                .ws = config_.ws_port,
                                                .wss = config_.wss_port});
    char sent_by[txn::kSentBySizeMax];
    sip::Writer w(sent_by, sizeof(sent_by));
    w.append(config_.via_host);
    w.append(":");
    w.append_u32(port);
    FE_ASSERT(!w.overflowed());  // our own config
    const outbound::BranchId branch = outbound::write_branch_id(
        {.kind = outbound::BranchKind::kProxy,
         .worker_index = config_.worker_index,
         .slot = static_cast<uint16_t>(call.slot),
         .branch_index = branch_index,
         .hash = call.hash,
         .loop = outbound::loop_hash(call.request)});

    arena_->reset();
    sip::EditList edits(call.request, *arena_);
    bool ok = true;
    // §16.4: our own URIs on top of Route are consumed here.
    ok = edits.remove_first_values(sip::HeaderId::kRoute, call.route_values_removed) ==
         sip::EditError::kOk;
    const outbound::BranchRequestSpec spec{.contact_uri = target.contact_uri,
                                           .path = target.path,
                                           .via_transport = hop.transport,
                                           .via_sent_by = w.view(),
                                           .branch_id = branch.view(),
                                           .via_flow_token = call.caller_token,
                                           .top_via = call.via.edit()};
    ok = ok && outbound::add_branch_edits(call.request, spec, edits) ==
                   outbound::BranchBuildError::kOk;
    if (ok && hop.to_flow && hop.record_route && outbound::is_dialog_forming(call.request)) {
        // OB-EDGE-11: the callee's edge (us) stays in the dialog with the
        // token of its flow, without ob. Above the caller's, which it follows.
        char rr[outbound::kFlowUriValueSizeMax];
        // RFC 3261 §16.6 step 4: a sips Request-URI gets a sips Record-Route.
        const outbound::EdgeAddress at{config_.via_host, port, hop.transport,
                                       outbound::uri_scheme_of(call.request.request_uri())};
        const size_t n =
            outbound::write_flow_uri_value(hop.token, at, outbound::ObParam::kOmit, rr, sizeof(rr));
        ok = n > 0 && edits.insert_header_before(sip::HeaderId::kRecordRoute, "Record-Route",
                                                 std::string_view(rr, n)) == sip::EditError::kOk;
        ++stats_.record_routed;
    }
    if (ok && !call.record_route.empty()) {
        // OB-EDGE-13: the caller's edge asked to stay in the dialog's path.
        ok = edits.insert_header_before(sip::HeaderId::kRecordRoute, "Record-Route",
                                        call.record_route) == sip::EditError::kOk;
    }
    if (ok) {
        io.request.resize(edits.output_size());
        ok = edits.serialize_into(io.request.data(), io.request.size()) == io.request.size();
    }
    if (!ok) {
        // Too many Path values or edits for one arena: this binding cannot
        // be reached; as a transport error the instance's next flow is tried.
        ++stats_.build_failures;
        io.request.clear();
        FE_ASSERT(call.feedback_count < call.feedback.size());
        call.feedback[call.feedback_count++] = {Feedback::Kind::kTransportError, branch_index};
        return;
    }
    ++stats_.branches_sent;
    resend(call, branch_index, io.request, /*is_cancel=*/false);
}

ProxySender::SendStatus HomeProxy::send_to_branch_hop(const Call& call, uint8_t branch_index,
                                                      std::string_view bytes) {
    const BranchHop& hop = call.hops[call.branches[branch_index].target_index];
    const std::string_view parts[] = {bytes};
    return hop.to_flow ? sender_.send_to_flow(hop.flow, parts) : sender_.send_to_uri(hop.uri, parts);
}

void HomeProxy::resend(Call& call, uint8_t branch_index, const std::string& bytes,
                       bool is_cancel) {
    if (bytes.empty()) {
        return;
    }
    const ProxySender::SendStatus status = send_to_branch_hop(call, branch_index, bytes);
    if (status == ProxySender::SendStatus::kSent) {
        return;
    }
    FE_ASSERT(call.feedback_count < call.feedback.size());
    if (is_cancel) {
        ++stats_.send_failures;
        call.feedback[call.feedback_count++] = {Feedback::Kind::kCancelTransportError,
                                                branch_index};
    } else if (status == ProxySender::SendStatus::kFlowGone) {
        ++stats_.flow_gone;
        call.feedback[call.feedback_count++] = {Feedback::Kind::kFlowGone, branch_index};
    } else {
        ++stats_.send_failures;
        call.feedback[call.feedback_count++] = {Feedback::Kind::kTransportError, branch_index};
    }
}

void HomeProxy::send_cancel(Call& call, uint8_t branch_index) {
    Call::BranchIo& io = call.branches[branch_index];
    sip::Message sent;
    if (io.request.empty() || sent.parse(io.request) != sip::ParseError::kOk) {
        FE_BUG(true, "a CANCEL for a branch whose request we did not keep");
        return;
    }
    sip::Writer w(response_buffer_.get(), kProxyResponseSizeMax);
    if (outbound::build_cancel(sent, w) != outbound::BranchMessageError::kOk) {
        ++stats_.build_failures;
        FE_ASSERT(call.feedback_count < call.feedback.size());
        call.feedback[call.feedback_count++] = {Feedback::Kind::kCancelTransportError,
                                                branch_index};
        return;
    }
    io.cancel.assign(w.view());
    resend(call, branch_index, io.cancel, /*is_cancel=*/true);
}

void HomeProxy::send_ack(Call& call, uint8_t branch_index, const sip::Message& response) {
    Call::BranchIo& io = call.branches[branch_index];
    sip::Message sent;
    if (io.request.empty() || sent.parse(io.request) != sip::ParseError::kOk) {
        FE_BUG(true, "an ACK for a branch whose request we did not keep");
        return;
    }
    sip::Writer w(response_buffer_.get(), kProxyResponseSizeMax);
    if (outbound::build_ack(sent, response, w) != outbound::BranchMessageError::kOk) {
        ++stats_.build_failures;
        return;
    }
    io.ack.assign(w.view());
    // An ACK that cannot go out is covered by the UAS retransmitting its
    // final response, which resends it (kRetransmitAck).
    (void)send_to_branch_hop(call, branch_index, io.ack);
}

// ---- Upstream ---------------------------------------------------------------

size_t HomeProxy::strip_top_via(const sip::Message& response) {
    arena_->reset();
    sip::EditList edits(response, *arena_);
    if (edits.remove_first_value(sip::HeaderId::kVia) != sip::EditError::kOk) {
        return 0;
    }
    return edits.serialize_into(response_buffer_.get(), kProxyResponseSizeMax);
}

void HomeProxy::forward_stripped(Call& call, const sip::Message& response, uint16_t status,
                                 Time now) {
    // §16.7 step 3: our Via goes; what is left is the caller's.
    const size_t size = strip_top_via(response);
    if (size == 0 || response.via_count() < 2) {
        // The UAS dropped the caller's Via: there is no one to send it to.
        ++stats_.responses_without_caller_via;
        return;
    }
    send_upstream(call, std::string_view(response_buffer_.get(), size), status, now);
}

void HomeProxy::send_generated(Call& call, uint16_t status, Time now) {
    sip::Writer out(response_buffer_.get(), kProxyResponseSizeMax);
    const sip::ResponseSpec spec{.status_code = status, .to_tag = call.to_tag_view(),
                                 .top_via = call.via.edit()};
    if (sip::build_response(call.request, spec, out) != sip::BuildError::kOk) {
        FE_BUG(true, "could not build a response to a request we parsed");
        return;
    }
    send_upstream(call, out.view(), status, now);
}

void HomeProxy::send_upstream(Call& call, std::string_view response, uint16_t status, Time now) {
    if (!call.upstream_done) {
        const txn::ActionList actions =
            call.kind == outbound::RequestKind::kInvite
                ? call.server_invite->on_tu_response(now, status)
                : call.server_non_invite->on_tu_response(now, status);
        // A response the machine discards (one after the final) must not
        // replace the last one sent: that is what retransmissions get.
        if (actions.contains(txn::ActionKind::kSendResponse)) {
            call.last_response.assign(response);
            if (call.kind == outbound::RequestKind::kInvite && is_2xx(status) &&
                call.upstream_reliability == txn::Reliability::kUnreliable) {
                call.accepted_until = now + txn::timer_l(config_.proxy.timers);
            }
        }
        run_server(call, actions);
        return;
    }
    // The INVITE server transaction ends with the first 2xx (RFC 3261
    // §17.2.1); every later 2xx of another branch still goes up (§16.7
    // step 5).
    if (is_2xx(status) && call.respond) {
        call.respond(response);
    }
}

void HomeProxy::run_server(Call& call, const txn::ActionList& actions) {
    for (const txn::Action& action : actions) {
        switch (action.kind) {
            case txn::ActionKind::kPassRequestToTu:
            case txn::ActionKind::kTimeout:         // Timer H: no ACK came; nothing to do
            case txn::ActionKind::kTransportError:  // we never report one
                break;
            case txn::ActionKind::kSendTrying: {
                sip::Writer out(response_buffer_.get(), kProxyResponseSizeMax);
                const sip::ResponseSpec spec{.status_code = 100,
                                             .top_via = call.via.edit()};
                if (sip::build_response(call.request, spec, out) == sip::BuildError::kOk) {
                    call.last_response.assign(out.view());
                    if (call.respond) {
                        call.respond(call.last_response);
                    }
                }
                break;
            }
            case txn::ActionKind::kSendResponse:
            case txn::ActionKind::kRetransmitResponse:
                if (call.respond && !call.last_response.empty()) {
                    call.respond(call.last_response);
                }
                break;
            case txn::ActionKind::kTerminated:
                call.upstream_done = true;
                break;
            default:
                FE_BUG(true, "a server transaction produced a client action");
                break;
        }
    }
}

// ---- Responses from branches ------------------------------------------------

HomeProxy::Call* HomeProxy::call_for_branch_id(std::string_view branch, uint8_t& branch_index) {
    const std::optional<outbound::BranchFields> f = outbound::read_branch_id(branch);
    if (!f || f->kind != outbound::BranchKind::kProxy || f->worker_index != config_.worker_index ||
        f->slot >= slots_.size()) {
        return nullptr;
    }
    Call& call = *slots_[f->slot];
    // The hash proves the response is for this occupant of the slot.
    if (!call.in_use || (call.hash & outbound::kProxyBranchHashMask) != f->hash ||
        call.proxy == std::nullopt ||
        f->branch_index >= call.proxy->branch_count()) {
        return nullptr;
    }
    branch_index = f->branch_index;
    return &call;
}

bool HomeProxy::handle_response(const sip::Message& response, Time now) {
    FE_ASSERT(!response.is_request());
    ++stats_.responses;
    const sip::ListRange vias = response.list(sip::HeaderId::kVia);
    syntax::Via top;
    uint8_t b = 0;
    Call* found = nullptr;
    if (!vias.empty() && syntax::parse_via(*vias.begin(), top) == syntax::Error::kOk) {
        found = call_for_branch_id(top.branch, b);
    }
    if (found == nullptr) {
        ++stats_.responses_unmatched;
        return false;
    }
    Call& call = *found;
    const uint16_t status = response.status_code();
    if (response.cseq_method() == sip::Method::kCancel) {
        if (!call.proxy_done) {
            run(call, call.proxy->on_cancel_response(b, status, now), &response, now);
        }
    } else if (response.cseq_method() != call.request.method()) {
        ++stats_.responses_unmatched;
        return false;
    } else if (!call.proxy_done && call.branches[b].request_live) {
        run(call, call.proxy->on_branch_response(b, status, now), &response, now);
    } else if (call.kind == outbound::RequestKind::kInvite && is_2xx(status)) {
        // §16.7: a 2xx after the branch's transaction ended (the UAS
        // retransmits until the caller's ACK) still goes up, statelessly.
        ++stats_.late_2xx_forwarded;
        forward_stripped(call, response, status, now);
    } else {
        ++stats_.responses_unmatched;
        return false;
    }
    settle(call, now);
    return true;
}

void HomeProxy::on_destination_failed(const Endpoint& destination, Time now) {
    for (const std::unique_ptr<Call>& slot : slots_) {
        Call& call = *slot;
        if (!call.in_use || call.proxy_done) {
            continue;
        }
        for (uint8_t b = 0; b < call.proxy->branch_count(); ++b) {
            const Call::BranchIo& io = call.branches[b];
            const BranchHop& hop = call.hops[io.target_index];
            Destination to;
            if (!io.request_live || hop.to_flow || destination_of(hop.uri, to) != DestinationError::kOk ||
                to.endpoint != destination || !transport_is_stream(to.transport)) {
                continue;
            }
            ++stats_.send_failures;
            FE_ASSERT(call.feedback_count < call.feedback.size());
            call.feedback[call.feedback_count++] = {Feedback::Kind::kTransportError, b};
        }
        if (call.feedback_count > 0) {
            drain_feedback(call, now);
            settle(call, now);
        }
    }
}

// ---- Slots and the timer ------------------------------------------------------

HomeProxy::Call* HomeProxy::acquire() {
    Call* call = nullptr;
    if (!free_.empty()) {
        call = slots_[free_.back()].get();
        free_.pop_back();
    } else if (slots_.size() < config_.call_count_max) {
        slots_.push_back(std::make_unique<Call>(this, static_cast<uint32_t>(slots_.size())));
        call = slots_.back().get();
    } else {
        return nullptr;
    }
    FE_ASSERT(!call->in_use);
    ++call->generation;
    call->in_use = true;
    call->lookup_pending = false;
    call->proxy_done = true;
    call->upstream_done = false;
    call->cancelled_early = false;
    call->accepted_until.reset();
    call->feedback_count = 0;
    ++live_count_;
    return call;
}

void HomeProxy::release(Call& call) {
    FE_ASSERT(call.in_use);
    FE_ASSERT(!call.lookup_pending);
    if (call.timer.armed()) {
        wheel().cancel(call.timer);
    }
    if (!call.upstream_key.empty()) {
        by_upstream_key_.erase(call.upstream_key);
    }
    call.proxy.reset();
    call.server_invite.reset();
    call.server_non_invite.reset();
    call.respond = nullptr;
    // clear() keeps each buffer's capacity for the slot's next call.
    call.upstream_key.clear();
    call.last_response.clear();
    call.stored_response.clear();
    for (Call::BranchIo& io : call.branches) {
        io.request.clear();
        io.ack.clear();
        io.cancel.clear();
        io.target_index = 0;
        io.request_live = false;
    }
    call.in_use = false;
    free_.push_back(call.slot);
    FE_ASSERT(live_count_ > 0);
    --live_count_;
    ++stats_.calls_finished;
}

void HomeProxy::settle(Call& call, Time now) {
    if (!call.in_use) {
        return;
    }
    if (!call.lookup_pending && call.proxy_done && (call.upstream_done || only_absorbs(call))) {
        keep_completed(call, now);
        release(call);
        return;
    }
    std::optional<Time> deadline;
    if (!call.proxy_done) {
        deadline = call.proxy->next_deadline();
    }
    if (!call.upstream_done) {
        const std::optional<Time> server = call.kind == outbound::RequestKind::kInvite
                                               ? call.server_invite->next_deadline()
                                               : call.server_non_invite->next_deadline();
        if (server && (!deadline || *server < *deadline)) {
            deadline = server;
        }
    }
    if (deadline) {
        wheel().arm(call.timer, *deadline);
    } else if (call.timer.armed()) {
        wheel().cancel(call.timer);
    }
}

// True when the upstream server transaction has sent its final and has
// nothing left but absorbing retransmissions (its ACK, for an INVITE).
bool HomeProxy::only_absorbs(const Call& call) const {
    if (call.kind == outbound::RequestKind::kInvite) {
        return call.server_invite->state() == txn::ServerInviteTransaction::State::kConfirmed;
    }
    return call.server_non_invite->state() == txn::ServerNonInviteTransaction::State::kCompleted;
}

// Hands what the upstream transaction still has to do to completed_: only
// over UDP (on TCP/TLS Completed, Accepted and Confirmed last zero seconds,
// and the machines have already terminated).
void HomeProxy::keep_completed(Call& call, Time now) {
    txn::CompletedEntry entry;
    if (!call.upstream_done) {
        FE_ASSERT(call.upstream_reliability == txn::Reliability::kUnreliable);
        if (call.kind == outbound::RequestKind::kInvite) {
            entry.kind = txn::CompletedKind::kInviteConfirmed;  // until Timer I
            entry.expires_at = *call.server_invite->next_deadline();
        } else {
            entry.kind = txn::CompletedKind::kNonInviteCompleted;  // until Timer J
            entry.expires_at = *call.server_non_invite->next_deadline();
            entry.response = call.last_response;
            if (FE_BUG(entry.response.empty(), "a completed transaction without its final")) {
                return;
            }
        }
    } else if (call.accepted_until && now < *call.accepted_until) {
        entry.kind = txn::CompletedKind::kInviteAccepted;  // until Timer L
        entry.expires_at = *call.accepted_until;
    } else {
        return;  // terminated for good (TCP, Timer J passed, a transport error)
    }
    if (!outbound::server_key_of(call.request, entry.key)) {
        ++stats_.completed_not_kept;
        return;
    }
    const txn::CompletedInsert kept = completed_.insert(entry, now);
    if (kept == txn::CompletedInsert::kInserted || kept == txn::CompletedInsert::kReplaced) {
        ++stats_.completed_kept;
    } else {
        ++stats_.completed_not_kept;
    }
}

void HomeProxy::on_call_timer(time::Timer& timer, Time now) {
    auto* call = static_cast<Call*>(timer.context);
    call->owner->on_timer(*call, now);
}

void HomeProxy::on_timer(Call& call, Time now) {
    FE_ASSERT(call.in_use);
    if (!call.upstream_done) {
        const std::optional<Time> server = call.kind == outbound::RequestKind::kInvite
                                               ? call.server_invite->next_deadline()
                                               : call.server_non_invite->next_deadline();
        if (server && *server <= now) {
            run_server(call, call.kind == outbound::RequestKind::kInvite
                                 ? call.server_invite->on_timer(now)
                                 : call.server_non_invite->on_timer(now));
        }
    }
    if (!call.proxy_done) {
        const std::optional<Time> deadline = call.proxy->next_deadline();
        if (deadline && *deadline <= now) {
            run(call, call.proxy->on_timer(now), nullptr, now);
        }
    }
    settle(call, now);
}

}  // namespace fe::cluster
