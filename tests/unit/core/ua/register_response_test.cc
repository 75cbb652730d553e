// Checks read_register_response(): a registrar's answer parsed with
// sip::Message becomes the RegisterResponse the flow machine acts on, picking
// OUR binding (instance + reg-id) out of every Contact the 200 lists.
#include "core/ua/register_response.h"

#include <gtest/gtest.h>

#include <string>

namespace fe::ua {
namespace {

constexpr std::string_view kOurs = "urn:uuid:00000000-0000-4000-8000-000000000001";

RegisterResponse read(const std::string& text, uint32_t reg_id = 1) {
    sip::Message m;
    EXPECT_EQ(m.parse(text), sip::ParseError::kOk) << text;
    return read_register_response(m, kOurs, reg_id);
}

std::string response(std::string_view status_line, std::string_view headers) {
    return std::string(status_line) +
           "\r\nVia: SIP/2.0/TCP 127.1.0.1:5060;branch=z9hG4bK1;rport\r\n"
           "From: <sip:u1@example.com>;tag=a\r\nTo: <sip:u1@example.com>;tag=b\r\n"
           "Call-ID: c1\r\nCSeq: 7 REGISTER\r\n" +
           std::string(headers) + "Content-Length: 0\r\n\r\n";
}

TEST(RegisterResponseTest, OkTakesOurContactsExpiresAmongOthers) {
    // covers OB-KA-01 (the Flow-Timer of the 2xx is read for the keep-alive interval)
    const RegisterResponse r = read(response(
        "SIP/2.0 200 OK",
        "Require: outbound\r\nFlow-Timer: 90\r\nExpires: 3600\r\n"
        "Contact: <sip:u1@127.1.0.2:5060>;expires=100;reg-id=1;"
        "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000002>\"\r\n"
        "Contact: <sip:u1@127.1.0.1:5060>;expires=600;reg-id=2;"
        "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"
        "Contact: <sip:u1@127.1.0.1:5060>;expires=1200;reg-id=1;"
        "+sip.instance=\"<URN:UUID:00000000-0000-4000-8000-000000000001>\"\r\n"));
    EXPECT_EQ(r.cseq, 7u);
    EXPECT_EQ(r.status_code, 200);
    EXPECT_TRUE(r.has_require_outbound);
    EXPECT_EQ(r.flow_timer_s, 90u);
    EXPECT_EQ(r.expires_s, 1200u);  // reg-id 1 and our instance, compared as a URN
}

TEST(RegisterResponseTest, ContactWithoutExpiresFallsBackToTheExpiresHeader) {
    const RegisterResponse r = read(response(
        "SIP/2.0 200 OK",
        "Expires: 300\r\nContact: <sip:u1@127.1.0.1:5060>;reg-id=1;"
        "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"));
    EXPECT_FALSE(r.has_require_outbound);
    EXPECT_FALSE(r.flow_timer_s.has_value());
    EXPECT_EQ(r.expires_s, 300u);
}

TEST(RegisterResponseTest, OkThatDoesNotListOurBindingGrantsNothing) {
    const RegisterResponse r = read(response(
        "SIP/2.0 200 OK",
        "Require: outbound\r\nExpires: 300\r\nContact: <sip:u1@127.1.0.1:5060>;reg-id=2;"
        "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"));
    EXPECT_FALSE(r.expires_s.has_value());
}

TEST(RegisterResponseTest, PlainRegistrationMatchesTheContactWithoutRegId) {
    const RegisterResponse r = read(
        response("SIP/2.0 200 OK",
                 "Contact: <sip:u1@127.1.0.1:5060>;expires=60;"
                 "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"\r\n"),
        /*reg_id=*/0);
    EXPECT_EQ(r.expires_s, 60u);
}

TEST(RegisterResponseTest, ErrorsCarryRetryAfterAndMinExpires) {
    const RegisterResponse busy =
        read(response("SIP/2.0 503 Service Unavailable", "Retry-After: 20 (busy)\r\n"));
    EXPECT_EQ(busy.status_code, 503);
    EXPECT_EQ(busy.retry_after_s, 20u);
    EXPECT_FALSE(busy.expires_s.has_value());
    const RegisterResponse brief =
        read(response("SIP/2.0 423 Interval Too Brief", "Min-Expires: 1800\r\n"));
    EXPECT_EQ(brief.min_expires_s, 1800u);
}

TEST(RegisterResponseTest, MalformedValuesCountAsAbsent) {
    const RegisterResponse r = read(response(
        "SIP/2.0 200 OK",
        "Flow-Timer: soon\r\nRetry-After: x\r\nExpires: never\r\n"
        "Contact: <sip:u1@127.1.0.1:5060>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-4000-"
        "8000-000000000001>\"\r\n"));
    EXPECT_FALSE(r.flow_timer_s.has_value());
    EXPECT_FALSE(r.retry_after_s.has_value());
    EXPECT_FALSE(r.expires_s.has_value());  // no contact expires and a bad header
}

}  // namespace
}  // namespace fe::ua
