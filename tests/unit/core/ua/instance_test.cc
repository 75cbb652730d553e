// Checks the +sip.instance URN: RFC 4122 version-4 string layout, stable for
// the same (identity seed, UA index), distinct across indexes and seeds.

#include "core/ua/instance.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace fe::ua {
namespace {

// The OB-UA-04 pattern, lowercase, with the version-4 and variant digits:
// urn:uuid:xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx (no std::regex: GCC 12
// warns inside it under the sanitizer build).
bool is_uuid4_urn(std::string_view urn) {
    constexpr std::string_view kShape = "urn:uuid:hhhhhhhh-hhhh-4hhh-vhhh-hhhhhhhhhhhh";
    if (urn.size() != kShape.size()) {
        return false;
    }
    for (size_t i = 0; i < urn.size(); ++i) {
        const char c = urn[i];
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        const bool ok = kShape[i] == 'h'   ? hex
                        : kShape[i] == 'v' ? (c == '8' || c == '9' || c == 'a' || c == 'b')
                                           : c == kShape[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

// covers OB-UA-04 (UUID URN), RFC 4122 §4.4 version and variant bits
TEST(InstanceTest, LayoutIsUuidVersion4) {
    EXPECT_FALSE(is_uuid4_urn("urn:uuid:00000000-0000-1000-8000-000000000000"));
    EXPECT_FALSE(is_uuid4_urn("urn:example:1"));
    for (uint64_t index = 0; index < 200; ++index) {
        const InstanceId id = make_instance_id(99, index);
        const std::string urn(id.urn());
        EXPECT_TRUE(is_uuid4_urn(urn)) << urn;
        EXPECT_EQ(id.bytes[6] >> 4, 4);
        EXPECT_EQ(id.bytes[8] >> 6, 2);
    }
}

// covers OB-UA-02, OB-UA-03 (same value after a restart: derived, not drawn)
TEST(InstanceTest, StableAcrossCalls) {
    EXPECT_EQ(make_instance_id(5, 17).urn(), make_instance_id(5, 17).urn());
    const InstanceId known = make_instance_id(0, 0);
    EXPECT_EQ(known.urn(), make_instance_id(0, 0).urn());
    EXPECT_EQ(known.urn().size(), 45u);
}

// covers OB-UA-01 (no two UAs share an instance-id)
TEST(InstanceTest, DistinctAcrossIndexesAndSeeds) {
    std::set<std::string> seen;
    for (uint64_t seed = 0; seed < 4; ++seed) {
        for (uint64_t index = 0; index < 25000; ++index) {
            EXPECT_TRUE(seen.insert(std::string(make_instance_id(seed, index).urn())).second);
        }
    }
}

}  // namespace
}  // namespace fe::ua
