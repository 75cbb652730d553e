// File: core/outbound/registrar.h
//
// The registrar role's decisions (RFC 3261 §10.3, RFC 3327 §5.3, RFC 5626 §6),
// pure: no store, no clock, no allocation. decide_register() reads a REGISTER
// and says either "reject with this status" or "apply these binding updates";
// the caller applies them to its binding store, then build_register_response()
// writes the answer from the decision and the AOR's bindings after the update.
//
//   fe::outbound::RegistrarConfig config;              // expires bounds, domains, Flow-Timer
//   fe::outbound::RegisterInput in{.first_hop = request.via_count() == 1,
//                                  .path_value = edge_path, .flow_token = token,
//                                  .config = &config};
//   fe::outbound::RegisterDecision decision;           // ~17 KiB: keep it off hot stacks
//   fe::outbound::decide_register(request, in, decision);
//   if (decision.rejected()) {
//       (void)fe::outbound::build_register_response(request, decision,
//                                                   CommitResult::kOk, {}, out);
//   } else {
//       ... apply decision.updates to the store, list what it holds now ...
//       (void)fe::outbound::build_register_response(request, decision, commit,
//                                                   current_bindings, out);
//   }
//
// Outbound processing (RFC 5626 §6, OB-REG-02..04) applies when the REGISTER
// came straight from the UA (one Via) or when the first Path URI carries `ob`.
// "First Path URI" is the edge's own Path value when it added one (it sits on
// top of the request's Path, RFC 3327 §5.1), else the request's first Path.
// Then a Contact with +sip.instance and reg-id binds (AOR, instance, reg-id)
// and the Contact URI is not part of the key (OB-REG-13). Without outbound
// processing, a REGISTER with reg-id and `Supported: outbound` gets 439
// (OB-REG-05), otherwise the reg-id is ignored (OB-REG-06) and the binding is
// a plain RFC 3261 one keyed by Contact URI.
//
// Choices the RFCs leave open (documented here, tested in registrar_test.cc):
//   - OB-REG-08's 400 counts only contacts whose reg-id is honoured (instance
//     present and outbound processing applies); an ignored reg-id is, per
//     RFC 5626 §6, as if absent, so plain multi-contact REGISTERs stay legal.
//   - A Contact with +sip.instance but no reg-id is a plain binding (keyed by
//     Contact URI) that remembers its instance key for the proxy (OB-AUTH-01);
//     we do not implement GRUU (RFC 5627) keying.
//   - The same binding twice in one REGISTER is a 400 "Duplicate Contact":
//     RFC 3261 gives no order between them and the CSeq rule would abort it.
//   - Path without `Supported: path` is accepted (RFC 3327 §5.3 leaves this to
//     local policy): our own edge adds Path for outbound flows.
//   - Plain bindings match by a canonical contact key (contact_key()): the
//     RFC 3261 §19.1.4 comparison except that the password and parameters
//     other than user, ttl, method, maddr and transport are ignored, so a Redis
//     backend can use it as a hash field.
//
// Every view in a RegisterDecision points into the request's buffer or into
// the decision itself: the decision is neither copyable nor movable, and valid
// while both live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/time.h"
#include "core/outbound/registrar_limits.h"
#include "core/sip/message.h"
#include "core/sip/response.h"
#include "core/syntax/error.h"
#include "core/syntax/uri.h"

