// Checks the flow-token KeyRing: key file parsing (hex lines, raw bytes, every
// error naming its line), rotation and retirement rules, the text round trip,
// and that its precomputed HMAC states give the same MAC as BoringSSL's HMAC.
#include "core/token/key_ring.h"

#include <openssl/hmac.h>

#include <string>

#include "core/token/flow_token.h"
#include "gtest/gtest.h"

namespace fe::token {
namespace {

constexpr std::string_view kHex1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
constexpr std::string_view kHex2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

std::string token_of(const KeyRing& ring) {
    Fields f;
    f.transport = Transport::kTls;
    f.slot = 42;
    std::array<char, kTokenTextSizeMax> out{};
    MintResult m = mint(ring, f, out);
    EXPECT_EQ(m.status, MintStatus::kOk);
    return std::string(out.data(), m.size);
}

TEST(KeyRing, ParsesHexLinesOldestFirstWithCommentsAndTheLastIsCurrent) {
    std::string text = "# rotated daily\n\n  1 " + std::string(kHex1) + "   # old\r\n2\t" +
                       std::string(kHex2) + "\n";
    absl::StatusOr<KeyRing> ring = KeyRing::parse(text);
    ASSERT_TRUE(ring.ok()) << ring.status();
    EXPECT_EQ(ring->key_count(), 2u);
    ASSERT_NE(ring->current(), nullptr);
    EXPECT_EQ(ring->current()->id, 2);
    ASSERT_NE(ring->find(1), nullptr);
    EXPECT_EQ(ring->find(1)->secret[0], 0x9f);
    EXPECT_EQ(ring->find(3), nullptr);
}

TEST(KeyRing, ParsesALoneHexKeyAndARawKeyAsId0) {
    absl::StatusOr<KeyRing> hex = KeyRing::parse(std::string(kHex1) + "\n");
    ASSERT_TRUE(hex.ok()) << hex.status();
    EXPECT_EQ(hex->current()->id, 0);
    std::string raw(32, '\0');
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 9);
    absl::StatusOr<KeyRing> r = KeyRing::parse(raw);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->current()->id, 0);
    EXPECT_EQ(r->current()->secret[5], 45);
}

TEST(KeyRing, ErrorsNameTheLineAndTheFix) {
    struct Case {
        std::string text;
        std::string_view message;
    };
    std::string hex1(kHex1);
    std::string too_many;
    for (int i = 0; i < 17; ++i) too_many += std::to_string(i) + " " + hex1 + "\n";
    const Case cases[] = {
        {"", "no key"},
        {"# only a comment\n\n", "no key"},
        {"1 " + hex1.substr(2) + "\n", "line 1: a key is 64 hex digits"},
        {"\n1 zz" + hex1.substr(2) + "\n", "line 2: 'zz' is not two hex digits"},
        {"256 " + hex1 + "\n", "line 1: key id '256' is not a number 0..255"},
        {"x " + hex1 + "\n", "key id 'x'"},
        {"1 " + hex1 + "\n1 " + std::string(kHex2) + "\n", "line 2: key id 1 is already"},
        {too_many, "line 17: the key ring holds 16 keys"},
        {std::string(kKeyFileSizeMax + 1, '#'), "right file"},
    };
    for (const Case& c : cases) {
        absl::StatusOr<KeyRing> ring = KeyRing::parse(c.text);
        ASSERT_FALSE(ring.ok()) << c.message;
        EXPECT_NE(std::string(ring.status().message()).find(c.message), std::string::npos)
            << ring.status().message();
    }
}

TEST(KeyRing, ToTextParsesBackToARingThatVerifiesTheSameTokens) {
    absl::StatusOr<KeyRing> ring =
        KeyRing::parse("4 " + std::string(kHex1) + "\n9 " + std::string(kHex2) + "\n");
    ASSERT_TRUE(ring.ok());
    absl::StatusOr<KeyRing> back = KeyRing::parse(ring->to_text());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->to_text(), ring->to_text());
    EXPECT_EQ(back->current()->id, 9);
    EXPECT_EQ(verify(*back, token_of(*ring)).status, VerifyStatus::kOk);
}

TEST(KeyRing, RotationRules) {
    std::array<uint8_t, kKeySize> k{};
    KeyRing ring = KeyRing::from_random(0, k);
    EXPECT_EQ(ring.retire(0).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ring.retire(5).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(ring.add(0, k).code(), absl::StatusCode::kAlreadyExists);
    for (uint8_t id = 1; id < kKeyCountMax; ++id) {
        k[0] = id;
        ASSERT_TRUE(ring.add(id, k).ok());
    }
    EXPECT_EQ(ring.add(200, k).code(), absl::StatusCode::kResourceExhausted);
    // Retiring from the middle keeps every other key findable.
    ASSERT_TRUE(ring.retire(7).ok());
    EXPECT_EQ(ring.find(7), nullptr);
    for (uint8_t id = 0; id < kKeyCountMax; ++id) {
        if (id == 7) continue;
        ASSERT_NE(ring.find(id), nullptr) << int(id);
        EXPECT_EQ(ring.find(id)->id, id);
    }
    EXPECT_EQ(ring.current()->id, kKeyCountMax - 1);
    EXPECT_TRUE(ring.add(200, k).ok());
    EXPECT_EQ(ring.current()->id, 200);
}

TEST(KeyRing, PrecomputedStatesGiveBoringSslsHmac) {
    KeyRing ring = *KeyRing::parse(std::string(kHex1));
    const Key& key = *ring.current();
    const std::string_view message = "any message, one block or more .................................";
    SHA256_CTX ctx = key.inner;
    SHA256_Update(&ctx, message.data(), message.size());
    uint8_t inner[32];
    SHA256_Final(inner, &ctx);
    ctx = key.outer;
    SHA256_Update(&ctx, inner, sizeof inner);
    uint8_t ours[32];
    SHA256_Final(ours, &ctx);
    uint8_t theirs[32];
    unsigned size = 0;
    HMAC(EVP_sha256(), key.secret.data(), key.secret.size(),
         reinterpret_cast<const uint8_t*>(message.data()), message.size(), theirs, &size);
    ASSERT_EQ(size, 32u);
    EXPECT_EQ(std::string(ours, ours + 32), std::string(theirs, theirs + 32));
}

}  // namespace
}  // namespace fe::token
