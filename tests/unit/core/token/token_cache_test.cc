// TokenCache answers exactly as mint() and verify() do, and never lets a
// token through that the ring would refuse now (a retired key, a key id
// reused with a new secret, a changed byte).
#include "core/token/token_cache.h"

#include <array>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace fe::token {
namespace {

std::array<uint8_t, kKeySize> key_bytes(uint8_t seed) {
    std::array<uint8_t, kKeySize> k{};
    for (size_t i = 0; i < kKeySize; ++i) k[i] = static_cast<uint8_t>(seed * 31 + i * 7);
    return k;
}

Fields udp_fields(uint32_t slot) {
    Fields f;
    f.node_id = 7;
    f.worker_index = 1;
    f.slot = slot;
    f.generation = 3;
    f.transport = Transport::kUdp;
    f.remote = *Endpoint::parse("192.0.2.7:5062");
    f.local_socket_index = 0;
    return f;
}

std::string cached_mint(TokenCache& cache, const KeyRing& ring, const Fields& f) {
    std::array<char, kTokenTextSizeMax> out{};
    const MintResult m = cache.mint(ring, f, out);
    EXPECT_EQ(m.status, MintStatus::kOk);
    return std::string(out.data(), m.size);
}

std::string plain_mint(const KeyRing& ring, const Fields& f) {
    std::array<char, kTokenTextSizeMax> out{};
    const MintResult m = mint(ring, f, out);
    EXPECT_EQ(m.status, MintStatus::kOk);
    return std::string(out.data(), m.size);
}

TEST(TokenCacheTest, MintAndVerifyAnswerAsWithoutTheCache) {
    const KeyRing ring = KeyRing::from_random(1, key_bytes(1));
    TokenCache cache;
    for (uint32_t slot = 0; slot < 3000; ++slot) {  // more flows than slots: collisions
        const Fields f = udp_fields(slot);
        const std::string first = cached_mint(cache, ring, f);
        EXPECT_EQ(first, plain_mint(ring, f));
        EXPECT_EQ(cached_mint(cache, ring, f), first);  // a hit gives the same text
        for (int round = 0; round < 2; ++round) {
            const VerifyResult v = cache.verify(ring, first);
            ASSERT_EQ(v.status, VerifyStatus::kOk);
            EXPECT_EQ(v.fields, f);
            EXPECT_EQ(v.key_id, 1);
        }
    }
    EXPECT_GT(cache.hits(), 0u);
}

TEST(TokenCacheTest, AlteredTokenNeverVerifies) {
    const KeyRing ring = KeyRing::from_random(1, key_bytes(1));
    TokenCache cache;
    const std::string good = cached_mint(cache, ring, udp_fields(5));
    ASSERT_EQ(cache.verify(ring, good).status, VerifyStatus::kOk);
    std::string bad = good;
    bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(cache.verify(ring, bad).status, VerifyStatus::kBadMac);
    EXPECT_EQ(cache.verify(ring, bad).status, VerifyStatus::kBadMac);  // not remembered
    EXPECT_EQ(cache.verify(ring, good.substr(1)).status, VerifyStatus::kMalformed);
    EXPECT_EQ(cache.verify(ring, "").status, VerifyStatus::kMalformed);
}

TEST(TokenCacheTest, RetiredKeyStopsVerifyingAtOnce) {
    KeyRing ring = KeyRing::from_random(1, key_bytes(1));
    TokenCache cache;
    const std::string old_token = cached_mint(cache, ring, udp_fields(9));
    ASSERT_EQ(cache.verify(ring, old_token).status, VerifyStatus::kOk);
    ASSERT_TRUE(ring.add(2, key_bytes(2)).ok());
    // Rotation: the cache mints with the new current key from now on.
    const std::string new_token = cached_mint(cache, ring, udp_fields(9));
    EXPECT_NE(new_token, old_token);
    EXPECT_EQ(new_token, plain_mint(ring, udp_fields(9)));
    EXPECT_EQ(cache.verify(ring, old_token).status, VerifyStatus::kOk);  // key 1 still verifies
    ASSERT_TRUE(ring.retire(1).ok());
    EXPECT_EQ(cache.verify(ring, old_token).status, VerifyStatus::kUnknownKey);
}

TEST(TokenCacheTest, KeyIdReusedWithAnotherSecretIsNotTrusted) {
    const KeyRing first = KeyRing::from_random(1, key_bytes(1));
    const KeyRing second = KeyRing::from_random(1, key_bytes(9));  // same id, new secret
    TokenCache cache;
    const std::string token = cached_mint(cache, first, udp_fields(4));
    ASSERT_EQ(cache.verify(first, token).status, VerifyStatus::kOk);
    EXPECT_EQ(cache.verify(second, token).status, VerifyStatus::kBadMac);
    EXPECT_EQ(cached_mint(cache, second, udp_fields(4)), plain_mint(second, udp_fields(4)));
}

}  // namespace
}  // namespace fe::token
