// Checks responses built from requests byte for byte (RFC 3261 §8.2.6): Via
// lines copied in order, To tag added only when missing and status > 100,
// Timestamp echoed on 100, caller headers, body and Content-Length, and the
// errors (not a request, ACK, bad status, no space).
#include "core/sip/response.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/core/sip/guarded_buffer.h"

namespace fe::sip {
namespace {

using testing::GuardedBuffer;

const std::string kRegister = "REGISTER sip:example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/TCP edge.example.com;branch=z9hG4bKe\r\n"
                              "v: SIP/2.0/TCP 192.0.2.10:50231;branch=z9hG4bK1;rport=50231\r\n"
                              "Max-Forwards: 69\r\n"
                              "To: <sip:alice@example.com>\r\n"
                              "From: <sip:alice@example.com>;tag=8f2c\r\n"
                              "Call-ID: 4a1b@192.0.2.10\r\n"
                              "CSeq: 1 REGISTER\r\n"
                              "Timestamp: 54\r\n"
                              "Content-Length: 0\r\n\r\n";

class ResponseTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(request_.parse(buf_.view()), ParseError::kOk); }
    GuardedBuffer buf_{kRegister};
    Message request_;
    char out_[2048];
};

TEST_F(ResponseTest, OutboundRegister200) {
    // What a registrar answers an outbound REGISTER with (RFC 5626 §6).
    Writer out(out_, sizeof(out_));
    const std::string_view extra[] = {"Require: outbound", "Flow-Timer: 120"};
    const ResponseSpec spec{.status_code = 200, .to_tag = "as5f", .extra_headers = extra};
    ASSERT_EQ(build_response(request_, spec, out), BuildError::kOk);
    EXPECT_EQ(out.view(),
              "SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/TCP edge.example.com;branch=z9hG4bKe\r\n"
              "v: SIP/2.0/TCP 192.0.2.10:50231;branch=z9hG4bK1;rport=50231\r\n"
              "From: <sip:alice@example.com>;tag=8f2c\r\n"
              "To: <sip:alice@example.com>;tag=as5f\r\n"
              "Call-ID: 4a1b@192.0.2.10\r\n"
              "CSeq: 1 REGISTER\r\n"
              "Require: outbound\r\n"
              "Flow-Timer: 120\r\n"
              "Content-Length: 0\r\n\r\n");
    // The result parses back as a response to the same transaction.
    Message response;
    ASSERT_EQ(response.parse(out.view()), ParseError::kOk);
    EXPECT_EQ(response.status_code(), 200);
    EXPECT_EQ(response.via_count(), 2u);
}

TEST_F(ResponseTest, TryingHasNoTagButEchoesTimestamp) {
    Writer out(out_, sizeof(out_));
    ASSERT_EQ(build_response(request_, {.status_code = 100, .to_tag = "x"}, out), BuildError::kOk);
    EXPECT_EQ(out.view(),
              "SIP/2.0 100 Trying\r\n"
              "Via: SIP/2.0/TCP edge.example.com;branch=z9hG4bKe\r\n"
              "v: SIP/2.0/TCP 192.0.2.10:50231;branch=z9hG4bK1;rport=50231\r\n"
              "From: <sip:alice@example.com>;tag=8f2c\r\n"
              "To: <sip:alice@example.com>\r\n"
              "Call-ID: 4a1b@192.0.2.10\r\n"
              "CSeq: 1 REGISTER\r\n"
              "Timestamp: 54\r\n"
              "Content-Length: 0\r\n\r\n");
}

TEST_F(ResponseTest, ExistingToTagIsKeptAndBodyIsWritten) {
    GuardedBuffer buf("BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\n"
                      "From: <sip:b@x>;tag=1\r\nTo: \"A;tag=no\" <sip:a@x;tag=uri>;TAG=2\r\n"
                      "Call-ID: c\r\nCSeq: 5 BYE\r\n\r\n");
    Message bye;
    ASSERT_EQ(bye.parse(buf.view()), ParseError::kOk);
    Writer out(out_, sizeof(out_));
    const ResponseSpec spec{.status_code = 430, .to_tag = "new", .content_type = "text/plain",
                            .body = "gone"};
    ASSERT_EQ(build_response(bye, spec, out), BuildError::kOk);
    EXPECT_EQ(out.view(),
              "SIP/2.0 430 Flow Failed\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bK9\r\n"
              "From: <sip:b@x>;tag=1\r\n"
              "To: \"A;tag=no\" <sip:a@x;tag=uri>;TAG=2\r\n"
              "Call-ID: c\r\n"
              "CSeq: 5 BYE\r\n"
              "Content-Type: text/plain\r\n"
              "Content-Length: 4\r\n\r\ngone");
}

