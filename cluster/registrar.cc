// The registrar role of a worker: decide, store, answer.
#include "cluster/registrar.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "core/base/assert.h"
#include "core/outbound/edge.h"
#include "core/outbound/proxy_request.h"
#include "core/sip/limits.h"
#include "core/sip/response.h"
#include "core/syntax/via.h"
#include "state/binding_limits.h"

namespace fe::cluster {

static_assert(state::kBindingCountPerAorMax <= outbound::kListedBindingCountMax,
              "a 200 must be able to list every binding the store keeps");

// Everything one REGISTER needs until it is answered. With a store that
// answers inside apply() (the embedded one) that is within the caller's
// call, so the views point at the caller's message; with one that answers
// later (Redis) they point at copies made here.
struct Registrar::Pending {
    // The copies, for a store that answers later.
    std::string request_bytes;
    sip::Message own_request;  // Parsed from request_bytes.
    std::string own_path_value;
    std::string own_flow_token;
    // The REGISTER and the edge's Path value and token: the caller's, or the
    // copies above.
    const sip::Message* request = nullptr;
    std::string_view path_value;
    std::string_view flow_token;
    // received/rport of the response's top Via; views into *request.
    outbound::ViaReceived via;
    outbound::RegisterDecision decision;  // Views into *request, path_value, flow_token.
    state::BindingUpdate updates[outbound::kContactCountPerRegisterMax];
    Respond respond;
    Time now{};
    // The §17.2.3 key (views into request_bytes) when the REGISTER came over
    // UDP and has one: its final response is kept for retransmissions.
    bool keyed = false;
    txn::ServerKey key;
    // Set while in_flight_ holds the key (absorbing retransmissions).
    std::optional<txn::TxnId> in_flight_id;
    // From the store request until the response: tells handle_register()
    // whether the store answered inside apply().
    bool waiting = false;
};

namespace {

outbound::CommitResult commit_result(state::StoreStatus status) {
    switch (status) {
        case state::StoreStatus::kOk: return outbound::CommitResult::kOk;
        case state::StoreStatus::kUnavailable: return outbound::CommitResult::kUnavailable;
        case state::StoreStatus::kTooManyBindings: return outbound::CommitResult::kTooManyBindings;
        case state::StoreStatus::kOutOfOrder: return outbound::CommitResult::kOutOfOrder;
    }
    return outbound::CommitResult::kUnavailable;
}

state::BindingAction store_action(outbound::BindingAction action) {
    return action == outbound::BindingAction::kRemove ? state::BindingAction::kRemove
                                                      : state::BindingAction::kUpsert;
}


// `view`, which lies in `from`, moved to the same place in `to` (a copy).
std::string_view rebase(std::string_view view, std::string_view from, std::string_view to) {
    FE_ASSERT(from.size() == to.size());
    FE_ASSERT(view.data() >= from.data());
    FE_ASSERT(view.data() + view.size() <= from.data() + from.size());
    return to.substr(static_cast<size_t>(view.data() - from.data()), view.size());
}

// Seconds left, rounded up so a live binding never shows expires=0.
uint32_t seconds_left(Time expires_at, Time now) {
    FE_ASSERT(expires_at > now);
    // To the nearest second, at least 1: a binding another node wrote
    // carries its expiry as wall-clock time, converted back with this node's
    // clock offset, so "600 s from now" may read 600.001 s here; rounding up
    // would promise the UA 601 s, more than it was granted.
    const Duration left = expires_at - now;
    const int64_t s = std::chrono::round<seconds>(left).count();
    return static_cast<uint32_t>(std::clamp<int64_t>(s, 1, UINT32_MAX));
}

}  // namespace

Registrar::Registrar(state::BindingStore& store, const outbound::RegistrarConfig& config,
                     RegistrarTxnConfig txn_config)
    : store_(store),
      config_(config),
      response_buffer_(sip::kMessageSizeMax),
      timer_j_(txn::timer_j(txn_config.timers, txn::Reliability::kUnreliable)),
      in_flight_(kRegisterInFlightCountMax),
      completed_(txn_config.completed) {
    FE_ASSERT(txn::timer_config_is_valid(txn_config.timers));
}

Registrar::~Registrar() { FE_ASSERT(in_flight_count_ == 0); }

std::unique_ptr<Registrar::Pending> Registrar::acquire() {
    if (free_.empty()) {
        return std::make_unique<Pending>();
    }
    std::unique_ptr<Pending> pending = std::move(free_.back());
    free_.pop_back();
    return pending;
}

void Registrar::release(std::unique_ptr<Pending> pending) {
    FE_ASSERT(!pending->in_flight_id.has_value());
    pending->respond = nullptr;
    pending->keyed = false;
    // Views of an inline REGISTER die with its caller's call.
    pending->request = nullptr;
    pending->path_value = {};
    pending->flow_token = {};
    free_.push_back(std::move(pending));
}

// §17.2.2: a retransmission gets the last response (Completed) or nothing
// (Trying: the store has not answered the first copy yet).
bool Registrar::answer_retransmission(const txn::ServerKey& key, Time now, Respond& respond) {
    const txn::CompletedMatch done = completed_.match(key, now);
    if (done.verdict == txn::CompletedVerdict::kResend) {
        ++stats_.retransmission_answered_count;
        respond(done.response, done.aux);
        return true;
    }
    FE_ASSERT(done.verdict == txn::CompletedVerdict::kNone);  // REGISTER is no INVITE
    if (in_flight_.find_server(key).has_value()) {
        ++stats_.retransmission_absorbed_count;
        return true;
    }
    return false;
}

void Registrar::keep_response(const txn::ServerKey& key, std::string_view response,
                              uint32_t flow_timer_s, Time now) {
    const txn::CompletedInsert kept =
        completed_.insert({.key = key,
                           .kind = txn::CompletedKind::kNonInviteCompleted,
                           .response = response,
                           .aux = flow_timer_s,
                           .expires_at = now + timer_j_},
                          now);
    if (kept != txn::CompletedInsert::kInserted && kept != txn::CompletedInsert::kReplaced) {
        ++stats_.response_not_kept_count;
    }
}

void Registrar::handle_register(const sip::Message& request, const RegisterFlow& flow, Time now,
                                Respond respond) {
    ++stats_.register_count;
    // Over UDP the request may be a retransmission (over TCP/TLS the
    // transport does not duplicate, and Timer J is zero).
    txn::ServerKey key;
    const bool keyed = txn::reliability_of(flow.transport) == txn::Reliability::kUnreliable &&
                       (flow.top_via != nullptr ? outbound::server_key_of(request, *flow.top_via, key)
                                                : outbound::server_key_of(request, key));
    if (keyed && answer_retransmission(key, now, respond)) {
        return;
    }
    if (in_flight_count_ >= kRegisterInFlightCountMax) {
        ++stats_.overload_count;
        sip::Writer out(response_buffer_.data(), response_buffer_.size());
        const std::string_view extra[] = {"Retry-After: 1"};
        const outbound::ViaReceived via = outbound::via_received_of(request, flow.source);
        sip::ResponseSpec spec{.status_code = 503, .reason = "Registrar Overloaded",
                               .extra_headers = extra, .top_via = via.edit()};
        if (sip::build_response(request, spec, out) == sip::BuildError::kOk) {
            if (keyed) {
                keep_response(key, out.view(), 0, now);
            }
            respond(out.view(), 0);
        }
        return;
    }
    std::unique_ptr<Pending> p = acquire();
    p->respond = std::move(respond);
    p->now = now;
    // An inline store answers before this returns: the caller's message and
    // views stay valid that long, so nothing is copied or parsed again.
    const bool inline_store = store_.answers_inline();
    if (inline_store) {
        p->request = &request;
        p->path_value = flow.path_value;
        p->flow_token = flow.flow_token;
        if (keyed) {
            p->keyed = true;
            p->key = key;
        }
    } else {
        p->request_bytes.assign(request.bytes());
        p->own_path_value.assign(flow.path_value);
        p->own_flow_token.assign(flow.flow_token);
        p->path_value = p->own_path_value;
        p->flow_token = p->own_flow_token;
        // The bytes parsed once already, so this cannot fail.
        const sip::ParseError reparse = p->own_request.parse(p->request_bytes);
        FE_ASSERT(reparse == sip::ParseError::kOk);
        p->request = &p->own_request;
    }
    if (keyed && !inline_store) {
        const std::string_view from = request.bytes();
        const std::string_view to = p->request_bytes;
        p->keyed = true;
        p->key = txn::ServerKey{rebase(key.branch, from, to), rebase(key.sent_by, from, to),
                                rebase(key.method, from, to)};
    }
    // The router's parsed Via views the caller's message: good for an inline
    // store only (a copy has its own bytes).
    p->via = inline_store && flow.top_via != nullptr
                 ? outbound::via_received_of(*flow.top_via, flow.source)
                 : outbound::via_received_of(*p->request, flow.source);
    const outbound::RegisterInput in{.first_hop = flow.first_hop,
                                     .path_value = p->path_value,
                                     .flow_token = p->flow_token,
                                     .config = &config_,
                                     .now = now,
                                     .top_via = p->via.edit()};
    outbound::decide_register(*p->request, in, p->decision);
    if (p->decision.rejected()) {
        ++stats_.rejected_count;
        respond_and_release(std::move(p), outbound::CommitResult::kOk, {});
        return;
    }
    const outbound::RegisterDecision& d = p->decision;
    for (uint32_t i = 0; i < d.update_count; ++i) {
        const outbound::ContactUpdate& c = d.updates[i];
        p->updates[i] = state::BindingUpdate{.action = store_action(c.action),
                                             .instance_key = c.instance_key,
                                             .reg_id = c.reg_id,
                                             .contact_key = c.contact_key,
                                             .contact = c.contact,
                                             .contact_uri = c.contact_uri,
                                             .expires_in = seconds(c.expires_s),
                                             .has_q = c.has_q,
                                             .q_thousandths = c.q_thousandths};
    }
    const state::RegisterUpdate update{.aor_key = d.aor_key,
                                       .call_id = d.call_id,
                                       .cseq = d.cseq,
                                       .remove_all = d.remove_all,
                                       .path = d.path_vector(),
                                       .flow_token = d.flow_token,
                                       .node_id = config_.node_id,
                                       .bindings = {p->updates, d.update_count}};
    ++in_flight_count_;
    // The callback owns the Pending: a store that answers later keeps it
    // alive; one that answered inline has put it back in free_. Either way
    // `waiting` can be read after apply().
    Pending* const raw = p.get();
    raw->waiting = true;
    store_.apply(update, now,
                 [this, pending = std::move(p)](state::StoreStatus status,
                                                const state::AorView& aor) mutable {
                     on_applied(std::move(pending), status, aor);
                 });
    FE_ASSERT(!inline_store || !raw->waiting);  // its contract: done before apply() returns
    if (raw->waiting && raw->keyed) {
        // The store answers later (Redis): copies that arrive meanwhile are
        // absorbed. An inline answer (the embedded store) needs no index:
        // nothing can arrive during apply(). Fails only for a key no
        // transaction can have (no magic cookie, a part over its limit):
        // its copies are then each handled as new.
        const txn::TxnInsertResult tracked = in_flight_.insert_server(raw->key);
        if (tracked.error == txn::TxnTableError::kOk) {
            raw->in_flight_id = tracked.id;
        }
    }
}

void Registrar::on_applied(std::unique_ptr<Pending> pending, state::StoreStatus status,
                           const state::AorView& aor) {
    FE_ASSERT(in_flight_count_ > 0);
    --in_flight_count_;
    if (status != state::StoreStatus::kOk) {
        ++stats_.store_failure_count;
        respond_and_release(std::move(pending), commit_result(status), {});
        return;
    }
    outbound::CurrentBinding listed[outbound::kListedBindingCountMax];
    size_t count = 0;
    for (const state::Binding& b : aor.bindings) {
        if (FE_BUG(count == outbound::kListedBindingCountMax, "more bindings than a 200 lists")) {
            break;
        }
        listed[count++] = outbound::CurrentBinding{b.contact, seconds_left(b.expires_at, pending->now)};
    }
    respond_and_release(std::move(pending), outbound::CommitResult::kOk, {listed, count});
}

void Registrar::respond_and_release(std::unique_ptr<Pending> pending,
                                    outbound::CommitResult commit,
                                    std::span<const outbound::CurrentBinding> bindings) {
    sip::Writer out(response_buffer_.data(), response_buffer_.size());
    uint32_t flow_timer_s = 0;
    if (outbound::build_register_response(*pending->request, pending->decision, commit, bindings,
                                          out) == sip::BuildError::kOk) {
        if (!pending->decision.rejected() && commit == outbound::CommitResult::kOk) {
            flow_timer_s = pending->decision.flow_timer_s;
        }
    } else {
        // Only a 200 listing huge Contact values can outgrow a message.
        out.clear();
        const sip::ResponseSpec spec{.status_code = 500, .reason = "Response Too Large",
                                     .top_via = pending->via.edit()};
        const sip::BuildError fallback = sip::build_response(*pending->request, spec, out);
        FE_ASSERT(fallback == sip::BuildError::kOk);
    }
    pending->waiting = false;
    if (pending->in_flight_id) {
        const bool erased = in_flight_.erase(*pending->in_flight_id);
        FE_ASSERT(erased);
        pending->in_flight_id.reset();
    }
    if (pending->keyed) {
        // Timer J runs from the request's arrival: a store answering later
        // (Redis, ~1 ms) only shortens it by that much.
        keep_response(pending->key, out.view(), flow_timer_s, pending->now);
    }
    Respond respond = std::move(pending->respond);
    release(std::move(pending));
    respond(out.view(), flow_timer_s);
}

void Registrar::on_flow_closed(std::string_view flow_token, Time now) {
    ++stats_.flow_closed_count;
    store_.forget_flow(flow_token, now);
}

}  // namespace fe::cluster
