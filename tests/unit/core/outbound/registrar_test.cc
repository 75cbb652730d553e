// Checks the registrar's pure decisions (core/outbound/registrar.h): which
// REGISTERs get outbound processing, 439, 423, 400s naming the defect, the
// binding keys handed to the store, and the exact bytes of the responses.
// Each test builds a REGISTER from header lines, parses it with core/sip and
// asserts the decision's fields or the response text.
#include "core/outbound/registrar.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace fe::outbound {
namespace {

constexpr std::string_view kUaVia = "Via: SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK-ua1";
constexpr std::string_view kProxyVia = "Via: SIP/2.0/TCP 198.51.100.7;branch=z9hG4bK-p1";
constexpr std::string_view kObContact =
    "Contact: <sip:bob@192.0.2.2:50123;transport=tcp;ob>;reg-id=1;"
    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"";
constexpr std::string_view kEdgePath = "<sip:TOKEN1@ep1.example.com;lr;ob>";

struct Request {
    std::string bytes;
    sip::Message message;
};

// A REGISTER for sip:bob@example.com with `vias` Via lines (UA first when 1,
// proxy on top when 2) and the given extra header lines.
std::unique_ptr<Request> make_register(std::initializer_list<std::string_view> lines,
                                       int vias = 1, std::string_view cseq = "1") {
    auto r = std::make_unique<Request>();
    r->bytes = "REGISTER sip:example.com SIP/2.0\r\n";
    if (vias == 2) {
        r->bytes += std::string(kProxyVia) + "\r\n";
    }
    r->bytes += std::string(kUaVia) + "\r\n";
    r->bytes +=
        "Max-Forwards: 70\r\n"
        "To: <sip:bob@example.com>\r\n"
        "From: <sip:bob@example.com>;tag=f1\r\n"
        "Call-ID: call-1@192.0.2.2\r\n"
        "CSeq: " + std::string(cseq) + " REGISTER\r\n";
    for (std::string_view line : lines) {
        r->bytes += std::string(line) + "\r\n";
    }
    r->bytes += "Content-Length: 0\r\n\r\n";
    EXPECT_EQ(r->message.parse(r->bytes), sip::ParseError::kOk) << r->bytes;
    return r;
}

class RegistrarDecisionTest : public ::testing::Test {
protected:
    void decide(const Request& r, bool first_hop, std::string_view path_value = {},
                std::string_view flow_token = {}) {
        RegisterInput in{.first_hop = first_hop, .path_value = path_value,
                         .flow_token = flow_token, .config = &config_};
        decide_register(r.message, in, *decision_);
    }
    std::string respond(const Request& r, CommitResult commit = CommitResult::kOk,
                        std::initializer_list<CurrentBinding> bindings = {}) {
        std::string buffer(8192, '\0');
        sip::Writer out(buffer.data(), buffer.size());
        std::vector<CurrentBinding> list(bindings);
        EXPECT_EQ(build_register_response(r.message, *decision_, commit, list, out),
                  sip::BuildError::kOk);
        return std::string(out.view());
    }
    static std::string status_line(const std::string& response) {
        return response.substr(0, response.find("\r\n"));
    }
    const RegisterDecision& d() const { return *decision_; }

