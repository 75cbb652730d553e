// Checks core/reuse/alias_decision.h, RFC 5923 reuse bound to the peer's
// certificate, with tables: every row names the CR-xx requirement
// (../shared/spec/connection-reuse-requirements.md) or RFC section it covers.
// Certificates are given by their names (core/tls CertificateNames), which
// tests/unit/net/tls checks come out of real certificates the same way.
#include "core/reuse/alias_decision.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/reuse/limits.h"

namespace fe::reuse {
namespace {

using tls::CertificateNames;
using tls::IdentityPolicy;
using tls::IpAddressSanPolicy;

CertificateNames san_uris(std::vector<std::string> uris, std::vector<std::string> dns_names = {},
                          std::vector<std::string> ips = {}) {
    CertificateNames n;
    n.has_subject_alt_name = true;
    n.uris = std::move(uris);
    n.dns_names = std::move(dns_names);
    n.ip_addresses = std::move(ips);
    return n;
}

CertificateNames san_dns(std::vector<std::string> dns_names) {
    return san_uris({}, std::move(dns_names));
}

CertificateNames san_ips(std::vector<std::string> ips) {
    return san_uris({}, {}, std::move(ips));
}

CertificateNames cn_only(std::string cn) {
    CertificateNames n;
    n.common_names = {std::move(cn)};
    return n;
}

// P1 of RFC 5923 §5: sip:example.com, sip:p1.example.com.
CertificateNames p1_cert() {
    return san_uris({"sip:example.com", "sip:p1.example.com"});
}

constexpr PeerAuthentication kVerified = PeerAuthentication::kVerified;
constexpr PeerAuthentication kNone = PeerAuthentication::kNone;
constexpr PeerAuthentication kUnverified = PeerAuthentication::kUnverified;

struct AliasCase {
    const char* rule;
    std::string via;
    Transport transport = Transport::kTls;
    PeerAuthentication authentication = kVerified;
    CertificateNames names;
    IdentityPolicy policy = IdentityPolicy{};
    AliasVerdict verdict;
    std::string key_host = "";  // expected when kAlias
    uint16_t key_port = 0;
};

std::vector<AliasCase> alias_cases() {
    const std::string b = ";branch=z9hG4bKa7c8dze";
    const std::string p1 = "SIP/2.0/TLS p1.example.com" + b;
    IdentityPolicy ip_san;
    ip_san.ip_address_san = IpAddressSanPolicy::kAccept;
    return {
        // The §5 walk-through: P2 receives P1's request, P1's certificate verified.
        {"CR-22 CR-28 CR-29 CR-30 §5 walk-through",
         p1 + ";alias;received=192.0.2.1",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-27 sent-by port is the row's port",
         "SIP/2.0/TLS p1.example.com:5071" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5071},
        {"CR-27 no port: 5061",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         kTlsDefaultPort},
        {"CR-30 received/rport: the row names the sent-by port, not the source port",
         "SIP/2.0/TLS p1.example.com:5061" + b + ";rport=40312;received=198.51.100.7;alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-01 alias flag case-insensitive",
         p1 + ";ALIAS",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-01 alias=value is not the flag",
         p1 + ";alias=yes",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kNoAliasParam},
        {"CR-01 no alias: nothing",
         p1,
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kNoAliasParam},
        // Transport (CR-43, CR-44, spec §1.2).
        {"CR-44 plain TCP never aliased",
         "SIP/2.0/TCP p1.example.com" + b + ";alias",
         Transport::kTcp,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kNotTls},
        {"CR-44 TCP with a TLS Via still refused",
         p1 + ";alias",
         Transport::kTcp,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kNotTls},
        {"CR-44 UDP never aliased",
         "SIP/2.0/UDP p1.example.com" + b + ";alias",
         Transport::kUdp,
         kNone,
         {},
         {},
         AliasVerdict::kNotTls},
        {"spec §1 WS not aliased",
         "SIP/2.0/WS p1.example.com" + b + ";alias",
         Transport::kWs,
         kNone,
         {},
         {},
         AliasVerdict::kNotTls},
        {"spec §1 WSS not aliased (not in RFC 5923)",
         "SIP/2.0/WSS p1.example.com" + b + ";alias",
         Transport::kWss,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kNotTls},
        {"CR-43 TLS connection, Via says TCP",
         "SIP/2.0/TCP p1.example.com" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kViaNotTls},
        {"CR-43 TLS connection, Via says SCTP",
         "SIP/2.0/SCTP p1.example.com" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kViaNotTls},
        // Authentication (CR-28, CR-37, CR-38, CR-40, RFC 5922 §7.3).
        {"CR-37 CR-38 no client certificate",
         p1 + ";alias",
         Transport::kTls,
         kNone,
         {},
         {},
         AliasVerdict::kNoCertificate},
        {"CR-40 expired/untrusted certificate",
         p1 + ";alias",
         Transport::kTls,
         kUnverified,
         p1_cert(),
         {},
         AliasVerdict::kUnverified},
        {"RFC 5922 §7.3 verified but no SIP identity (user part only)",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sip:alice@p1.example.com"}),
         {},
         AliasVerdict::kNoIdentity},
        {"CR-41 sips: URI is no identity",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sips:p1.example.com"}),
         {},
         AliasVerdict::kNoIdentity},
        // Identity against sent-by (CR-41, CR-42, CR-48).
        {"CR-48 sent-by not in the certificate",
         "SIP/2.0/TLS p9.example.org" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"CR-42 no suffix match",
         "SIP/2.0/TLS a.p1.example.com" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"CR-42 no parent match",
         "SIP/2.0/TLS com" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"CR-42 wildcard dNSName matches nothing",
         "SIP/2.0/TLS a.example.com" + b + ";alias",
         Transport::kTls,
         kVerified,
         san_dns({"*.example.com"}),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"CR-42 case-insensitive host",
         "SIP/2.0/TLS P1.EXAMPLE.Com" + b + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sip:p1.Example.COM"}),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-42 absolute name (trailing dot) is the same name",
         "SIP/2.0/TLS p1.example.com.:5062" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5062},
        {"CR-41 SAN dNSName counts without a sip URI",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         san_dns({"p1.example.com"}),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-41 dNSName ignored when a sip URI exists",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sip:example.com"}, {"p1.example.com"}),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"CR-41 CN only without any subjectAltName",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         cn_only("p1.example.com"),
         {},
         AliasVerdict::kAlias,
         "p1.example.com",
         5061},
        {"CR-41 CN ignored when a subjectAltName exists",
         p1 + ";alias",
         Transport::kTls,
         kVerified,
         [] {
             CertificateNames n = san_dns({"other.example.com"});
             n.common_names = {"p1.example.com"};
             return n;
         }(),
         {},
         AliasVerdict::kSentByNotInCertificate},
        // IP sent-by: must match too (stricter than CR-48's IP-literal allowance).
        {"CR-48+ IP sent-by matched by a sip URI identity",
         "SIP/2.0/TLS 192.0.2.1:5061" + b + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sip:192.0.2.1"}),
         {},
         AliasVerdict::kAlias,
         "192.0.2.1",
         5061},
        {"CR-48+ IP sent-by not in a name-only certificate",
         "SIP/2.0/TLS 192.0.2.1" + b + ";alias",
         Transport::kTls,
         kVerified,
         p1_cert(),
         {},
         AliasVerdict::kSentByNotInCertificate},
        {"RFC 5922 iPAddress SAN ignored by default",
         "SIP/2.0/TLS 192.0.2.1" + b + ";alias",
         Transport::kTls,
         kVerified,
         san_ips({"192.0.2.1"}),
         {},
         AliasVerdict::kNoIdentity},
        {"iPAddress SAN accepted by policy", "SIP/2.0/TLS 192.0.2.1" + b + ";alias",
         Transport::kTls, kVerified, san_ips({"192.0.2.1"}), ip_san, AliasVerdict::kAlias,
         "192.0.2.1", 5061},
        {"iPAddress SAN accepted by policy, other address", "SIP/2.0/TLS 192.0.2.2" + b + ";alias",
         Transport::kTls, kVerified, san_ips({"192.0.2.1"}), ip_san,
         AliasVerdict::kSentByNotInCertificate},
        {"IPv6 sent-by compared by value, key canonical",
         "SIP/2.0/TLS [2001:DB8:0::1]:5070" + b + ";alias",
         Transport::kTls,
         kVerified,
         san_uris({"sip:[2001:db8::1]"}),
         {},
         AliasVerdict::kAlias,
         "2001:db8::1",
         5070},
    };
}

