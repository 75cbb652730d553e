// The branch codec (core/outbound/branch_id.h): exact bytes of each kind,
// round trips at the field limits, and every malformed or foreign branch
// refused.
#include "core/outbound/branch_id.h"

#include <gtest/gtest.h>

#include <string>

namespace fe::outbound {
namespace {

TEST(BranchId, StatelessBytes) {
    const BranchId id = write_branch_id(
        {.kind = BranchKind::kStateless, .hash = 0x0123456789abcdefULL, .loop = 0xfedcba9876543210ULL});
    EXPECT_EQ(id.view(), "z9hG4bK-fes0123456789abcdeffedcba9876543210");
    const BranchId reg = write_branch_id({.kind = BranchKind::kStatelessRegister, .hash = 1, .loop = 2});
    EXPECT_EQ(reg.view(), "z9hG4bK-fer00000000000000010000000000000002");
}

TEST(BranchId, ProxyBytes) {
    const BranchId id = write_branch_id({.kind = BranchKind::kProxy,
                                         .worker_index = 0x1f,
                                         .slot = 0xabc9,
                                         .branch_index = 0xd,
                                         .hash = 0xfff0123456789aULL,  // only 44 bits kept
                                         .loop = 7});
    EXPECT_EQ(id.view(), "z9hG4bK-fep1f0123456789aabc9d0000000000000007");
    EXPECT_EQ(id.size, 45u);
    EXPECT_LE(id.size, kOurBranchSizeMax);
}

TEST(BranchId, RoundTripsAtTheLimits) {
    for (const BranchFields& f : {
             BranchFields{.kind = BranchKind::kStateless, .hash = UINT64_MAX, .loop = UINT64_MAX},
             BranchFields{.kind = BranchKind::kStatelessRegister, .hash = 0, .loop = 0},
             BranchFields{.kind = BranchKind::kProxy,
                          .worker_index = 255,
                          .slot = kProxyBranchSlotCountMax - 1,
                          .branch_index = kProxyBranchIndexCountMax - 1,
                          .hash = kProxyBranchHashMask,
                          .loop = UINT64_MAX},
         }) {
        const BranchId id = write_branch_id(f);
        const std::optional<BranchFields> back = read_branch_id(id.view());
        ASSERT_TRUE(back.has_value()) << id.view();
        EXPECT_EQ(*back, f);
    }
}

// The slot field spans a full 16-bit slot number (a worker's proxy holds up
// to 65,536 calls): the highest slot and one that needs every digit.
TEST(BranchId, ProxySlotUsesFourDigits) {
    for (uint16_t slot : {uint16_t{0}, uint16_t{0x0fff}, uint16_t{0x1000}, uint16_t{0xffff}}) {
        const BranchFields f{.kind = BranchKind::kProxy, .slot = slot, .loop = 3};
        const BranchId id = write_branch_id(f);
        const std::optional<BranchFields> back = read_branch_id(id.view());
        ASSERT_TRUE(back.has_value()) << id.view();
        EXPECT_EQ(back->slot, slot);
    }
    // A 44-byte proxy branch (the former 3-digit slot) is not ours any more.
    EXPECT_FALSE(read_branch_id("z9hG4bK-fep1f0123456789aabcd0000000000000007"));
}

TEST(BranchId, RefusesWhatIsNotOurs) {
    const std::string good(write_branch_id({.kind = BranchKind::kProxy, .loop = 1}).view());
    EXPECT_TRUE(read_branch_id(good).has_value());
    EXPECT_FALSE(read_branch_id("z9hG4bK776asdhds"));     // another element's
    EXPECT_FALSE(read_branch_id("z9hG4bK-fe"));           // prefix only
    EXPECT_FALSE(read_branch_id("z9hG4bK-fex0000"));      // unknown kind
    EXPECT_FALSE(read_branch_id(good.substr(0, good.size() - 1)));  // truncated
    EXPECT_FALSE(read_branch_id(good + "0"));                       // too long
    std::string upper = good;
    upper[12] = 'A';  // hex digits are lower case
    EXPECT_FALSE(read_branch_id(upper));
    std::string bad = good;
    bad[15] = 'g';
    EXPECT_FALSE(read_branch_id(bad));
}

}  // namespace
}  // namespace fe::outbound
