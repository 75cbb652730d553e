// Checks flow tokens (core/token): the byte layout and MAC against BoringSSL's
// own HMAC, round trips for every transport and address family, that no
// single-bit or single-character change of a token verifies, key rotation and
// retirement, every named malformed defect, and the key file parser.
#include "core/token/flow_token.h"

#include <openssl/hmac.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/token/internal/base64url.h"
#include "core/token/key_ring.h"
#include "gtest/gtest.h"

namespace fe::token {
namespace {

using internal::Base64Error;
using internal::decode_base64url;
using internal::encode_base64url;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<uint8_t, kKeySize> key_bytes(uint8_t seed) {
    std::array<uint8_t, kKeySize> k{};
    for (size_t i = 0; i < kKeySize; ++i) k[i] = static_cast<uint8_t>(seed * 31 + i * 7);
    return k;
}

KeyRing ring_with(uint8_t key_id, uint8_t seed) { return KeyRing::from_random(key_id, key_bytes(seed)); }

Fields tcp_fields() {
    Fields f;
    f.node_id = 0x0102;
    f.worker_index = 3;
    f.slot = 0x04050607;
    f.generation = 0x08090a0b;
    f.transport = Transport::kTcp;
    return f;
}

Fields udp_fields(std::string_view remote) {
    Fields f = tcp_fields();
    f.transport = Transport::kUdp;
    f.remote = *Endpoint::parse(remote);
    f.local_socket_index = 0x0c0d;
    return f;
}

std::string mint_text(const KeyRing& ring, const Fields& f) {
    std::array<char, kTokenTextSizeMax> out{};
    MintResult m = mint(ring, f, out);
    EXPECT_EQ(m.status, MintStatus::kOk);
    return std::string(out.data(), m.size);
}

std::vector<uint8_t> decode(std::string_view text) {
    std::vector<uint8_t> bytes(kTokenBytesSizeMax);
    size_t size = 0;
    EXPECT_EQ(decode_base64url(text, bytes, size), Base64Error::kOk);
    bytes.resize(size);
    return bytes;
}

std::string encode(const std::vector<uint8_t>& bytes) {
    std::string out(base64url_size(bytes.size()), '\0');
    encode_base64url(bytes, {out.data(), out.size()});
    return out;
}

// Re-signs a hand-made layout with the ring's current key, so that the
// defect under test is the only thing wrong with it.
std::string sign(const KeyRing& ring, std::vector<uint8_t> layout) {
    uint8_t mac[32];
    unsigned mac_size = 0;
    HMAC(EVP_sha256(), ring.current()->secret.data(), kKeySize, layout.data(), layout.size(), mac,
         &mac_size);
    layout.insert(layout.end(), mac, mac + kMacSize);
    return encode(layout);
}

TEST(Base64url, Rfc4648VectorsInTheUrlAlphabetWithoutPadding) {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
    for (auto [plain, text] : vectors) {
        std::vector<uint8_t> bytes(plain.begin(), plain.end());
        EXPECT_EQ(encode(bytes), text);
        std::vector<uint8_t> back(16);
        size_t size = 99;
        ASSERT_EQ(decode_base64url(text, back, size), Base64Error::kOk) << text;
        back.resize(size);
        EXPECT_EQ(back, bytes) << text;
    }
}

TEST(Base64url, StrictDecoding) {
    std::vector<uint8_t> out(16);
    size_t size = 0;
    EXPECT_EQ(decode_base64url("Z", out, size), Base64Error::kBadLength);
    EXPECT_EQ(decode_base64url("Zh", out, size), Base64Error::kNonCanonical);   // "Zg" is "f"
    EXPECT_EQ(decode_base64url("Zm9", out, size), Base64Error::kNonCanonical);  // "Zm8" is "fo"
    EXPECT_EQ(decode_base64url("Zg==", out, size), Base64Error::kBadCharacter);
    EXPECT_EQ(decode_base64url("+/8A", out, size), Base64Error::kBadCharacter);
    EXPECT_EQ(decode_base64url("Zm 9", out, size), Base64Error::kBadCharacter);
    EXPECT_EQ(decode_base64url(std::string(24, 'A'), out, size), Base64Error::kTooLong);
}

// covers OB-EDGE-05
TEST(FlowToken, TcpLayoutIsTheDocumentedBytesAndMacIsHmacSha256) {
    KeyRing ring = ring_with(7, 1);
    std::string text = mint_text(ring, tcp_fields());
    EXPECT_EQ(text.size(), 35u);
    std::vector<uint8_t> bytes = decode(text);
    ASSERT_EQ(bytes.size(), kLayoutCommonSize + kMacSize);
    const std::vector<uint8_t> layout = {0x01, 0x07, 0x02, 0x03, 0x01, 0x02, 0x04,
                                         0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b};
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 14), layout);
    uint8_t mac[32];
    unsigned mac_size = 0;
    std::array<uint8_t, kKeySize> key = key_bytes(1);
    HMAC(EVP_sha256(), key.data(), key.size(), layout.data(), layout.size(), mac, &mac_size);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 14, bytes.end()),
              std::vector<uint8_t>(mac, mac + kMacSize));
}

