// Checks parse_via(): sent-protocol and sent-by (IPv4, IPv6, names, LWS and
// folds of RFC 4475 wsinv), the decoded branch/received/rport/alias/keep/
// maddr/ttl parameters, and one named error per malformed value.
#include "core/syntax/via.h"

#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;
using testing::is_within;

Via parse_ok(std::string_view text) {
    Via via;
    EXPECT_EQ(parse_via(text, via), Error::kOk) << text;
    return via;
}

TEST(ViaTest, TypicalUdpWithRport) {
    Guarded g("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport");
    Via via;
    ASSERT_EQ(parse_via(g.view(), via), Error::kOk);
    EXPECT_EQ(via.protocol_name, "SIP");
    EXPECT_EQ(via.protocol_version, "2.0");
    EXPECT_TRUE(via.is_sip_2_0());
    EXPECT_EQ(via.transport_text, "UDP");
    EXPECT_EQ(via.transport(), Transport::kUdp);
    EXPECT_EQ(via.host, "192.0.2.1");
    EXPECT_EQ(via.host_kind, HostKind::kIpv4);
    EXPECT_EQ(via.port, 5060);
    EXPECT_EQ(via.sent_by, "192.0.2.1:5060");
    EXPECT_EQ(via.branch, "z9hG4bK776asdhds");
    EXPECT_TRUE(via.has_magic_cookie());
    EXPECT_EQ(via.rport, FlagOrValue::kFlag);
    EXPECT_TRUE(is_within(via.branch, g.view()));
    EXPECT_EQ(via.params.find("rport")->range, ";rport");
}

TEST(ViaTest, ResponseParamsReceivedAndRportValue) {
    // RFC 3581 §4 example response Via.
    Via via = parse_ok("SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKa");
    EXPECT_EQ(via.received, "192.0.2.1");
    EXPECT_EQ(via.received_kind, HostKind::kIpv4);
    EXPECT_EQ(via.rport, FlagOrValue::kValue);
    EXPECT_EQ(via.rport_value, 9988);
    via = parse_ok("SIP/2.0/TCP [2001:db8::9]:5060;received=2001:db8::1;branch=z9hG4bKb");
    EXPECT_EQ(via.host, "[2001:db8::9]");
    EXPECT_EQ(via.host_kind, HostKind::kIpv6);
    EXPECT_EQ(via.port, 5060);
    EXPECT_EQ(via.received, "2001:db8::1");
    EXPECT_EQ(via.received_kind, HostKind::kIpv6);
    EXPECT_EQ(parse_ok("SIP/2.0/TCP h;received=[2001:db8::1]").received_kind, HostKind::kIpv6);
}

TEST(ViaTest, AliasFlag) {
    // covers CR-01
    EXPECT_TRUE(parse_ok("SIP/2.0/TLS p1.example.com;branch=z9hG4bKa7c8dze;alias").alias);
    EXPECT_TRUE(parse_ok("SIP/2.0/TLS p1.example.com;branch=z9hG4bKa7c8dze;ALIAS").alias);
    EXPECT_FALSE(parse_ok("SIP/2.0/TLS p1.example.com;branch=z9hG4bKa7c8dze;alias=yes").alias);
    EXPECT_FALSE(parse_ok("SIP/2.0/TLS p1.example.com;branch=z9hG4bKa7c8dze").alias);
}

TEST(ViaTest, KeepFlagAndValue) {
    // covers KA-01
    Via via = parse_ok("SIP/2.0/UDP ua.example.com;branch=z9hG4bK1;keep");
    EXPECT_EQ(via.keep, FlagOrValue::kFlag);
    via = parse_ok("SIP/2.0/UDP ua.example.com;branch=z9hG4bK1;keep=30");
    EXPECT_EQ(via.keep, FlagOrValue::kValue);
    EXPECT_EQ(via.keep_value, 30u);
    via = parse_ok("SIP/2.0/UDP ua.example.com;branch=z9hG4bK1;keep=0");
    EXPECT_EQ(via.keep, FlagOrValue::kValue);
    EXPECT_EQ(via.keep_value, 0u);
    EXPECT_EQ(parse_ok("SIP/2.0/UDP h;keep").keep_value, 0u);
    EXPECT_EQ(parse_ok("SIP/2.0/UDP h").keep, FlagOrValue::kAbsent);
    for (std::string_view bad : {"SIP/2.0/UDP h;keep=abc", "SIP/2.0/UDP h;keep=-1",
                                 "SIP/2.0/UDP h;keep=1000000000000000000000000000000",
                                 "SIP/2.0/UDP h;keep=\"30\""}) {
        Guarded g(bad);
        Via v;
        EXPECT_EQ(parse_via(g.view(), v), Error::kBadKeep) << bad;
    }
    Via v;
    EXPECT_EQ(parse_via("SIP/2.0/UDP h;keep=", v), Error::kBadParamValue);
}

