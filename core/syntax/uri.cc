#include "core/syntax/uri.h"

#include <charconv>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::in_class;

// Maps an escaped-run check to the named error: a malformed escape is
// kBadEscape, any other bad byte is `otherwise`.
Error check_escaped(std::string_view s, uint16_t classes, Error otherwise) {
    bool bad_escape = false;
    if (internal::is_escaped_run(s, classes, &bad_escape)) {
        return Error::kOk;
    }
    return bad_escape ? Error::kBadEscape : otherwise;
}

Error parse_scheme(std::string_view scheme, UriScheme& out) {
    if (scheme.empty() || !in_class(scheme[0], internal::kAlpha)) {
        return Error::kBadScheme;
    }
    for (char c : scheme) {
        if (!in_class(c, internal::kSchemeChar)) {
            return Error::kBadScheme;
        }
    }
    if (equals_ignore_case(scheme, "sip")) {
        out = UriScheme::kSip;
    } else if (equals_ignore_case(scheme, "sips")) {
        out = UriScheme::kSips;
    } else if (equals_ignore_case(scheme, "tel")) {
        out = UriScheme::kTel;
    } else {
        return Error::kUnsupportedScheme;
    }
    return Error::kOk;
}

// userinfo = user [ ":" password ] (the '@' already removed).
Error parse_userinfo(std::string_view userinfo, Uri& out) {
    const size_t colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    if (user.empty()) {
        return Error::kBadUser;
    }
    if (Error e = check_escaped(user, internal::kUserChar, Error::kBadUser); e != Error::kOk) {
        return e;
    }
    out.user = user;
    if (colon != std::string_view::npos) {
        const std::string_view password = userinfo.substr(colon + 1);
        if (Error e = check_escaped(password, internal::kPasswordChar, Error::kBadPassword);
            e != Error::kOk) {
            return e;
        }
        out.password = password;
        out.has_password = true;
    }
    return Error::kOk;
}

Error parse_port(std::string_view text, uint16_t& port) {
    uint64_t value = 0;
    switch (internal::parse_number(text, 65535, value)) {
        case Error::kOk:
            break;
        case Error::kNumberOutOfRange:
            return Error::kPortOutOfRange;
        default:
            return Error::kBadPort;
    }
    if (value == 0) {
        // Nothing can be sent to port 0; refusing it here keeps "0 = absent".
        return Error::kPortOutOfRange;
    }
    port = static_cast<uint16_t>(value);
    return Error::kOk;
}

// hostport = host [ ":" port ].
Error parse_hostport(std::string_view hostport, Uri& out) {
    if (hostport.empty()) {
        return Error::kMissingHost;
    }
    std::string_view host;
    std::string_view after;
    if (hostport.front() == '[') {
        const size_t close = hostport.find(']');
        if (close == std::string_view::npos) {
            return Error::kBadIpv6;
        }
        host = hostport.substr(0, close + 1);
        after = hostport.substr(close + 1);
    } else {
        const size_t colon = hostport.find(':');
        host = hostport.substr(0, colon);
        after = colon == std::string_view::npos ? std::string_view() : hostport.substr(colon);
    }
    if (Error e = parse_host(host, out.host_kind); e != Error::kOk) {
        return e;
    }
    out.host = host;
    if (after.empty()) {
        return Error::kOk;
    }
    if (after.front() != ':') {
        return Error::kBadHost;  // "[::1]x"
    }
    return parse_port(after.substr(1), out.port);
}

// headers = "?" header *( "&" header ); header = hname "=" hvalue.
Error parse_uri_headers(std::string_view headers, Uri& out) {
    size_t count = 0;
    size_t start = 0;
    while (start <= headers.size()) {
        size_t amp = headers.find('&', start);
        if (amp == std::string_view::npos) {
            amp = headers.size();
        }
        const std::string_view header = headers.substr(start, amp - start);
        const size_t eq = header.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return Error::kBadUriHeader;
        }
        if (++count > kUriHeaderCountMax) {
            return Error::kTooManyUriHeaders;
        }
        if (Error e = check_escaped(header.substr(0, eq), internal::kHnvChar,
                                    Error::kBadUriHeader);
            e != Error::kOk) {
            return e;
        }
        if (Error e = check_escaped(header.substr(eq + 1), internal::kHnvChar,
                                    Error::kBadUriHeader);
            e != Error::kOk) {
            return e;
        }
        start = amp + 1;
    }
    static_assert(kUriHeaderCountMax <= UINT8_MAX, "header_count is a uint8_t");
    out.headers = headers;
    out.header_count = static_cast<uint8_t>(count);
    return Error::kOk;
}

bool is_visual_separator(char c) { return c == '-' || c == '.' || c == '(' || c == ')'; }