// Known answers computed independently with Python's hmac and base64 modules
// (key = bytes 0..31, key id 1, worker 3, node 12, slot 123456, generation 7).
TEST(FlowToken, KnownAnswerTokens) {
    std::array<uint8_t, kKeySize> key{};
    for (size_t i = 0; i < kKeySize; ++i) key[i] = static_cast<uint8_t>(i);
    KeyRing ring = KeyRing::from_random(1, key);
    Fields f;
    f.worker_index = 3;
    f.node_id = 12;
    f.slot = 123456;
    f.generation = 7;
    f.transport = Transport::kTcp;
    EXPECT_EQ(mint_text(ring, f), "AQECAwAMAAHiQAAAAAehACOpVhU7TOjuxq8");
    f.transport = Transport::kUdp;
    f.remote = *Endpoint::parse("198.51.100.7:61000");
    f.local_socket_index = 2;
    EXPECT_EQ(mint_text(ring, f), "AQEBAwAMAAHiQAAAAAcExjNkB-5IAALkt_a5SuXw4eVP8aw");
}

TEST(FlowToken, UdpLayoutCarriesFamilyAddressPortAndSocket) {
    KeyRing ring = ring_with(0, 1);
    std::vector<uint8_t> v4 = decode(mint_text(ring, udp_fields("192.0.2.9:5060")));
    ASSERT_EQ(v4.size(), kLayoutUdpV4Size + kMacSize);
    EXPECT_EQ(std::vector<uint8_t>(v4.begin() + 14, v4.begin() + 23),
              (std::vector<uint8_t>{0x04, 192, 0, 2, 9, 0x13, 0xc4, 0x0c, 0x0d}));
    std::vector<uint8_t> v6 = decode(mint_text(ring, udp_fields("[2001:db8::5]:5062")));
    ASSERT_EQ(v6.size(), kLayoutUdpV6Size + kMacSize);
    EXPECT_EQ(v6[14], 0x06);
    EXPECT_EQ(v6[15], 0x20);
    EXPECT_EQ(v6[30], 0x05);
    EXPECT_EQ(v6[31], 0x13);
    EXPECT_EQ(v6[32], 0xc6);
}

// covers OB-EDGE-05, OB-EDGE-08
TEST(FlowToken, RoundTripsEveryTransportAndFamily) {
    KeyRing ring = ring_with(3, 2);
    std::vector<Fields> all = {tcp_fields(), udp_fields("198.51.100.1:1"),
                               udp_fields("[2001:db8:ffff::1]:65535")};
    for (Transport t : {Transport::kTls, Transport::kWs, Transport::kWss}) {
        Fields f = tcp_fields();
        f.transport = t;
        all.push_back(f);
    }
    Fields extremes = udp_fields("255.255.255.255:65535");
    extremes.node_id = 0xffff;
    extremes.worker_index = 0xff;
    extremes.slot = 0xffffffff;
    extremes.generation = 0xffffffff;
    extremes.local_socket_index = 0xffff;
    all.push_back(extremes);
    for (const Fields& f : all) {
        std::string text = mint_text(ring, f);
        VerifyResult v = verify(ring, text);
        ASSERT_EQ(v.status, VerifyStatus::kOk) << text;
        EXPECT_EQ(v.key_id, 3);
        EXPECT_EQ(v.fields, f) << text;
    }
}

