// Fuzzes the RFC 5922 identity rules (core/tls/peer_identity.h) with arbitrary
// certificate names and claimed hosts. The input is lines: the first byte of
// the input sets flags (bit 0: the certificate has a subjectAltName, bit 1:
// truncated, bit 2: CN policy kNever, bit 3: accept iPAddress SANs); each
// following line is a type letter and a value: U (SAN URI), D (dNSName),
// I (iPAddress text), C (Common Name), H (a host to match). Checks the
// contracts of find_sip_identities() and match_sip_identity():
//   - no identity exactly when the source is kNone; none when truncated;
//   - the CN is used only without a subjectAltName (§7.1 step 2), dNSNames
//     only when no sip URI without user part exists (§7.1 step 1);
//   - DNS identities are lower case; IP identities are canonical text;
//   - a match never involves a wildcard, is case-insensitive, and names an
//     identity equal to the host (§7.2 whole-name comparison).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/endpoint.h"
#include "core/base/strings.h"
#include "core/tls/peer_identity.h"

namespace {

using fe::tls::CertificateNames;
using fe::tls::IdentityKind;
using fe::tls::IdentitySource;
using fe::tls::MatchResult;
using fe::tls::SipIdentities;

void check(bool ok) {
    if (!ok) {
        abort();
    }
}

bool has_sip_domain_uri(const CertificateNames& names) {
    for (const std::string& uri : names.uris) {
        if (fe::starts_with_ignore_case(uri, "sip:") && uri.find('@') == std::string::npos) {
            return true;
        }
    }
    return false;
}

void check_identities(const CertificateNames& names, const SipIdentities& ids) {
    check(ids.empty() == (ids.source == IdentitySource::kNone));
    if (names.truncated) {
        check(ids.empty());
    }
    if (ids.source == IdentitySource::kCommonName) {
        check(!names.has_subject_alt_name);
    }
    if (ids.source == IdentitySource::kDnsName) {
        check(names.has_subject_alt_name && !has_sip_domain_uri(names));
    }
    for (const fe::tls::SipIdentity& id : ids.identities) {
        check(!id.name.empty());
        if (id.kind == IdentityKind::kDnsName) {
            for (char c : id.name) {
                check(!(c >= 'A' && c <= 'Z'));
            }
        } else {
            std::optional<fe::Endpoint> e = fe::Endpoint::parse(id.name);
            check(e.has_value() && e->address_string() == id.name);
        }
    }
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 32);
        }
    }
    return out;
}

void check_match(const SipIdentities& ids, std::string_view host) {
    MatchResult r = fe::tls::match_sip_identity(ids, host);
    check(fe::tls::match_sip_identity(ids, upper(host)) == r);
    if (r == MatchResult::kNoIdentity) {
        check(ids.empty());
    }
    if (r != MatchResult::kMatch) {
        return;
    }
    check(host.find('*') == std::string_view::npos);
    // A host name (not an address) matches an identity equal to it, whole.
    if (!host.empty() && host.front() != '[' && host.find(':') == std::string_view::npos &&
        !fe::Endpoint::parse(host)) {
        std::string_view name = host;
        if (name.back() == '.') {
            name.remove_suffix(1);
        }
        bool found = false;
        for (const fe::tls::SipIdentity& id : ids.identities) {
            found = found ||
                    (id.kind == IdentityKind::kDnsName && fe::equals_ignore_case(id.name, name));
        }
        check(found);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    CertificateNames names;
    names.has_subject_alt_name = (data[0] & 1) != 0;
    names.truncated = (data[0] & 2) != 0;
    fe::tls::IdentityPolicy policy;
    if ((data[0] & 4) != 0) {
        policy.common_name = fe::tls::CommonNamePolicy::kNever;
    }
    if ((data[0] & 8) != 0) {
        policy.ip_address_san = fe::tls::IpAddressSanPolicy::kAccept;
    }
    std::vector<std::string> hosts;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    while (!rest.empty()) {
        size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (line.empty()) {
            continue;
        }
        std::string value(line.substr(1));
        switch (line[0]) {
            case 'U':
                names.uris.push_back(value);
                break;
            case 'D':
                names.dns_names.push_back(value);
                break;
            case 'I':
                names.ip_addresses.push_back(value);
                break;
            case 'C':
                names.common_names.push_back(value);
                break;
            default:
                hosts.push_back(value);
                break;
        }
    }
    SipIdentities ids = fe::tls::find_sip_identities(names, policy);
    check_identities(names, ids);
    for (const std::string& host : hosts) {
        check_match(ids, host);
    }
    return 0;
}