// telephone-subscriber (RFC 3966 §3): global-number ("+" digits) or
// local-number (hex digits, * and #) with a mandatory phone-context.
Error parse_tel(std::string_view rest, Uri& out) {
    const size_t semi = rest.find(';');
    const std::string_view number = rest.substr(0, semi);
    const bool global = !number.empty() && number.front() == '+';
    const std::string_view digits = global ? number.substr(1) : number;
    const uint16_t classes = global ? internal::kTelGlobalChar : internal::kTelLocalChar;
    bool has_digit = false;
    for (char c : digits) {
        if (!in_class(c, classes)) {
            return Error::kBadTelNumber;
        }
        has_digit = has_digit || !is_visual_separator(c);
    }
    if (!has_digit) {
        return Error::kBadTelNumber;
    }
    if (semi != std::string_view::npos) {
        if (Error e = Params::parse(rest.substr(semi), ParamSyntax::kUri, out.params);
            e != Error::kOk) {
            return e;
        }
    }
    if (!global && !out.params.has("phone-context")) {
        return Error::kMissingPhoneContext;
    }
    out.user = number;
    return Error::kOk;
}

Error parse_uri_impl(std::string_view text, Uri& out) {
    if (text.empty()) {
        return Error::kEmpty;
    }
    if (text.size() > kUriSizeMax) {
        return Error::kTooLong;
    }
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return Error::kBadScheme;
    }
    if (Error e = parse_scheme(text.substr(0, colon), out.scheme); e != Error::kOk) {
        return e;
    }
    out.text = text;
    std::string_view rest = text.substr(colon + 1);
    if (out.scheme == UriScheme::kTel) {
        return parse_tel(rest, out);
    }
    // A raw '@' can only end the userinfo: params and headers must escape it.
    const size_t at = rest.find('@');
    if (at != std::string_view::npos) {
        if (Error e = parse_userinfo(rest.substr(0, at), out); e != Error::kOk) {
            return e;
        }
        rest = rest.substr(at + 1);
    }
    if (const size_t q = rest.find('?'); q != std::string_view::npos) {
        if (Error e = parse_uri_headers(rest.substr(q + 1), out); e != Error::kOk) {
            return e;
        }
        rest = rest.substr(0, q);
    }
    if (const size_t semi = rest.find(';'); semi != std::string_view::npos) {
        if (Error e = Params::parse(rest.substr(semi), ParamSyntax::kUri, out.params);
            e != Error::kOk) {
            return e;
        }
        rest = rest.substr(0, semi);
    }
    return parse_hostport(rest, out);
}

bool tel_number_equal(std::string_view a, std::string_view b) {
    size_t i = 0;
    size_t j = 0;
    while (true) {
        while (i < a.size() && is_visual_separator(a[i])) {
            ++i;
        }
        while (j < b.size() && is_visual_separator(b[j])) {
            ++j;
        }
        if (i == a.size() || j == b.size()) {
            return i == a.size() && j == b.size();
        }
        if (ascii_lower(a[i]) != ascii_lower(b[j])) {
            return false;
        }
        ++i;
        ++j;
    }
}

bool param_values_equal(const Param& a, const Param& b) {
    return a.has_value == b.has_value && equals_unescaped_ignore_case(a.value, b.value);
}

// §19.1.4 parameter rules: these five must match when either side has them.
bool params_equal(const Params& a, const Params& b) {
    static constexpr std::string_view kSignificant[] = {"user", "ttl", "method", "maddr",
                                                        "transport"};
    for (std::string_view name : kSignificant) {
        const auto pa = a.find(name);
        const auto pb = b.find(name);
        if (pa.has_value() != pb.has_value()) {
            return false;
        }
        if (pa && !param_values_equal(*pa, *pb)) {
            return false;
        }
    }
    for (const Param& pa : a) {
        const auto pb = b.find(pa.name);
        if (pb && !param_values_equal(pa, *pb)) {
            return false;
        }
    }
    return true;
}

// Calls fn(name, value) for each `name=value` of a URI's headers component.
template <typename Fn>
bool all_headers(std::string_view headers, Fn&& fn) {
    size_t start = 0;
    while (start < headers.size()) {
        size_t amp = headers.find('&', start);
        if (amp == std::string_view::npos) {
            amp = headers.size();
        }
        const std::string_view header = headers.substr(start, amp - start);
        const size_t eq = header.find('=');
        if (!fn(header.substr(0, eq), header.substr(eq + 1))) {
            return false;
        }
        start = amp + 1;
    }
    return true;
}

