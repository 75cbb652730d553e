// Checks the header table: full and compact names map to the right ids in any
// letter case, unknown names map to kOther, and the flags that drive the
// parser (comma list, single instance) are set where RFC 3261 says.
#include "core/sip/header_names.h"

#include <gtest/gtest.h>

#include <string>

namespace fe::sip {
namespace {

TEST(HeaderNames, EveryFullNameRoundTripsInAnyCase) {
    for (size_t i = 1; i < kHeaderIdCount; ++i) {
        const auto id = static_cast<HeaderId>(i);
        const std::string name(header_info(id).full_name);
        EXPECT_EQ(lookup_header(name), id) << name;
        std::string upper = name;
        std::string lower = name;
        for (char& c : upper) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        for (char& c : lower) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        EXPECT_EQ(lookup_header(upper), id) << upper;
        EXPECT_EQ(lookup_header(lower), id) << lower;
    }
}

TEST(HeaderNames, CompactFormsOfRfc3261AndExtensions) {
    const struct {
        const char* compact;
        HeaderId id;
    } cases[] = {
        {"i", HeaderId::kCallId},         {"m", HeaderId::kContact},
        {"f", HeaderId::kFrom},           {"t", HeaderId::kTo},
        {"v", HeaderId::kVia},            {"l", HeaderId::kContentLength},
        {"c", HeaderId::kContentType},    {"k", HeaderId::kSupported},
        {"s", HeaderId::kSubject},        {"e", HeaderId::kContentEncoding},
        {"o", HeaderId::kEvent},          {"r", HeaderId::kReferTo},
        {"u", HeaderId::kAllowEvents},    {"b", HeaderId::kReferredBy},
        {"x", HeaderId::kSessionExpires}, {"y", HeaderId::kIdentity},
        {"a", HeaderId::kAcceptContact},  {"j", HeaderId::kRejectContact},
        {"d", HeaderId::kRequestDisposition},
        {"I", HeaderId::kCallId},         {"V", HeaderId::kVia},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(lookup_header(c.compact), c.id) << c.compact;
    }
    EXPECT_EQ(lookup_header("g"), HeaderId::kOther);
    EXPECT_EQ(lookup_header("z"), HeaderId::kOther);
    EXPECT_EQ(lookup_header("1"), HeaderId::kOther);
}

TEST(HeaderNames, UnknownAndNearMissNamesAreOther) {
    for (const char* name : {"", "X-Custom", "Vias", "Vi", "Call-I", "Call-IDs", "Content-Lengt",
                             "NewFangledHeader", "P-Charging-Vector", "Max_Forwards"}) {
        EXPECT_EQ(lookup_header(name), HeaderId::kOther) << name;
    }
}

TEST(HeaderNames, FlagsMatchRfc3261) {
    EXPECT_TRUE(header_is_list(HeaderId::kVia));
    EXPECT_TRUE(header_is_list(HeaderId::kRoute));
    EXPECT_TRUE(header_is_list(HeaderId::kPath));
    EXPECT_TRUE(header_is_list(HeaderId::kSupported));
    EXPECT_TRUE(header_is_list(HeaderId::kContact));
    EXPECT_FALSE(header_is_list(HeaderId::kAuthorization));  // auth-params have commas
    EXPECT_FALSE(header_is_list(HeaderId::kCallId));
    for (HeaderId id : {HeaderId::kCallId, HeaderId::kCSeq, HeaderId::kFrom, HeaderId::kTo,
                        HeaderId::kMaxForwards, HeaderId::kContentLength}) {
        EXPECT_TRUE(header_is_single_instance(id)) << header_info(id).full_name;
    }
    EXPECT_FALSE(header_is_single_instance(HeaderId::kVia));
    EXPECT_FALSE(header_is_single_instance(HeaderId::kOther));
    EXPECT_EQ(header_info(HeaderId::kOther).full_name, "");
}

}  // namespace
}  // namespace fe::sip