namespace fe::outbound {

struct RegistrarConfig {
    // 423 Interval Too Brief below this (RFC 3261 §10.3 step 7), with
    // Min-Expires: expires_min_s.
    uint32_t expires_min_s = kExpiresMinDefaultS;
    // Longer requested intervals are shortened to this (the registrar "MAY
    // choose an expiration less than the requested expiration interval").
    uint32_t expires_max_s = kExpiresMaxDefaultS;
    // Used when neither the Contact's expires nor an Expires header says.
    uint32_t expires_default_s = kExpiresDefaultS;
    // Flow-Timer sent with Require: outbound when this node holds the flow
    // (OB-FT-03, OB-REG-21); 0 sends none.
    uint32_t flow_timer_s = 0;
    // Domains (To URI hosts, compared ignoring case) this registrar keeps
    // bindings for; empty serves every domain. Others get 404 (§10.3 step 5).
    std::vector<std::string> domains;
    // Hosts and ports that name this node (its listen and advertised
    // addresses): an AOR "sip:bob@HOST:PORT" with one of these is the AOR
    // sip:bob@HOST (write_local_aor_key()), and such a host is served even
    // when `domains` does not list it.
    std::vector<std::string> local_hosts;
    std::vector<uint16_t> local_ports;
    // Recorded in each binding so the cluster knows which node wrote it.
    uint32_t node_id = 0;
};

struct RegisterInput {
    // Exactly one Via: the UA sent the REGISTER straight to this node.
    bool first_hop = false;
    // The Path value the edge added for the flow ("<sip:TOKEN@edge;lr;ob>"),
    // empty when none. It counts as the topmost Path value.
    std::string_view path_value = {};
    // The flow token inside path_value, empty when none.
    std::string_view flow_token = {};
    const RegistrarConfig* config = nullptr;  // Never null.
    Time now{};
    // The response's top Via received/rport (RFC 3581 §4: via_received_of()
    // of this request); its views must outlive the decision.
    sip::TopViaEdit top_via = {};
};

// Why a REGISTER is refused before it reaches the store. Each defect has its
// own name, status code and reason phrase (register_error_status/_reason).
enum class [[nodiscard]] RegisterError : uint8_t {
    kOk = 0,
    kBadTo,                     // 400: To is not a name-addr with a SIP/SIPS/tel URI.
    kDomainNotServed,           // 404: To host is not one of config.domains.
    kBadExtension,              // 420: Require lists a tag we do not support.
    kBadExpiresHeader,          // 400: Expires header is not delta-seconds.
    kBadContact,                // 400: a Contact value does not parse (see syntax_error).
    kStarNotAlone,              // 400: Contact * with other Contact values.
    kStarNeedsExpiresZero,      // 400: Contact * without "Expires: 0".
    kTooManyContacts,           // 400: over kContactCountPerRegisterMax.
    kDuplicateContact,          // 400: two Contact values name one binding.
    kSeveralOutboundContacts,   // 400: OB-REG-08.
    kIntervalTooBrief,          // 423 with Min-Expires.
    kFirstHopLacksOutbound,     // 439: OB-REG-05 / OB-439-01.
    kBadPath,                   // 400: a Path value is not a name-addr.
    kTooManyPaths,              // 400: over kPathCountPerRegisterMax.
    kCallIdTooLong,             // 400: over kCallIdSizeMax.
    kContactsTooLarge,          // 400: derived keys overflow kRegisterKeyArenaSizeMax.
};

uint16_t register_error_status(RegisterError e);
// Reason phrase naming the defect, e.g. "Duplicate Contact". Never empty.
std::string_view register_error_reason(RegisterError e);

// What the store said when the updates were applied.
enum class CommitResult : uint8_t {
    kOk = 0,
    kUnavailable,      // 500: backend down (RFC 3261 §10.3 step 7: commit failed).
    kTooManyBindings,  // 403: the AOR would exceed the store's binding limit.
    kOutOfOrder,       // 500: same Call-ID, CSeq not higher (§10.3 steps 6-7).
};

enum class BindingAction : uint8_t {
    kUpsert,  // Add the binding or refresh/replace the one with its key.
    kRemove,  // Remove the binding with its key (expires 0).
};

// One Contact value turned into a store operation. The key is
// (aor, instance_key, reg_id) when reg_id != 0 (outbound, OB-REG-13), else
// (aor, contact_key) (RFC 3261 §10.3 step 7).
struct ContactUpdate {
    BindingAction action = BindingAction::kUpsert;
    std::string_view contact = {};       // The whole Contact value, every parameter (OB-REG-14).
    std::string_view contact_uri = {};   // The URI alone.
    std::string_view instance_key = {};  // Canonical +sip.instance (OB-INST-03); empty when none.
    uint32_t reg_id = 0;            // 0: a plain binding (no reg-id, or it was ignored).
    std::string_view contact_key = {};   // Canonical Contact URI; always set.
    uint32_t expires_s = 0;         // Granted interval; 0 for kRemove.
    bool has_q = false;
    uint16_t q_thousandths = 0;
};

struct RegisterDecision {
    RegisterDecision() = default;
    RegisterDecision(const RegisterDecision&) = delete;
    RegisterDecision& operator=(const RegisterDecision&) = delete;

