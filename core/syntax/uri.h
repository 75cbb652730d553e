// File: core/syntax/uri.h
//
// SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966 for tel), parsed in
// place: every field is a view into the input, nothing is copied or allocated.
// Escapes (%XX) are validated but left as written; compare with
// equals_unescaped() or decode with unescape() (params.h).
//
//   fe::syntax::Uri uri;
//   if (fe::syntax::parse_uri("sip:TOKEN@edge.example.com;lr;ob", uri) ==
//       fe::syntax::Error::kOk) {
//       uri.user;        // "TOKEN"
//       uri.host;        // "edge.example.com"
//       uri.has_lr();    // true
//       uri.has_ob();    // true (RFC 5626 §5.1)
//   }
//   size_t offset = uri.host.data() - buffer.data();   // for edit lists
//
// Every view points into the parsed text and is valid as long as it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/syntax/error.h"
#include "core/syntax/host.h"
#include "core/syntax/limits.h"
#include "core/syntax/params.h"

namespace fe::syntax {

enum class UriScheme : uint8_t { kSip, kSips, kTel };

struct Uri {
    UriScheme scheme = UriScheme::kSip;
    std::string_view text;      // the whole URI
    // sip/sips: the user as written (escaped), empty when there is no "user@".
    // tel: the number ("+1-201-555-0123"), never empty.
    std::string_view user;
    std::string_view password;  // empty when absent or empty; see has_password
    bool has_password = false;  // "user:@host" has an empty password
    std::string_view host;      // as written; an IPv6 reference keeps its brackets
    HostKind host_kind = HostKind::kNone;
    uint16_t port = 0;          // 0 when absent (port 0 itself is refused)
    Params params;              // uri-parameters (ParamSyntax::kUri)
    std::string_view headers;   // after '?', without it; empty when absent
    uint8_t header_count = 0;   // "?a=b&c=d" has 2

    bool has_user() const { return !user.empty(); }
    bool has_port() const { return port != 0; }
    bool is_sips() const { return scheme == UriScheme::kSips; }
    bool is_tel() const { return scheme == UriScheme::kTel; }

    // ";lr" (RFC 3261 loose routing).
    bool has_lr() const { return params.has("lr"); }
    // ";ob" (RFC 5626 §5.1). A flag; ";ob=x" also counts (OB-OBP-05).
    bool has_ob() const { return params.has("ob"); }
    // The transport= value as written, empty when absent.
    std::string_view transport_param() const { return param_value("transport"); }
    // The transport= value as a known transport; nullopt when absent or not
    // one of udp/tcp/tls/ws/wss (e.g. "sctp").
    std::optional<Transport> transport() const;
    std::string_view maddr_param() const { return param_value("maddr"); }
    std::string_view user_param() const { return param_value("user"); }  // "phone", "ip"
    // Value of a uri-parameter as written; empty when absent or a flag.
    std::string_view param_value(std::string_view name) const;

    // The value of URI header `name` ("?Route=..&.."), escaped as written.
    std::optional<std::string_view> find_header(std::string_view name) const;
};

// Parses a whole URI. Errors (see error.h): kEmpty, kTooLong, kBadScheme,
// kUnsupportedScheme, kBadUser, kBadPassword, kBadEscape, kMissingHost, kBadHost,
// kHostTooLong, kBadIpv4, kBadIpv6, kBadPort, kPortOutOfRange, kBadParamName,
// kBadParamValue, kTooManyParams, kDuplicateParam, kBadUriHeader,
// kTooManyUriHeaders, kBadTelNumber, kMissingPhoneContext. On error `out` is
// reset.
Error parse_uri(std::string_view text, Uri& out);

// URI equality of RFC 3261 §19.1.4, for both URIs parsed by parse_uri():
//   - schemes equal (a sip URI never equals a sips URI);
//   - user and password equal after unescaping, case-sensitively;
//   - hosts equal (host_equal: names ignoring case, addresses by value);
//   - ports equal, where an absent port only equals an absent port;
//   - user, ttl, method, maddr, transport parameters: present in both with
//     equal values, or in neither; any other parameter present in both must
//     match (ignoring case, after unescaping); others are ignored;
//   - URI headers: the same set of names with values equal after unescaping
//     (we do not apply per-header rules; enough for Route/Contact matching).
// tel URIs: numbers equal after unescaping ignoring visual separators
// ("-", ".", "(", ")") and case, and the parameters as for sip.
bool uri_equal(const Uri& a, const Uri& b);

// The canonical address-of-record key for the registrar (RFC 3261 §10.3 step
// 5): "sip:user@host[:port]". Our choices:
//   - the scheme is kept as "sip:" / "sips:" / "tel:" in lower case (sip and
//     sips AORs never match, §19.1.4);
//   - the user is unescaped, then re-escaped only where RFC 3261 requires
//     (upper-case hex), so "%61lice" and "alice" give one key; case is kept;
//   - the password, every parameter (including user=phone) and headers drop;
//   - the host is lower-cased (IPv6 as written, lower-cased, not re-compressed);
//   - an explicit port is kept: §19.1.4 treats "host" and "host:5060" as
//     different URIs, and dropping it would merge AORs a client kept apart;
//   - tel: "tel:" + the number with visual separators removed, lower-cased.
// Writes into `buffer`; the key is never longer than the URI, so a buffer of
// kAorKeySizeMax bytes always suffices. Errors: kBufferTooSmall.
Error write_aor_key(const Uri& uri, char* buffer, size_t buffer_size, std::string_view& key);
// Convenience for the control plane and tests: allocates.
std::string aor_key(const Uri& uri);

}  // namespace fe::syntax