// covers OB-EDGE-05
TEST(FlowToken, TextIsALegalSipUserPart) {
    KeyRing ring = ring_with(0, 3);
    for (const Fields& f : {tcp_fields(), udp_fields("10.1.2.3:4"), udp_fields("[::1]:9")}) {
        std::string text = mint_text(ring, f);
        EXPECT_LE(text.size(), kTokenTextSizeMax);
        for (char c : text) {
            // RFC 3261 user = 1*(unreserved / escaped / user-unreserved);
            // our alphabet is inside alphanum / "-" / "_".
            EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << text;
        }
        std::string uri = "sip:" + text + "@edge.example.net;lr;ob";
        EXPECT_EQ(uri.substr(4, uri.find('@') - 4), text);
    }
}

// covers OB-EDGE-08, OB-SEC-04, OB-EDGE-14
TEST(FlowToken, NoSingleBitFlipOfTheBytesVerifies) {
    KeyRing ring = ring_with(1, 4);
    for (const Fields& f : {tcp_fields(), udp_fields("203.0.113.5:5060"),
                            udp_fields("[2001:db8::abcd]:5060")}) {
        std::vector<uint8_t> good = decode(mint_text(ring, f));
        for (size_t bit = 0; bit < good.size() * 8; ++bit) {
            std::vector<uint8_t> b = good;
            b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            VerifyResult v = verify(ring, encode(b));
            EXPECT_NE(v.status, VerifyStatus::kOk) << "bit " << bit;
        }
    }
}

// covers OB-EDGE-08, OB-SEC-04
TEST(FlowToken, NoSingleCharacterChangeVerifies) {
    KeyRing ring = ring_with(1, 5);
    const std::string_view kOthers = "=+/.%~!@: \x80";
    for (const Fields& f : {tcp_fields(), udp_fields("203.0.113.5:5060"),
                            udp_fields("[2001:db8::abcd]:5060")}) {
        std::string good = mint_text(ring, f);
        for (size_t i = 0; i < good.size(); ++i) {
            for (char c : std::string(kAlphabet) + std::string(kOthers)) {
                if (c == good[i]) continue;
                std::string t = good;
                t[i] = c;
                EXPECT_NE(verify(ring, t).status, VerifyStatus::kOk) << i << " " << c;
            }
        }
        EXPECT_NE(verify(ring, good.substr(0, good.size() - 1)).status, VerifyStatus::kOk);
        EXPECT_NE(verify(ring, good + "A").status, VerifyStatus::kOk);
    }
}

// covers OB-EDGE-04
TEST(FlowToken, ANewGenerationOfTheSameSlotGetsADifferentToken) {
    KeyRing ring = ring_with(0, 6);
    Fields first = udp_fields("192.0.2.1:5060");
    Fields second = first;
    second.generation += 1;
    std::string a = mint_text(ring, first);
    std::string b = mint_text(ring, second);
    EXPECT_NE(a, b);
    // The old token still verifies but names the old generation, which the
    // flow table no longer holds: the edge answers 430 (OB-EDGE-15).
    VerifyResult v = verify(ring, a);
    ASSERT_EQ(v.status, VerifyStatus::kOk);
    EXPECT_EQ(v.fields.generation, first.generation);
    // Minting is deterministic: the same flow always gets the same token.
    EXPECT_EQ(mint_text(ring, first), a);
}

// covers OB-EDGE-03
TEST(FlowToken, EmptyRingCannotMint) {
    KeyRing empty;
    std::array<char, kTokenTextSizeMax> out{};
    MintResult m = mint(empty, tcp_fields(), out);
    EXPECT_EQ(m.status, MintStatus::kNoKey);
    EXPECT_EQ(m.size, 0u);
    std::string token = mint_text(ring_with(0, 1), tcp_fields());
    EXPECT_EQ(verify(empty, token).status, VerifyStatus::kUnknownKey);
}

TEST(FlowToken, RotationKeepsOldTokensUntilTheKeyIsRetired) {
    KeyRing ring = ring_with(1, 7);
    std::string old_token = mint_text(ring, tcp_fields());
    ASSERT_TRUE(ring.add(2, key_bytes(8)).ok());
    std::string new_token = mint_text(ring, tcp_fields());
    EXPECT_NE(old_token, new_token);
    EXPECT_EQ(verify(ring, new_token).key_id, 2);
    EXPECT_EQ(verify(ring, old_token).status, VerifyStatus::kOk);
    ASSERT_TRUE(ring.retire(1).ok());
    VerifyResult v = verify(ring, old_token);
    EXPECT_EQ(v.status, VerifyStatus::kUnknownKey);
    EXPECT_EQ(v.key_id, 1);
    EXPECT_EQ(verify(ring, new_token).status, VerifyStatus::kOk);
}