    bool rejected() const { return error != RegisterError::kOk; }

    RegisterError error = RegisterError::kOk;
    syntax::Error syntax_error = syntax::Error::kOk;  // The defect behind kBad* errors.
    uint32_t min_expires_s = 0;                       // For 423.
    std::string_view unsupported_tag = {};                 // For 420 (a view into the request).

    // RFC 5626 §6 processing applied (first hop, or `ob` on the first Path).
    bool outbound_applied = false;
    // The 200 carries Require: outbound (OB-REG-15, OB-TAG-03).
    bool require_outbound = false;
    // Flow-Timer value for the 200; 0 means none (OB-FT-03).
    uint32_t flow_timer_s = 0;
    // "Contact: *" with "Expires: 0": remove every binding of the AOR.
    bool remove_all = false;

    std::string_view aor_key = {};     // Canonical To URI (RFC 3261 §10.3 step 5).
    std::string_view call_id = {};
    uint32_t cseq = 0;
    // The flow the bindings route over: the edge's token, else the user part
    // of a first Path URI that carries `ob`; empty when unknown.
    std::string_view flow_token = {};
    // This registration's path vector in order: the edge's value, then the
    // request's Path values (RFC 3327 §5.3).
    uint32_t path_count = 0;
    std::string_view path[kPathCountPerRegisterMax + 1];
    // Store operations in Contact order; none for a fetch (no Contact).
    uint32_t update_count = 0;
    ContactUpdate updates[kContactCountPerRegisterMax];

    std::span<const std::string_view> path_vector() const { return {path, path_count}; }
    // RegisterInput::top_via, for every response to this REGISTER.
    sip::TopViaEdit top_via;
    std::span<const ContactUpdate> contact_updates() const { return {updates, update_count}; }

    // Backing bytes of aor_key, instance_key and contact_key. Invariant:
    // arena_size <= sizeof(arena).
    size_t arena_size = 0;
    char arena[kRegisterKeyArenaSizeMax];
};

// Decides what to do with `request` (a parsed REGISTER; asserted). `out` is
// reset first. Never fails in any way other than out.error.
void decide_register(const sip::Message& request, const RegisterInput& in, RegisterDecision& out);

// One binding of the AOR as the 200 lists it: the stored Contact value (its
// own expires parameter, if any, is dropped) and the seconds it has left.
struct CurrentBinding {
    std::string_view contact = {};
    uint32_t expires_s = 0;
};

// Writes the response to `request`:
//   - decision.rejected(): its status (423 with Min-Expires, 420 with
//     Unsupported, 400 whose reason names the defect, 404, 439);
//   - else commit != kOk: 500 / 403 naming the store's complaint;
//   - else 200 OK with one Contact per element of `bindings` with ;expires=
//     (§10.3 step 8), this registration's Path (RFC 3327 §5.3), Require:
//     outbound and Flow-Timer when decided, "Supported: path, outbound", a To
//     tag derived from the Call-ID and node, and "Date: <date>" when `date`
//     (an RFC 1123 date the caller formats) is not empty.
sip::BuildError build_register_response(const sip::Message& request,
                                        const RegisterDecision& decision, CommitResult commit,
                                        std::span<const CurrentBinding> bindings, sip::Writer& out,
                                        std::string_view date = {});

// The canonical key of a plain binding's Contact URI (see the file comment).
// Errors: kBufferTooSmall (a buffer of uri.text.size() bytes suffices).
syntax::Error write_contact_key(const syntax::Uri& uri, char* buffer, size_t buffer_size,
                                std::string_view& key);

}  // namespace fe::outbound
