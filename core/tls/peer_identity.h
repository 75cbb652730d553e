// File: core/tls/peer_identity.h
//
// The RFC 5922 identity rules of SIP over TLS as pure functions: which SIP
// domain identities a peer certificate carries (§7.1), and whether a host the
// peer claims or we dialled equals one of them (§7.2, §7.3). No TLS library type
// appears here: net/tls/certificate_names.h copies the names out of an X.509
// certificate into CertificateNames, so these rules are table-tested and fuzzed
// without a handshake (tests/unit/core/tls, tests/fuzz/peer_identity_fuzz.cc).
//
//   fe::tls::CertificateNames names;   // from fe::net::tls::certificate_names(x509)
//   names.has_subject_alt_name = true;
//   names.uris = {"sip:example.net", "sip:p2.example.net"};
//   names.dns_names = {"www.example.net"};
//   fe::tls::SipIdentities ids = fe::tls::find_sip_identities(names);
//   // ids.source == IdentitySource::kSipUri; ids.identities: example.net,
//   // p2.example.net (the dNSName does not count: a sip URI exists, §7.1)
//   fe::tls::match_sip_identity(ids, "EXAMPLE.net");     // kMatch (case-insensitive)
//   fe::tls::match_sip_identity(ids, "a.example.net");   // kNoMatch (no suffix match)
//   fe::tls::match_sip_identity(ids, "www.example.net"); // kNoMatch
//
// Where it is used (CR-xx in ../shared/spec/connection-reuse-requirements.md):
//   - a client dialling sips:example.net checks the server certificate against
//     "example.net" and closes the connection on anything but kMatch (RFC 5922
//     §7.3, CR-11, CR-39);
//   - a server caches the client's identities (CR-29) and may alias the
//     connection to a Via sent-by host only on kMatch (issue 10, CR-48);
//   - a request reuses an alias only when its target host matches (CR-15,
//     CR-31, CR-45).
//
// Deliberate choices, each stricter than or equal to the RFC:
//   - Only the scheme "sip" gives identities; "sips:" URIs do not (RFC 5922
//     §7.1: "If the scheme of the URI is not 'sip' ... MUST NOT accept").
//   - A sip URI without a user part whose host we cannot parse gives no
//     identity, yet still counts as "a sip URI identity exists", so the
//     dNSNames stay ignored (fail closed).
//   - The Common Name is read only when the certificate has no subjectAltName
//     extension at all (§7.1 step 2, "if and only if"), and only when it is a
//     valid host name (not an IP address, not a wildcard).
//   - Wildcards are never expanded: "*.example.com" is kept as a literal name,
//     and since a claimed host must be a valid host name, it matches nothing
//     (§7.2 "matches only *.example.com").
//   - IP hosts: a claimed IP address matches a sip URI identity whose host is
//     that address (compared by value, so "[2001:DB8::1]" equals
//     "2001:db8:0::1"). iPAddress subjectAltNames are not SIP identities in
//     RFC 5922; IdentityPolicy can opt into them.
//   - Non-ASCII names never match: RFC 5280 §7.2 stores IDNs as A-labels
//     ("xn--..."), and the caller passes hosts in that form too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fe::tls {

// The names an X.509 certificate carries, copied out by
// net/tls/certificate_names.h or written by a test.
struct CertificateNames {
    // The certificate has a subjectAltName extension, whatever it holds (even
    // no entry of the types below, or one we could not decode). §7.1 step 2
    // allows the Common Name only when this is false.
    bool has_subject_alt_name = false;
    std::vector<std::string> uris;          // SAN uniformResourceIdentifier, as encoded
    std::vector<std::string> dns_names;     // SAN dNSName, as encoded
    std::vector<std::string> ip_addresses;  // SAN iPAddress as text: "192.0.2.1", "2001:db8::1"
    std::vector<std::string> common_names;  // subject CN values, in certificate order
    // The certificate held more than kCertificateNameCountMax names, or a name
    // over its size limit: find_sip_identities() then finds none (fail closed).
    bool truncated = false;
};