TEST(DecideAlias, Table) {
    for (const AliasCase& c : alias_cases()) {
        SCOPED_TRACE(c.rule);
        syntax::Via via;
        ASSERT_EQ(syntax::parse_via(c.via, via), syntax::Error::kOk) << c.via;
        tls::SipIdentities ids = tls::find_sip_identities(c.names, c.policy);
        ReceivedConnection over{c.transport, c.authentication, &ids,
                                *Endpoint::parse("198.51.100.7:40312"), 0};
        AliasDecision d = decide_alias(via, over);
        EXPECT_EQ(alias_verdict_name(d.verdict), alias_verdict_name(c.verdict));
        if (c.verdict == AliasVerdict::kAlias) {
            EXPECT_EQ(d.key.host, c.key_host);
            EXPECT_EQ(d.key.port, c.key_port);
            EXPECT_EQ(d.key.transport, Transport::kTls);
            EXPECT_EQ(d.key.local_identity_index, 0u);
        } else {
            EXPECT_TRUE(d.key.host.empty());  // no key leaks out of a refusal
        }
    }
}

// CR-23, CR-24: with the policy set to ignore, `alias` changes nothing; and the
// same request is still fully acceptable when honoured.
TEST(DecideAlias, IgnoreModeCR23CR24) {
    syntax::Via via;
    ASSERT_EQ(syntax::parse_via("SIP/2.0/TLS p1.example.com;branch=z9hG4bK1;alias", via),
              syntax::Error::kOk);
    tls::SipIdentities ids = tls::find_sip_identities(p1_cert());
    ReceivedConnection over{Transport::kTls, kVerified, &ids, {}, 0};
    AliasOptions ignore;
    ignore.mode = AliasMode::kIgnore;
    EXPECT_EQ(decide_alias(via, over, ignore).verdict, AliasVerdict::kIgnored);
    EXPECT_EQ(decide_alias(via, over).verdict, AliasVerdict::kAlias);
    EXPECT_TRUE(alias_verdict_is_refusal(AliasVerdict::kIgnored));
    EXPECT_FALSE(alias_verdict_is_refusal(AliasVerdict::kNoAliasParam));
    EXPECT_FALSE(alias_verdict_is_refusal(AliasVerdict::kAlias));
}

