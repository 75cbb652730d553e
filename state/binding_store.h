// File: state/binding_store.h
//
// The registrar's location service: bindings per AOR (RFC 3261 §10, RFC 3327
// Path, RFC 5626 §6 (AOR, instance, reg-id) keys). The interface is
// asynchronous and completion-based so a Redis backend (hiredis async, bound
// to the worker's loop) fits without changing callers: every operation takes
// a `done` callback that is called exactly once, on the calling worker's
// thread, either before the call returns (the embedded store) or later (Redis).
//
//   store.apply(update, now, [&](fe::state::StoreStatus s, const fe::state::AorView& aor) {
//       if (s == fe::state::StoreStatus::kOk) {
//           for (const fe::state::Binding& b : aor.bindings) { ... list b.contact ... }
//       }
//   });
//   store.lookup("sip:alice@example.com", now, [&](auto s, const auto& aor) { ... });
//   store.forget_flow(token, now);   // the flow closed (OB-AUTH-06/07)
//   store.expire(now);               // once per loop turn; bounded work
//
// Lifetimes: the views in a RegisterUpdate are read during apply() only (a
// backend copies what it keeps before returning). The AorView handed to
// `done` and every Binding in it are valid only during that call.
//
// Binding keys:
//   - outbound (reg_id != 0): (AOR, instance_key, reg_id). The Contact URI is
//     not part of the key (OB-REG-13), so a re-registration with a new URI or
//     over a new flow replaces the binding (OB-REG-18).
//   - plain (reg_id == 0): (AOR, contact_key), the canonical Contact URI
//     (core/outbound write_contact_key, RFC 3261 §10.3 step 7).
// Nothing is ever keyed by instance alone (OB-REG-22).
//
// Ordering (RFC 3261 §10.3 steps 6-7, which say what to do): an existing
// binding with the same Call-ID is only changed by a higher CSeq; otherwise
// the whole REGISTER is aborted and nothing changes (kOutOfOrder; the
// registrar answers 500). A different Call-ID always wins (a rebooted UA).
// A REGISTER is applied atomically: all of its updates or none.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "core/base/time.h"

namespace fe::state {

enum class [[nodiscard]] StoreStatus : uint8_t {
    kOk = 0,
    kUnavailable,      // Backend down or overloaded: nothing changed.
    kTooManyBindings,  // The AOR would hold more than its binding limit: nothing changed.
    kOutOfOrder,       // Same Call-ID and CSeq not higher (§10.3 steps 6-7): nothing changed.
};

std::string_view store_status_name(StoreStatus s);

// One stored binding. Strings are owned copies.
struct Binding {
    std::string aor_key;
    // Canonical +sip.instance (OB-INST-03); empty for a binding without one.
    std::string instance_key;
    uint32_t reg_id = 0;  // 0: a plain RFC 3261 binding.
    // Canonical Contact URI: the key of a plain binding.
    std::string contact_key;
    // The whole Contact value as received, with every parameter (OB-REG-14).
    std::string contact;
    std::string contact_uri;
    // Path values in order, topmost first (RFC 3327 §5.3); the proxy turns
    // them into the Route set (OB-AUTH-04).
    std::vector<std::string> path;
    // The flow the binding routes over (the first Path's token, or the
    // direct flow); empty when unknown. forget_flow() matches on it.
    std::string flow_token;
    Time expires_at{};
    std::string call_id;
    uint32_t cseq = 0;
    bool has_q = false;
    uint16_t q_thousandths = 0;
    Time updated_at{};  // OB-REG-19.
    uint32_t node_id = 0;

    bool is_outbound() const { return reg_id != 0; }
};

// The bindings of one AOR as a callback sees them: never an expired one.
struct AorView {
    std::string_view aor_key = {};
    std::span<const Binding> bindings = {};
};

enum class BindingAction : uint8_t {
    kUpsert,  // Add, or refresh/replace the binding with this key.
    kRemove,  // Remove the binding with this key, if there is one.
};

struct BindingUpdate {
    BindingAction action = BindingAction::kUpsert;
    std::string_view instance_key = {};
    uint32_t reg_id = 0;
    std::string_view contact_key = {};
    std::string_view contact = {};
    std::string_view contact_uri = {};
    Duration expires_in{};  // From `now`; unused for kRemove.
    bool has_q = false;
    uint16_t q_thousandths = 0;
};

// One REGISTER's changes to one AOR.
struct RegisterUpdate {
    std::string_view aor_key = {};
    std::string_view call_id = {};
    uint32_t cseq = 0;
    // "Contact: *": remove every binding (still subject to the Call-ID/CSeq
    // rule per binding, §10.3 step 6). `bindings` is then empty.
    bool remove_all = false;
    // Written into every upserted binding.
    std::span<const std::string_view> path = {};
    std::string_view flow_token = {};
    uint32_t node_id = 0;
    // No two name the same key. Empty (and remove_all false): a fetch.
    std::span<const BindingUpdate> bindings = {};
};

class BindingStore {
public:
    using Done = absl::AnyInvocable<void(StoreStatus, const AorView&)>;

    virtual ~BindingStore() = default;

    // Applies `update` atomically, then calls `done` with the AOR's bindings
    // as they are after it (empty on an error status).
    virtual void apply(const RegisterUpdate& update, Time now, Done done) = 0;

    // The AOR's unexpired bindings.
    virtual void lookup(std::string_view aor_key, Time now, Done done) = 0;

    // Removes every binding whose flow_token is `flow_token`, in every AOR
    // (OB-AUTH-06/07). The node calls it when a flow is known dead: a TCP/TLS
    // connection closed or was reaped, as Kamailio's handle_lost_tcp does.
    // When it is not called (a UDP flow we cannot see die), bindings outlive
    // the flow and the proxy learns of it from the edge's 430 (OB-430-02).
    virtual void forget_flow(std::string_view flow_token, Time now) = 0;

    // Removes some bindings whose expiry is at or before `now`, with bounded
    // work per call; call it every loop turn. Returns how many it removed.
    // Lookups never return expired bindings whether or not this ran.
    virtual size_t expire(Time now) = 0;

    // Every `done` is called before apply() / lookup() returns: a caller may
    // then keep views of its own buffers in what it hands over instead of
    // copying them (the registrar does, saving a copy and a second parse per
    // REGISTER). False when an answer may come later (Redis).
    virtual bool answers_inline() const { return false; }
};

}  // namespace fe::state
