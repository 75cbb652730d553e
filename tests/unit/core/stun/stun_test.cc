// Checks the STUN keep-alive codec (core/stun) byte for byte: demultiplexing
// from SIP, every named parse error, the server's answers (known-answer bytes
// computed by hand and with zlib's CRC-32 for FINGERPRINT), the RFC 5769 test
// vectors, and the client side. Inputs that could be over-read sit flush
// against an inaccessible page so that a read past the end crashes at once.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/stun/client.h"
#include "core/stun/internal/crc32.h"
#include "core/stun/message.h"
#include "core/stun/server.h"
#include "gtest/gtest.h"

namespace fe::stun {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(std::string_view hex) {
    Bytes out;
    auto nibble = [](char c) -> uint8_t {
        if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
        return static_cast<uint8_t>(c - 'a' + 10);
    };
    std::string digits;
    for (char c : hex) {
        if (c != ' ' && c != '\n') digits.push_back(c);
    }
    EXPECT_EQ(digits.size() % 2, 0u);
    for (size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
    }
    return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

// Copies bytes to the end of a readable page followed by a PROT_NONE page.
class Guarded {
  public:
    explicit Guarded(std::span<const uint8_t> bytes) {
        page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        base_ = static_cast<uint8_t*>(
            mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        EXPECT_NE(base_, MAP_FAILED);
        EXPECT_EQ(mprotect(base_ + page_, page_, PROT_NONE), 0);
        data_ = base_ + page_ - bytes.size();
        if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
        size_ = bytes.size();
    }
    ~Guarded() { munmap(base_, 2 * page_); }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;
    std::span<const uint8_t> span() const { return {data_, size_}; }

  private:
    size_t page_ = 0;
    uint8_t* base_ = nullptr;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

ParseError parse_guarded(const Bytes& bytes, Message& out) {
    Guarded g(bytes);
    return parse(g.span(), out);
}

const TransactionId kId = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
const TransactionId kRfc5769Id = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// 20-byte Binding request with transaction id 000102...0b.
const char* kPlainRequest = "0001 0000 2112a442 000102030405060708090a0b";
// The same with FINGERPRINT (CRC from zlib.crc32 ^ 0x5354554e).
const char* kFingerprintRequest =
    "0001 0008 2112a442 000102030405060708090a0b 8028 0004 5b0ff6fc";

// RFC 5769 §2.1-2.4 sample messages.
const char* kRfc5769Request =
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e207465737420636c69656e74"
    "002400046e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf";
const char* kRfc5769V4Response =
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96";
const char* kRfc5769V6Response =
    "010100482112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c";

Endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    return Endpoint::v4(static_cast<uint32_t>(a) << 24 | static_cast<uint32_t>(b) << 16 |
                            static_cast<uint32_t>(c) << 8 | d,
                        port);
}

TEST(Crc32, MatchesTheStandardCheckValue) {
    const char* text = "123456789";
    EXPECT_EQ(internal::crc32({reinterpret_cast<const uint8_t*>(text), 9}), 0xCBF43926u);
}

// covers OB-STUN-01, OB-STUN-04
TEST(LooksLikeStun, AcceptsAnAttributeLessBindingRequest) {
    Guarded g(from_hex(kPlainRequest));
    EXPECT_TRUE(looks_like_stun(g.span()));
}

// covers OB-STUN-04
TEST(LooksLikeStun, RejectsSipTextAndSipKeepAlives) {
    std::string_view sip = "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n";
    EXPECT_FALSE(looks_like_stun({reinterpret_cast<const uint8_t*>(sip.data()), sip.size()}));
    std::string_view crlf = "\r\n\r\n";
    EXPECT_FALSE(looks_like_stun({reinterpret_cast<const uint8_t*>(crlf.data()), crlf.size()}));
    EXPECT_FALSE(looks_like_stun({}));
}

// covers OB-STUN-09
TEST(LooksLikeStun, RejectsRfc3489RequestWithoutMagicCookie) {
    Guarded g(from_hex("0001 0000 01020304 000102030405060708090a0b"));
    EXPECT_FALSE(looks_like_stun(g.span()));
    Message msg;
    EXPECT_EQ(parse(g.span(), msg), ParseError::kBadMagicCookie);
}

// covers OB-STUN-10
TEST(LooksLikeStun, RejectsSigCompLeadingBits) {
    Bytes b = from_hex(kPlainRequest);
    b[0] = 0xC0;  // 11xxxxxx is SigComp
    Guarded g(b);
    EXPECT_FALSE(looks_like_stun(g.span()));
}

TEST(LooksLikeStun, OversizeStunIsStillStunSoItIsNotHandedToSip) {
    Bytes b(kMessageSizeMax + 4, 0);
    Bytes head = from_hex(kPlainRequest);
    std::copy(head.begin(), head.end(), b.begin());
    b[2] = static_cast<uint8_t>((b.size() - 20) >> 8);
    b[3] = static_cast<uint8_t>(b.size() - 20);
    Guarded g(b);
    EXPECT_TRUE(looks_like_stun(g.span()));
    Message msg;
    EXPECT_EQ(parse(g.span(), msg), ParseError::kTooLarge);
}

struct BadCase {
    const char* name;
    const char* hex;
    ParseError error;
};

// covers OB-DEP-09, OB-DEP-10, OB-DEP-14
TEST(Parse, EveryMalformedCaseHasItsOwnError) {
    const BadCase cases[] = {
        {"short header", "0001 0000 2112a442 0001020304050607", ParseError::kTooShort},
        {"leading bits", "4001 0000 2112a442 000102030405060708090a0b",
         ParseError::kBadLeadingBits},
        {"cookie", "0001 0000 2112a443 000102030405060708090a0b", ParseError::kBadMagicCookie},
        {"length not aligned", "0001 0002 2112a442 000102030405060708090a0b 0000",
         ParseError::kLengthNotAligned},
        {"length too long", "0001 0008 2112a442 000102030405060708090a0b 80220000",
         ParseError::kLengthMismatch},
        {"length too short", "0001 0000 2112a442 000102030405060708090a0b 80220000",
         ParseError::kLengthMismatch},
        {"value past end", "0001 0004 2112a442 000102030405060708090a0b 80220001",
         ParseError::kAttributeValueTruncated},
        {"padding past end", "0001 0008 2112a442 000102030405060708090a0b 80220005 41424344",
         ParseError::kAttributeValueTruncated},
        {"fingerprint size", "0001 000c 2112a442 000102030405060708090a0b 80280008 0000000000000000",
         ParseError::kFingerprintBadLength},
        {"fingerprint not last",
         "0001 0010 2112a442 000102030405060708090a0b 80280004 5b0ff6fc 80220000 00000000",
         ParseError::kFingerprintNotLast},
        {"fingerprint wrong", "0001 0008 2112a442 000102030405060708090a0b 80280004 5b0ff6fd",
         ParseError::kFingerprintMismatch},
        {"xma short", "0101 0008 2112a442 000102030405060708090a0b 00200004 00013a2b",
         ParseError::kXorMappedAddressBadLength},
        {"xma v4 with v6 size",
         "0101 0018 2112a442 000102030405060708090a0b 00200014 00013a2b "
         "00000000000000000000000000000000",
         ParseError::kXorMappedAddressBadLength},
        {"xma family", "0101 000c 2112a442 000102030405060708090a0b 00200008 00033a2b 01020304",
         ParseError::kXorMappedAddressBadFamily},
        {"error code short", "0111 0004 2112a442 000102030405060708090a0b 00090000",
         ParseError::kErrorCodeBadLength},
        {"error class 7", "0111 0008 2112a442 000102030405060708090a0b 00090004 00000714",
         ParseError::kErrorCodeBadValue},
        {"error number 100", "0111 0008 2112a442 000102030405060708090a0b 00090004 00000464",
         ParseError::kErrorCodeBadValue},
    };
    for (const BadCase& c : cases) {
        Message msg;
        Bytes b = from_hex(c.hex);
        EXPECT_EQ(parse_guarded(b, msg), c.error)
            << c.name << ": got " << parse_error_name(parse_guarded(b, msg));
        EXPECT_NE(parse_error_name(c.error), "unknown");
    }
}

TEST(Parse, HeaderFieldsOfAPlainRequest) {
    Message msg;
    ASSERT_EQ(parse_guarded(from_hex(kPlainRequest), msg), ParseError::kOk);
    EXPECT_EQ(msg.type, kBindingRequest);
    EXPECT_EQ(msg.transaction_id, kId);
    EXPECT_FALSE(msg.has_fingerprint);
    EXPECT_EQ(msg.unknown_attribute_count, 0);
}

// covers OB-DEP-14
TEST(Parse, AcceptsValidFingerprint) {
    Message msg;
    ASSERT_EQ(parse_guarded(from_hex(kFingerprintRequest), msg), ParseError::kOk);
    EXPECT_TRUE(msg.has_fingerprint);
}

TEST(Parse, EveryTruncationOfAValidMessageIsRejected) {
    Bytes full = from_hex(kRfc5769Request);
    for (size_t size = 0; size < full.size(); ++size) {
        Message msg;
        Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
        EXPECT_NE(parse_guarded(prefix, msg), ParseError::kOk) << "prefix of " << size;
    }
}

// covers OB-DEP-10
TEST(Parse, CollectsUnknownRequiredAttributesOnceEachUpToTheLimit) {
    std::string hex = "0001 0000 2112a442 000102030405060708090a0b";
    // 0x7FFE twice, then 0x0030..0x003A: 12 distinct unknowns in all; plus
    // comprehension-optional 0x8123 and known USERNAME which are not listed.
    std::vector<uint16_t> types = {0x7FFE, 0x7FFE, 0x8123, kAttrUsername};
    for (uint16_t t = 0x0030; t <= 0x003A; ++t) types.push_back(t);
    for (uint16_t t : types) {
        char buf[16];
        snprintf(buf, sizeof buf, " %04x0000", t);
        hex += buf;
    }
    Bytes b = from_hex(hex);
    b[3] = static_cast<uint8_t>(types.size() * 4);
    Message msg;
    ASSERT_EQ(parse_guarded(b, msg), ParseError::kOk);
    ASSERT_EQ(msg.unknown_attribute_count, kUnknownAttributeCountMax);
    EXPECT_EQ(msg.unknown_attributes()[0], 0x7FFE);
    EXPECT_EQ(msg.unknown_attributes()[1], 0x0030);
    EXPECT_EQ(msg.unknown_attributes()[7], 0x0036);
}

TEST(Parse, IgnoresAttributesAfterMessageIntegrityExceptFingerprint) {
    Bytes b = from_hex(
        "0001 001c 2112a442 000102030405060708090a0b "
        "00080014 0000000000000000000000000000000000000000 7ffe0000");
    Message msg;
    ASSERT_EQ(parse_guarded(b, msg), ParseError::kOk);
    EXPECT_TRUE(msg.has_message_integrity);
    EXPECT_EQ(msg.unknown_attribute_count, 0);
}

TEST(Parse, Rfc5769SampleRequest) {
    Message msg;
    ASSERT_EQ(parse_guarded(from_hex(kRfc5769Request), msg), ParseError::kOk);
    EXPECT_EQ(msg.type, kBindingRequest);
    EXPECT_EQ(msg.transaction_id, kRfc5769Id);
    EXPECT_TRUE(msg.has_fingerprint);
    EXPECT_TRUE(msg.has_message_integrity);
    // PRIORITY (0x0024) is ICE's, not RFC 5389's; ICE-CONTROLLED is optional.
    ASSERT_EQ(msg.unknown_attribute_count, 1);
    EXPECT_EQ(msg.unknown_attributes()[0], 0x0024);
}

// covers OB-DEP-12
TEST(Parse, Rfc5769SampleResponsesDecodeTheMappedAddress) {
    Message msg;
    ASSERT_EQ(parse_guarded(from_hex(kRfc5769V4Response), msg), ParseError::kOk);
    EXPECT_TRUE(msg.has_fingerprint);
    EXPECT_EQ(msg.xor_mapped_address.to_string(), "192.0.2.1:32853");

    ASSERT_EQ(parse_guarded(from_hex(kRfc5769V6Response), msg), ParseError::kOk);
    EXPECT_TRUE(msg.has_fingerprint);
    EXPECT_EQ(msg.xor_mapped_address, *Endpoint::parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853"));
}

// covers OB-DEP-14
TEST(Parse, Rfc5769FingerprintCatchesEveryFlippedByteBeforeIt) {
    Bytes good = from_hex(kRfc5769V4Response);
    for (size_t i = 0; i + 8 < good.size(); ++i) {
        Bytes b = good;
        b[i] ^= 0x01;
        Message msg;
        ParseError error = parse_guarded(b, msg);
        EXPECT_NE(error, ParseError::kOk) << "byte " << i;
        // In the SOFTWARE (24..35) and MESSAGE-INTEGRITY (52..71) values only
        // the CRC can notice; elsewhere framing may notice first.
        if ((i >= 24 && i < 35) || (i >= 52 && i < 72)) {
            EXPECT_EQ(error, ParseError::kFingerprintMismatch) << "byte " << i;
        }
    }
}

std::string answer_hex(const Bytes& request, const Endpoint& source, Verdict expected) {
    Guarded g(request);
    std::array<uint8_t, kResponseSizeMax> out{};
    Answer a = answer(g.span(), source, out);
    EXPECT_EQ(a.verdict, expected);
    return to_hex({out.data(), a.response_size});
}

// covers OB-STUN-01, OB-STUN-02, OB-DEP-12
TEST(Server, KnownAnswerIpv4) {
    // 10.0.0.1:5060 -> port 0x13c4 ^ 0x2112 = 0x32d6, 0a000001 ^ 2112a442 = 2b12a443.
    EXPECT_EQ(answer_hex(from_hex(kPlainRequest), v4(10, 0, 0, 1, 5060), Verdict::kSendSuccess),
              "0101000c2112a442000102030405060708090a0b"
              "00200008000132d62b12a443");
}

// covers OB-STUN-02, OB-DEP-12
TEST(Server, KnownAnswerIpv6) {
    // The RFC 5769 §2.3 address under the RFC 5769 transaction id gives its
    // XOR-MAPPED-ADDRESS bytes; they also check by hand (2001 ^ 2112 = 0113).
    Bytes request = from_hex("0001 0000 2112a442 b7e7a701bc34d686fa87dfae");
    Endpoint source = *Endpoint::parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    EXPECT_EQ(answer_hex(request, source, Verdict::kSendSuccess),
              "010100182112a442b7e7a701bc34d686fa87dfae"
              "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9");
}

// covers OB-DEP-14
TEST(Server, AddsFingerprintOnlyWhenTheRequestHadOne) {
    EXPECT_EQ(answer_hex(from_hex(kFingerprintRequest), v4(10, 0, 0, 1, 5060),
                         Verdict::kSendSuccess),
              "010100142112a442000102030405060708090a0b"
              "00200008000132d62b12a443"
              "80280004355c44aa");
}

// covers OB-DEP-10
TEST(Server, UnknownRequiredAttributeGets420ListingIt) {
    Bytes request = from_hex("0001 0004 2112a442 000102030405060708090a0b 7ffe0000");
    EXPECT_EQ(answer_hex(request, v4(10, 0, 0, 1, 5060), Verdict::kSendUnknownAttributes),
              "011100242112a442000102030405060708090a0b"
              "0009001500000414556e6b6e6f776e20417474726962757465000000"
              "000a00027ffe0000");
    Bytes with_fp = from_hex(
        "0001 000c 2112a442 000102030405060708090a0b 7ffe0000 80280004 00000000");
    // Recompute the request's FINGERPRINT so it is valid.
    uint32_t crc = internal::crc32({with_fp.data(), with_fp.size() - 8}) ^ kFingerprintXor;
    for (int i = 0; i < 4; ++i) with_fp[with_fp.size() - 4 + static_cast<size_t>(i)] =
        static_cast<uint8_t>(crc >> (24 - 8 * i));
    EXPECT_EQ(answer_hex(with_fp, v4(10, 0, 0, 1, 5060), Verdict::kSendUnknownAttributes),
              "0111002c2112a442000102030405060708090a0b"
              "0009001500000414556e6b6e6f776e20417474726962757465000000"
              "000a00027ffe0000"
              "8028000409df7ec4");
}

// covers OB-DEP-10
TEST(Server, SoftwareAttributeIsIgnored) {
    Bytes request = from_hex("0001 0008 2112a442 000102030405060708090a0b 80220003 41424300");
    EXPECT_EQ(answer_hex(request, v4(10, 0, 0, 1, 5060), Verdict::kSendSuccess),
              "0101000c2112a442000102030405060708090a0b00200008000132d62b12a443");
}

// covers OB-DEP-11
TEST(Server, RetransmissionGetsTheIdenticalResponse) {
    Endpoint source = *Endpoint::parse("[2001:db8::7]:40000");
    std::string first = answer_hex(from_hex(kFingerprintRequest), source, Verdict::kSendSuccess);
    std::string second = answer_hex(from_hex(kFingerprintRequest), source, Verdict::kSendSuccess);
    EXPECT_EQ(first, second);
    EXPECT_FALSE(first.empty());
}

TEST(Server, DropsWhatIsNotABindingRequest) {
    Endpoint source = v4(10, 0, 0, 1, 5060);
    answer_hex(from_hex("0011 0000 2112a442 000102030405060708090a0b"), source,
               Verdict::kDropNotRequest);  // Binding indication
    answer_hex(from_hex("0101000c2112a442000102030405060708090a0b00200008000132d62b12a443"),
               source, Verdict::kDropNotRequest);  // a success response
    answer_hex(from_hex("0003 0000 2112a442 000102030405060708090a0b"), source,
               Verdict::kDropUnsupportedMethod);  // TURN Allocate
    Guarded g(from_hex("0001 0000 2112a443 000102030405060708090a0b"));
    std::array<uint8_t, kResponseSizeMax> out{};
    Answer a = answer(g.span(), source, out);
    EXPECT_EQ(a.verdict, Verdict::kDropMalformed);
    EXPECT_EQ(a.error, ParseError::kBadMagicCookie);
    EXPECT_EQ(a.response_size, 0u);
}

TEST(Server, Rfc5769RequestGets420ForPriority) {
    std::string hex = answer_hex(from_hex(kRfc5769Request), v4(192, 0, 2, 1, 32853),
                                 Verdict::kSendUnknownAttributes);
    EXPECT_NE(hex.find("000a00020024"), std::string::npos) << hex;
}

TEST(Client, BuildsAMinimalBindingRequest) {
    std::array<uint8_t, kRequestSizeMax> out{};
    size_t size = build_binding_request(kId, FingerprintMode::kOmit, out);
    EXPECT_EQ(to_hex({out.data(), size}), "000100002112a442000102030405060708090a0b");
    size = build_binding_request(kId, FingerprintMode::kAdd, out);
    EXPECT_EQ(to_hex({out.data(), size}),
              "000100082112a442000102030405060708090a0b802800045b0ff6fc");
}

// covers OB-STUN-02, OB-KA-16
TEST(Client, ReadsTheMappedAddressFromOurServer) {
    for (const char* text : {"198.51.100.7:61000", "[2001:db8::1:2]:5062"}) {
        Endpoint source = *Endpoint::parse(text);
        std::array<uint8_t, kRequestSizeMax> req{};
        size_t req_size = build_binding_request(kId, FingerprintMode::kAdd, req);
        std::array<uint8_t, kResponseSizeMax> resp{};
        Answer a = answer({req.data(), req_size}, source, resp);
        ASSERT_EQ(a.verdict, Verdict::kSendSuccess);
        Guarded g({resp.data(), a.response_size});
        BindingResponse r = read_binding_response(g.span(), kId);
        ASSERT_EQ(r.kind, ResponseKind::kSuccess);
        EXPECT_EQ(r.mapped, source) << text;
        TransactionId other = kId;
        other[11] ^= 1;
        EXPECT_EQ(read_binding_response(g.span(), other).kind, ResponseKind::kNotOurs);
    }
}

TEST(Client, Rfc5769ResponseGivesTheMappedAddress) {
    Guarded g(from_hex(kRfc5769V4Response));
    BindingResponse r = read_binding_response(g.span(), kRfc5769Id);
    ASSERT_EQ(r.kind, ResponseKind::kSuccess);
    EXPECT_EQ(r.mapped, v4(192, 0, 2, 1, 32853));
}

// covers OB-KA-15
TEST(Client, ErrorResponseGivesItsCode) {
    std::array<uint8_t, kResponseSizeMax> out{};
    const uint16_t unknown[] = {0x7FFE};
    size_t size = build_unknown_attributes_error(kId, unknown, FingerprintMode::kOmit, out);
    BindingResponse r = read_binding_response({out.data(), size}, kId);
    EXPECT_EQ(r.kind, ResponseKind::kError);
    EXPECT_EQ(r.error_code, 420);
    Guarded bad(from_hex("0111 0000 2112a442 000102030405060708090a0b"));
    EXPECT_EQ(read_binding_response(bad.span(), kId).kind, ResponseKind::kMissingErrorCode);
}

TEST(Client, SuccessWithoutAddressOrWithUnknownRequiredAttributeIsRejected) {
    Guarded empty(from_hex("0101 0000 2112a442 000102030405060708090a0b"));
    EXPECT_EQ(read_binding_response(empty.span(), kId).kind, ResponseKind::kMissingMappedAddress);
    Guarded unknown(from_hex(
        "0101 0010 2112a442 000102030405060708090a0b 00200008000132d62b12a443 7ffe0000"));
    EXPECT_EQ(read_binding_response(unknown.span(), kId).kind,
              ResponseKind::kUnknownRequiredAttribute);
    Guarded junk(from_hex("0101 0001 2112a442 000102030405060708090a0b"));
    BindingResponse r = read_binding_response(junk.span(), kId);
    EXPECT_EQ(r.kind, ResponseKind::kMalformed);
    EXPECT_EQ(r.error, ParseError::kLengthNotAligned);
}

}  // namespace
}  // namespace fe::stun
