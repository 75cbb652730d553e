// Checks the WebSocket opening handshake (core/ws/handshake.h): the RFC 6455
// §1.3 accept value, the exact 101 for a request offering `sip` (RFC 7118
// §4), each refusal with its status and exact response bytes, incremental
// reading (every proper prefix needs more; byte-at-a-time with one scan gives
// the same answer), the size and header-count limits, and the client side
// against the server side. Inputs end flush against a PROT_NONE page.
#include "core/ws/handshake.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "tests/unit/core/ws/guarded_bytes.h"

namespace fe::ws {
namespace {

using testing::GuardedBytes;

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// RFC 6455 §1.2's request, offering "chat, sip" instead of "chat, superchat".
const std::string kRequest =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, sip\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

const std::string k101 =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: sip\r\n"
    "\r\n";

const std::string k400 =
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const std::string k403 = "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const std::string k426 =
    "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
    "Connection: close\r\nContent-Length: 0\r\n\r\n";

struct Read {
    std::unique_ptr<GuardedBytes> bytes;  // the request views point into these
    HandshakeResult result;
    std::string response;
};

Read read(std::string_view bytes, const HandshakeOptions& options = {}) {
    auto buf = std::make_unique<GuardedBytes>(bytes);
    HandshakeScan scan;
    std::array<char, kHandshakeResponseSizeMax> out{};
    const HandshakeResult result = read_handshake(buf->view(), scan, options, out);
    return {std::move(buf), result, std::string(out.data(), result.response_size)};
}

// kRequest with one header line replaced (or removed, with an empty `with`).
std::string with_header(std::string_view name, std::string_view with) {
    std::string req = kRequest;
    const size_t at = req.find(std::string(name) + ":");
    EXPECT_NE(at, std::string::npos) << name;
    const size_t eol = req.find("\r\n", at);
    req.replace(at, eol + 2 - at, with.empty() ? "" : std::string(with) + "\r\n");
    return req;
}

// RFC 6455 §1.3: SHA-1 of key + GUID is b3 7a 4f 2c c0 62 4f 16 90 f6 46 06
// cf 38 59 45 b2 be c4 ea, base64 "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". (The brief
// for this work quoted "s3pPLMBiTxaQ9kxGzzgoO1e1u8Q=", which is not it.)
TEST(Handshake, Rfc6455AcceptExample) {
    const Accept a = accept_of(kRfcKey);
    EXPECT_EQ(std::string_view(a.data(), a.size()), kRfcAccept);
}

TEST(Handshake, KeyOfRfcNonce) {
    // §1.3's key is the base64 of the 16 bytes "the sample nonce".
    const std::string_view nonce = "the sample nonce";
    const Key k =
        key_of(std::span<const uint8_t, 16>(reinterpret_cast<const uint8_t*>(nonce.data()), 16));
    EXPECT_EQ(std::string_view(k.data(), k.size()), kRfcKey);
}

TEST(Handshake, AcceptsSipWithExact101) {
    const Read r = read(kRequest);
    EXPECT_EQ(r.result.verdict, HandshakeVerdict::kAccept);
    EXPECT_EQ(r.result.error, HandshakeError::kNone);
    EXPECT_EQ(r.result.status, 101);
    EXPECT_EQ(r.result.request_size, kRequest.size());
    EXPECT_EQ(r.response, k101);
    EXPECT_EQ(r.result.request.target, "/chat");
    EXPECT_EQ(r.result.request.host, "server.example.com");
    EXPECT_EQ(r.result.request.origin, "http://example.com");
    EXPECT_EQ(r.result.request.key, kRfcKey);
}

TEST(Handshake, BytesAfterTheRequestAreNotPartOfIt) {
    const Read r = read(kRequest + "\x81\x85\x37\xfa");
    EXPECT_EQ(r.result.verdict, HandshakeVerdict::kAccept);
    EXPECT_EQ(r.result.request_size, kRequest.size());
}

TEST(Handshake, EveryProperPrefixNeedsMore) {
    for (size_t n = 0; n < kRequest.size(); ++n) {
        const Read r = read(kRequest.substr(0, n));
        EXPECT_EQ(r.result.verdict, HandshakeVerdict::kNeedMore) << n;
        EXPECT_EQ(r.result.response_size, 0u) << n;
    }
}

TEST(Handshake, ByteAtATimeWithOneScan) {
    HandshakeScan scan;
    std::array<char, kHandshakeResponseSizeMax> out{};
    for (size_t n = 1; n < kRequest.size(); ++n) {
        GuardedBytes buf(kRequest.substr(0, n));
        EXPECT_EQ(read_handshake(buf.view(), scan, {}, out).verdict, HandshakeVerdict::kNeedMore)
            << n;
    }
    GuardedBytes buf(kRequest);
    const HandshakeResult r = read_handshake(buf.view(), scan, {}, out);
    EXPECT_EQ(r.verdict, HandshakeVerdict::kAccept);
    EXPECT_EQ(std::string(out.data(), r.response_size), k101);
    EXPECT_EQ(scan.scanned_size, 0u);
}

TEST(Handshake, HeaderVariantsBrowsersSend) {
    // Firefox: "keep-alive, Upgrade"; names and the Upgrade/Connection tokens
    // are case-insensitive; sip offered on a header line of its own.
    EXPECT_EQ(read(with_header("Connection", "Connection: keep-alive, Upgrade")).response, k101);
    EXPECT_EQ(read(with_header("Upgrade", "upgrade:WebSocket")).response, k101);
    EXPECT_EQ(read(with_header("Connection", "CONNECTION: upgrade")).response, k101);
    EXPECT_EQ(read(with_header("Sec-WebSocket-Protocol",
                               "Sec-WebSocket-Protocol: chat\r\nsec-websocket-protocol: sip"))
                  .response,
              k101);
    EXPECT_EQ(read(with_header("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol:sip")).response,
              k101);
    EXPECT_EQ(read(with_header("Origin", "")).response, k101);  // native clients send none
    EXPECT_EQ(read(with_header("Host", "Host: [2001:db8::1]:8080")).result.request.host,
              "[2001:db8::1]:8080");
}

struct Refusal {
    const char* name;
    std::string request;
    HandshakeError error;
    uint16_t status;
};

std::vector<Refusal> refusals() {
    std::string too_many = kRequest.substr(0, kRequest.size() - 2);
    for (uint32_t i = 0; i < kHandshakeHeaderCountMax; ++i) {
        too_many += "X-Pad: " + std::to_string(i) + "\r\n";
    }
    too_many += "\r\n";
    return {
        {"post", "POST /chat HTTP/1.1\r\n\r\n", HandshakeError::kNotGet, 400},
        {"tls_client_hello", "\x16\x03\x01\x02\x00\x01", HandshakeError::kNotGet, 400},
        {"sip_request", "REGISTER sip:example.com SIP/2.0\r\n", HandshakeError::kNotGet, 400},
        {"lowercase_get", "get /chat HTTP/1.1\r\n\r\n", HandshakeError::kNotGet, 400},
        {"http_1_0", "GET /chat HTTP/1.0\r\nHost: x\r\n\r\n", HandshakeError::kBadRequestLine, 400},
        {"no_target", "GET  HTTP/1.1\r\nHost: x\r\n\r\n", HandshakeError::kBadRequestLine, 400},
        {"space_in_target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", HandshakeError::kBadRequestLine,
         400},
        {"no_host", with_header("Host", ""), HandshakeError::kBadHost, 400},
        {"two_hosts", with_header("Host", "Host: a\r\nHost: b"), HandshakeError::kBadHost, 400},
        {"empty_host", with_header("Host", "Host: "), HandshakeError::kBadHost, 400},
        {"no_upgrade", with_header("Upgrade", ""), HandshakeError::kNoUpgrade, 400},
        {"upgrade_h2c", with_header("Upgrade", "Upgrade: h2c"), HandshakeError::kNoUpgrade, 400},
        {"no_connection", with_header("Connection", ""), HandshakeError::kNoConnectionUpgrade, 400},
        {"connection_keep_alive", with_header("Connection", "Connection: keep-alive"),
         HandshakeError::kNoConnectionUpgrade, 400},
        {"version_8", with_header("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
         HandshakeError::kBadVersion, 426},
        {"version_list", with_header("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8"),
         HandshakeError::kBadVersion, 426},
        {"no_version", with_header("Sec-WebSocket-Version", ""), HandshakeError::kBadVersion, 426},
        {"two_versions",
         with_header("Sec-WebSocket-Version",
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13"),
         HandshakeError::kBadVersion, 426},
        {"no_key", with_header("Sec-WebSocket-Key", ""), HandshakeError::kBadKey, 400},
        {"short_key", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZQ=="),
         HandshakeError::kBadKey, 400},
        {"key_bad_char",
         with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!"),
         HandshakeError::kBadKey, 400},
        {"key_17_bytes",  // 24 characters, but 17 bytes
         with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXM="),
         HandshakeError::kBadKey, 400},
        {"two_keys",
         with_header("Sec-WebSocket-Key",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: "
                     "dGhlIHNhbXBsZSBub25jZQ=="),
         HandshakeError::kBadKey, 400},
        {"two_origins", with_header("Origin", "Origin: http://a\r\nOrigin: http://b"),
         HandshakeError::kBadOrigin, 400},
        {"no_protocol", with_header("Sec-WebSocket-Protocol", ""), HandshakeError::kNoSip, 400},
        {"other_protocols",
         with_header("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: sip-v2, chat, sips"),
         HandshakeError::kNoSip, 400},
        {"uppercase_sip", with_header("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: SIP"),
         HandshakeError::kNoSip, 400},
        {"space_before_colon", with_header("Host", "Host : server.example.com"),
         HandshakeError::kBadHeader, 400},
        {"folded_line", with_header("Host", "Host: server\r\n .example.com"),
         HandshakeError::kBadHeader, 400},
        {"no_colon", with_header("Host", "Host server.example.com"), HandshakeError::kBadHeader,
         400},
        {"nul_in_value", with_header("Host", std::string("Host: a\0b", 9)),
         HandshakeError::kBadHeader, 400},
        {"bare_cr_in_value", with_header("Host", "Host: a\rb"), HandshakeError::kBadHeader, 400},
        {"too_many_headers", too_many, HandshakeError::kTooManyHeaders, 400},
    };
}

TEST(Handshake, Refusals) {
    for (const Refusal& c : refusals()) {
        const Read r = read(c.request);
        EXPECT_EQ(r.result.verdict, HandshakeVerdict::kRefuse) << c.name;
        EXPECT_EQ(r.result.error, c.error) << c.name;
        EXPECT_EQ(r.result.status, c.status) << c.name;
        EXPECT_EQ(r.response, c.status == 426 ? k426 : c.status == 403 ? k403 : k400) << c.name;
    }
}

TEST(Handshake, NotGetIsRefusedAtTheFirstWrongByte) {
    EXPECT_EQ(read("P").result.verdict, HandshakeVerdict::kRefuse);
    EXPECT_EQ(read("GE").result.verdict, HandshakeVerdict::kNeedMore);
    EXPECT_EQ(read("GET").result.verdict, HandshakeVerdict::kNeedMore);
    EXPECT_EQ(read("GETS").result.error, HandshakeError::kNotGet);
    EXPECT_EQ(read("\x16").result.error, HandshakeError::kNotGet);
}

TEST(Handshake, OriginPolicy) {
    const std::string_view allowed[] = {"https://app.example.com", "http://example.com"};
    const HandshakeOptions allow_list{.origins_allowed = allowed};
    EXPECT_EQ(read(kRequest, allow_list).response, k101);
    EXPECT_EQ(read(with_header("Origin", "Origin: HTTP://Example.COM"), allow_list).response, k101);
    const Read evil = read(with_header("Origin", "Origin: https://evil.example"), allow_list);
    EXPECT_EQ(evil.result.error, HandshakeError::kOriginRefused);
    EXPECT_EQ(evil.result.status, 403);
    EXPECT_EQ(evil.response, k403);
    EXPECT_EQ(evil.result.request.origin, "https://evil.example");
    // A prefix or suffix of an allowed origin is not allowed.
    EXPECT_EQ(
        read(with_header("Origin", "Origin: http://example.com.evil"), allow_list).result.status,
        403);
    // Absent Origin: allowed by default, refused on request.
    EXPECT_EQ(read(with_header("Origin", ""), allow_list).result.status, 101);
    const HandshakeOptions strict{.origins_allowed = allowed,
                                  .origin_absent = HandshakeOptions::Absent::kRefuse};
    EXPECT_EQ(read(with_header("Origin", ""), strict).result.status, 403);
    EXPECT_EQ(read(kRequest, strict).result.status, 101);
}

TEST(Handshake, SizeLimit) {
    // A request whose blank line ends exactly at kHandshakeSizeMax passes.
    std::string req = kRequest.substr(0, kRequest.size() - 2);
    const std::string pad_name = "X-Pad: ";
    const size_t pad = kHandshakeSizeMax - req.size() - pad_name.size() - 4;
    req += pad_name + std::string(pad, 'p') + "\r\n\r\n";
    ASSERT_EQ(req.size(), kHandshakeSizeMax);
    EXPECT_EQ(read(req).result.status, 101);
    // One byte more refuses it, without waiting for the blank line.
    std::string longer = req;
    longer.insert(kRequest.size() - 2 + pad_name.size(), "p");
    EXPECT_EQ(read(longer).result.error, HandshakeError::kTooLarge);
    const std::string endless = "GET / HTTP/1.1\r\nX: " + std::string(kHandshakeSizeMax, 'x');
    EXPECT_EQ(read(endless.substr(0, kHandshakeSizeMax - 1)).result.verdict,
              HandshakeVerdict::kNeedMore);
    const Read r = read(endless.substr(0, kHandshakeSizeMax));
    EXPECT_EQ(r.result.error, HandshakeError::kTooLarge);
    EXPECT_EQ(r.response, k400);
}

TEST(Handshake, HeaderCountLimitIsInclusive) {
    std::string req = "GET / HTTP/1.1\r\n";
    const std::string_view fixed[] = {"Host: x",
                                      "Upgrade: websocket",
                                      "Connection: Upgrade",
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                      "Sec-WebSocket-Version: 13",
                                      "Sec-WebSocket-Protocol: sip"};
    for (std::string_view h : fixed) {
        req += std::string(h) + "\r\n";
    }
    for (uint32_t i = 6; i < kHandshakeHeaderCountMax; ++i) {
        req += "X-Pad: 1\r\n";
    }
    EXPECT_EQ(read(req + "\r\n").result.status, 101);
    EXPECT_EQ(read(req + "X-Pad: 1\r\n\r\n").result.error, HandshakeError::kTooManyHeaders);
}

// Client side.

std::string write_request(const UpgradeRequestSpec& spec) {
    std::array<char, kHandshakeRequestSizeMax> out{};
    return std::string(out.data(), write_upgrade_request(spec, out));
}

UpgradeResult read_response(std::string_view bytes, std::string_view key = kRfcKey) {
    GuardedBytes buf(bytes);
    HandshakeScan scan;
    return read_upgrade_response(buf.view(), scan, key);
}

TEST(UpgradeClient, RequestBytesAndRoundTrip) {
    const std::string req = write_request({.host = "edge.example.com:8080",
                                           .target = "/sip",
                                           .origin = "https://app.example.com",
                                           .key = kRfcKey});
    EXPECT_EQ(req,
              "GET /sip HTTP/1.1\r\n"
              "Host: edge.example.com:8080\r\n"
              "Upgrade: websocket\r\n"
              "Connection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Protocol: sip\r\n"
              "Origin: https://app.example.com\r\n"
              "\r\n");
    const Read server = read(req);
    ASSERT_EQ(server.result.verdict, HandshakeVerdict::kAccept);
    const UpgradeResult client = read_response(server.response + "\x81\x00");
    EXPECT_EQ(client.verdict, HandshakeVerdict::kAccept);
    EXPECT_EQ(client.error, UpgradeError::kNone);
    EXPECT_EQ(client.status, 101);
    EXPECT_EQ(client.response_size, server.response.size());
    EXPECT_EQ(write_request({.host = "x", .key = kRfcKey}).find("Origin"), std::string::npos);
}

TEST(UpgradeClient, RequestFieldsAreChecked) {
    EXPECT_EQ(write_request({.host = "", .key = kRfcKey}), "");
    EXPECT_EQ(write_request({.host = "a\r\nX: y", .key = kRfcKey}), "");
    EXPECT_EQ(write_request({.host = "a", .target = "nope", .key = kRfcKey}), "");
    EXPECT_EQ(write_request({.host = "a", .target = "/a b", .key = kRfcKey}), "");
    EXPECT_EQ(write_request({.host = std::string(kHandshakeHostSizeMax + 1, 'h'), .key = kRfcKey}),
              "");
    EXPECT_EQ(write_request({.host = "a", .key = "short"}), "");
    const std::string longest =
        write_request({.host = std::string(kHandshakeHostSizeMax, 'h'),
                       .target = "/" + std::string(kHandshakeTargetSizeMax - 1, 't'),
                       .origin = std::string(kHandshakeHostSizeMax, 'o'),
                       .key = kRfcKey});
    EXPECT_GT(longest.size(), 0u);
    EXPECT_EQ(read(longest).result.status, 101);
}

TEST(UpgradeClient, ResponsePrefixesNeedMore) {
    for (size_t n = 0; n < k101.size(); ++n) {
        EXPECT_EQ(read_response(k101.substr(0, n)).verdict, HandshakeVerdict::kNeedMore) << n;
    }
}

TEST(UpgradeClient, ResponseRefusals) {
    const auto replace = [](std::string_view from, std::string_view to) {
        std::string s = k101;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    EXPECT_EQ(read_response(k101, "AAAAAAAAAAAAAAAAAAAAAA==").error, UpgradeError::kBadAccept);
    EXPECT_EQ(read_response(replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOO="))
                  .error,
              UpgradeError::kBadAccept);
    EXPECT_EQ(read_response(replace("Sec-WebSocket-Protocol: sip\r\n", "")).error,
              UpgradeError::kNoSip);
    EXPECT_EQ(
        read_response(replace("Sec-WebSocket-Protocol: sip", "Sec-WebSocket-Protocol: chat")).error,
        UpgradeError::kNoSip);
    EXPECT_EQ(read_response(replace("Upgrade: websocket", "Upgrade: h2c")).error,
              UpgradeError::kNoUpgrade);
    EXPECT_EQ(read_response(replace("Connection: Upgrade", "Connection: close")).error,
              UpgradeError::kNoConnectionUpgrade);
    EXPECT_EQ(read_response(
                  replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
                  .error,
              UpgradeError::kExtension);
    const UpgradeResult refused = read_response(k426);
    EXPECT_EQ(refused.verdict, HandshakeVerdict::kRefuse);
    EXPECT_EQ(refused.error, UpgradeError::kNotSwitching);
    EXPECT_EQ(refused.status, 426);
    EXPECT_EQ(read_response("HTTP/1.1 1O1 x\r\n\r\n").error, UpgradeError::kBadStatusLine);
    EXPECT_EQ(read_response("HTTP/1.0 101 x\r\n\r\n").error, UpgradeError::kBadStatusLine);
    EXPECT_EQ(read_response("SIP/2.0 200 OK\r\n").error, UpgradeError::kBadStatusLine);
}

}  // namespace
}  // namespace fe::ws