    RegistrarConfig config_;
    std::unique_ptr<RegisterDecision> decision_ = std::make_unique<RegisterDecision>();
};

// covers OB-REG-02, OB-REG-13, OB-REG-14, OB-REG-15, OB-TAG-03, OB-FT-03, OB-INST-03
TEST_F(RegistrarDecisionTest, FirstHopOutboundContactMakesInstanceRegIdBinding) {
    config_.flow_timer_s = 120;
    auto r = make_register({kObContact, "Supported: path, outbound"});
    decide(*r, /*first_hop=*/true, kEdgePath, "TOKEN1");
    ASSERT_FALSE(d().rejected());
    EXPECT_TRUE(d().outbound_applied);
    EXPECT_TRUE(d().require_outbound);
    EXPECT_EQ(d().flow_timer_s, 120u);
    EXPECT_EQ(d().aor_key, "sip:bob@example.com");
    EXPECT_EQ(d().call_id, "call-1@192.0.2.2");
    EXPECT_EQ(d().cseq, 1u);
    EXPECT_EQ(d().flow_token, "TOKEN1");
    ASSERT_EQ(d().update_count, 1u);
    const ContactUpdate& u = d().updates[0];
    EXPECT_EQ(u.action, BindingAction::kUpsert);
    EXPECT_EQ(u.reg_id, 1u);
    // The URN compared by its own rules: uuid hex case folded (OB-INST-03).
    EXPECT_EQ(u.instance_key, "urn:uuid:00000000-0000-1000-8000-aabbccddeeff");
    EXPECT_EQ(u.contact, kObContact.substr(9));  // Every parameter kept (OB-REG-14).
    EXPECT_EQ(u.contact_uri, "sip:bob@192.0.2.2:50123;transport=tcp;ob");
    EXPECT_EQ(u.expires_s, 3600u);  // Default.
    ASSERT_EQ(d().path_count, 1u);
    EXPECT_EQ(d().path[0], kEdgePath);
}

// covers OB-REG-15, OB-TAG-03: the outbound binding is made, but Require:
// outbound (and so Flow-Timer) only goes to a UA that sent Supported: outbound.
TEST_F(RegistrarDecisionTest, NoRequireOutboundWithoutSupportedOutbound) {
    config_.flow_timer_s = 120;
    auto r = make_register({kObContact, "Supported: path"});
    decide(*r, true, kEdgePath, "TOKEN1");
    ASSERT_FALSE(d().rejected());
    EXPECT_TRUE(d().outbound_applied);
    EXPECT_EQ(d().updates[0].reg_id, 1u);
    EXPECT_FALSE(d().require_outbound);
    EXPECT_EQ(d().flow_timer_s, 0u);
    const std::string response = respond(*r, CommitResult::kOk, {{d().updates[0].contact, 3600}});
    EXPECT_EQ(response.find("Require:"), std::string::npos);
    EXPECT_EQ(response.find("Flow-Timer:"), std::string::npos);
}

// covers OB-REG-03, OB-DEP-06
TEST_F(RegistrarDecisionTest, NotFirstHopWithObOnFirstPathAppliesOutbound) {
    config_.flow_timer_s = 120;
    auto r = make_register({kObContact, "Supported: outbound",
                            "Path: <sip:EDGETOKEN@ep2.example.com;lr;ob>, <sip:p2.example.com;lr>"},
                           2);
    decide(*r, /*first_hop=*/false);
    ASSERT_FALSE(d().rejected());
    EXPECT_TRUE(d().outbound_applied);
    EXPECT_TRUE(d().require_outbound);
    EXPECT_EQ(d().updates[0].reg_id, 1u);
    // The flow lives at the other edge: its token is the Path user part.
    EXPECT_EQ(d().flow_token, "EDGETOKEN");
    // No Flow-Timer: we do not hold that flow and cannot promise its timer.
    EXPECT_EQ(d().flow_timer_s, 0u);
    ASSERT_EQ(d().path_count, 2u);
    EXPECT_EQ(d().path[0], "<sip:EDGETOKEN@ep2.example.com;lr;ob>");
    EXPECT_EQ(d().path[1], "<sip:p2.example.com;lr>");
}

// covers OB-REG-05, OB-439-01
TEST_F(RegistrarDecisionTest, NotFirstHopWithoutPathRegIdAndSupportedGets439) {
    auto r = make_register({kObContact, "Supported: outbound"}, 2);
    decide(*r, false);
    EXPECT_EQ(d().error, RegisterError::kFirstHopLacksOutbound);
    EXPECT_EQ(status_line(respond(*r)), "SIP/2.0 439 First Hop Lacks Outbound Support");
}

// covers OB-REG-04, OB-439-01
TEST_F(RegistrarDecisionTest, FirstPathWithoutObGets439) {
    auto r = make_register(
        {kObContact, "Supported: outbound", "Path: <sip:p1.example.com;lr>"}, 2);
    decide(*r, false);
    EXPECT_EQ(d().error, RegisterError::kFirstHopLacksOutbound);
}

// covers OB-REG-04: the edge's own Path value is the first one; without ob
// (not first hop, OB-EDGE-02 policy) it decides even if a deeper Path has ob.
TEST_F(RegistrarDecisionTest, EdgePathValueWithoutObIsTheFirstPath) {
    auto r = make_register(
        {kObContact, "Supported: outbound", "Path: <sip:T@ep9.example.com;lr;ob>"}, 2);
    decide(*r, false, "<sip:T2@ep1.example.com;lr>", "T2");
    EXPECT_EQ(d().error, RegisterError::kFirstHopLacksOutbound);
}

// covers OB-REG-06, OB-REG-09, OB-TAG-04, OB-439-02, OB-REG-12
TEST_F(RegistrarDecisionTest, RegIdIgnoredWhenNoOutboundAndNoSupported) {
    auto r = make_register({kObContact}, 2);
    decide(*r, false);
    ASSERT_FALSE(d().rejected());
    EXPECT_FALSE(d().outbound_applied);
    EXPECT_FALSE(d().require_outbound);
    ASSERT_EQ(d().update_count, 1u);
    EXPECT_EQ(d().updates[0].reg_id, 0u);  // A plain binding keyed by Contact URI.
    EXPECT_EQ(d().updates[0].contact_key, "sip:bob@192.0.2.2:50123;transport=tcp");
    const std::string response = respond(*r, CommitResult::kOk, {{d().updates[0].contact, 3600}});
    EXPECT_EQ(response.find("Require:"), std::string::npos);
    EXPECT_EQ(response.find("Flow-Timer:"), std::string::npos);
}

// covers OB-439-02
TEST_F(RegistrarDecisionTest, NoRegIdNeverGets439) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>", "Supported: outbound"}, 2);
    decide(*r, false);
    EXPECT_FALSE(d().rejected());
    EXPECT_FALSE(d().require_outbound);
}