TEST(ViaTest, WhiteSpaceAndFolds) {
    // RFC 4475 3.1.1.1 wsinv.
    Via via = parse_ok("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
    EXPECT_EQ(via.transport_text, "UDP");
    EXPECT_EQ(via.host, "192.0.2.2");
    EXPECT_EQ(via.branch, "390skdjuw");
    EXPECT_FALSE(via.has_magic_cookie());
    via = parse_ok("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8");
    EXPECT_EQ(via.transport(), Transport::kTcp);
    EXPECT_EQ(via.host, "spindle.example.com");
    EXPECT_EQ(via.branch, "z9hG4bK9ikj8");
    EXPECT_TRUE(via.has_magic_cookie());
    via = parse_ok("SIP/2.0/UDP host : 5070 ;branch=z9hG4bKx");
    EXPECT_EQ(via.port, 5070);
    EXPECT_EQ(via.sent_by, "host : 5070");
}

TEST(ViaTest, TransportsAndOtherParams) {
    // RFC 4475 3.1.1.10 transports; RFC 7118 WS/WSS.
    EXPECT_FALSE(parse_ok("SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf").transport());
    EXPECT_EQ(parse_ok("SIP/2.0/SCTP t2.example.com").transport_text, "SCTP");
    EXPECT_EQ(parse_ok("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").transport_text,
              "UNKNOWN");
    EXPECT_EQ(parse_ok("SIP/2.0/TLS t3.example.com").transport(), Transport::kTls);
    EXPECT_EQ(parse_ok("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf").transport(),
              Transport::kWss);
    EXPECT_EQ(parse_ok("sip/2.0/ws h").transport(), Transport::kWs);
    EXPECT_FALSE(parse_ok("SIP/3.0/UDP h").is_sip_2_0());
    // RFC 4475 intmeth branch with unusual token characters; esc02 '%'.
    EXPECT_EQ(parse_ok("SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~").branch,
              "z9hG4bK-.!%66*_+`'~");
    EXPECT_EQ(parse_ok("SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234").branch,
              "z9hG4bK209%fzsnel234");
    // The cookie is case-sensitive.
    EXPECT_FALSE(parse_ok("SIP/2.0/UDP h;branch=Z9HG4BK1").has_magic_cookie());
    // RFC 4475 3.3.10: a broadcast sent-by parses; refusing it is policy.
    EXPECT_EQ(parse_ok("SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1").host_kind, HostKind::kIpv4);
    Via via = parse_ok("SIP/2.0/UDP h;maddr=224.2.0.1;ttl=16;unknown=x;flag");
    EXPECT_EQ(via.maddr, "224.2.0.1");
    EXPECT_EQ(via.maddr_kind, HostKind::kIpv4);
    EXPECT_TRUE(via.has_ttl);
    EXPECT_EQ(via.ttl, 16);
    EXPECT_TRUE(via.params.has("flag"));
    EXPECT_TRUE(via.branch.empty());
}

TEST(ViaTest, InvalidTable) {
    const struct {
        std::string_view text;
        Error error;
    } cases[] = {
        {"", Error::kEmpty},
        {"SIP/2.0/UDP", Error::kMissingSentBy},
        {"SIP/2.0/UDP ", Error::kMissingSentBy},
        {"SIP/2.0 h", Error::kBadSentProtocol},
        {"SIP/2.0/ h", Error::kMissingSentBy},  // SLASH allows LWS: "h" is the transport
        {"SIP//UDP h", Error::kBadSentProtocol},
        {"/2.0/UDP h", Error::kBadSentProtocol},
        {"SIP/2.0/UDP;branch=x", Error::kBadSentProtocol},
        {"SIP/2.0/UDP ;branch=x", Error::kMissingSentBy},
        {"SIP/2.0/UDP h:", Error::kBadPort},
        {"SIP/2.0/UDP h:x", Error::kBadPort},
        {"SIP/2.0/UDP h:70000", Error::kPortOutOfRange},
        {"SIP/2.0/UDP h:0", Error::kPortOutOfRange},
        {"SIP/2.0/UDP 1.2.3.999", Error::kBadIpv4},
        {"SIP/2.0/UDP [1::2::3]", Error::kBadIpv6},
        {"SIP/2.0/UDP [::1", Error::kBadIpv6},
        {"SIP/2.0/UDP -h", Error::kBadHost},
        {"SIP/2.0/UDP h x", Error::kTrailingGarbage},
        {"SIP/2.0/UDP h_x", Error::kTrailingGarbage},
        {"SIP/2.0/UDP h;branch", Error::kBadBranch},
        {"SIP/2.0/UDP h;branch=\"z9hG4bK\"", Error::kBadBranch},
        {"SIP/2.0/UDP h;branch=a;branch=b", Error::kDuplicateParam},
        {"SIP/2.0/UDP h;received", Error::kBadReceived},
        {"SIP/2.0/UDP h;received=example.com", Error::kBadReceived},
        {"SIP/2.0/UDP h;received=1.2.3.4.5", Error::kBadReceived},
        {"SIP/2.0/UDP h;rport=0", Error::kBadRport},
        {"SIP/2.0/UDP h;rport=65536", Error::kBadRport},
        {"SIP/2.0/UDP h;rport=x", Error::kBadRport},
        {"SIP/2.0/UDP h;ttl=256", Error::kBadTtl},
        {"SIP/2.0/UDP h;ttl", Error::kBadTtl},
        {"SIP/2.0/UDP h;maddr=a_b", Error::kBadMaddr},
        {"SIP/2.0/UDP h;maddr", Error::kBadMaddr},
        {"SIP/2.0/UDP h;keep=12x", Error::kBadKeep},
    };
    for (const auto& c : cases) {
        Guarded g(c.text);
        Via via;
        EXPECT_EQ(parse_via(g.view(), via), c.error) << c.text;
        EXPECT_TRUE(via.text.empty());
    }
}

}  // namespace
}  // namespace fe::syntax
