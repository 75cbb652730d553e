#include "core/syntax/contact.h"

#include "core/base/strings.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::in_class;

constexpr size_t kUrnNidSizeMax = 32;  // RFC 2141 §2: NID is 1 to 32 characters

bool is_urn_nss_char(char c) {
    // RFC 2141 trans: letters, digits, other, reserved ('%' is checked apart).
    constexpr std::string_view kOther = "()+,-.:=@;$_!*'/?#";
    return in_class(c, internal::kAlpha | internal::kDigit) ||
           kOther.find(c) != std::string_view::npos;
}

// Index of the first NSS byte ("urn:NID:" already validated by check_urn).
size_t urn_nss_start(std::string_view urn) {
    const size_t colon = urn.find(':', 4);
    return colon == std::string_view::npos ? urn.size() : colon + 1;
}

bool urn_is_uuid(std::string_view urn, size_t nss_start) {
    return nss_start >= 5 && equals_ignore_case(urn.substr(4, nss_start - 5), "uuid");
}

// The byte of the canonical form at index i: the same length as the input,
// so two URNs are equal exactly when their canonical bytes are.
char canonical_urn_char(std::string_view urn, size_t i, size_t nss_start, bool uuid) {
    const char c = urn[i];
    if (i < nss_start || uuid) {
        return ascii_lower(c);
    }
    const bool in_escape = (i >= 1 && urn[i - 1] == '%') || (i >= 2 && urn[i - 2] == '%');
    return in_escape ? ascii_lower(c) : c;
}

Error decode_instance(const Param& p, Contact& out) {
    // +sip.instance="<urn:...>" (RFC 5626 §4.1, RFC 3840 string value).
    if (!p.has_value || !p.is_quoted()) {
        return Error::kBadInstance;
    }
    const std::string_view inner = p.unquoted_value();
    if (inner.size() < 2 || inner.front() != '<' || inner.back() != '>') {
        return Error::kBadInstance;
    }
    const std::string_view urn = inner.substr(1, inner.size() - 2);
    if (urn.size() > kInstanceKeySizeMax || check_urn(urn) != Error::kOk) {
        return Error::kBadInstance;
    }
    out.instance = urn;
    return Error::kOk;
}

Error decode_contact_param(const Param& p, Contact& out) {
    uint64_t number = 0;
    if (equals_ignore_case(p.name, "expires")) {
        if (!p.has_value || internal::parse_number(p.value, UINT32_MAX, number) != Error::kOk) {
            return Error::kBadExpires;
        }
        out.has_expires = true;
        out.expires_s = static_cast<uint32_t>(number);
    } else if (equals_ignore_case(p.name, "q")) {
        if (!p.has_value || parse_qvalue(p.value, out.q_thousandths) != Error::kOk) {
            return Error::kBadQValue;
        }
        out.has_q = true;
    } else if (equals_ignore_case(p.name, "+sip.instance")) {
        return decode_instance(p, out);
    } else if (equals_ignore_case(p.name, "reg-id")) {
        // OB-INST-01/02: 1 .. 2^31-1; parse_number never overflows.
        if (!p.has_value || internal::parse_number(p.value, kRegIdMax, number) != Error::kOk ||
            number == 0) {
            return Error::kBadRegId;
        }
        out.reg_id = static_cast<uint32_t>(number);
    }
    return Error::kOk;
}

Error parse_contact_impl(std::string_view value, Contact& out) {
    const size_t start = internal::skip_lws(value, 0);
    if (start == value.size()) {
        return Error::kEmpty;
    }
    if (value[start] == '*') {
        if (internal::skip_lws(value, start + 1) != value.size()) {
            return Error::kBadStar;
        }
        out.is_star = true;
        return Error::kOk;
    }
    if (Error e = parse_name_addr(value, out.address); e != Error::kOk) {
        return e;
    }
    for (const Param& p : out.address.params) {
        if (Error e = decode_contact_param(p, out); e != Error::kOk) {
            return e;
        }
    }
    return Error::kOk;
}

}  // namespace

Error parse_contact(std::string_view value, Contact& out) {
    out = Contact{};
    const Error e = parse_contact_impl(value, out);
    if (e != Error::kOk) {
        out = Contact{};
    }
    return e;
}

Error check_urn(std::string_view urn) {
    if (!starts_with_ignore_case(urn, "urn:")) {
        return Error::kBadInstance;
    }
    const size_t colon = urn.find(':', 4);
    if (colon == std::string_view::npos) {
        return Error::kBadInstance;
    }
    const std::string_view nid = urn.substr(4, colon - 4);
    if (nid.empty() || nid.size() > kUrnNidSizeMax ||
        !in_class(nid.front(), internal::kAlpha | internal::kDigit)) {
        return Error::kBadInstance;
    }
    for (char c : nid) {
        if (!in_class(c, internal::kAlpha | internal::kDigit) && c != '-') {
            return Error::kBadInstance;
        }
    }
    const std::string_view nss = urn.substr(colon + 1);
    if (nss.empty()) {
        return Error::kBadInstance;
    }
    for (size_t i = 0; i < nss.size(); ++i) {
        if (nss[i] == '%') {
            if (i + 2 >= nss.size() || internal::hex_value(nss[i + 1]) < 0 ||
                internal::hex_value(nss[i + 2]) < 0) {
                return Error::kBadInstance;
            }
            i += 2;
        } else if (!is_urn_nss_char(nss[i])) {
            return Error::kBadInstance;
        }
    }
    return Error::kOk;
}

bool instance_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    const size_t a_nss = urn_nss_start(a);
    const size_t b_nss = urn_nss_start(b);
    if (a_nss != b_nss) {
        return false;
    }
    const bool uuid = urn_is_uuid(a, a_nss);
    for (size_t i = 0; i < a.size(); ++i) {
        if (canonical_urn_char(a, i, a_nss, uuid) != canonical_urn_char(b, i, b_nss, uuid)) {
            return false;
        }
    }
    return true;
}

Error write_instance_key(std::string_view urn, char* buffer, size_t buffer_size,
                         std::string_view& key) {
    key = {};
    if (urn.size() > buffer_size) {
        return Error::kBufferTooSmall;
    }
    const size_t nss = urn_nss_start(urn);
    const bool uuid = urn_is_uuid(urn, nss);
    for (size_t i = 0; i < urn.size(); ++i) {
        buffer[i] = canonical_urn_char(urn, i, nss, uuid);
    }
    key = std::string_view(buffer, urn.size());
    return Error::kOk;
}

Error parse_qvalue(std::string_view text, uint16_t& thousandths) {
    thousandths = 0;
    if (text.empty() || (text[0] != '0' && text[0] != '1')) {
        return Error::kBadQValue;
    }
    const bool one = text[0] == '1';
    if (text.size() == 1) {
        thousandths = one ? kQValueMax : 0;
        return Error::kOk;
    }
    if (text[1] != '.') {
        return Error::kBadQValue;
    }
    const std::string_view decimals = text.substr(2);
    if (decimals.size() > kQValueDecimalCountMax) {
        return Error::kBadQValue;
    }
    uint16_t value = 0;
    uint16_t scale = 100;
    for (char c : decimals) {
        if (c < '0' || c > '9' || (one && c != '0')) {
            return Error::kBadQValue;
        }
        value = static_cast<uint16_t>(value + (c - '0') * scale);
        scale = static_cast<uint16_t>(scale / 10);
    }
    thousandths = one ? kQValueMax : value;
    return Error::kOk;
}

}  // namespace fe::syntax