// covers OB-INST-04, OB-REG-07
TEST_F(RegistrarDecisionTest, RegIdWithoutInstanceIsIgnored) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2;transport=tcp>;reg-id=1",
                            "Supported: outbound"});
    decide(*r, true, kEdgePath, "TOKEN1");
    ASSERT_FALSE(d().rejected());
    EXPECT_EQ(d().updates[0].reg_id, 0u);
    EXPECT_TRUE(d().updates[0].instance_key.empty());
    EXPECT_FALSE(d().require_outbound);
    EXPECT_EQ(d().flow_timer_s, 0u);
}

// covers OB-INST-04: an instance without reg-id is valid, plain keyed, and
// keeps its instance for the proxy.
TEST_F(RegistrarDecisionTest, InstanceWithoutRegIdIsPlainBinding) {
    auto r = make_register(
        {"Contact: <sip:bob@192.0.2.2>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000000000001>\"",
         "Supported: outbound"});
    decide(*r, true);
    ASSERT_FALSE(d().rejected());
    EXPECT_EQ(d().updates[0].reg_id, 0u);
    EXPECT_EQ(d().updates[0].instance_key, "urn:uuid:00000000-0000-1000-8000-000000000001");
    EXPECT_FALSE(d().require_outbound);
}

// covers OB-INST-01, OB-INST-02
TEST_F(RegistrarDecisionTest, RegIdRangeIsEnforced) {
    auto zero = make_register(
        {"Contact: <sip:bob@192.0.2.2>;reg-id=0;+sip.instance=\"<urn:uuid:1>\""});
    decide(*zero, true);
    EXPECT_EQ(d().error, RegisterError::kBadContact);
    EXPECT_EQ(d().syntax_error, syntax::Error::kBadRegId);
    EXPECT_EQ(status_line(respond(*zero)), "SIP/2.0 400 Bad Contact (bad reg-id)");

    auto big = make_register(
        {"Contact: <sip:bob@192.0.2.2>;reg-id=2147483648;+sip.instance=\"<urn:uuid:1>\""});
    decide(*big, true);
    EXPECT_EQ(d().error, RegisterError::kBadContact);
    auto huge = make_register(
        {"Contact: <sip:bob@192.0.2.2>;reg-id=1234567890123456789012345678901234567890;"
         "+sip.instance=\"<urn:uuid:1>\""});
    decide(*huge, true);
    EXPECT_EQ(d().error, RegisterError::kBadContact);

    auto max = make_register(
        {"Contact: <sip:bob@192.0.2.2>;reg-id=2147483647;+sip.instance=\"<urn:uuid:1>\""});
    decide(*max, true);
    ASSERT_FALSE(d().rejected());
    EXPECT_EQ(d().updates[0].reg_id, 2147483647u);
}

