// Checks parse_uri(): valid and invalid tables (each input guarded against
// over-reads), the fields decoded, RFC 4475 URI cases, IPv6 references,
// escapes, the ob/lr helpers, RFC 3261 §19.1.4 equality and the AOR key.
#include "core/syntax/uri.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;
using testing::is_within;

Uri parse_ok(std::string_view text) {
    Uri uri;
    EXPECT_EQ(parse_uri(text, uri), Error::kOk) << text;
    return uri;
}

struct ValidCase {
    std::string_view text;
    UriScheme scheme;
    std::string_view user;
    std::string_view host;
    HostKind host_kind;
    uint16_t port;
};

TEST(UriTest, ValidTableDecodesFields) {
    const ValidCase cases[] = {
        {"sip:alice@atlanta.com", UriScheme::kSip, "alice", "atlanta.com", HostKind::kHostname, 0},
        {"SIP:alice@atlanta.com", UriScheme::kSip, "alice", "atlanta.com", HostKind::kHostname, 0},
        {"sips:bob@biloxi.com:5061", UriScheme::kSips, "bob", "biloxi.com", HostKind::kHostname,
         5061},
        {"sip:192.0.2.4", UriScheme::kSip, "", "192.0.2.4", HostKind::kIpv4, 0},
        {"sip:192.0.2.4:5060;transport=tcp", UriScheme::kSip, "", "192.0.2.4", HostKind::kIpv4,
         5060},
        {"sip:[2001:db8::10]", UriScheme::kSip, "", "[2001:db8::10]", HostKind::kIpv6, 0},
        {"sip:[2001:db8::10]:5070", UriScheme::kSip, "", "[2001:db8::10]", HostKind::kIpv6, 5070},
        {"sip:user@[::ffff:192.0.2.1]:1", UriScheme::kSip, "user", "[::ffff:192.0.2.1]",
         HostKind::kIpv6, 1},
        {"sip:u@[::]", UriScheme::kSip, "u", "[::]", HostKind::kIpv6, 0},
        {"sip:u@[1:2:3:4:5:6:7:8]:65535", UriScheme::kSip, "u", "[1:2:3:4:5:6:7:8]",
         HostKind::kIpv6, 65535},
        {"sip:example.com.", UriScheme::kSip, "", "example.com.", HostKind::kHostname, 0},
        {"sip:a-b.c-d.example", UriScheme::kSip, "", "a-b.c-d.example", HostKind::kHostname, 0},
        {"sip:%61lice@h", UriScheme::kSip, "%61lice", "h", HostKind::kHostname, 0},
        {"sip:+1-212-555-0101@gw.example.com;user=phone", UriScheme::kSip, "+1-212-555-0101",
         "gw.example.com", HostKind::kHostname, 0},
        // RFC 4475 3.1.1.9 semiuri: ';' and an escaped '@' belong to the user.
        {"sip:user;par=u%40example.net@example.com", UriScheme::kSip, "user;par=u%40example.net",
         "example.com", HostKind::kHostname, 0},
        // RFC 4475 3.1.1.3 esc01.
        {"sip:sips%3Auser%40example.com@example.net", UriScheme::kSip,
         "sips%3Auser%40example.com", "example.net", HostKind::kHostname, 0},
        // RFC 4475 3.1.1.4 escnull.
        {"sip:null-%00-null@example.com", UriScheme::kSip, "null-%00-null", "example.com",
         HostKind::kHostname, 0},
        {"tel:+1-201-555-0123", UriScheme::kTel, "+1-201-555-0123", "", HostKind::kNone, 0},
        {"tel:7042;phone-context=example.com", UriScheme::kTel, "7042", "", HostKind::kNone, 0},
    };
    for (const ValidCase& c : cases) {
        Guarded g(c.text);
        Uri uri;
        ASSERT_EQ(parse_uri(g.view(), uri), Error::kOk) << c.text;
        EXPECT_EQ(uri.scheme, c.scheme) << c.text;
        EXPECT_EQ(uri.user, c.user) << c.text;
        EXPECT_EQ(uri.host, c.host) << c.text;
        EXPECT_EQ(uri.host_kind, c.host_kind) << c.text;
        EXPECT_EQ(uri.port, c.port) << c.text;
        EXPECT_EQ(uri.text.data(), g.view().data());
        EXPECT_TRUE(is_within(uri.user, g.view()));
        EXPECT_TRUE(is_within(uri.host, g.view()));
    }
}

struct InvalidCase {
    std::string_view text;
    Error error;
};

