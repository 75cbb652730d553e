// Checks the node's control-plane parsing (cluster/node.h): the token key file
// in both accepted line forms, its errors, the random key without a file, and
// --next-hop URIs turned into an endpoint and a transport (or refused with a
// message naming the fix), TLS by transport=tls or sips: included, and the
// URIs the node forwards to over TLS (cluster/links.h destination_of()).
#include "cluster/node.h"
#include "cluster/links.h"

#include <gtest/gtest.h>

#include <string>

namespace fe::cluster {
namespace {

const std::string kHex1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const std::string kHex2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

TEST(KeyFileTest, ColonFormOldestFirstLastMints) {
    auto ring = parse_key_file("# rotated\n1:" + kHex1 + "\n2:" + kHex2 + "\n");
    ASSERT_TRUE(ring.ok()) << ring.status();
    EXPECT_EQ(ring->key_count(), 2u);
    ASSERT_NE(ring->current(), nullptr);
    EXPECT_EQ(ring->current()->id, 2);
    EXPECT_NE(ring->find(1), nullptr);
}

TEST(KeyFileTest, SpaceFormAsInHelp) {
    auto ring = parse_key_file("7 " + kHex1 + "\n");
    ASSERT_TRUE(ring.ok()) << ring.status();
    EXPECT_EQ(ring->current()->id, 7);
}

TEST(KeyFileTest, ErrorsNameTheFlag) {
    auto short_key = parse_key_file("1:abcd\n");
    ASSERT_FALSE(short_key.ok());
    EXPECT_NE(short_key.status().message().find("--token-key-file"), std::string::npos);
    auto empty = parse_key_file("# nothing\n\n");
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.status().message().find("no key"), std::string::npos);
}

TEST(KeyFileTest, NoFileGivesOneRandomKey) {
    auto a = load_key_ring("");
    auto b = load_key_ring("");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->key_count(), 1u);
    EXPECT_NE(a->current()->secret, b->current()->secret);
    auto missing = load_key_ring("/nonexistent/flowedge.keys");
    EXPECT_FALSE(missing.ok());
}

TEST(NextHopTest, EndpointAndTransport) {
    auto tcp = parse_next_hop("sip:10.0.0.5:5070;transport=tcp");
    ASSERT_TRUE(tcp.ok()) << tcp.status();
    EXPECT_EQ(tcp->endpoint, *Endpoint::parse("10.0.0.5:5070"));
    EXPECT_EQ(tcp->transport, Transport::kTcp);
    auto plain = parse_next_hop("sip:[::1]");
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(plain->endpoint, *Endpoint::parse("[::1]:5060"));
    EXPECT_EQ(plain->transport, Transport::kUdp);
}

// Issue 10: a TLS next hop, by transport=tls or sips: (5061 by default), with
// the host its certificate must name (RFC 5922 §7.3).
TEST(NextHopTest, TlsByParameterOrSipsScheme) {
    auto tls = parse_next_hop("sip:10.0.0.5:5071;transport=tls");
    ASSERT_TRUE(tls.ok()) << tls.status();
    EXPECT_EQ(tls->endpoint, *Endpoint::parse("10.0.0.5:5071"));
    EXPECT_EQ(tls->transport, Transport::kTls);
    EXPECT_EQ(tls->host, "10.0.0.5");
    auto sips = parse_next_hop("sips:[2001:db8::5]");
    ASSERT_TRUE(sips.ok()) << sips.status();
    EXPECT_EQ(sips->endpoint, *Endpoint::parse("[2001:db8::5]:5061"));
    EXPECT_EQ(sips->transport, Transport::kTls);
    EXPECT_EQ(sips->host, "2001:db8::5");
    EXPECT_FALSE(parse_next_hop("sips:10.0.0.5;transport=udp").ok());
}

// URIs the node forwards to on its own: sips: and transport=tls are TLS.
TEST(DestinationTest, TlsUris) {
    Destination d;
    ASSERT_EQ(destination_of("sips:bob@192.0.2.7", d), DestinationError::kOk);
    EXPECT_EQ(d.transport, Transport::kTls);
    EXPECT_EQ(d.endpoint, *Endpoint::parse("192.0.2.7:5061"));
    EXPECT_EQ(d.host, "192.0.2.7");
    ASSERT_EQ(destination_of("sip:bob@192.0.2.7:5081;transport=TLS", d), DestinationError::kOk);
    EXPECT_EQ(d.transport, Transport::kTls);
    EXPECT_EQ(d.endpoint.port, 5081);
    ASSERT_EQ(destination_of("sips:bob@192.0.2.7;transport=tcp", d), DestinationError::kOk);
    EXPECT_EQ(d.transport, Transport::kTls);  // sips: is TLS over TCP (RFC 3261 §26.2.2)
    EXPECT_EQ(destination_of("sips:bob@192.0.2.7;transport=udp", d),
              DestinationError::kUnsupported);
    EXPECT_EQ(destination_of("sip:bob@192.0.2.7;transport=ws", d), DestinationError::kUnsupported);
}

TEST(NextHopTest, RefusesNamesAndOtherTransports) {
    auto name = parse_next_hop("sip:registrar.example.com");
    ASSERT_FALSE(name.ok());
    EXPECT_NE(name.status().message().find("IP address"), std::string::npos);
    EXPECT_FALSE(parse_next_hop("sip:10.0.0.5;transport=sctp").ok());
    EXPECT_FALSE(parse_next_hop("sip:10.0.0.5:99999").ok());
}

}  // namespace
}  // namespace fe::cluster
