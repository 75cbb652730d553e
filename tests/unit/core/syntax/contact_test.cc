// Checks parse_contact(): "*", the RFC 5626 parameters (+sip.instance URN
// extraction, reg-id range without overflow, ob), expires and q, instance-id
// equality by URN rules (not by quoted text) and the instance key.
#include "core/syntax/contact.h"

#include <string>

#include "core/syntax/limits.h"
#include "gtest/gtest.h"
#include "tests/unit/core/syntax/guarded.h"

namespace fe::syntax {
namespace {

using testing::Guarded;
using testing::is_within;

constexpr std::string_view kOutboundContact =
    "<sip:line1@192.0.2.2;transport=tcp;ob>;reg-id=1;"
    "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";expires=3600;q=0.7";

TEST(ContactTest, OutboundContactDecoded) {
    Guarded g(kOutboundContact);
    Contact c;
    ASSERT_EQ(parse_contact(g.view(), c), Error::kOk);
    EXPECT_FALSE(c.is_star);
    EXPECT_EQ(c.address.uri.user, "line1");
    EXPECT_TRUE(c.has_ob());
    EXPECT_EQ(c.reg_id, 1u);
    EXPECT_EQ(c.instance, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    EXPECT_TRUE(is_within(c.instance, g.view()));
    EXPECT_TRUE(c.has_expires);
    EXPECT_EQ(c.expires_s, 3600u);
    EXPECT_TRUE(c.has_q);
    EXPECT_EQ(c.q_thousandths, 700);
    EXPECT_TRUE(c.is_outbound());
}

TEST(ContactTest, InstanceWithoutRegIdAndRegIdWithoutInstance) {
    // covers OB-INST-04
    Contact c;
    ASSERT_EQ(parse_contact("<sip:a@b>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
                            "000A95A0E128>\"",
                            c),
              Error::kOk);
    EXPECT_TRUE(c.has_instance());
    EXPECT_FALSE(c.has_reg_id());
    EXPECT_FALSE(c.is_outbound());
    ASSERT_EQ(parse_contact("<sip:a@b>;reg-id=1", c), Error::kOk);
    EXPECT_TRUE(c.has_reg_id());
    EXPECT_FALSE(c.is_outbound());
}

TEST(ContactTest, RegIdRange) {
    // covers OB-INST-01, OB-INST-02
    Contact c;
    ASSERT_EQ(parse_contact("<sip:a@b>;reg-id=2147483647", c), Error::kOk);
    EXPECT_EQ(c.reg_id, 2147483647u);
    ASSERT_EQ(parse_contact("<sip:a@b>;reg-id=01", c), Error::kOk);
    EXPECT_EQ(c.reg_id, 1u);
    for (std::string_view bad :
         {"<sip:a@b>;reg-id=0", "<sip:a@b>;reg-id=2147483648", "<sip:a@b>;reg-id=4294967297",
          "<sip:a@b>;reg-id=1234567890123456789012345678901234567890", "<sip:a@b>;reg-id=-1",
          "<sip:a@b>;reg-id=1a", "<sip:a@b>;reg-id", "<sip:a@b>;reg-id=\"1\""}) {
        Guarded g(bad);
        EXPECT_EQ(parse_contact(g.view(), c), Error::kBadRegId) << bad;
        EXPECT_EQ(c.reg_id, 0u);
    }
}

TEST(ContactTest, InstanceEqualityUsesUrnRules) {
    // covers OB-INST-03
    Contact a;
    Contact b;
    ASSERT_EQ(parse_contact("<sip:a@b>;+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-"
                            "00a0c91e6bf6>\";reg-id=1",
                            a),
              Error::kOk);
    ASSERT_EQ(parse_contact("<sip:a@c>;+sip.instance=\"<URN:UUID:F81D4FAE-7DEC-11D0-A765-"
                            "00A0C91E6BF6>\";reg-id=1",
                            b),
              Error::kOk);
    EXPECT_NE(a.address.params.find("+sip.instance")->value,
              b.address.params.find("+sip.instance")->value);
    EXPECT_TRUE(instance_equal(a.instance, b.instance));
    char ka[kInstanceKeySizeMax];
    char kb[kInstanceKeySizeMax];
    std::string_view key_a;
    std::string_view key_b;
    ASSERT_EQ(write_instance_key(a.instance, ka, sizeof(ka), key_a), Error::kOk);
    ASSERT_EQ(write_instance_key(b.instance, kb, sizeof(kb), key_b), Error::kOk);
    EXPECT_EQ(key_a, key_b);
    EXPECT_EQ(key_a, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");

    // Other namespaces: NSS is case-sensitive, escapes are not.
    EXPECT_TRUE(instance_equal("urn:example:Abc%2f", "URN:EXAMPLE:Abc%2F"));
    EXPECT_FALSE(instance_equal("urn:example:Abc", "urn:example:abc"));
    EXPECT_FALSE(instance_equal("urn:uuid:1", "urn:uuid:2"));
    EXPECT_FALSE(instance_equal("urn:uuid:1", "urn:uuid:12"));
    EXPECT_FALSE(instance_equal("urn:ab:cd", "urn:abc:d"));
    std::string_view key;
    ASSERT_EQ(write_instance_key("URN:Example:Abc%2F", ka, sizeof(ka), key), Error::kOk);
    EXPECT_EQ(key, "urn:example:Abc%2f");
    EXPECT_EQ(write_instance_key("urn:uuid:1", ka, 4, key), Error::kBufferTooSmall);
}

TEST(ContactTest, BadInstance) {
    Contact c;
    for (std::string_view bad : {
             "<sip:a@b>;+sip.instance=urn",
             "<sip:a@b>;+sip.instance",
             "<sip:a@b>;+sip.instance=\"urn:uuid:1\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid:1\"",
             "<sip:a@b>;+sip.instance=\"<uuid:1>\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid>\"",
             "<sip:a@b>;+sip.instance=\"<urn::1>\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid:>\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid:a b>\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid:a%zz>\"",
             "<sip:a@b>;+sip.instance=\"<urn:uuid:a\\\"b>\"",
             "<sip:a@b>;+sip.instance=\"<urn:-x:1>\"",
         }) {
        Guarded g(bad);
        EXPECT_EQ(parse_contact(g.view(), c), Error::kBadInstance) << bad;
    }
    std::string huge = "<sip:a@b>;+sip.instance=\"<urn:x:" + std::string(kInstanceKeySizeMax, 'a') +
                       ">\"";
    EXPECT_EQ(parse_contact(huge, c), Error::kBadInstance);
}

TEST(ContactTest, StarAndExpiresAndQ) {
    Contact c;
    ASSERT_EQ(parse_contact("*", c), Error::kOk);
    EXPECT_TRUE(c.is_star);
    EXPECT_EQ(parse_contact("*;expires=0", c), Error::kBadStar);
    EXPECT_EQ(parse_contact("* x", c), Error::kBadStar);
    EXPECT_EQ(parse_contact("", c), Error::kEmpty);
    // A bare URI: expires belongs to the header (§20.10).
    ASSERT_EQ(parse_contact("sip:a@b;expires=60", c), Error::kOk);
    EXPECT_EQ(c.expires_s, 60u);
    ASSERT_EQ(parse_contact("<sip:a@b>;expires=4294967295", c), Error::kOk);
    EXPECT_EQ(c.expires_s, 4294967295u);
    // RFC 4475 3.1.2.4: expires above 2^32-1.
    EXPECT_EQ(parse_contact("<sip:a@b>;expires=280297596632815", c), Error::kBadExpires);
    EXPECT_EQ(parse_contact("<sip:a@b>;expires=-1", c), Error::kBadExpires);
    EXPECT_EQ(parse_contact("<sip:a@b>;expires", c), Error::kBadExpires);
    // RFC 4475 wsinv Contact.
    ASSERT_EQ(parse_contact("\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
                            "      newvalue ;\r\n  secondparam ; q = 0.33",
                            c),
              Error::kOk);
    EXPECT_EQ(c.q_thousandths, 330);
    EXPECT_EQ(c.address.display_name, "Quoted string \\\"\\\"");
}

TEST(ContactTest, QValues) {
    const std::pair<std::string_view, uint16_t> good[] = {
        {"0", 0}, {"1", 1000}, {"0.", 0}, {"1.", 1000}, {"0.5", 500}, {"0.05", 50},
        {"0.001", 1}, {"0.999", 999}, {"1.0", 1000}, {"1.000", 1000},
    };
    for (const auto& [text, value] : good) {
        uint16_t q = 1;
        ASSERT_EQ(parse_qvalue(text, q), Error::kOk) << text;
        EXPECT_EQ(q, value) << text;
    }
    for (std::string_view bad : {"", "2", "1.001", "0.1234", ".5", "-0.5", "0,5", "01", "1.5",
                                 "0.5x", "00.5"}) {
        uint16_t q = 0;
        EXPECT_EQ(parse_qvalue(bad, q), Error::kBadQValue) << bad;
    }
    Contact c;
    EXPECT_EQ(parse_contact("<sip:a@b>;q=1.5", c), Error::kBadQValue);
}

}  // namespace
}  // namespace fe::syntax
