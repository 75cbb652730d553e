#include "core/tls/peer_identity.h"

#include <algorithm>
#include <optional>

#include "core/base/endpoint.h"
#include "core/base/strings.h"
#include "core/syntax/host.h"
#include "core/syntax/uri.h"
#include "core/tls/limits.h"

namespace fe::tls {

namespace {

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = ascii_lower(c);
    }
    return out;
}

// Printable ASCII without spaces: what a dNSName (an IA5String in "preferred
// name syntax", RFC 5280 §4.2.1.6) can hold and we can compare. Anything else
// (NUL, controls, bytes >= 0x80) is not a name we will ever match.
bool is_printable_name(std::string_view s) {
    if (s.empty() || s.size() > kCertificateDnsNameSizeMax) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Canonical text of an IP address ("[2001:DB8::1]", "2001:db8::1",
// "010.0.0.1"), or nullopt when `host` is not exactly one (no port, no
// brackets around an IPv4 address).
std::optional<std::string> canonical_ip(std::string_view host) {
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    const std::string_view address = syntax::host_address(host);
    if (address.find_first_of("[]") != std::string_view::npos) {
        return std::nullopt;
    }
    std::optional<Endpoint> ip = Endpoint::parse(address);
    if (!ip) {
        return std::nullopt;
    }
    // Endpoint::parse() also reads "192.0.2.1:0" (a port); an address has a
    // colon exactly when it is IPv6.
    const bool has_colon = address.find(':') != std::string_view::npos;
    if (has_colon != ip->is_v6() || (bracketed && !ip->is_v6())) {
        return std::nullopt;
    }
    return ip->address_string();
}

void add_unique(std::vector<SipIdentity>& out, SipIdentity identity) {
    if (std::find(out.begin(), out.end(), identity) == out.end()) {
        out.push_back(std::move(identity));
    }
}

// A SAN URI with scheme sip and no user part: its host, canonical. Sets
// `is_sip_domain_uri` for every such URI, even one whose host we cannot use.
std::optional<SipIdentity> sip_uri_identity(std::string_view uri, bool& is_sip_domain_uri) {
    is_sip_domain_uri = false;
    if (!starts_with_ignore_case(uri, "sip:")) {
        return std::nullopt;  // sips:, tel:, http: ... are never SIP domain identities
    }
    if (uri.find('@') != std::string_view::npos) {
        return std::nullopt;  // a user part names a user, not a domain
    }
    is_sip_domain_uri = true;
    if (uri.size() > kCertificateUriSizeMax) {
        return std::nullopt;
    }
    // The scheme is case-insensitive; our URI parser may want it in lower case.
    std::string text = "sip:";
    text.append(uri.substr(4));
    syntax::Uri parsed;
    if (syntax::parse_uri(text, parsed) != syntax::Error::kOk || parsed.has_user() ||
        parsed.has_password) {
        return std::nullopt;
    }
    return canonical_host(parsed.host);
}

void add_sip_uri_identities(const CertificateNames& names, SipIdentities& out) {
    bool any_sip_domain_uri = false;
    for (const std::string& uri : names.uris) {
        bool is_sip_domain_uri = false;
        std::optional<SipIdentity> identity = sip_uri_identity(uri, is_sip_domain_uri);
        any_sip_domain_uri = any_sip_domain_uri || is_sip_domain_uri;
        if (identity) {
            add_unique(out.identities, std::move(*identity));
        }
    }
    if (any_sip_domain_uri) {
        out.source = IdentitySource::kSipUri;
    }
}

void add_dns_name_identities(const CertificateNames& names, SipIdentities& out) {
    for (const std::string& dns : names.dns_names) {
        if (is_printable_name(dns)) {
            add_unique(out.identities, SipIdentity{IdentityKind::kDnsName, lower_ascii(dns)});
        }
    }
    out.source = IdentitySource::kDnsName;
}

void add_common_name_identities(const CertificateNames& names, SipIdentities& out) {
    for (const std::string& cn : names.common_names) {
        std::optional<SipIdentity> identity = canonical_host(cn);
        // "If a valid DNS name is found there": an IP address is not one.
        if (identity && identity->kind == IdentityKind::kDnsName) {
            add_unique(out.identities, std::move(*identity));
        }
    }
    out.source = IdentitySource::kCommonName;
}

void add_ip_address_identities(const CertificateNames& names, SipIdentities& out) {
    bool added = false;
    for (const std::string& text : names.ip_addresses) {
        if (std::optional<std::string> ip = canonical_ip(text)) {
            add_unique(out.identities, SipIdentity{IdentityKind::kIpAddress, *ip});
            added = true;
        }
    }
    if (added && out.source == IdentitySource::kNone) {
        out.source = IdentitySource::kIpAddress;
    }
}

}  // namespace

std::string_view identity_source_name(IdentitySource source) {
    switch (source) {
        case IdentitySource::kNone:
            return "none";
        case IdentitySource::kSipUri:
            return "sip-uri";
        case IdentitySource::kDnsName:
            return "dns-name";
        case IdentitySource::kCommonName:
            return "common-name";
        case IdentitySource::kIpAddress:
            return "ip-address";
    }
    return "unknown";
}

std::string_view match_result_name(MatchResult result) {
    switch (result) {
        case MatchResult::kMatch:
            return "match";
        case MatchResult::kNoMatch:
            return "no-match";
        case MatchResult::kNoIdentity:
            return "no-identity";
        case MatchResult::kBadHost:
            return "bad-host";
    }
    return "unknown";
}

SipIdentities find_sip_identities(const CertificateNames& names, const IdentityPolicy& policy) {
    SipIdentities out;
    if (names.truncated) {
        return out;
    }
    add_sip_uri_identities(names, out);
    if (out.source == IdentitySource::kNone) {
        if (names.has_subject_alt_name) {
            add_dns_name_identities(names, out);
        } else if (policy.common_name == CommonNamePolicy::kWhenNoSubjectAltName) {
            add_common_name_identities(names, out);
        }
    }
    if (out.identities.empty()) {
        out.source = IdentitySource::kNone;
    }
    if (policy.ip_address_san == IpAddressSanPolicy::kAccept) {
        add_ip_address_identities(names, out);
    }
    return out;
}

bool dns_name_equal(std::string_view a, std::string_view b) {
    return equals_ignore_case(a, b);
}

std::optional<SipIdentity> canonical_host(std::string_view host) {
    if (!host.empty() && host.front() != '[' && host.find(':') != std::string_view::npos) {
        // A bare IPv6 address, as an Endpoint prints it; URIs and Vias bracket it.
        if (std::optional<std::string> ip = canonical_ip(host)) {
            return SipIdentity{IdentityKind::kIpAddress, *ip};
        }
        return std::nullopt;
    }
    syntax::HostKind kind = syntax::HostKind::kNone;
    if (syntax::parse_host(host, kind) != syntax::Error::kOk) {
        return std::nullopt;
    }
    if (kind == syntax::HostKind::kHostname) {
        if (host.back() == '.') {
            host.remove_suffix(1);
        }
        return SipIdentity{IdentityKind::kDnsName, lower_ascii(host)};
    }
    std::optional<std::string> ip = canonical_ip(host);
    if (!ip) {
        return std::nullopt;
    }
    return SipIdentity{IdentityKind::kIpAddress, *ip};
}

MatchResult match_sip_identity(const SipIdentities& identities, std::string_view host) {
    std::optional<SipIdentity> claimed = canonical_host(host);
    if (!claimed) {
        return MatchResult::kBadHost;
    }
    if (identities.empty()) {
        return MatchResult::kNoIdentity;
    }
    for (const SipIdentity& identity : identities.identities) {
        if (identity.kind != claimed->kind) {
            continue;
        }
        // Both sides are canonical: names in lower case, addresses in one text
        // form. dns_name_equal() still ignores case, so an identity built by
        // hand compares the same way.
        if (dns_name_equal(identity.name, claimed->name)) {
            return MatchResult::kMatch;
        }
    }
    return MatchResult::kNoMatch;
}

}  // namespace fe::tls
