// Checks the SIP text of the emulated phone byte for byte: the REGISTER
// (outbound and plain), the removal, a 180/200 answer copying the request's
// header lines and adding a To tag, and an INVITE / MESSAGE with ;ob; plus
// the buffer-too-small error and the To-tag detection.

#include "core/ua/request_builder.h"

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "core/ua/instance.h"
#include "core/ua/limits.h"

namespace fe::ua {
namespace {

RegisterParams sample_register() {
    RegisterParams p;
    p.domain = "example.com";
    p.user = "u1";
    p.local_host = "192.0.2.10";
    p.local_port = 40000;
    p.transport = Transport::kTcp;
    p.route_uri = "sip:edge1.example.com";
    p.call_id = "0123456789abcdef0123456789abcdef";
    p.from_tag = "a1b2c3d4e5f60718";
    p.cseq = 7;
    p.branch = 0xff;
    p.reg_id = 1;
    p.instance_urn = "urn:uuid:00000000-0000-4000-8000-000000000001";
    p.expires_s = 3600;
    return p;
}

// covers OB-UA-10, OB-UA-11, OB-UA-12, OB-UA-14, OB-UA-15, OB-UA-29, OB-TAG-01
TEST(RequestBuilderTest, RegisterBytesExactly) {
    std::array<char, kUaMessageSizeMax> buffer{};
    const BuildResult r = build_register(sample_register(), buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.message,
              "REGISTER sip:example.com SIP/2.0\r\n"
              "Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK00000000000000ff;rport\r\n"
              "Max-Forwards: 70\r\n"
              "Route: <sip:edge1.example.com;lr>\r\n"
              "From: <sip:u1@example.com>;tag=a1b2c3d4e5f60718\r\n"
              "To: <sip:u1@example.com>\r\n"
              "Call-ID: 0123456789abcdef0123456789abcdef\r\n"
              "CSeq: 7 REGISTER\r\n"
              "Supported: path, outbound\r\n"
              "Contact: <sip:u1@192.0.2.10:40000;transport=tcp>;reg-id=1;"
              "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"
              "Expires: 3600\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    EXPECT_EQ(r.message.data(), buffer.data());
    EXPECT_EQ(r.message.find(";ob"), std::string_view::npos);  // no ob in a REGISTER Contact
}

// covers OB-439-03 (no reg-id after 439), OB-UA-23-style removal with Expires: 0
TEST(RequestBuilderTest, PlainRegisterAndRemovalOverUdp) {
    RegisterParams p = sample_register();
    p.reg_id = 0;
    p.transport = Transport::kUdp;
    p.route_uri = {};
    p.expires_s = 0;
    std::array<char, kUaMessageSizeMax> buffer{};
    const BuildResult r = build_register(p, buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.message,
              "REGISTER sip:example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 192.0.2.10:40000;branch=z9hG4bK00000000000000ff;rport\r\n"
              "Max-Forwards: 70\r\n"
              "From: <sip:u1@example.com>;tag=a1b2c3d4e5f60718\r\n"
              "To: <sip:u1@example.com>\r\n"
              "Call-ID: 0123456789abcdef0123456789abcdef\r\n"
              "CSeq: 7 REGISTER\r\n"
              "Supported: path, outbound\r\n"
              "Contact: <sip:u1@192.0.2.10:40000;transport=udp>;"
              "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"
              "Expires: 0\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
}

TEST(RequestBuilderTest, BufferTooSmallAtEveryLength) {
    std::array<char, kUaMessageSizeMax> big{};
    const BuildResult full = build_register(sample_register(), big);
    ASSERT_TRUE(full.ok());
    std::array<char, kUaMessageSizeMax> small{};
    for (size_t size = 0; size < full.message.size(); ++size) {
        const BuildResult r = build_register(sample_register(), std::span<char>(small.data(), size));
        EXPECT_EQ(r.error, BuildError::kBufferTooSmall) << size;
        EXPECT_TRUE(r.message.empty());
    }
    const BuildResult exact =
        build_register(sample_register(), std::span<char>(small.data(), full.message.size()));
    EXPECT_TRUE(exact.ok());
}

TEST(RequestBuilderTest, ResponseCopiesRequestLinesAndAddsToTag) {
    const std::array<std::string_view, 2> vias = {
        "Via: SIP/2.0/TCP edge1.example.com;branch=z9hG4bK1;received=192.0.2.1",
        "v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2"};
    ResponseParams p;
    p.status_code = 180;
    p.reason = "Ringing";
    p.via_lines = vias;
    p.from_line = "From: <sip:u2@example.com>;tag=caller1";
    p.to_line = "To: <sip:u1@example.com>";
    p.call_id_line = "Call-ID: abc@host";
    p.cseq_line = "CSeq: 1 INVITE";
    p.to_tag = "callee9";
    p.contact = "<sip:u1@192.0.2.10:40000;transport=tcp;ob>";
    std::array<char, kUaMessageSizeMax> buffer{};
    BuildResult r = build_response(p, buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.message,
              "SIP/2.0 180 Ringing\r\n"
              "Via: SIP/2.0/TCP edge1.example.com;branch=z9hG4bK1;received=192.0.2.1\r\n"
              "v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2\r\n"
              "From: <sip:u2@example.com>;tag=caller1\r\n"
              "To: <sip:u1@example.com>;tag=callee9\r\n"
              "Call-ID: abc@host\r\n"
              "CSeq: 1 INVITE\r\n"
              "Contact: <sip:u1@192.0.2.10:40000;transport=tcp;ob>\r\n"
              "Content-Length: 0\r\n"
              "\r\n");

    // A 200 with a body; the To already has a tag (in-dialog request): kept.
    p.status_code = 200;
    p.reason = "OK";
    p.to_line = "t: <sip:u1@example.com;transport=tcp>;Tag=x1";
    p.contact = {};
    p.content_type = "text/plain";
    p.body = "hi";
    r = build_response(p, buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r.message.find("\r\nt: <sip:u1@example.com;transport=tcp>;Tag=x1\r\n"),
              std::string_view::npos);
    EXPECT_EQ(r.message.find("callee9"), std::string_view::npos);
    EXPECT_TRUE(r.message.ends_with("Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"));
}

TEST(RequestBuilderTest, ToTagDetection) {
    EXPECT_FALSE(header_line_has_tag("To: <sip:u1@example.com>"));
    EXPECT_FALSE(header_line_has_tag("To: <sip:u1@example.com;tag=inside-uri>"));
    EXPECT_TRUE(header_line_has_tag("To: <sip:u1@example.com>;tag=1"));
    EXPECT_TRUE(header_line_has_tag("To: <sip:u1@example.com> ; TAG = 1"));
    EXPECT_TRUE(header_line_has_tag("t: sip:u1@example.com;tag=1"));
    EXPECT_FALSE(header_line_has_tag("To: sip:u1@example.com;tagx=1"));
    EXPECT_FALSE(header_line_has_tag("garbage"));
}

// covers OB-OBP-04, OB-UA-28 (;ob on the Contact), OB-UA-24, OB-TAG-02
TEST(RequestBuilderTest, InviteAndMessageCarryObAndSupportedOutbound) {
    RequestParams p;
    p.method = RequestMethod::kMessage;
    p.target_uri = "sip:u2@example.com";
    p.domain = "example.com";
    p.user = "u1";
    p.local_host = "192.0.2.10";
    p.local_port = 40000;
    p.route_uri = "sip:edge1.example.com";
    p.call_id = "c1";
    p.from_tag = "t1";
    p.cseq = 3;
    p.branch = 0x1234;
    p.content_type = "text/plain";
    p.body = "hello";
    std::array<char, kUaMessageSizeMax> buffer{};
    BuildResult r = build_request(p, buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.message,
              "MESSAGE sip:u2@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK0000000000001234;rport\r\n"
              "Max-Forwards: 70\r\n"
              "Route: <sip:edge1.example.com;lr>\r\n"
              "From: <sip:u1@example.com>;tag=t1\r\n"
              "To: <sip:u2@example.com>\r\n"
              "Call-ID: c1\r\n"
              "CSeq: 3 MESSAGE\r\n"
              "Contact: <sip:u1@192.0.2.10:40000;transport=tcp;ob>\r\n"
              "Supported: outbound\r\n"
              "Content-Type: text/plain\r\n"
              "Content-Length: 5\r\n"
              "\r\n"
              "hello");

    p.method = RequestMethod::kInvite;
    p.instance_urn = "urn:uuid:00000000-0000-4000-8000-000000000001";
    p.content_type = "application/sdp";
    p.body = "v=0\r\n";
    r = build_request(p, buffer);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.message.starts_with("INVITE sip:u2@example.com SIP/2.0\r\n"));
    EXPECT_NE(r.message.find("\r\nCSeq: 3 INVITE\r\n"), std::string_view::npos);
    EXPECT_NE(r.message.find("\r\nContact: <sip:u1@192.0.2.10:40000;transport=tcp;ob>;"
                             "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"),
              std::string_view::npos);
    EXPECT_TRUE(r.message.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"));
}

}  // namespace
}  // namespace fe::ua
