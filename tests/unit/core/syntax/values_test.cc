// Checks the small value parsers: CSeq, Max-Forwards, Expires, Flow-Timer
// (OB-FT-06), Content-Length, option tags, tokens and Retry-After, each with a
// table of valid and invalid values and the error each invalid one names.
#include "core/syntax/values.h"

#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;

TEST(ValuesTest, CSeq) {
    CSeq cseq;
    ASSERT_EQ(parse_cseq("4711 INVITE", cseq), Error::kOk);
    EXPECT_EQ(cseq.number, 4711u);
    EXPECT_EQ(cseq.method, "INVITE");
    // RFC 4475 wsinv: leading zeros and a fold; intmeth: unusual method token.
    ASSERT_EQ(parse_cseq("0009\r\n  INVITE", cseq), Error::kOk);
    EXPECT_EQ(cseq.number, 9u);
    ASSERT_EQ(parse_cseq("139122385 !interesting-Method0123456789_*+`.%indeed'~", cseq),
              Error::kOk);
    EXPECT_EQ(cseq.method, "!interesting-Method0123456789_*+`.%indeed'~");
    ASSERT_EQ(parse_cseq("4294967295 ACK", cseq), Error::kOk);
    EXPECT_EQ(cseq.number, 4294967295u);
    const struct {
        std::string_view text;
        Error error;
    } bad[] = {
        {"", Error::kEmpty},
        {"INVITE", Error::kNotANumber},
        {"-1 INVITE", Error::kNotANumber},
        {"12a INVITE", Error::kNotANumber},
        {"12", Error::kMissingMethod},
        {"12 ", Error::kMissingMethod},
        // RFC 4475 3.1.2.4 scalar02.
        {"36893488147419103232 REGISTER", Error::kNumberOutOfRange},
        {"4294967296 ACK", Error::kNumberOutOfRange},
        {"1 IN VITE", Error::kTrailingGarbage},
        {"1 <INVITE>", Error::kBadToken},
    };
    for (const auto& c : bad) {
        Guarded g(c.text);
        EXPECT_EQ(parse_cseq(g.view(), cseq), c.error) << c.text;
        EXPECT_EQ(cseq.number, 0u);
    }
}

TEST(ValuesTest, NumbersTable) {
    using Parser = Error (*)(std::string_view, uint32_t&);
    const struct {
        Parser parse;
        std::string_view text;
        Error error;
        uint32_t value;
    } cases[] = {
        {parse_max_forwards, "70", Error::kOk, 70},
        {parse_max_forwards, "0068", Error::kOk, 68},  // RFC 4475 wsinv
        {parse_max_forwards, "0", Error::kOk, 0},
        {parse_max_forwards, "255", Error::kOk, 255},
        {parse_max_forwards, "256", Error::kNumberOutOfRange, 0},
        {parse_max_forwards, "300", Error::kNumberOutOfRange, 0},
        {parse_max_forwards, "", Error::kEmpty, 0},
        {parse_max_forwards, "7 0", Error::kNotANumber, 0},
        {parse_delta_seconds, "3600", Error::kOk, 3600},
        {parse_delta_seconds, "4294967295", Error::kOk, 4294967295u},
        {parse_delta_seconds, "4294967296", Error::kNumberOutOfRange, 0},
        {parse_delta_seconds, "10000000000000000000000", Error::kNumberOutOfRange, 0},
        {parse_delta_seconds, "+60", Error::kNotANumber, 0},
        {parse_content_length, "0", Error::kOk, 0},
        {parse_content_length, "150", Error::kOk, 150},
        {parse_content_length, "-999", Error::kNotANumber, 0},  // RFC 4475 ncl
        {parse_content_length, "9999999999", Error::kNumberOutOfRange, 0},
    };
    for (const auto& c : cases) {
        Guarded g(c.text);
        uint32_t value = 12345;
        EXPECT_EQ(c.parse(g.view(), value), c.error) << c.text;
        EXPECT_EQ(value, c.value) << c.text;
    }
}

TEST(ValuesTest, FlowTimer) {
    // covers OB-FT-06
    uint32_t seconds = 0;
    ASSERT_EQ(parse_flow_timer("120", seconds), Error::kOk);
    EXPECT_EQ(seconds, 120u);
    ASSERT_EQ(parse_flow_timer("0", seconds), Error::kOk);
    EXPECT_EQ(parse_flow_timer("abc", seconds), Error::kNotANumber);
    EXPECT_EQ(parse_flow_timer("-5", seconds), Error::kNotANumber);
    EXPECT_EQ(parse_flow_timer("99999999999999999999", seconds), Error::kNumberOutOfRange);
    EXPECT_EQ(parse_flow_timer("12.5", seconds), Error::kNotANumber);
    EXPECT_EQ(parse_flow_timer("", seconds), Error::kEmpty);
    EXPECT_EQ(seconds, 0u) << "a refused value is not used";
}

TEST(ValuesTest, OptionTagsAndTokens) {
    std::string_view tag;
    ASSERT_EQ(parse_option_tag("outbound", tag), Error::kOk);
    EXPECT_EQ(tag, "outbound");
    EXPECT_TRUE(option_tag_equal(tag, "outbound"));
    EXPECT_TRUE(option_tag_equal("Outbound", "outbound"));
    EXPECT_FALSE(option_tag_equal("outbound", "outbound2"));
    ASSERT_EQ(parse_option_tag("path", tag), Error::kOk);
    EXPECT_EQ(parse_option_tag("", tag), Error::kEmpty);
    EXPECT_EQ(parse_option_tag("out bound", tag), Error::kBadToken);
    EXPECT_EQ(parse_option_tag("a,b", tag), Error::kBadToken);
    EXPECT_TRUE(tag.empty());
    EXPECT_EQ(parse_token("100rel"), Error::kOk);
    EXPECT_EQ(parse_token("a\"b"), Error::kBadToken);
}

TEST(ValuesTest, RetryAfter) {
    RetryAfter ra;
    ASSERT_EQ(parse_retry_after("120", ra), Error::kOk);
    EXPECT_EQ(ra.seconds, 120u);
    ASSERT_EQ(parse_retry_after("18000;duration=3600", ra), Error::kOk);
    EXPECT_TRUE(ra.has_duration);
    EXPECT_EQ(ra.duration_s, 3600u);
    ASSERT_EQ(parse_retry_after("120 (I'm in a meeting (really))  ;duration=60;x", ra),
              Error::kOk);
    EXPECT_EQ(ra.comment, "(I'm in a meeting (really))");
    EXPECT_EQ(ra.duration_s, 60u);
    EXPECT_TRUE(ra.params.has("x"));
    const struct {
        std::string_view text;
        Error error;
    } bad[] = {
        {"", Error::kEmpty},
        {"soon", Error::kNotANumber},
        {"12x", Error::kNotANumber},
        {"99999999999", Error::kNumberOutOfRange},
        {"120 (unbalanced", Error::kBadComment},
        {"120 (a))", Error::kTrailingGarbage},
        {"120 x", Error::kTrailingGarbage},
        {"120;duration=abc", Error::kBadParamValue},
        {"120;duration", Error::kBadParamValue},
    };
    for (const auto& c : bad) {
        Guarded g(c.text);
        EXPECT_EQ(parse_retry_after(g.view(), ra), c.error) << c.text;
    }
}

}  // namespace
}  // namespace fe::syntax
