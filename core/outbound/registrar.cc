// Registrar decisions: RFC 3261 §10.3, RFC 3327 §5.3, RFC 5626 §6.
#include "core/outbound/registrar.h"

#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/outbound/edge.h"
#include "core/syntax/contact.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/params.h"
#include "core/syntax/values.h"

namespace fe::outbound {

// Returns early from a helper when a step refused the REGISTER.
#define FE_RETURN_IF_REGISTER_ERROR(expr)                          \
    do {                                                           \
        if (RegisterError fe_register_error_ = (expr);             \
            fe_register_error_ != RegisterError::kOk) {            \
            return fe_register_error_;                             \
        }                                                          \
    } while (0)

namespace {

using sip::HeaderField;
using sip::HeaderId;
using syntax::Error;

// The option tags a REGISTER may Require of us (RFC 3261 §10.3 step 2).
bool is_supported_tag(std::string_view tag) {
    return syntax::option_tag_equal(tag, "outbound") || syntax::option_tag_equal(tag, "path");
}

void reset(RegisterDecision& d) {
    d.error = RegisterError::kOk;
    d.syntax_error = Error::kOk;
    d.min_expires_s = 0;
    d.unsupported_tag = {};
    d.outbound_applied = false;
    d.require_outbound = false;
    d.flow_timer_s = 0;
    d.remove_all = false;
    d.aor_key = {};
    d.call_id = {};
    d.cseq = 0;
    d.flow_token = {};
    d.path_count = 0;
    d.update_count = 0;
    d.arena_size = 0;
}

RegisterError fail(RegisterDecision& d, RegisterError e, Error detail = Error::kOk) {
    d.error = e;
    d.syntax_error = detail;
    return e;
}

// The free tail of the decision's key arena.
char* arena_tail(RegisterDecision& d) { return d.arena + d.arena_size; }
size_t arena_room(const RegisterDecision& d) { return sizeof(d.arena) - d.arena_size; }
void arena_commit(RegisterDecision& d, std::string_view written) {
    FE_ASSERT(written.data() == arena_tail(d));
    FE_ASSERT(written.size() <= arena_room(d));
    d.arena_size += written.size();
}

// The node as the registrar sees it: served domains and its own names.
EdgeIdentity identity_of(const RegistrarConfig& config) {
    return EdgeIdentity{.host = {}, .ports = config.local_ports, .aliases = config.local_hosts,
                        .domains = config.domains};
}

bool domain_served(const RegistrarConfig& config, const syntax::Uri& to) {
    if (config.domains.empty()) {
        return true;
    }
    return !to.is_tel() && serves_domain(to.host, identity_of(config));
}

RegisterError check_require(const sip::Message& request, RegisterDecision& d) {
    for (std::string_view value : request.list(HeaderId::kRequire)) {
        std::string_view tag;
        if (syntax::parse_option_tag(value, tag) != Error::kOk || !is_supported_tag(tag)) {
            d.unsupported_tag = value;
            return fail(d, RegisterError::kBadExtension);
        }
    }
    return RegisterError::kOk;
}

RegisterError decide_aor(const sip::Message& request, const RegistrarConfig& config,
                         RegisterDecision& d) {
    syntax::NameAddr to;
    if (Error e = syntax::parse_name_addr(request.header(HeaderId::kTo), to); e != Error::kOk) {
        return fail(d, RegisterError::kBadTo, e);
    }
    if (!domain_served(config, to.uri)) {
        return fail(d, RegisterError::kDomainNotServed);
    }
    std::string_view key;
    if (write_local_aor_key(to.uri, identity_of(config), arena_tail(d), arena_room(d), key) !=
        Error::kOk) {
        return fail(d, RegisterError::kContactsTooLarge);
    }
    arena_commit(d, key);
    d.aor_key = key;
    return RegisterError::kOk;
}

// What the first Path URI says: does it carry `ob`, and its user part (the
// edge's flow token when it does).
struct FirstPath {
    bool has_ob = false;
    std::string_view user;
};

RegisterError decide_path(const sip::Message& request, const RegisterInput& in,
                          RegisterDecision& d, FirstPath& first) {
    if (!in.path_value.empty()) {
        syntax::NameAddr edge_path;
        // The edge wrote this value; failing to parse it is our bug, and then
        // it simply does not count as carrying `ob`.
        if (!FE_BUG(syntax::parse_name_addr(in.path_value, edge_path) != Error::kOk,
                    "the edge's own Path value does not parse")) {
            first.has_ob = edge_path.uri.has_ob();
            first.user = edge_path.uri.user;
        }
        d.path[d.path_count++] = in.path_value;
    }
    for (std::string_view value : request.list(HeaderId::kPath)) {
        if (d.path_count == kPathCountPerRegisterMax + (in.path_value.empty() ? 0u : 1u)) {
            return fail(d, RegisterError::kTooManyPaths);
        }
        syntax::NameAddr path;
        if (Error e = syntax::parse_name_addr(value, path); e != Error::kOk) {
            return fail(d, RegisterError::kBadPath, e);
        }
        if (d.path_count == 0) {
            first.has_ob = path.uri.has_ob();
            first.user = path.uri.user;
        }
        d.path[d.path_count++] = value;
    }
    return RegisterError::kOk;
}

bool supports_outbound(const sip::Message& request) {
    for (std::string_view value : request.list(HeaderId::kSupported)) {
        if (syntax::option_tag_equal(value, "outbound")) {
            return true;
        }
    }
    return false;
}

// The Contact values of the request, parsed.
struct ParsedContacts {
    uint32_t count = 0;
    std::string_view text[kContactCountPerRegisterMax];
    syntax::Contact contact[kContactCountPerRegisterMax];
};

RegisterError parse_contacts(const sip::Message& request, RegisterDecision& d,
                             ParsedContacts& parsed) {
    for (std::string_view value : request.list(HeaderId::kContact)) {
        if (parsed.count == kContactCountPerRegisterMax) {
            return fail(d, RegisterError::kTooManyContacts);
        }
        syntax::Contact& c = parsed.contact[parsed.count];
        if (Error e = syntax::parse_contact(value, c); e != Error::kOk) {
            return fail(d, RegisterError::kBadContact, e);
        }
        parsed.text[parsed.count++] = value;
    }
    return RegisterError::kOk;
}

// RFC 3261 §10.3 step 6: "*" alone, with "Expires: 0".
RegisterError decide_star(const ParsedContacts& parsed, bool has_expires_header,
                          uint32_t expires_header_s, RegisterDecision& d) {
    if (parsed.count > 1) {
        return fail(d, RegisterError::kStarNotAlone);
    }
    if (!has_expires_header || expires_header_s != 0) {
        return fail(d, RegisterError::kStarNeedsExpiresZero);
    }
    d.remove_all = true;
    return RegisterError::kOk;
}

bool same_binding(const ContactUpdate& a, const ContactUpdate& b) {
    if (a.reg_id != 0 || b.reg_id != 0) {
        return a.reg_id == b.reg_id && a.instance_key == b.instance_key;
    }
    return a.contact_key == b.contact_key;
}

// One Contact into a ContactUpdate (keys written to the arena).
RegisterError make_update(const syntax::Contact& c, std::string_view text, uint32_t expires_s,
                          bool honour_reg_id, RegisterDecision& d, ContactUpdate& u) {
    u.action = expires_s == 0 ? BindingAction::kRemove : BindingAction::kUpsert;
    u.contact = text;
    u.contact_uri = c.address.uri_text;
    u.expires_s = expires_s;
    u.has_q = c.has_q;
    u.q_thousandths = c.q_thousandths;
    u.reg_id = honour_reg_id ? c.reg_id : 0;
    u.instance_key = {};
    if (c.has_instance()) {
        std::string_view key;
        if (syntax::write_instance_key(c.instance, arena_tail(d), arena_room(d), key) !=
            Error::kOk) {
            return fail(d, RegisterError::kContactsTooLarge);
        }
        arena_commit(d, key);
        u.instance_key = key;
    }
    std::string_view key;
    if (write_contact_key(c.address.uri, arena_tail(d), arena_room(d), key) != Error::kOk) {
        return fail(d, RegisterError::kContactsTooLarge);
    }
    arena_commit(d, key);
    u.contact_key = key;
    return RegisterError::kOk;
}

// RFC 3261 §10.3 step 7: the requested interval, 423 or clamped.
RegisterError grant_expires(const syntax::Contact& c, bool has_expires_header,
                            uint32_t expires_header_s, const RegistrarConfig& config,
                            RegisterDecision& d, uint32_t& granted_s) {
    uint32_t requested = config.expires_default_s;
    if (c.has_expires) {
        requested = c.expires_s;
    } else if (has_expires_header) {
        requested = expires_header_s;
    }
    if (requested > 0 && requested < kIntervalTooBriefCeilingS &&
        requested < config.expires_min_s) {
        d.min_expires_s = config.expires_min_s;
        return fail(d, RegisterError::kIntervalTooBrief);
    }
    granted_s = std::min(requested, config.expires_max_s);
    return RegisterError::kOk;
}

RegisterError decide_contacts(const ParsedContacts& parsed, const RegisterInput& in,
                              bool has_expires_header, uint32_t expires_header_s,
                              bool supported_outbound, RegisterDecision& d) {
    const RegistrarConfig& config = *in.config;
    bool any_reg_id = false;
    for (uint32_t i = 0; i < parsed.count; ++i) {
        any_reg_id = any_reg_id || parsed.contact[i].has_reg_id();
    }
    // OB-REG-05 / OB-439-01 / OB-439-02.
    if (!d.outbound_applied && any_reg_id && supported_outbound) {
        return fail(d, RegisterError::kFirstHopLacksOutbound);
    }
    uint32_t nonzero_count = 0;
    uint32_t nonzero_outbound_count = 0;
    bool any_outbound_upsert = false;
    for (uint32_t i = 0; i < parsed.count; ++i) {
        const syntax::Contact& c = parsed.contact[i];
        uint32_t granted_s = 0;
        FE_RETURN_IF_REGISTER_ERROR(
            grant_expires(c, has_expires_header, expires_header_s, config, d, granted_s));
        // OB-REG-06 / OB-REG-07 / OB-INST-04: the reg-id counts only with an
        // instance and outbound processing.
        const bool honour_reg_id = d.outbound_applied && c.is_outbound();
        nonzero_count += granted_s != 0 ? 1 : 0;
        nonzero_outbound_count += (granted_s != 0 && honour_reg_id) ? 1 : 0;
        any_outbound_upsert = any_outbound_upsert || (granted_s != 0 && honour_reg_id);
        d.require_outbound = d.require_outbound || honour_reg_id;
        ContactUpdate& u = d.updates[d.update_count];
        FE_RETURN_IF_REGISTER_ERROR(make_update(c, parsed.text[i], granted_s, honour_reg_id, d, u));
        for (uint32_t j = 0; j < d.update_count; ++j) {
            if (same_binding(d.updates[j], u)) {
                return fail(d, RegisterError::kDuplicateContact);
            }
        }
        ++d.update_count;
    }
    // OB-REG-08.
    if (nonzero_outbound_count > 0 && nonzero_count > 1) {
        return fail(d, RegisterError::kSeveralOutboundContacts);
    }
    // OB-REG-15 / OB-TAG-03 / OB-TAG-04: only for an honoured reg-id, and only
    // when the UA said it supports outbound.
    d.require_outbound = d.require_outbound && supported_outbound;
    // OB-FT-03: only when this node holds the flow (first hop, or our edge
    // added the Path), so the value is the one our edge enforces.
    const bool direct_flow = in.first_hop || !in.path_value.empty();
    if (d.require_outbound && any_outbound_upsert && direct_flow) {
        d.flow_timer_s = config.flow_timer_s;
    }
    return RegisterError::kOk;
}

}  // namespace

uint16_t register_error_status(RegisterError e) {
    switch (e) {
        case RegisterError::kOk: return 200;
        case RegisterError::kDomainNotServed: return 404;
        case RegisterError::kBadExtension: return 420;
        case RegisterError::kIntervalTooBrief: return 423;
        case RegisterError::kFirstHopLacksOutbound: return 439;
        default: return 400;
    }
}

std::string_view register_error_reason(RegisterError e) {
    switch (e) {
        case RegisterError::kOk: return "OK";
        case RegisterError::kBadTo: return "Bad To";
        case RegisterError::kDomainNotServed: return "Domain Not Served";
        case RegisterError::kBadExtension: return "Bad Extension";
        case RegisterError::kBadExpiresHeader: return "Bad Expires";
        case RegisterError::kBadContact: return "Bad Contact";
        case RegisterError::kStarNotAlone: return "Contact * Not Alone";
        case RegisterError::kStarNeedsExpiresZero: return "Contact * Needs Expires 0";
        case RegisterError::kTooManyContacts: return "Too Many Contacts";
        case RegisterError::kDuplicateContact: return "Duplicate Contact";
        case RegisterError::kSeveralOutboundContacts: return "Several Contacts With reg-id";
        case RegisterError::kIntervalTooBrief: return "Interval Too Brief";
        case RegisterError::kFirstHopLacksOutbound: return "First Hop Lacks Outbound Support";
        case RegisterError::kBadPath: return "Bad Path";
        case RegisterError::kTooManyPaths: return "Too Many Path Values";
        case RegisterError::kCallIdTooLong: return "Call-ID Too Long";
        case RegisterError::kContactsTooLarge: return "Contacts Too Large";
    }
    return "Bad Request";
}

void decide_register(const sip::Message& request, const RegisterInput& in,
                     RegisterDecision& out) {
    FE_ASSERT(in.config != nullptr);
    FE_ASSERT(request.is_request());
    FE_ASSERT(request.method() == sip::Method::kRegister);
    reset(out);
    RegisterDecision& d = out;
    d.top_via = in.top_via;
    if (check_require(request, d) != RegisterError::kOk) {
        return;
    }
    if (decide_aor(request, *in.config, d) != RegisterError::kOk) {
        return;
    }
    d.call_id = request.header(HeaderId::kCallId);
    if (d.call_id.size() > kCallIdSizeMax) {
        (void)fail(d, RegisterError::kCallIdTooLong);
        return;
    }
    d.cseq = request.cseq_number();
    uint32_t expires_header_s = 0;
    const bool has_expires_header = request.has(HeaderId::kExpires);
    if (has_expires_header) {
        if (Error e = syntax::parse_delta_seconds(request.header(HeaderId::kExpires),
                                                  expires_header_s);
            e != Error::kOk) {
            (void)fail(d, RegisterError::kBadExpiresHeader, e);
            return;
        }
    }
    FirstPath first;
    if (decide_path(request, in, d, first) != RegisterError::kOk) {
        return;
    }
    // OB-REG-02 / OB-REG-03 / OB-REG-04.
    d.outbound_applied = in.first_hop || first.has_ob;
    if (!in.flow_token.empty()) {
        d.flow_token = in.flow_token;
    } else if (first.has_ob) {
        d.flow_token = first.user;
    }
    ParsedContacts parsed;
    if (parse_contacts(request, d, parsed) != RegisterError::kOk) {
        return;
    }
    if (parsed.count == 0) {
        return;  // A fetch: list the bindings (§10.3 step 6 "skips to the last step").
    }
    for (uint32_t i = 0; i < parsed.count; ++i) {
        if (parsed.contact[i].is_star) {
            (void)decide_star(parsed, has_expires_header, expires_header_s, d);
            return;
        }
    }
    (void)decide_contacts(parsed, in, has_expires_header, expires_header_s,
                          supports_outbound(request), d);
}

Error write_contact_key(const syntax::Uri& uri, char* buffer, size_t buffer_size,
                        std::string_view& key) {
    std::string_view base;
    if (Error e = syntax::write_aor_key(uri, buffer, buffer_size, base); e != Error::kOk) {
        return e;
    }
    size_t size = base.size();
    // The parameters RFC 3261 §19.1.4 says must match even when only one URI
    // has them, in a fixed order, values unescaped and lower-cased.
    static constexpr std::string_view kKeyParams[] = {"maddr", "method", "transport", "ttl",
                                                      "user"};
    for (std::string_view name : kKeyParams) {
        const auto param = uri.params.find(name);
        if (!param) {
            continue;
        }
        if (buffer_size - size < 1 + name.size()) {
            return Error::kBufferTooSmall;
        }
        buffer[size++] = ';';
        std::memcpy(buffer + size, name.data(), name.size());
        size += name.size();
        if (!param->has_value) {
            continue;
        }
        if (buffer_size - size < 1) {
            return Error::kBufferTooSmall;
        }
        buffer[size++] = '=';
        std::string_view value;
        if (Error e = syntax::unescape(param->value, buffer + size, buffer_size - size, value);
            e != Error::kOk) {
            return e;
        }
        for (size_t i = 0; i < value.size(); ++i) {
            buffer[size + i] = ascii_lower(value[i]);
        }
        size += value.size();
    }
    key = std::string_view(buffer, size);
    return Error::kOk;
}

}  // namespace fe::outbound