TEST(HasTagParam, OnlyHeaderParametersCount) {
    EXPECT_TRUE(has_tag_param("<sip:a@x>;tag=1"));
    EXPECT_TRUE(has_tag_param("sip:a@x;tag=1"));
    EXPECT_TRUE(has_tag_param("<sip:a@x> ; Tag = 1"));
    EXPECT_FALSE(has_tag_param("<sip:a@x;tag=1>"));
    EXPECT_FALSE(has_tag_param("\"x;tag=1\" <sip:a@x>"));
    EXPECT_FALSE(has_tag_param("<sip:a@x>;tagx=1"));
    EXPECT_FALSE(has_tag_param("<sip:a@x>"));
    EXPECT_FALSE(has_tag_param(""));
}

TEST_F(ResponseTest, Errors) {
    char tiny[16];
    Writer small(tiny, sizeof(tiny));
    EXPECT_EQ(build_response(request_, {.status_code = 200}, small), BuildError::kNoSpace);
    EXPECT_TRUE(small.overflowed());
    Writer out(out_, sizeof(out_));
    EXPECT_EQ(build_response(request_, {.status_code = 99}, out), BuildError::kBadStatus);
    EXPECT_EQ(build_response(request_, {.status_code = 700}, out), BuildError::kBadStatus);

    GuardedBuffer ack_buf("ACK sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:b@x>;tag=1\r\n"
                          "To: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 5 ACK\r\n\r\n");
    Message ack;
    ASSERT_EQ(ack.parse(ack_buf.view()), ParseError::kOk);
    EXPECT_EQ(build_response(ack, {.status_code = 200}, out), BuildError::kAck);

    GuardedBuffer ok_buf("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:b@x>;tag=1\r\n"
                         "To: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 5 BYE\r\n\r\n");
    Message ok;
    ASSERT_EQ(ok.parse(ok_buf.view()), ParseError::kOk);
    EXPECT_EQ(build_response(ok, {.status_code = 200}, out), BuildError::kNotARequest);
}

TEST(DefaultReason, CodesWeSend) {
    EXPECT_EQ(default_reason(430), "Flow Failed");                       // RFC 5626 §11.5
    EXPECT_EQ(default_reason(439), "First Hop Lacks Outbound Support");  // RFC 5626 §11.6
    EXPECT_EQ(default_reason(421), "Extension Required");
    EXPECT_EQ(default_reason(423), "Interval Too Brief");
    EXPECT_EQ(default_reason(483), "Too Many Hops");
    EXPECT_EQ(default_reason(513), "Message Too Large");
    EXPECT_EQ(default_reason(499), "Client Error");
    EXPECT_EQ(default_reason(699), "Global Failure");
}

TEST(WriterTest, StopsAtCapacity) {
    char buf[5];
    Writer w(buf, sizeof(buf));
    w.append("abc");
    w.append_u32(42);
    EXPECT_EQ(w.view(), "abc42");
    EXPECT_FALSE(w.overflowed());
    w.append("x");
    EXPECT_TRUE(w.overflowed());
    EXPECT_EQ(w.size(), 5u);
}

}  // namespace
}  // namespace fe::sip

namespace fe::sip {
namespace {

// An absent header comes back as a null empty view; writing it is a no-op, not
// a memcpy from null (UBSan flags that).
TEST(WriterTest, AppendingANullEmptyViewWritesNothing) {
    char buffer[8];
    Writer out(buffer, sizeof(buffer));
    out.append("ab");
    out.append(std::string_view());
    out.append("c");
    EXPECT_EQ(out.view(), "abc");
    EXPECT_FALSE(out.overflowed());
}

}  // namespace
}  // namespace fe::sip
