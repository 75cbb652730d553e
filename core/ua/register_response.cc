#include "core/ua/register_response.h"

#include "core/syntax/contact.h"
#include "core/syntax/values.h"

namespace fe::ua {

namespace {

std::optional<uint32_t> delta_seconds(const sip::Message& m, sip::HeaderId id) {
    if (!m.has(id)) {
        return std::nullopt;
    }
    uint32_t value = 0;
    if (syntax::parse_delta_seconds(m.header(id), value) != syntax::Error::kOk) {
        return std::nullopt;
    }
    return value;
}

bool requires_outbound(const sip::Message& m) {
    for (std::string_view option : m.list(sip::HeaderId::kRequire)) {
        if (syntax::option_tag_equal(option, "outbound")) {
            return true;
        }
    }
    return false;
}

// The expires of our Contact in the 200; nullopt when it is not listed.
std::optional<uint32_t> our_contact_expires(const sip::Message& m, std::string_view instance_urn,
                                            uint32_t reg_id, std::optional<uint32_t> fallback) {
    for (std::string_view value : m.list(sip::HeaderId::kContact)) {
        syntax::Contact contact;
        if (syntax::parse_contact(value, contact) != syntax::Error::kOk ||
            !contact.has_instance() || contact.reg_id != reg_id) {
            continue;
        }
        if (syntax::check_urn(contact.instance) != syntax::Error::kOk ||
            !syntax::instance_equal(contact.instance, instance_urn)) {
            continue;
        }
        if (contact.has_expires) {
            return contact.expires_s;
        }
        return fallback;
    }
    return std::nullopt;
}

}  // namespace

RegisterResponse read_register_response(const sip::Message& response,
                                        std::string_view instance_urn, uint32_t reg_id) {
    RegisterResponse r;
    r.cseq = response.cseq_number();
    r.status_code = response.status_code();
    r.has_require_outbound = requires_outbound(response);
    if (response.has(sip::HeaderId::kFlowTimer)) {
        uint32_t flow_timer_s = 0;
        if (syntax::parse_flow_timer(response.header(sip::HeaderId::kFlowTimer), flow_timer_s) ==
            syntax::Error::kOk) {
            r.flow_timer_s = flow_timer_s;
        }
    }
    const std::optional<uint32_t> expires_header = delta_seconds(response, sip::HeaderId::kExpires);
    if (r.status_code >= 200 && r.status_code < 300) {
        r.expires_s = our_contact_expires(response, instance_urn, reg_id, expires_header);
    }
    if (response.has(sip::HeaderId::kRetryAfter)) {
        syntax::RetryAfter retry_after;
        if (syntax::parse_retry_after(response.header(sip::HeaderId::kRetryAfter), retry_after) ==
            syntax::Error::kOk) {
            r.retry_after_s = retry_after.seconds;
        }
    }
    r.min_expires_s = delta_seconds(response, sip::HeaderId::kMinExpires);
    return r;
}

}  // namespace fe::ua
