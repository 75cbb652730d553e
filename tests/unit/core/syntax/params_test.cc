// Checks Params::parse() in both grammars: the name/value/range views, flags,
// quoted values with escapes, LWS around ';' and '=', case-insensitive lookup,
// iteration, and one named error per malformed list.
#include "core/syntax/params.h"

#include <string>
#include <vector>

#include "core/syntax/limits.h"
#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;

TEST(ParamsTest, HeaderParamsViews) {
    Guarded g(" ;tag=1928 ; lr ;\t+sip.instance = \"<urn:uuid:a;b\\\"c>\" ;received=[2001:db8::1]");
    Params params;
    ASSERT_EQ(Params::parse(g.view(), ParamSyntax::kHeader, params), Error::kOk);
    ASSERT_EQ(params.count(), 4u);
    std::vector<Param> all(params.begin(), params.end());
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].name, "tag");
    EXPECT_EQ(all[0].value, "1928");
    EXPECT_EQ(all[0].range, ";tag=1928");
    EXPECT_EQ(all[1].name, "lr");
    EXPECT_FALSE(all[1].has_value);
    EXPECT_EQ(all[1].range, "; lr");
    EXPECT_EQ(all[2].name, "+sip.instance");
    EXPECT_TRUE(all[2].is_quoted());
    EXPECT_EQ(all[2].value, "\"<urn:uuid:a;b\\\"c>\"");
    EXPECT_EQ(all[2].unquoted_value(), "<urn:uuid:a;b\\\"c>");
    EXPECT_EQ(all[3].value, "[2001:db8::1]");
    // Ranges are views into the input, for edit lists.
    EXPECT_EQ(static_cast<size_t>(all[0].range.data() - g.view().data()), 1u);

    EXPECT_TRUE(params.has("TAG"));
    EXPECT_EQ(params.find("+SIP.Instance")->name, "+sip.instance");
    EXPECT_FALSE(params.find("branch").has_value());

    char buffer[64];
    std::string_view text;
    ASSERT_EQ(unquote(all[2].value, buffer, sizeof(buffer), text), Error::kOk);
    EXPECT_EQ(text, "<urn:uuid:a;b\"c>");
}

TEST(ParamsTest, IterationFindsWhatParseValidated) {
    // Iteration and find() skim the validated text instead of scanning it
    // again; every parameter they yield is the one parse() sees on its own.
    const struct {
        std::string_view text;
        ParamSyntax syntax;
    } kLists[] = {
        {";a=\"x\\\\\";b=\"q\\\";r\"", ParamSyntax::kHeader},  // escaped backslash, then quote
        {" ;  a =\r\n \"v ; w\"\r\n ;b", ParamSyntax::kHeader},
        {";received=[2001:db8::1];rport;branch=z9hG4bK.x-y", ParamSyntax::kHeader},
        {";received=2001:db8::1;x=\"\"", ParamSyntax::kHeader},
        {";%6C%72;transport=t%63p;maddr=[::1];user=phone", ParamSyntax::kUri},
        {";a=b;c;d=e%3Bf", ParamSyntax::kUri},
    };
    for (const auto& list : kLists) {
        SCOPED_TRACE(list.text);
        Params params;
        ASSERT_EQ(Params::parse(list.text, list.syntax, params), Error::kOk);
        size_t count = 0;
        for (const Param& p : params) {
            Params alone;
            ASSERT_EQ(Params::parse(p.range, list.syntax, alone), Error::kOk) << p.range;
            ASSERT_EQ(alone.count(), 1u);
            EXPECT_EQ(alone.begin()->name, p.name);
            EXPECT_EQ(alone.begin()->value, p.value);
            EXPECT_EQ(alone.begin()->has_value, p.has_value);
            ++count;
        }
        EXPECT_EQ(count, params.count());
    }
    Params quoted;
    ASSERT_EQ(Params::parse(";a=\"x\\\\\";b=1", ParamSyntax::kHeader, quoted), Error::kOk);
    EXPECT_EQ(quoted.find("a")->value, "\"x\\\\\"");
    EXPECT_EQ(quoted.find("b")->value, "1");
}

TEST(ParamsTest, FoldedWhiteSpace) {
    // RFC 4475 wsinv: parameters split over folded lines.
    Params params;
    ASSERT_EQ(Params::parse(" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33",
                            ParamSyntax::kHeader, params),
              Error::kOk);
    EXPECT_EQ(params.find("newparam")->value, "newvalue");
    EXPECT_TRUE(params.has("secondparam"));
    EXPECT_EQ(params.find("q")->value, "0.33");
}