// RFC 5923 §9.3, CR-45..47: the key carries the virtual server of ours that
// served the connection, so rows of two identities never share a key.
TEST(DecideAlias, LocalIdentityIndexInKeyCR45CR47) {
    syntax::Via via;
    ASSERT_EQ(syntax::parse_via("SIP/2.0/TLS p1.example.com;branch=z9hG4bK1;alias", via),
              syntax::Error::kOk);
    tls::SipIdentities ids = tls::find_sip_identities(p1_cert());
    ReceivedConnection a{Transport::kTls, kVerified, &ids, {}, 0};
    ReceivedConnection b{Transport::kTls, kVerified, &ids, {}, 3};
    AliasDecision da = decide_alias(via, a);
    AliasDecision db = decide_alias(via, b);
    ASSERT_EQ(da.verdict, AliasVerdict::kAlias);
    ASSERT_EQ(db.verdict, AliasVerdict::kAlias);
    EXPECT_EQ(db.key.local_identity_index, 3u);
    EXPECT_NE(da.key, db.key);
}

// Every verdict has a distinct name (they become stat names).
TEST(DecideAlias, VerdictNames) {
    std::vector<std::string_view> names;
    for (size_t i = 0; i < kAliasVerdictCount; ++i) {
        std::string_view n = alias_verdict_name(static_cast<AliasVerdict>(i));
        EXPECT_NE(n, "?");
        for (std::string_view seen : names) {
            EXPECT_NE(seen, n);
        }
        names.push_back(n);
    }
    for (size_t i = 0; i < kOfferVerdictCount; ++i) {
        EXPECT_NE(offer_verdict_name(static_cast<OfferVerdict>(i)), "?");
    }
}