// §19.1.4: every header component of one URI is in the other with an equal
// value, in any order. A name may repeat (`?h=&h=%A1`), so each header is
// looked for among all of the other URI's headers of that name, not just the
// first one (the fuzzer found uri_equal(u, u) false for such a URI).
bool headers_equal(const Uri& a, const Uri& b) {
    if (a.header_count != b.header_count) {
        return false;
    }
    return all_headers(a.headers, [&b](std::string_view name, std::string_view value) {
        return !all_headers(b.headers, [&](std::string_view other_name, std::string_view other) {
            return !(equals_unescaped_ignore_case(other_name, name) &&
                     equals_unescaped(value, other));
        });
    });
}

// Appends to a caller buffer, remembering overflow instead of failing each call.
struct KeyWriter {
    char* buffer;
    size_t size_max;
    size_t size = 0;
    bool overflow = false;

    void put(char c) {
        if (size == size_max) {
            overflow = true;
            return;
        }
        buffer[size++] = c;
    }
    void put(std::string_view s) {
        for (char c : s) {
            put(c);
        }
    }
};

void put_user_canonical(KeyWriter& w, std::string_view user) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < user.size()) {
        const bool escaped = user[i] == '%';
        char c = user[i];
        if (escaped) {
            c = static_cast<char>(internal::hex_value(user[i + 1]) * 16 +
                                  internal::hex_value(user[i + 2]));
            i += 3;
        } else {
            ++i;
        }
        if (in_class(c, internal::kUserChar)) {
            w.put(c);
        } else {
            const auto byte = static_cast<uint8_t>(c);
            w.put('%');
            w.put(kHex[byte >> 4]);
            w.put(kHex[byte & 0xF]);
        }
    }
}

}  // namespace

Error parse_uri(std::string_view text, Uri& out) {
    out = Uri{};
    const Error e = parse_uri_impl(text, out);
    if (e != Error::kOk) {
        out = Uri{};
    }
    return e;
}

std::optional<Transport> Uri::transport() const {
    const std::string_view name = transport_param();
    if (name.empty()) {
        return std::nullopt;
    }
    return transport_from_name(name);
}

std::string_view Uri::param_value(std::string_view name) const {
    const auto p = params.find(name);
    return p ? p->value : std::string_view();
}

std::optional<std::string_view> Uri::find_header(std::string_view name) const {
    size_t start = 0;
    while (start < headers.size()) {
        size_t amp = headers.find('&', start);
        if (amp == std::string_view::npos) {
            amp = headers.size();
        }
        const std::string_view header = headers.substr(start, amp - start);
        const size_t eq = header.find('=');
        FE_DASSERT(eq != std::string_view::npos);
        if (equals_unescaped_ignore_case(header.substr(0, eq), name)) {
            return header.substr(eq + 1);
        }
        start = amp + 1;
    }
    return std::nullopt;
}

bool uri_equal(const Uri& a, const Uri& b) {
    if (a.scheme != b.scheme) {
        return false;
    }
    if (a.scheme == UriScheme::kTel) {
        return tel_number_equal(a.user, b.user) && params_equal(a.params, b.params);
    }
    return equals_unescaped(a.user, b.user) && a.has_password == b.has_password &&
           equals_unescaped(a.password, b.password) &&
           host_equal(a.host, a.host_kind, b.host, b.host_kind) && a.port == b.port &&
           params_equal(a.params, b.params) && headers_equal(a, b);
}

Error write_aor_key(const Uri& uri, char* buffer, size_t buffer_size, std::string_view& key) {
    key = {};
    KeyWriter w{buffer, buffer_size};
    switch (uri.scheme) {
        case UriScheme::kSip: w.put("sip:"); break;
        case UriScheme::kSips: w.put("sips:"); break;
        case UriScheme::kTel: w.put("tel:"); break;
    }
    if (uri.scheme == UriScheme::kTel) {
        for (char c : uri.user) {
            if (!is_visual_separator(c)) {
                w.put(ascii_lower(c));
            }
        }
    } else {
        if (uri.has_user()) {
            put_user_canonical(w, uri.user);
            w.put('@');
        }
        for (char c : uri.host) {
            w.put(ascii_lower(c));
        }
        if (uri.has_port()) {
            char digits[8];
            const auto result = std::to_chars(digits, digits + sizeof(digits), uri.port);
            FE_ASSERT(result.ec == std::errc());
            w.put(':');
            w.put(std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
        }
    }
    if (w.overflow) {
        return Error::kBufferTooSmall;
    }
    // Canonicalising only removes or shrinks parts (see kAorKeySizeMax).
    FE_ASSERT(w.size <= uri.text.size());
    key = std::string_view(buffer, w.size);
    return Error::kOk;
}

std::string aor_key(const Uri& uri) {
    std::string key(uri.text.size(), '\0');
    std::string_view view;
    const Error e = write_aor_key(uri, key.data(), key.size(), view);
    FE_ASSERT(e == Error::kOk);
    key.resize(view.size());
    return key;
}

}  // namespace fe::syntax