// covers OB-REG-08
TEST_F(RegistrarDecisionTest, SeveralNonZeroContactsWithRegIdGet400) {
    auto r = make_register({kObContact, "Contact: <sip:bob@192.0.2.99>", "Supported: outbound"});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kSeveralOutboundContacts);
    EXPECT_EQ(status_line(respond(*r)), "SIP/2.0 400 Several Contacts With reg-id");
}

// covers OB-REG-08: a reg-id contact may come with removals.
TEST_F(RegistrarDecisionTest, RegIdContactWithRemovalIsAccepted) {
    auto r = make_register(
        {kObContact, "Contact: <sip:bob@192.0.2.99>;expires=0", "Supported: outbound"});
    decide(*r, true);
    ASSERT_FALSE(d().rejected());
    ASSERT_EQ(d().update_count, 2u);
    EXPECT_EQ(d().updates[0].action, BindingAction::kUpsert);
    EXPECT_EQ(d().updates[1].action, BindingAction::kRemove);
    EXPECT_EQ(d().updates[1].expires_s, 0u);
}

// RFC 3261 §10.3 step 7: 423 with Min-Expires, only for 0 < e < min.
TEST_F(RegistrarDecisionTest, IntervalTooBriefGets423WithMinExpires) {
    config_.expires_min_s = 60;
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>", "Expires: 30"});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kIntervalTooBrief);
    const std::string response = respond(*r);
    EXPECT_EQ(status_line(response), "SIP/2.0 423 Interval Too Brief");
    EXPECT_NE(response.find("\r\nMin-Expires: 60\r\n"), std::string::npos);

    auto zero = make_register({"Contact: <sip:bob@192.0.2.2>", "Expires: 0"});
    decide(*zero, true);
    ASSERT_FALSE(d().rejected());
    EXPECT_EQ(d().updates[0].action, BindingAction::kRemove);
}

// RFC 3261 §10.3 step 7: the Contact's expires beats the header, the header
// beats the default, and long intervals are shortened to the maximum.
TEST_F(RegistrarDecisionTest, ExpiresSourcesAndClamp) {
    config_.expires_default_s = 1800;
    config_.expires_max_s = 3600;
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>;expires=7200, <sip:bob@192.0.2.3>",
                            "Contact: <sip:bob@192.0.2.4>;expires=120", "Expires: 600"});
    decide(*r, true);
    ASSERT_FALSE(d().rejected());
    ASSERT_EQ(d().update_count, 3u);
    EXPECT_EQ(d().updates[0].expires_s, 3600u);
    EXPECT_EQ(d().updates[1].expires_s, 600u);
    EXPECT_EQ(d().updates[2].expires_s, 120u);
    auto none = make_register({"Contact: <sip:bob@192.0.2.2>"});
    decide(*none, true);
    EXPECT_EQ(d().updates[0].expires_s, 1800u);
}

TEST_F(RegistrarDecisionTest, BadExpiresHeaderGets400) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>", "Expires: soon"});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kBadExpiresHeader);
    EXPECT_EQ(status_line(respond(*r)), "SIP/2.0 400 Bad Expires (not a number)");
}

// RFC 3261 §10.3 step 6.
TEST_F(RegistrarDecisionTest, StarRemovesAllOnlyAloneWithExpiresZero) {
    auto ok = make_register({"Contact: *", "Expires: 0"});
    decide(*ok, true);
    ASSERT_FALSE(d().rejected());
    EXPECT_TRUE(d().remove_all);
    EXPECT_EQ(d().update_count, 0u);

    auto no_expires = make_register({"Contact: *"});
    decide(*no_expires, true);
    EXPECT_EQ(d().error, RegisterError::kStarNeedsExpiresZero);
    auto nonzero = make_register({"Contact: *", "Expires: 10"});
    decide(*nonzero, true);
    EXPECT_EQ(d().error, RegisterError::kStarNeedsExpiresZero);
    auto not_alone = make_register({"Contact: *", "Contact: <sip:bob@192.0.2.2>", "Expires: 0"});
    decide(*not_alone, true);
    EXPECT_EQ(d().error, RegisterError::kStarNotAlone);
    EXPECT_EQ(status_line(respond(*not_alone)), "SIP/2.0 400 Contact * Not Alone");
}