TEST(UriTest, InvalidTableNamesTheDefect) {
    const InvalidCase cases[] = {
        {"", Error::kEmpty},
        {"alice@example.com", Error::kBadScheme},
        {":alice@example.com", Error::kBadScheme},
        {"s!p:alice@example.com", Error::kBadScheme},
        {"http://example.com", Error::kUnsupportedScheme},
        {"urn:uuid:1234", Error::kUnsupportedScheme},
        {"sip:", Error::kMissingHost},
        {"sip:alice@", Error::kMissingHost},
        {"sip:@example.com", Error::kBadUser},
        {"sip::pw@example.com", Error::kBadUser},
        {"sip:al ice@example.com", Error::kBadUser},
        {"sip:al\"ice@example.com", Error::kBadUser},
        {"sip:al%4@example.com", Error::kBadEscape},
        {"sip:al%zz@example.com", Error::kBadEscape},
        {"sip:alice%@example.com", Error::kBadEscape},
        {"sip:alice:p@ss@example.com", Error::kBadHost},  // the first '@' ends the userinfo
        {"sip:alice:p;w@example.com", Error::kBadPassword},
        {"sip:alice@exa mple.com", Error::kBadHost},
        {"sip:alice@exa_mple.com", Error::kBadHost},
        {"sip:alice@-example.com", Error::kBadHost},
        {"sip:alice@example-.com", Error::kBadHost},
        {"sip:alice@example..com", Error::kBadHost},
        {"sip:alice@ex%61mple.com", Error::kBadHost},  // no escapes in hosts
        {"sip:alice@1.2.3.256", Error::kBadIpv4},
        {"sip:alice@1.2.3", Error::kBadIpv4},
        {"sip:alice@1.2.3.4.5", Error::kBadIpv4},
        {"sip:alice@1234.2.3.4", Error::kBadIpv4},
        {"sip:alice@[2001:db8::1", Error::kBadIpv6},
        {"sip:alice@[2001:db8:::1]", Error::kBadIpv6},
        {"sip:alice@[2001::db8::1]", Error::kBadIpv6},
        {"sip:alice@[1:2:3:4:5:6:7:8:9]", Error::kBadIpv6},
        {"sip:alice@[1:2:3:4:5:6:7]", Error::kBadIpv6},
        {"sip:alice@[12345::1]", Error::kBadIpv6},
        {"sip:alice@[::1%eth0]", Error::kBadIpv6},
        {"sip:alice@[192.0.2.1]", Error::kBadIpv6},
        {"sip:alice@[]", Error::kBadIpv6},
        {"sip:alice@[::1]x", Error::kBadHost},
        {"sip:alice@2001:db8::1", Error::kBadIpv4},  // IPv6 needs brackets
        {"sip:alice@example.com:", Error::kBadPort},
        {"sip:alice@example.com:50a", Error::kBadPort},
        {"sip:alice@example.com:-1", Error::kBadPort},
        {"sip:alice@example.com:65536", Error::kPortOutOfRange},
        {"sip:alice@example.com:0", Error::kPortOutOfRange},
        {"sip:alice@example.com:99999999999999999999999", Error::kPortOutOfRange},
        {"sip:alice@example.com;", Error::kBadParamName},
        {"sip:alice@example.com;;lr", Error::kBadParamName},
        {"sip:alice@example.com;maddr=", Error::kBadParamValue},
        {"sip:alice@example.com;a=b c", Error::kBadParamValue},
        {"sip:alice@example.com;a=\"b\"", Error::kBadParamValue},
        {"sip:alice@example.com;a%2=b", Error::kBadEscape},
        {"sip:alice@example.com;lr;LR", Error::kDuplicateParam},
        {"sip:alice@example.com;lr;%6C%72", Error::kDuplicateParam},
        {"sip:alice@example.com?", Error::kBadUriHeader},
        {"sip:alice@example.com?subject", Error::kBadUriHeader},
        {"sip:alice@example.com?=x", Error::kBadUriHeader},
        {"sip:alice@example.com?a=b&", Error::kBadUriHeader},
        {"sip:alice@example.com?a=<b>", Error::kBadUriHeader},
        {"sip:alice@example.com?a=%g0", Error::kBadEscape},
        // RFC 4475 3.1.2.8 lwsruri: embedded LWS.
        {"sip:user@example.com; lr", Error::kBadParamName},
        // RFC 4475 3.1.2.7 ltgtruri: "<>" around a Request-URI.
        {"<sip:user@example.com>", Error::kBadScheme},
        {"tel:", Error::kBadTelNumber},
        {"tel:+", Error::kBadTelNumber},
        {"tel:+1-x-2", Error::kBadTelNumber},
        {"tel:+--", Error::kBadTelNumber},
        {"tel:7042", Error::kMissingPhoneContext},
        {"tel:+1;=x", Error::kBadParamName},
    };
    for (const InvalidCase& c : cases) {
        Guarded g(c.text);
        Uri uri;
        EXPECT_EQ(parse_uri(g.view(), uri), c.error) << c.text;
        EXPECT_TRUE(uri.text.empty()) << "out is reset on error: " << c.text;
    }
}

