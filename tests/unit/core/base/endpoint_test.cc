// Checks Endpoint text parsing and printing for IPv4 and IPv6 (RFC 5952
// output), and that malformed addresses are refused.
#include "core/base/endpoint.h"

#include <gtest/gtest.h>

namespace fe {
namespace {

TEST(Endpoint, ParsesAndPrintsIpv4WithPort) {
    auto e = Endpoint::parse("192.0.2.2:5060");
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->is_v4());
    EXPECT_EQ(e->port, 5060);
    EXPECT_EQ(e->to_string(), "192.0.2.2:5060");
    EXPECT_EQ(*e, Endpoint::v4(0xC0000202, 5060));
}

TEST(Endpoint, ParsesAndPrintsIpv6) {
    auto e = Endpoint::parse("[2001:DB8:0:0:0:0:0:1]:5061");
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->is_v6());
    EXPECT_EQ(e->to_string(), "[2001:db8::1]:5061");
    EXPECT_EQ(Endpoint::parse("::1")->address_string(), "::1");
    EXPECT_EQ(Endpoint::parse("[::]")->address_string(), "::");
    EXPECT_EQ(Endpoint::parse("::ffff:192.0.2.1")->address_string(), "::ffff:c000:201");
    EXPECT_EQ(Endpoint::parse("1:0:0:2:0:0:0:3")->address_string(), "1:0:0:2::3");
}

TEST(Endpoint, RefusesMalformedText) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:", "1.2.3.4:65536",
                            "1.2.3.4:-1", "[::1", "[::1]x", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9",
                            "12345::", "example.com", "[1.2.3.4]:5"}) {
        EXPECT_FALSE(Endpoint::parse(bad).has_value()) << bad;
    }
}

TEST(Transport, NamesRoundTrip) {
    EXPECT_EQ(transport_via_name(Transport::kTls), "TLS");
    EXPECT_EQ(transport_from_name("Wss"), Transport::kWss);
    EXPECT_FALSE(transport_from_name("sctp").has_value());
    EXPECT_TRUE(transport_is_stream(Transport::kTcp));
    EXPECT_FALSE(transport_is_stream(Transport::kUdp));
}

}  // namespace
}  // namespace fe