// RFC 3261 §10.3 step 5.
TEST_F(RegistrarDecisionTest, DomainNotServedGets404) {
    config_.domains = {"Example.COM"};
    auto ours = make_register({"Contact: <sip:bob@192.0.2.2>"});
    decide(*ours, true);
    EXPECT_FALSE(d().rejected());
    config_.domains = {"other.example"};
    decide(*ours, true);
    EXPECT_EQ(d().error, RegisterError::kDomainNotServed);
    EXPECT_EQ(status_line(respond(*ours)), "SIP/2.0 404 Domain Not Served");
}

TEST_F(RegistrarDecisionTest, BadContactGets400NamingTheDefect) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2:99999>"});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kBadContact);
    EXPECT_EQ(status_line(respond(*r)), "SIP/2.0 400 Bad Contact (port out of range)");
}

TEST_F(RegistrarDecisionTest, BadPathGets400) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>", "Path: <sip:p1.example.com;lr"}, 2);
    decide(*r, false);
    EXPECT_EQ(d().error, RegisterError::kBadPath);
}

// RFC 3261 §10.3 step 2.
TEST_F(RegistrarDecisionTest, UnsupportedRequireGets420) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>", "Require: path, foo"});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kBadExtension);
    const std::string response = respond(*r);
    EXPECT_EQ(status_line(response), "SIP/2.0 420 Bad Extension");
    EXPECT_NE(response.find("\r\nUnsupported: foo\r\n"), std::string::npos);
}

TEST_F(RegistrarDecisionTest, SameBindingTwiceGets400) {
    auto plain = make_register(
        {"Contact: <sip:bob@192.0.2.2;transport=tcp>, <sip:bob@192.0.2.2;TRANSPORT=TCP;x=1>"});
    decide(*plain, true);
    EXPECT_EQ(d().error, RegisterError::kDuplicateContact);
    auto outbound = make_register(
        {kObContact, "Contact: <sip:bob@192.0.2.3>;reg-id=1;expires=0;"
                     "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>\"",
         "Supported: outbound"});
    decide(*outbound, true);
    EXPECT_EQ(d().error, RegisterError::kDuplicateContact);
}

TEST_F(RegistrarDecisionTest, TooManyContactsGets400) {
    std::string many = "Contact: <sip:a0@192.0.2.2>";
    for (uint32_t i = 1; i <= kContactCountPerRegisterMax; ++i) {
        many += ", <sip:a" + std::to_string(i) + "@192.0.2.2>";
    }
    auto r = make_register({many});
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kTooManyContacts);
}

TEST_F(RegistrarDecisionTest, NoContactIsAFetch) {
    auto r = make_register({});
    decide(*r, true);
    ASSERT_FALSE(d().rejected());
    EXPECT_EQ(d().update_count, 0u);
    EXPECT_FALSE(d().remove_all);
    const std::string response =
        respond(*r, CommitResult::kOk, {{"<sip:bob@192.0.2.2>;expires=3600;q=0.5", 1200}});
    EXPECT_NE(response.find("\r\nContact: <sip:bob@192.0.2.2>;q=0.5;expires=1200\r\n"),
              std::string::npos);
}