TEST(UriTest, LengthLimits) {
    std::string long_uri = "sip:" + std::string(kUriSizeMax, 'a') + "@h";
    Uri uri;
    EXPECT_EQ(parse_uri(long_uri, uri), Error::kTooLong);
    std::string label(kHostLabelSizeMax + 1, 'a');
    EXPECT_EQ(parse_uri("sip:" + label + ".com", uri), Error::kHostTooLong);
    std::string host;
    while (host.size() <= kHostSizeMax) {
        host += "abcdefghi.";
    }
    host += "com";
    EXPECT_EQ(parse_uri("sip:" + host, uri), Error::kHostTooLong);
    std::string params = "sip:h";
    for (size_t i = 0; i <= kParamCountMax; ++i) {
        params += ";p" + std::to_string(i);
    }
    EXPECT_EQ(parse_uri(params, uri), Error::kTooManyParams);
    std::string headers = "sip:h?";
    for (size_t i = 0; i <= kUriHeaderCountMax; ++i) {
        headers += (i ? "&h" : "h") + std::to_string(i) + "=v";
    }
    EXPECT_EQ(parse_uri(headers, uri), Error::kTooManyUriHeaders);
}

TEST(UriTest, PasswordAndRfc4475UnusualUser) {
    Uri uri = parse_ok("sip:alice:secret@example.com");
    EXPECT_EQ(uri.user, "alice");
    EXPECT_TRUE(uri.has_password);
    EXPECT_EQ(uri.password, "secret");
    uri = parse_ok("sip:alice:@example.com");
    EXPECT_TRUE(uri.has_password);
    EXPECT_EQ(uri.password, "");
    // RFC 4475 3.1.1.2 intmeth Request-URI.
    uri = parse_ok(
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
        "(doesn't-it)@example.com");
    EXPECT_EQ(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    EXPECT_EQ(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    EXPECT_EQ(uri.host, "example.com");
    EXPECT_TRUE(uri.params.empty());
}

TEST(UriTest, ParamsHelpers) {
    Uri uri = parse_ok("sip:TOKEN@edge.example.com;lr;ob;transport=TCP;maddr=239.255.255.1");
    EXPECT_TRUE(uri.has_lr());
    EXPECT_TRUE(uri.has_ob());
    EXPECT_EQ(uri.transport_param(), "TCP");
    EXPECT_EQ(uri.transport(), Transport::kTcp);
    EXPECT_EQ(uri.maddr_param(), "239.255.255.1");
    EXPECT_EQ(uri.params.count(), 4u);
    EXPECT_EQ(uri.params.text(), ";lr;ob;transport=TCP;maddr=239.255.255.1");

    EXPECT_FALSE(parse_ok("sip:h;lr").has_ob());
    EXPECT_FALSE(parse_ok("sip:h;obx").has_ob());
    EXPECT_FALSE(parse_ok("sip:h").transport().has_value());
    EXPECT_FALSE(parse_ok("sip:h;transport=sctp").transport().has_value());
    EXPECT_EQ(parse_ok("sip:h;transport=sctp").transport_param(), "sctp");
    EXPECT_EQ(parse_ok("sip:h;transport=wss").transport(), Transport::kWss);
    EXPECT_EQ(parse_ok("sip:+1@h;user=phone").user_param(), "phone");
}

TEST(UriTest, ObIsAFlagAndCaseInsensitive) {
    // covers OB-OBP-05
    EXPECT_TRUE(parse_ok("sip:TOKEN@edge;lr;ob").has_ob());
    EXPECT_TRUE(parse_ok("sip:TOKEN@edge;lr;OB").has_ob());
    EXPECT_TRUE(parse_ok("sip:TOKEN@edge;Ob;lr").has_ob());
    EXPECT_TRUE(parse_ok("sip:TOKEN@edge;lr;ob=x").has_ob());
    EXPECT_FALSE(parse_ok("sip:TOKEN@edge;lr").has_ob());
    // ";ob" in the user part is not a URI parameter.
    EXPECT_FALSE(parse_ok("sip:a;ob@edge;lr").has_ob());
}

TEST(UriTest, EscapedParamNamesMatch) {
    // RFC 4475 3.1.1.3 esc01 Contact URI.
    Uri uri = parse_ok("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
    EXPECT_TRUE(uri.has_lr());
    EXPECT_EQ(uri.param_value("name"), "v%61lue%25%34%31");
    char buffer[32];
    std::string_view decoded;
    ASSERT_EQ(unescape(uri.param_value("name"), buffer, sizeof(buffer), decoded), Error::kOk);
    EXPECT_EQ(decoded, "value%41");  // %25 decodes to '%', not re-decoded
    ASSERT_EQ(unescape(uri.user, buffer, sizeof(buffer), decoded), Error::kOk);
    EXPECT_EQ(decoded, "caller");
}

TEST(UriTest, UriHeaders) {
    // RFC 4475 3.3.14 regescrt and 3.1.2.11 escruri (a Request-URI with
    // headers is the caller's to refuse; the URI itself is well formed).
    Uri uri = parse_ok("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
    EXPECT_EQ(uri.host, "example.com");
    EXPECT_EQ(uri.headers, "Route=%3Csip:sip.example.com%3E");
    EXPECT_EQ(uri.header_count, 1u);
    ASSERT_TRUE(uri.find_header("route").has_value());
    EXPECT_EQ(*uri.find_header("route"), "%3Csip:sip.example.com%3E");
    uri = parse_ok("sip:h;lr?subject=hi&priority=urgent&body=");
    EXPECT_TRUE(uri.has_lr());
    EXPECT_EQ(uri.header_count, 3u);
    EXPECT_EQ(*uri.find_header("body"), "");
    EXPECT_FALSE(uri.find_header("to").has_value());
}

TEST(UriTest, FlowTokenUserRoundTrips) {
    // Our flow tokens are URL-safe base64 (A-Z a-z 0-9 - _) in the user part.
    const std::string token =
        "AZaz09-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_aBcDeFgHiJkLmNoPqRsTuVwXyZ";
    const std::string text = "sip:" + token + "@edge.example.com;lr;ob";
    Guarded g(text);
    Uri uri;
    ASSERT_EQ(parse_uri(g.view(), uri), Error::kOk);
    EXPECT_EQ(uri.user, token);
    char buffer[128];
    std::string_view decoded;
    ASSERT_EQ(unescape(uri.user, buffer, sizeof(buffer), decoded), Error::kOk);
    EXPECT_EQ(decoded, token);
    // Byte offsets for edit lists.
    EXPECT_EQ(static_cast<size_t>(uri.user.data() - g.view().data()), 4u);
    EXPECT_EQ(aor_key(uri), "sip:" + token + "@edge.example.com");
}

TEST(UriTest, HostEqualityByValue) {
    EXPECT_TRUE(uri_equal(parse_ok("sip:a@[::1]"), parse_ok("sip:a@[0:0:0::1]")));
    EXPECT_TRUE(uri_equal(parse_ok("sip:a@[2001:DB8::1]"), parse_ok("sip:a@[2001:db8:0::1]")));
    EXPECT_TRUE(uri_equal(parse_ok("sip:a@[::ffff:192.0.2.1]"), parse_ok("sip:a@[::ffff:c000:201]")));
    EXPECT_FALSE(uri_equal(parse_ok("sip:a@[::1]"), parse_ok("sip:a@[::2]")));
    EXPECT_TRUE(uri_equal(parse_ok("sip:a@010.0.0.1"), parse_ok("sip:a@10.0.0.1")));
    EXPECT_FALSE(uri_equal(parse_ok("sip:a@10.0.0.1"), parse_ok("sip:a@h10.example")));
}

struct EqualCase {
    std::string_view a;
    std::string_view b;
    bool equal;
};

TEST(UriTest, EqualityRfc3261Section19_1_4) {
    const EqualCase cases[] = {
        // The equal examples of §19.1.4.
        {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
        {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
        {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
        {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
        {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
         "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
        {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
         "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
        // The unequal examples of §19.1.4.
        {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false},
        {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
        {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
        {"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off", false},
        // Ours.
        {"sip:alice@h", "sips:alice@h", false},
        {"sip:alice:pw@h", "sip:alice@h", false},
        {"sip:h;lr", "sip:h;lr=on", false},
        {"sip:h;maddr=1.2.3.4", "sip:h", false},
        {"sip:h;user=phone", "sip:h;user=ip", false},
        {"sip:h;ttl=1", "sip:h;ttl=1", true},
        {"tel:+358-555-1234567;postd=pp22", "tel:+358-555-1234567;POSTD=PP22", true},
        {"tel:+358-555-1234567;postd=pp22;isub=1411", "tel:+358.555.1234567;isub=1411;postd=pp22",
         true},
        {"tel:+358-555-1234567", "tel:+358-555-1234568", false},
        {"tel:+1234", "sip:+1234@h", false},
        // A repeated header name (found by uri_fuzz: the URI was unequal to itself).
        {"sip:a@h?x=1&h=&h=%A1", "sip:a@h?x=1&h=&h=%A1", true},
        {"sip:a@h?h=%A1&h=", "sip:a@h?h=&h=%a1", true},
        {"sip:a@h?h=&h=%A1", "sip:a@h?h=&h=%A2", false},
    };
    for (const EqualCase& c : cases) {
        EXPECT_EQ(uri_equal(parse_ok(c.a), parse_ok(c.b)), c.equal) << c.a << " vs " << c.b;
        EXPECT_EQ(uri_equal(parse_ok(c.b), parse_ok(c.a)), c.equal) << c.b << " vs " << c.a;
    }
}

TEST(UriTest, AorKey) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"sip:Alice@Atlanta.COM", "sip:Alice@atlanta.com"},
        {"SIP:%61lice@atlanta.com;transport=tcp;user=ip?subject=x", "sip:alice@atlanta.com"},
        {"sips:bob:secret@biloxi.com:5061;lr", "sips:bob@biloxi.com:5061"},
        {"sip:biloxi.com", "sip:biloxi.com"},
        {"sip:a%3bb@h", "sip:a;b@h"},              // ';' is allowed raw in user
        {"sip:a%20b@h", "sip:a%20b@h"},            // space stays escaped
        {"sip:a%2fb%2F@h", "sip:a/b/@h"},
        {"sip:100%25@h", "sip:100%25@h"},
        {"sip:null-%00-null@example.com", "sip:null-%00-null@example.com"},
        {"sip:u@[2001:DB8::1]:05060", "sip:u@[2001:db8::1]:5060"},
        {"tel:+1-(201)-555.0123;isub=5", "tel:+12015550123"},
        {"tel:7042;phone-context=example.com", "tel:7042"},
    };
    for (const auto& [input, key] : cases) {
        EXPECT_EQ(aor_key(parse_ok(input)), key) << input;
    }
    // RFC 4475 escnull: two contacts with one and two escaped NULs stay apart.
    EXPECT_NE(aor_key(parse_ok("sip:%00@host5.example.com")),
              aor_key(parse_ok("sip:%00%00@host5.example.com")));

    Uri uri = parse_ok("sip:alice@atlanta.com");
    char small[8];
    std::string_view key;
    EXPECT_EQ(write_aor_key(uri, small, sizeof(small), key), Error::kBufferTooSmall);
    char big[kAorKeySizeMax];
    ASSERT_EQ(write_aor_key(uri, big, sizeof(big), key), Error::kOk);
    EXPECT_EQ(key, "sip:alice@atlanta.com");
}

TEST(UriTest, UnescapeErrors) {
    char buffer[4];
    std::string_view out;
    EXPECT_EQ(unescape("%4", buffer, sizeof(buffer), out), Error::kBadEscape);
    EXPECT_EQ(unescape("%x1", buffer, sizeof(buffer), out), Error::kBadEscape);
    EXPECT_EQ(unescape("abcde", buffer, sizeof(buffer), out), Error::kBufferTooSmall);
    ASSERT_EQ(unescape("%41%62c", buffer, sizeof(buffer), out), Error::kOk);
    EXPECT_EQ(out, "Abc");
    EXPECT_TRUE(equals_unescaped("%61lice", "alice"));
    EXPECT_FALSE(equals_unescaped("%61lice", "Alice"));
    EXPECT_TRUE(equals_unescaped_ignore_case("%61lice", "ALICE"));
    EXPECT_FALSE(equals_unescaped("alice", "alic"));
}

TEST(UriTest, ErrorTextIsNamed) {
    EXPECT_EQ(error_text(Error::kBadPort), "bad port");
    EXPECT_EQ(error_text(Error::kBadRegId), "bad reg-id");
    for (int e = 0; e <= static_cast<int>(Error::kBufferTooSmall); ++e) {
        EXPECT_NE(error_text(static_cast<Error>(e)), "unknown error") << e;
    }
}

}  // namespace
}  // namespace fe::syntax