TEST(ParamsTest, EmptyListAndIteration) {
    Params params;
    ASSERT_EQ(Params::parse("", ParamSyntax::kHeader, params), Error::kOk);
    EXPECT_TRUE(params.empty());
    EXPECT_TRUE(params.begin() == params.end());
    ASSERT_EQ(Params::parse(";a;b=1;c", ParamSyntax::kUri, params), Error::kOk);
    size_t n = 0;
    for (const Param& p : params) {
        EXPECT_FALSE(p.name.empty());
        ++n;
    }
    EXPECT_EQ(n, 3u);
}

TEST(ParamsTest, InvalidTable) {
    const struct {
        std::string_view text;
        ParamSyntax syntax;
        Error error;
    } cases[] = {
        {"tag=1", ParamSyntax::kHeader, Error::kExpectedSemicolon},
        {";", ParamSyntax::kHeader, Error::kBadParamName},
        {";;a", ParamSyntax::kHeader, Error::kBadParamName},
        {";=x", ParamSyntax::kHeader, Error::kBadParamName},
        {";a=", ParamSyntax::kHeader, Error::kBadParamValue},
        {";a= ;b", ParamSyntax::kHeader, Error::kBadParamValue},
        {";a=b c", ParamSyntax::kHeader, Error::kBadParamValue},
        {";a b", ParamSyntax::kHeader, Error::kBadParamName},
        {";a@b", ParamSyntax::kHeader, Error::kBadParamName},
        {";a=\"x", ParamSyntax::kHeader, Error::kUnterminatedQuote},
        {";a=\"x\\", ParamSyntax::kHeader, Error::kUnterminatedQuote},
        {";a=\"x\ny\"", ParamSyntax::kHeader, Error::kBadQuotedString},
        {";a=\"x\ry\"", ParamSyntax::kHeader, Error::kBadQuotedString},
        {";a=\"x\x01y\"", ParamSyntax::kHeader, Error::kBadQuotedString},
        {";a=\"x\"y", ParamSyntax::kHeader, Error::kBadParamValue},
        {";a=[::1", ParamSyntax::kHeader, Error::kBadParamValue},
        {";a=[zz]", ParamSyntax::kHeader, Error::kBadParamValue},
        {";tag=1;TAG=2", ParamSyntax::kHeader, Error::kDuplicateParam},
        {";a b", ParamSyntax::kUri, Error::kBadParamName},
        {"; a", ParamSyntax::kUri, Error::kBadParamName},
        {";a=\"b\"", ParamSyntax::kUri, Error::kBadParamValue},
        {";a%=b", ParamSyntax::kUri, Error::kBadEscape},
        {";a=b%4", ParamSyntax::kUri, Error::kBadEscape},
    };
    for (const auto& c : cases) {
        Guarded g(c.text);
        Params params;
        EXPECT_EQ(Params::parse(g.view(), c.syntax, params), c.error) << c.text;
        EXPECT_TRUE(params.empty());
    }
}

TEST(ParamsTest, CountLimit) {
    std::string text;
    for (size_t i = 0; i < kParamCountMax; ++i) {
        text += ";p" + std::to_string(i);
    }
    Params params;
    ASSERT_EQ(Params::parse(text, ParamSyntax::kHeader, params), Error::kOk);
    EXPECT_EQ(params.count(), kParamCountMax);
    text += ";one-more";
    EXPECT_EQ(Params::parse(text, ParamSyntax::kHeader, params), Error::kTooManyParams);
}

TEST(ParamsTest, TokenAndUnquote) {
    EXPECT_TRUE(is_token("z9hG4bK-.!%*_+`'~"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("a b"));
    EXPECT_FALSE(is_token("a;b"));
    char buffer[4];
    std::string_view out;
    EXPECT_EQ(unquote("\"abcde\"", buffer, sizeof(buffer), out), Error::kBufferTooSmall);
    EXPECT_EQ(unquote("\"ab", buffer, sizeof(buffer), out), Error::kBadQuotedString);
    EXPECT_EQ(unquote("\"a\"b", buffer, sizeof(buffer), out), Error::kBadQuotedString);
    ASSERT_EQ(unquote("\"\\\\\"", buffer, sizeof(buffer), out), Error::kOk);
    EXPECT_EQ(out, "\\");
}

}  // namespace
}  // namespace fe::syntax