// RFC 3261 §19.1.4 via the canonical key: host case, escapes and parameter
// order do not matter; transport does, even when only one URI has it.
TEST(ContactKeyTest, CanonicalKeyFollowsUriEquality) {
    auto key_of = [](std::string_view text) {
        syntax::Uri uri;
        EXPECT_EQ(syntax::parse_uri(text, uri), syntax::Error::kOk);
        char buffer[256];
        std::string_view key;
        EXPECT_EQ(write_contact_key(uri, buffer, sizeof(buffer), key), syntax::Error::kOk);
        return std::string(key);
    };
    EXPECT_EQ(key_of("sip:%61lice@HOST.example.com;transport=TCP;lr"),
              key_of("sip:alice@host.example.com;lr;transport=tcp"));
    EXPECT_EQ(key_of("sip:alice@host.example.com;transport=tcp"),
              "sip:alice@host.example.com;transport=tcp");
    EXPECT_NE(key_of("sip:alice@host.example.com"), key_of("sip:alice@host.example.com;transport=udp"));
    EXPECT_NE(key_of("sip:alice@host.example.com:5060"), key_of("sip:alice@host.example.com"));
    EXPECT_NE(key_of("sip:Alice@host.example.com"), key_of("sip:alice@host.example.com"));
}

// covers OB-REG-15, OB-FT-03, OB-DEP-06: the exact 200 for a typical
// outbound REGISTER: every current contact with its expires, only this
// registration's Path, Require: outbound, Flow-Timer, Supported, To tag.
TEST_F(RegistrarDecisionTest, OutboundOkExactBytes) {
    config_.flow_timer_s = 120;
    auto r = make_register({kObContact, "Supported: path, outbound"});
    decide(*r, true, kEdgePath, "TOKEN1");
    ASSERT_FALSE(d().rejected());
    const std::string response = respond(
        *r, CommitResult::kOk,
        {{d().updates[0].contact, 3600}, {"<sip:bob@192.0.2.9>;expires=60;q=0.1", 42}});
    EXPECT_EQ(response,
              "SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK-ua1\r\n"
              "From: <sip:bob@example.com>;tag=f1\r\n"
              "To: <sip:bob@example.com>;tag=1de78ca5a71cbc6e\r\n"  // FNV-1a of the Call-ID.
                  "Call-ID: call-1@192.0.2.2\r\n"
                  "CSeq: 1 REGISTER\r\n"
                  "Contact: <sip:bob@192.0.2.2:50123;transport=tcp;ob>;reg-id=1;"
                  "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";expires=3600\r\n"
                  "Contact: <sip:bob@192.0.2.9>;q=0.1;expires=42\r\n"
                  "Path: <sip:TOKEN1@ep1.example.com;lr;ob>\r\n"
                  "Require: outbound\r\n"
                  "Flow-Timer: 120\r\n"
                  "Supported: path, outbound\r\n"
                  "Content-Length: 0\r\n"
                  "\r\n");
    // The tag is stable for the Call-ID, so a retransmission gets the same bytes.
    EXPECT_EQ(respond(*r, CommitResult::kOk,
                      {{d().updates[0].contact, 3600}, {"<sip:bob@192.0.2.9>;expires=60;q=0.1", 42}}),
              response);
}

TEST_F(RegistrarDecisionTest, StoreFailuresMapToStatus) {
    auto r = make_register({"Contact: <sip:bob@192.0.2.2>"});
    decide(*r, true);
    EXPECT_EQ(status_line(respond(*r, CommitResult::kOutOfOrder)),
              "SIP/2.0 500 Out Of Order Request");
    EXPECT_EQ(status_line(respond(*r, CommitResult::kUnavailable)),
              "SIP/2.0 500 Binding Store Unavailable");
    EXPECT_EQ(status_line(respond(*r, CommitResult::kTooManyBindings)),
              "SIP/2.0 403 Too Many Bindings");
}

TEST_F(RegistrarDecisionTest, CallIdTooLongGets400) {
    auto r = std::make_unique<Request>();
    r->bytes = "REGISTER sip:example.com SIP/2.0\r\n" + std::string(kUaVia) +
               "\r\nTo: <sip:bob@example.com>\r\nFrom: <sip:bob@example.com>;tag=1\r\n"
               "Call-ID: " + std::string(kCallIdSizeMax + 1, 'c') +
               "\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(r->message.parse(r->bytes), sip::ParseError::kOk);
    decide(*r, true);
    EXPECT_EQ(d().error, RegisterError::kCallIdTooLong);
}

}  // namespace
}  // namespace fe::outbound
