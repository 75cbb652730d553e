// Checks stream and datagram framing: whole messages, keep-alive pings and
// pongs between messages (RFC 5626 §4.4.1), every proper prefix of a message
// is kIncomplete (never a wrong message), pipelined messages are split at
// Content-Length, and each framing defect is its own error. Inputs end flush
// against a PROT_NONE page.
#include "core/sip/framing.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/core/sip/guarded_buffer.h"

namespace fe::sip {
namespace {

using testing::GuardedBuffer;

const std::string kBody = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
const std::string kInvite = "INVITE sip:bob@example.com SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK2\r\n"
                            "To: <sip:bob@example.com>\r\n"
                            "From: <sip:alice@example.com>;tag=1\r\n"
                            "Call-ID: c2\r\n"
                            "CSeq: 7 INVITE\r\n"
                            "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;

FrameResult frame(const std::string& bytes, KeepAliveRole role = KeepAliveRole::kResponder) {
    GuardedBuffer buf(bytes);
    return frame_stream(buf.view(), role);
}

TEST(FrameStream, WholeMessage) {
    const FrameResult r = frame(kInvite);
    EXPECT_EQ(r.kind, FrameKind::kMessage);
    EXPECT_EQ(r.size, kInvite.size());
    EXPECT_EQ(r.error, ParseError::kOk);
}

TEST(FrameStream, EveryProperPrefixIsIncomplete) {
    for (size_t n = 0; n < kInvite.size(); ++n) {
        const FrameResult r = frame(kInvite.substr(0, n));
        EXPECT_EQ(r.kind, FrameKind::kIncomplete) << n;
        EXPECT_EQ(r.size, 0u) << n;
    }
}

TEST(FrameStream, ByteAtATimeWithResumedScanFindsTheSameMessage) {
    StreamScan scan;
    for (size_t n = 1; n < kInvite.size(); ++n) {
        GuardedBuffer buf(kInvite.substr(0, n));
        EXPECT_EQ(frame_stream(buf.view(), scan).kind, FrameKind::kIncomplete) << n;
    }
    GuardedBuffer buf(kInvite + "OPTIONS");
    const FrameResult r = frame_stream(buf.view(), scan);
    EXPECT_EQ(r.kind, FrameKind::kMessage);
    EXPECT_EQ(r.size, kInvite.size());
    EXPECT_EQ(scan.line_begin, 0u);  // Reset for the next message.
}

TEST(FrameStream, PipelinedMessagesAndKeepAlivesSplitInOrder) {
    // covers OB-EDGE-17, OB-KA-06: CRLFCRLF between messages is a ping, one
    // CRLF a pong, each consumed on its own; the next message is left intact.
    const std::string stream = "\r\n\r\n" + kInvite + "\r\n" + kInvite + "\r\n\r\n";
    GuardedBuffer buf(stream);
    std::string_view rest = buf.view();
    const FrameKind expected[] = {FrameKind::kPing, FrameKind::kMessage, FrameKind::kPong,
                                  FrameKind::kMessage, FrameKind::kPing};
    const uint32_t sizes[] = {4, static_cast<uint32_t>(kInvite.size()), 2,
                              static_cast<uint32_t>(kInvite.size()), 4};
    for (size_t i = 0; i < std::size(expected); ++i) {
        const FrameResult r = frame_stream(rest);
        EXPECT_EQ(r.kind, expected[i]) << i;
        ASSERT_EQ(r.size, sizes[i]) << i;
        rest.remove_prefix(r.size);
    }
    EXPECT_TRUE(rest.empty());
    EXPECT_EQ(frame_stream(rest).kind, FrameKind::kIncomplete);
}

TEST(FrameStream, CrlfCrlfInsideHeadersIsNotAPing) {
    // covers OB-KA-06: the blank line ending a header block belongs to the
    // message; a body containing CRLFCRLF is body.
    const std::string body = "\r\n\r\nxx";
    const std::string msg = "MESSAGE sip:b@x SIP/2.0\r\nContent-Length: 6\r\n\r\n" + body;
    const FrameResult r = frame(msg);
    EXPECT_EQ(r.kind, FrameKind::kMessage);
    EXPECT_EQ(r.size, msg.size());
}

TEST(FrameStream, LoneCrlfDependsOnWhoPings) {
    // The edge (peers ping it) waits: it may be half a ping.
    EXPECT_EQ(frame("\r\n").kind, FrameKind::kIncomplete);
    EXPECT_EQ(frame("\r\n\r").kind, FrameKind::kIncomplete);
    EXPECT_EQ(frame("\r").kind, FrameKind::kIncomplete);
    // A side that pings reads it as the pong at once.
    const FrameResult pong = frame("\r\n", KeepAliveRole::kPinger);
    EXPECT_EQ(pong.kind, FrameKind::kPong);
    EXPECT_EQ(pong.size, 2u);
    // Followed by a message, it is a stray CRLF either way (RFC 3261 §7.5).
    EXPECT_EQ(frame("\r\nINVITE").kind, FrameKind::kPong);
    EXPECT_EQ(frame("\r\n\r\n", KeepAliveRole::kPinger).kind, FrameKind::kPing);
}

TEST(FrameStream, Errors) {
    const struct {
        const char* name;
        std::string bytes;
        ParseError error;
    } cases[] = {
        {"missing Content-Length", "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n",
         ParseError::kMissingContentLength},
        {"bad Content-Length", "OPTIONS sip:x SIP/2.0\r\nContent-Length: 1x\r\n\r\n",
         ParseError::kBadContentLength},
        {"negative Content-Length", "OPTIONS sip:x SIP/2.0\r\nl: -1\r\n\r\n",
         ParseError::kBadContentLength},
        {"two Content-Length", "OPTIONS sip:x SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n",
         ParseError::kDuplicateHeader},
        {"Content-Length beyond the limit",
         "OPTIONS sip:x SIP/2.0\r\nContent-Length: " + std::to_string(kMessageSizeMax) + "\r\n\r\n",
         ParseError::kMessageTooLarge},
        {"headers never end", "OPTIONS sip:x SIP/2.0\r\nX: " + std::string(kMessageSizeMax, 'a'),
         ParseError::kMessageTooLarge},
        {"bare LF", "OPTIONS sip:x SIP/2.0\nl: 0\r\n\r\n", ParseError::kBadLineEnding},
        {"CR then garbage", "\rX", ParseError::kBadLineEnding},
    };
    for (const auto& c : cases) {
        const FrameResult r = frame(c.bytes);
        EXPECT_EQ(r.kind, FrameKind::kError) << c.name;
        EXPECT_EQ(r.size, 0u) << c.name;
        EXPECT_EQ(parse_error_name(r.error), parse_error_name(c.error)) << c.name;
    }
}

TEST(FrameStream, FoldedAndCompactContentLength) {
    const std::string msg = "MESSAGE sip:b@x SIP/2.0\r\nContent-Length :\r\n 3\r\n\r\nabc";
    EXPECT_EQ(frame(msg).size, msg.size());
    const std::string compact = "MESSAGE sip:b@x SIP/2.0\r\nl: 2\r\n\r\nabREST";
    EXPECT_EQ(frame(compact).size, compact.size() - 4);
    // "Content-Lengths" or "lx" are other headers.
    EXPECT_EQ(frame("MESSAGE sip:b@x SIP/2.0\r\nlx: 2\r\n\r\n").error, ParseError::kMissingContentLength);
}

TEST(FrameDatagram, MessageSizeFollowsContentLength) {
    GuardedBuffer buf(kInvite + "trailing");
    const FrameResult r = frame_datagram(buf.view());
    EXPECT_EQ(r.kind, FrameKind::kMessage);
    EXPECT_EQ(r.size, kInvite.size());
    // Without Content-Length the body is the rest of the datagram.
    GuardedBuffer no_cl("MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\nhello");
    EXPECT_EQ(frame_datagram(no_cl.view()).size, no_cl.view().size());
}

TEST(FrameDatagram, KeepAliveDatagramIsIgnored) {
    // covers OB-KA-05: a CRLFCRLF datagram gets no answer.
    for (const char* bytes : {"\r\n\r\n", "\r\n", "\n"}) {
        GuardedBuffer buf(bytes);
        EXPECT_EQ(frame_datagram(buf.view()).kind, FrameKind::kIgnore) << bytes;
    }
}

TEST(FrameDatagram, Errors) {
    const struct {
        const char* name;
        std::string bytes;
        ParseError error;
    } cases[] = {
        {"empty", "", ParseError::kEmpty},
        {"body truncated", "MESSAGE sip:b@x SIP/2.0\r\nl: 10\r\n\r\nabc", ParseError::kBodyTruncated},
        {"no blank line", "MESSAGE sip:b@x SIP/2.0\r\nl: 0\r\n", ParseError::kHeadersIncomplete},
        {"too large", "MESSAGE sip:b@x SIP/2.0\r\n\r\n" + std::string(kMessageSizeMax, 'b'),
         ParseError::kMessageTooLarge},
        {"bad Content-Length", "MESSAGE sip:b@x SIP/2.0\r\nl: x\r\n\r\n", ParseError::kBadContentLength},
    };
    for (const auto& c : cases) {
        GuardedBuffer buf(c.bytes);
        const FrameResult r = frame_datagram(buf.view());
        EXPECT_EQ(r.kind, FrameKind::kError) << c.name;
        EXPECT_EQ(parse_error_name(r.error), parse_error_name(c.error)) << c.name;
    }
}

}  // namespace
}  // namespace fe::sip
