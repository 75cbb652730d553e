// Checks core/tls/peer_identity.h, the RFC 5922 identity rules, with tables:
// which SIP domain identities a certificate's names give (RFC 5922 §7.1, CR-12,
// CR-29, CR-41) and whether a claimed or dialled host matches them (§7.2,
// §7.3, CR-11, CR-39, CR-42, CR-45). Each row names the rule it covers. The
// names are written by hand here; tests/unit/net/tls checks that the same
// names come out of real certificates.
#include "core/tls/peer_identity.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fe::tls {
namespace {

SipIdentity dns(std::string name) {
    return SipIdentity{IdentityKind::kDnsName, std::move(name)};
}
SipIdentity ip(std::string name) {
    return SipIdentity{IdentityKind::kIpAddress, std::move(name)};
}

struct FindCase {
    const char* rule;
    CertificateNames names;
    IdentityPolicy policy;
    IdentitySource source;
    std::vector<SipIdentity> identities;
};

CertificateNames san(std::vector<std::string> uris, std::vector<std::string> dns_names = {},
                     std::vector<std::string> cns = {}) {
    CertificateNames n;
    n.has_subject_alt_name = true;
    n.uris = std::move(uris);
    n.dns_names = std::move(dns_names);
    n.common_names = std::move(cns);
    return n;
}

CertificateNames cn_only(std::vector<std::string> cns) {
    CertificateNames n;
    n.common_names = std::move(cns);
    return n;
}

IdentityPolicy no_cn() {
    IdentityPolicy p;
    p.common_name = CommonNamePolicy::kNever;
    return p;
}

IdentityPolicy accept_ip_san() {
    IdentityPolicy p;
    p.ip_address_san = IpAddressSanPolicy::kAccept;
    return p;
}

CertificateNames with_ips(CertificateNames n, std::vector<std::string> ips) {
    n.ip_addresses = std::move(ips);
    return n;
}

CertificateNames truncated(CertificateNames n) {
    n.truncated = true;
    return n;
}

const std::vector<FindCase>& find_cases() {
    static const std::vector<FindCase> cases = {
        {"CR-12/CR-29 §7.1 URI: sip URIs without user give their hosts",
         san({"sip:example.net", "sip:p2.example.net"}),
         {},
         IdentitySource::kSipUri,
         {dns("example.net"), dns("p2.example.net")}},
        {"CR-41 §7.1 URI: a sip URI suppresses every dNSName",
         san({"sip:example.com"}, {"other.example.com"}),
         {},
         IdentitySource::kSipUri,
         {dns("example.com")}},
        {"CR-41 §7.1 URI: a user part names a user, not a domain; the dNSName counts",
         san({"sip:alice@example.com"}, {"example.com"}),
         {},
         IdentitySource::kDnsName,
         {dns("example.com")}},
        {"CR-41 §7.1 URI: sips:, http: and tel: are not SIP domain identities",
         san({"sips:secure.example.com", "http://example.com/", "tel:+15551234"},
             {"dns.example.com"}),
         {},
         IdentitySource::kDnsName,
         {dns("dns.example.com")}},
        {"§7.1 note: URI scheme tokens are case-insensitive",
         san({"SIP:Example.COM"}),
         {},
         IdentitySource::kSipUri,
         {dns("example.com")}},
        {"§7.2: port and parameters are not part of the identity",
         san({"sip:example.com:5061;transport=tls"}),
         {},
         IdentitySource::kSipUri,
         {dns("example.com")}},
        {"§7.1 URI: an IP host in a sip URI is an identity for that address",
         san({"sip:192.0.2.1", "sip:[2001:DB8:0::1]"}),
         {},
         IdentitySource::kSipUri,
         {ip("192.0.2.1"), ip("2001:db8::1")}},
        {"policy: a sip URI whose host does not parse gives nothing and still hides the dNSNames",
         san({"sip:exa mple.com"}, {"dns.example.com"}),
         {},
         IdentitySource::kNone,
         {}},
        {"§7.1 DNS: used when no sip URI exists, lower-cased",
         san({}, {"SIP.Example.COM", "b.example.com"}),
         {},
         IdentitySource::kDnsName,
         {dns("sip.example.com"), dns("b.example.com")}},
        {"§7.2 wildcards: a wildcard dNSName is kept as a literal name",
         san({}, {"*.example.org"}),
         {},
         IdentitySource::kDnsName,
         {dns("*.example.org")}},
        {"robustness: dNSNames with NUL, space or non-ASCII bytes are dropped",
         san({}, {std::string("a\0b.example.com", 15), "a b.example.com", "\xc3\xa9.example.com",
                  "ok.example.com"}),
         {},
         IdentitySource::kDnsName,
         {dns("ok.example.com")}},
        {"unique: the same identity twice is kept once",
         san({"sip:example.com", "sip:EXAMPLE.com"}),
         {},
         IdentitySource::kSipUri,
         {dns("example.com")}},
        {"CR-41 §7.1 step 2: the CN counts when there is no subjectAltName",
         cn_only({"Legacy.Example.com"}),
         {},
         IdentitySource::kCommonName,
         {dns("legacy.example.com")}},
        {"CR-41 §7.1 step 2: no CN when a subjectAltName exists, even with no usable entry",
         san({}, {}, {"legacy.example.com"}),
         {},
         IdentitySource::kNone,
         {}},
        {"§7.1 step 2: the CN is a MAY; policy kNever ignores it",
         cn_only({"legacy.example.com"}),
         no_cn(),
         IdentitySource::kNone,
         {}},
        {"§7.1 step 2: only a valid DNS name in the CN counts",
         cn_only({"*.example.com", "192.0.2.1", "Example Corp"}),
         {},
         IdentitySource::kNone,
         {}},
        {"§7.1: iPAddress SANs are not SIP identities by default",
         with_ips(san({}, {}), {"192.0.2.9"}),
         {},
         IdentitySource::kNone,
         {}},
        {"policy kAccept: iPAddress SANs become IP identities",
         with_ips(san({}, {}), {"192.0.2.9", "2001:db8::9", "not-an-ip"}),
         accept_ip_san(),
         IdentitySource::kIpAddress,
         {ip("192.0.2.9"), ip("2001:db8::9")}},
        {"policy kAccept: IP identities join the sip URI ones",
         with_ips(san({"sip:example.com"}), {"192.0.2.9"}),
         accept_ip_san(),
         IdentitySource::kSipUri,
         {dns("example.com"), ip("192.0.2.9")}},
        {"limits: a truncated name list yields no identity (fail closed)",
         truncated(san({"sip:example.com"})),
         {},
         IdentitySource::kNone,
         {}},
    };
    return cases;
}

TEST(FindSipIdentitiesTest, Table) {
    for (const FindCase& c : find_cases()) {
        SipIdentities got = find_sip_identities(c.names, c.policy);
        EXPECT_EQ(got.source, c.source) << c.rule << ": " << identity_source_name(got.source);
        EXPECT_EQ(got.identities, c.identities) << c.rule;
        EXPECT_EQ(got.empty(), got.source == IdentitySource::kNone) << c.rule;
    }
}

struct MatchCase {
    const char* rule;
    std::vector<std::string> cert_uris;
    std::vector<std::string> cert_dns;
    const char* host;
    MatchResult result;
};

const std::vector<MatchCase>& match_cases() {
    static const std::vector<MatchCase> cases = {
        {"CR-42 §7.2: case-insensitive whole-name match",
         {"sip:example.com"},
         {},
         "EXAMPLE.Com",
         MatchResult::kMatch},
        {"CR-12 §5: any cached identity matches",
         {"sip:example.net", "sip:p2.example.net"},
         {},
         "p2.example.net",
         MatchResult::kMatch},
        {"CR-42 §7.2: no suffix match",
         {"sip:example.com"},
         {},
         "foo.example.com",
         MatchResult::kNoMatch},
        {"CR-42 §7.2: no prefix match either",
         {"sip:foo.example.com"},
         {},
         "example.com",
         MatchResult::kNoMatch},
        {"CR-39 §7.3: a certificate for p2.example.net does not authenticate example.net",
         {"sip:p2.example.net"},
         {},
         "example.net",
         MatchResult::kNoMatch},
        {"CR-45 §9.3: an identity for example.com does not carry example.net",
         {"sip:example.com"},
         {},
         "example.net",
         MatchResult::kNoMatch},
        {"CR-42 §7.2: *.example.com does not match a.example.com",
         {},
         {"*.example.com"},
         "a.example.com",
         MatchResult::kNoMatch},
        {"CR-42 §7.2: a leading dot is no wildcard either",
         {},
         {".example.com"},
         "foo.example.com",
         MatchResult::kNoMatch},
        {"§7.2: a wildcard is not a host anyone can claim",
         {},
         {"*.example.com"},
         "*.example.com",
         MatchResult::kBadHost},
        {"§7.2: the absolute form (trailing dot) is the same name",
         {"sip:example.com"},
         {},
         "example.com.",
         MatchResult::kMatch},
        {"§7.1 DNS: dNSNames match when no sip URI exists",
         {},
         {"sip.example.com"},
         "SIP.example.com",
         MatchResult::kMatch},
        {"§7.1 URI: a dNSName hidden by a sip URI does not match",
         {"sip:example.com"},
         {"www.example.com"},
         "www.example.com",
         MatchResult::kNoMatch},
        {"IP: a sip URI identity with an IPv4 host",
         {"sip:192.0.2.1"},
         {},
         "192.0.2.1",
         MatchResult::kMatch},
        {"IP: IPv6 compares by value, bracketed",
         {"sip:[2001:db8:0:0::1]"},
         {},
         "[2001:DB8::1]",
         MatchResult::kMatch},
        {"IP: IPv6 compares by value, bare",
         {"sip:[2001:db8::1]"},
         {},
         "2001:db8::1",
         MatchResult::kMatch},
        {"IP: another address does not match",
         {"sip:192.0.2.1"},
         {},
         "192.0.2.2",
         MatchResult::kNoMatch},
        {"IP: a dNSName that reads like an address is a name, not an address",
         {},
         {"192.0.2.1"},
         "192.0.2.1",
         MatchResult::kNoMatch},
        {"IDN: A-labels compare as ASCII",
         {"sip:xn--bcher-kva.example"},
         {},
         "XN--BCHER-KVA.example",
         MatchResult::kMatch},
        {"IDN: a U-label is not a host we compare (pass A-labels)",
         {"sip:xn--bcher-kva.example"},
         {},
         "b\xc3\xbc"
         "cher.example",
         MatchResult::kBadHost},
        {"§7.3: no identity means not authenticated",
         {"sip:alice@example.com"},
         {},
         "example.com",
         MatchResult::kNoIdentity},
        {"bad host: empty", {"sip:example.com"}, {}, "", MatchResult::kBadHost},
        {"bad host: empty label", {"sip:example.com"}, {}, "a..example.com", MatchResult::kBadHost},
        {"bad host: a port is not part of a host",
         {"sip:example.com"},
         {},
         "example.com:5061",
         MatchResult::kBadHost},
        {"bad host: an IPv4 address in brackets",
         {"sip:192.0.2.1"},
         {},
         "[192.0.2.1]",
         MatchResult::kBadHost},
    };
    return cases;
}

TEST(MatchSipIdentityTest, Table) {
    for (const MatchCase& c : match_cases()) {
        SipIdentities ids = find_sip_identities(san(c.cert_uris, c.cert_dns));
        MatchResult got = match_sip_identity(ids, c.host);
        EXPECT_EQ(got, c.result) << c.rule << ": got " << match_result_name(got);
    }
}

TEST(MatchSipIdentityTest, CommonNameIdentityMatchesLikeAnyOther) {
    // CR-41: a certificate without subjectAltName, dialled by its CN.
    SipIdentities ids = find_sip_identities(cn_only({"legacy.example.com"}));
    EXPECT_EQ(match_sip_identity(ids, "legacy.example.com"), MatchResult::kMatch);
    EXPECT_EQ(match_sip_identity(ids, "example.com"), MatchResult::kNoMatch);
}

TEST(MatchSipIdentityTest, IpAddressSanOnlyWithPolicy) {
    CertificateNames names = with_ips(san({}, {"p1.example.com"}), {"192.0.2.7"});
    EXPECT_EQ(match_sip_identity(find_sip_identities(names), "192.0.2.7"), MatchResult::kNoMatch);
    EXPECT_EQ(match_sip_identity(find_sip_identities(names, accept_ip_san()), "192.0.2.7"),
              MatchResult::kMatch);
}

TEST(DnsNameEqualTest, WholeNamesIgnoringAsciiCase) {
    EXPECT_TRUE(dns_name_equal("Example.COM", "example.com"));
    EXPECT_FALSE(dns_name_equal("example.com", "example.com.au"));
    EXPECT_FALSE(dns_name_equal("foo.example.com", "example.com"));
    EXPECT_TRUE(dns_name_equal("*.example.com", "*.example.com"));  // §7.2: only itself
    EXPECT_FALSE(dns_name_equal("*.example.com", "foo.example.com"));
    EXPECT_FALSE(dns_name_equal("\xc3\x89.example", "\xc3\xa9.example"));  // ASCII rules only
}

}  // namespace
}  // namespace fe::tls