// covers OB-EDGE-14
TEST(FlowToken, OtherClustersTokensDoNotVerify) {
    KeyRing ours = ring_with(1, 9);
    std::string unknown_id = mint_text(ring_with(9, 9), tcp_fields());
    EXPECT_EQ(verify(ours, unknown_id).status, VerifyStatus::kUnknownKey);
    std::string same_id_other_secret = mint_text(ring_with(1, 10), tcp_fields());
    EXPECT_EQ(verify(ours, same_id_other_secret).status, VerifyStatus::kBadMac);
}

struct DefectCase {
    const char* name;
    std::vector<uint8_t> layout;
    Defect defect;
};

TEST(FlowToken, EveryMalformedDefectIsNamed) {
    KeyRing ring = ring_with(0, 11);
    const std::vector<uint8_t> tcp = {1, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    auto with = [&](std::vector<uint8_t> base, size_t i, uint8_t v) {
        base[i] = v;
        return base;
    };
    std::vector<uint8_t> udp4 = with(tcp, 2, 1);
    for (uint8_t b : {4, 192, 0, 2, 1, 0x13, 0xc4, 0, 0}) udp4.push_back(b);
    std::vector<uint8_t> udp4_as_v6_family = with(udp4, 14, 6);
    std::vector<uint8_t> udp4_port0 = with(with(udp4, 19, 0), 20, 0);
    const DefectCase cases[] = {
        {"version 2", with(tcp, 0, 2), Defect::kBadVersion},
        {"version 0", with(tcp, 0, 0), Defect::kBadVersion},
        {"transport 0", with(tcp, 2, 0), Defect::kBadTransport},
        {"transport 6", with(tcp, 2, 6), Defect::kBadTransport},
        {"udp without address", with(tcp, 2, 1), Defect::kSizeMismatch},
        {"tcp with address", with(udp4, 2, 2), Defect::kSizeMismatch},
        {"family 5", with(udp4, 14, 5), Defect::kBadFamily},
        {"v6 family, v4 size", udp4_as_v6_family, Defect::kSizeMismatch},
        {"port 0", udp4_port0, Defect::kBadPort},
    };
    for (const DefectCase& c : cases) {
        VerifyResult v = verify(ring, sign(ring, c.layout));
        EXPECT_EQ(v.status, VerifyStatus::kMalformed) << c.name;
        EXPECT_EQ(v.defect, c.defect) << c.name << ": " << defect_name(v.defect);
    }
    // The signing helper itself produces verifiable tokens.
    EXPECT_EQ(verify(ring, sign(ring, tcp)).status, VerifyStatus::kOk);
    EXPECT_EQ(verify(ring, sign(ring, udp4)).status, VerifyStatus::kOk);

    std::string good = mint_text(ring, tcp_fields());
    EXPECT_EQ(verify(ring, "").defect, Defect::kBadLength);
    EXPECT_EQ(verify(ring, good.substr(1)).defect, Defect::kBadLength);
    EXPECT_EQ(verify(ring, std::string(200, 'A')).defect, Defect::kBadLength);
    std::string bad_char = good;
    bad_char[5] = '.';
    EXPECT_EQ(verify(ring, bad_char).defect, Defect::kBadCharacter);
    // 26 bytes leave 2 unused bits in the last character.
    std::string non_canonical = good;
    size_t last = kAlphabet.find(good.back());
    non_canonical.back() = kAlphabet[(last & ~size_t{3}) | 1];
    EXPECT_EQ(verify(ring, non_canonical).defect, Defect::kNonCanonical);
    for (Defect d : {Defect::kNone, Defect::kBadPort}) EXPECT_NE(defect_name(d), "unknown");
    EXPECT_EQ(verify_status_name(VerifyStatus::kBadMac), "bad_mac");
}

TEST(FlowTokenDeathTest, MintAssertsOnInconsistentFields) {
    KeyRing ring = ring_with(0, 1);
    std::array<char, kTokenTextSizeMax> out{};
    Fields udp_without_remote = tcp_fields();
    udp_without_remote.transport = Transport::kUdp;
    EXPECT_DEATH((void)mint(ring, udp_without_remote, out), "remote");
    Fields tcp_with_remote = udp_fields("10.0.0.1:5");
    tcp_with_remote.transport = Transport::kTcp;
    EXPECT_DEATH((void)mint(ring, tcp_with_remote, out), "remote");
}

}  // namespace
}  // namespace fe::token
