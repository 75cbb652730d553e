// Checks the +sip.instance URN: RFC 4122 version-4 string layout, stable for
// the same (identity seed, UA index), distinct across indexes and seeds.

#include "core/ua/instance.h"

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace fe::ua {
namespace {

// covers OB-UA-04 (UUID URN), RFC 4122 §4.4 version and variant bits
TEST(InstanceTest, LayoutIsUuidVersion4) {
    const std::regex shape(
        "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    for (uint64_t index = 0; index < 200; ++index) {
        const InstanceId id = make_instance_id(99, index);
        const std::string urn(id.urn());
        EXPECT_TRUE(std::regex_match(urn, shape)) << urn;
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