struct OfferCase {
    const char* rule;
    Transport transport;
    PeerAuthentication authentication;
    CertificateNames names;
    std::string dialled_host;
    uint16_t dialled_port;
    PeerReuse reuse;
    OfferVerdict verdict;
    std::string key_host = "";
    uint16_t key_port = 0;
};

TEST(DecideOfferAlias, Table) {
    // P2 of RFC 5923 §5: sip:example.net, sip:p2.example.net.
    CertificateNames p2 = san_uris({"sip:example.net", "sip:p2.example.net"});
    std::vector<OfferCase> cases = {
        {"CR-05 CR-11 CR-12..14 verified server, dialled host named", Transport::kTls, kVerified,
         p2, "example.net", 0, PeerReuse::kOn, OfferVerdict::kOffer, "example.net", 5061},
        {"CR-13 dialled port kept", Transport::kTls, kVerified, p2, "Example.NET", 5071,
         PeerReuse::kOn, OfferVerdict::kOffer, "example.net", 5071},
        {"decision 32: an IP literal dialled, matched as a sip URI identity", Transport::kTls,
         kVerified, san_uris({"sip:192.0.2.128"}), "192.0.2.128", 5061, PeerReuse::kOn,
         OfferVerdict::kOffer, "192.0.2.128", 5061},
        {"CR-23 reuse not configured for this peer", Transport::kTls, kVerified, p2, "example.net",
         5061, PeerReuse::kOff, OfferVerdict::kNotConfigured},
        {"CR-44 never over TCP",
         Transport::kTcp,
         kNone,
         {},
         "example.net",
         5060,
         PeerReuse::kOn,
         OfferVerdict::kNotTls},
        {"CR-44 never over UDP",
         Transport::kUdp,
         kNone,
         {},
         "example.net",
         5060,
         PeerReuse::kOn,
         OfferVerdict::kNotTls},
        {"CR-11 unverified server", Transport::kTls, kUnverified, p2, "example.net", 5061,
         PeerReuse::kOn, OfferVerdict::kUnverified},
        {"CR-11 no server certificate",
         Transport::kTls,
         kNone,
         {},
         "example.net",
         5061,
         PeerReuse::kOn,
         OfferVerdict::kUnverified},
        {"CR-39 certificate for p2.example.net only, dialled example.net", Transport::kTls,
         kVerified, san_uris({"sip:p2.example.net"}), "example.net", 5061, PeerReuse::kOn,
         OfferVerdict::kNoMatch},
        {"CR-42 no suffix match when dialling", Transport::kTls, kVerified, p2, "a.example.net",
         5061, PeerReuse::kOn, OfferVerdict::kNoMatch},
    };
    for (const OfferCase& c : cases) {
        SCOPED_TRACE(c.rule);
        tls::SipIdentities ids = tls::find_sip_identities(c.names);
        DialledConnection dialled{c.transport,    c.authentication, &ids,
                                  c.dialled_host, c.dialled_port,   2};
        OfferDecision d = decide_offer_alias(dialled, c.reuse);
        EXPECT_EQ(offer_verdict_name(d.verdict), offer_verdict_name(c.verdict));
        if (c.verdict == OfferVerdict::kOffer) {
            EXPECT_EQ(d.key.host, c.key_host);
            EXPECT_EQ(d.key.port, c.key_port);
            EXPECT_EQ(d.key.transport, Transport::kTls);
            EXPECT_EQ(d.key.local_identity_index, 2u);  // CR-46 CR-47: our identity in the key
        } else {
            EXPECT_TRUE(d.key.host.empty());
        }
    }
}

}  // namespace
}  // namespace fe::reuse
