// Checks parse_name_addr(): the four written forms, where header parameters
// end up (§20.10: after a bare URI they belong to the header), display names
// (quoted, tokens, RFC 4475 cases) and the named errors.
#include "core/syntax/name_addr.h"

#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;
using testing::is_within;

TEST(NameAddrTest, Forms) {
    const struct {
        std::string_view text;
        std::string_view display;
        bool quoted;
        bool bracketed;
        std::string_view uri;
        std::string_view tag;
    } cases[] = {
        {"\"Alice Smith\" <sip:alice@example.com>;tag=1928", "Alice Smith", true, true,
         "sip:alice@example.com", "1928"},
        {"Alice Smith <sip:alice@example.com>;tag=1928", "Alice Smith", false, true,
         "sip:alice@example.com", "1928"},
        {"<sip:alice@example.com>;tag=1928", "", false, true, "sip:alice@example.com", "1928"},
        {"sip:alice@example.com;tag=1928", "", false, false, "sip:alice@example.com", "1928"},
        {"sip:alice@example.com", "", false, false, "sip:alice@example.com", ""},
        // RFC 4475 3.1.1.6 lwsdisp: no LWS before '<' is accepted.
        {"caller<sip:caller@example.com>;tag=323", "caller", false, true,
         "sip:caller@example.com", "323"},
        // RFC 4475 wsinv To and From.
        {"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n", "", false, false,
         "sip:vivekg@chair-dnrc.example.com", "1918181833n"},
        {"\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
         "J Rosenberg \\\\\\\"", true, true, "sip:jdrosen@example.com", "98asjd8"},
        // RFC 4475 intmeth From: unusual token display name.
        {"token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=_token~1'+`*%!-.",
         "token1~` token2'+_ token3*%!.-", false, true, "sip:mundane@example.com",
         "_token~1'+`*%!-."},
        {"\"\" <sip:a@b>", "", true, true, "sip:a@b", ""},
        {"<sip:TOKEN@edge.example.com;lr;ob>", "", false, true, "sip:TOKEN@edge.example.com;lr;ob",
         ""},
        {"\"%Z%45\" <sip:resource@example.com>", "%Z%45", true, true, "sip:resource@example.com",
         ""},
    };
    for (const auto& c : cases) {
        Guarded g(c.text);
        NameAddr na;
        ASSERT_EQ(parse_name_addr(g.view(), na), Error::kOk) << c.text;
        EXPECT_EQ(na.display_name, c.display) << c.text;
        EXPECT_EQ(na.display_name_quoted, c.quoted) << c.text;
        EXPECT_EQ(na.bracketed, c.bracketed) << c.text;
        EXPECT_EQ(na.uri_text, c.uri) << c.text;
        EXPECT_EQ(na.uri.text, c.uri) << c.text;
        EXPECT_EQ(na.tag(), c.tag) << c.text;
        EXPECT_TRUE(is_within(na.uri_text, g.view()));
        EXPECT_TRUE(is_within(na.display_name, g.view()));
    }
}

TEST(NameAddrTest, ParamsAfterBareUriBelongToTheHeader) {
    // RFC 4475 3.3.12 cparam01 and 3.3.13 cparam02.
    NameAddr na;
    ASSERT_EQ(parse_name_addr("sip:+19725552222@gw1.example.net;unknownparam", na), Error::kOk);
    EXPECT_TRUE(na.params.has("unknownparam"));
    EXPECT_TRUE(na.uri.params.empty());
    ASSERT_EQ(parse_name_addr("<sip:+19725552222@gw1.example.net;unknownparam>", na), Error::kOk);
    EXPECT_FALSE(na.params.has("unknownparam"));
    EXPECT_TRUE(na.uri.params.has("unknownparam"));
    // RFC 4475 3.3.14 regescrt: headers are fine inside "<>".
    ASSERT_EQ(parse_name_addr("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>", na),
              Error::kOk);
    EXPECT_EQ(na.uri.header_count, 1u);
}

TEST(NameAddrTest, InvalidTable) {
    const struct {
        std::string_view text;
        Error error;
    } cases[] = {
        {"", Error::kEmpty},
        {"  ", Error::kEmpty},
        // RFC 4475 3.1.2.6 quotbal.
        {"\"Mr. J. User <sip:j.user@example.com>", Error::kUnterminatedQuote},
        {"\"Alice\" sip:alice@example.com", Error::kBadDisplayName},
        {"\"Alice\"", Error::kBadDisplayName},
        {"Bob ;tag=1", Error::kBadDisplayName},
        {"<sip:alice@example.com", Error::kUnterminatedAngle},
        {"Alice <sip:alice@example.com", Error::kUnterminatedAngle},
        {"<sip:alice@example.com> x", Error::kTrailingGarbage},
        {"<sip:alice@example.com>>", Error::kTrailingGarbage},
        {"<sip:alice@example.com>;", Error::kBadParamName},
        {"<sip:alice@example.com>;tag=1;tag=2", Error::kDuplicateParam},
        // RFC 4475 3.1.2.14 badaspec: spaces inside the brackets.
        {"\"Watson, Thomas\" < sip:t.watson@example.org >", Error::kBadScheme},
        // RFC 4475 3.1.2.13 regbadct: a URI with headers must be in "<>".
        {"sip:user@example.com?Route=%3Csip:sip.example.com%3E", Error::kBadUriHeader},
        // §20.10: a bare URI ends at ';', so "x@example.com" is a bad header param.
        {"sip:user;x@example.com", Error::kBadParamName},
        {"<mailto:alice@example.com>", Error::kUnsupportedScheme},
        {"<sip:alice@exa mple.com>", Error::kBadHost},
        {"<>", Error::kEmpty},
    };
    for (const auto& c : cases) {
        Guarded g(c.text);
        NameAddr na;
        EXPECT_EQ(parse_name_addr(g.view(), na), c.error) << c.text;
        EXPECT_TRUE(na.text.empty());
    }
}

}  // namespace
}  // namespace fe::syntax