// Which rule of RFC 5922 §7.1 produced the identities.
enum class IdentitySource : uint8_t {
    kNone,        // no SIP domain identity: the peer is authenticated for no domain
    kSipUri,      // SAN URIs with scheme sip and no user part (step 1, URI)
    kDnsName,     // SAN dNSNames, because no sip URI exists (step 1, DNS)
    kCommonName,  // the subject CN, because there is no subjectAltName (step 2)
    kIpAddress,   // only iPAddress SANs (IpAddressSanPolicy::kAccept)
};
std::string_view identity_source_name(IdentitySource source);

enum class IdentityKind : uint8_t {
    kDnsName,
    kIpAddress,
};

struct SipIdentity {
    IdentityKind kind = IdentityKind::kDnsName;
    // kDnsName: ASCII lower case, otherwise as in the certificate (a wildcard
    // stays a literal). kIpAddress: canonical text, "192.0.2.1" or RFC 5952
    // "2001:db8::1" (no brackets).
    std::string name;

    friend bool operator==(const SipIdentity&, const SipIdentity&) = default;
};

struct SipIdentities {
    // kNone exactly when `identities` is empty.
    IdentitySource source = IdentitySource::kNone;
    std::vector<SipIdentity> identities;

    bool empty() const { return identities.empty(); }
};

enum class CommonNamePolicy : uint8_t {
    // RFC 5922 §7.1 step 2 (a MAY, for older certificates): a valid DNS name
    // in the CN counts when the certificate has no subjectAltName extension.
    kWhenNoSubjectAltName,
    kNever,
};

enum class IpAddressSanPolicy : uint8_t {
    // RFC 5922 §7.1: only URI and dNSName entries encode a SIP identity.
    kIgnore,
    // Also accept iPAddress entries, for peers dialled by IP address whose CA
    // writes the address there (RFC 6125 practice, not RFC 5922).
    kAccept,
};

struct IdentityPolicy {
    CommonNamePolicy common_name = CommonNamePolicy::kWhenNoSubjectAltName;
    IpAddressSanPolicy ip_address_san = IpAddressSanPolicy::kIgnore;
};

// RFC 5922 §7.1: the SIP domain identities of a certificate that already
// passed RFC 5280 validation (the caller's job). Identities are unique and in
// certificate order.
SipIdentities find_sip_identities(const CertificateNames& names,
                                  const IdentityPolicy& policy = IdentityPolicy{});

enum class [[nodiscard]] MatchResult : uint8_t{
    kMatch,       // the host equals one of the identities
    kNoMatch,     // the certificate has identities; none equals the host
    kNoIdentity,  // the certificate has no SIP identity (§7.3: not authenticated)
    kBadHost,     // the host is not a host name or IP literal ("*.example.com", "a..b", "")
};
std::string_view match_result_name(MatchResult result);

// RFC 5922 §7.2 / §7.3: whether `host`, as written in a URI or Via sent-by
// ("example.com", "example.com.", "192.0.2.1", "[2001:db8::1]", and a bare
// "2001:db8::1"), equals one of `identities`. Host names compare as whole DNS
// names, ignoring ASCII case; one trailing dot of `host` is ignored (the
// absolute form of the same name); IP addresses compare by value.
MatchResult match_sip_identity(const SipIdentities& identities, std::string_view host);

// The comparable form of a host as written in a URI or Via sent-by, the one
// match_sip_identity() compares: a host name in ASCII lower case without its
// trailing dot ("Example.COM." gives "example.com"), an IP address in
// canonical text ("[2001:DB8:0::1]" and "2001:db8::1" give "2001:db8::1").
// nullopt when `host` is neither (a port, a wildcard, an empty label, a
// non-ASCII byte).
std::optional<SipIdentity> canonical_host(std::string_view host);

// RFC 5922 §7.2 for two DNS names: ASCII case-insensitive, whole names; no
// suffix and no wildcard matching ("*.example.com" equals only itself).
bool dns_name_equal(std::string_view a, std::string_view b);

}  // namespace fe::tls
