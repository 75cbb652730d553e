// Checks the Redis store's key and record codec (state/internal/redis_codec.h)
// without a server: exact key and field bytes, a record's round trip with
// every field (wall-clock conversion both ways), and one case per named
// decode error (bad length, truncated, missing field, bad number, too many
// Path values), including records cut at every byte.
#include "state/internal/redis_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "state/redis_limits.h"

namespace fe::state::internal {
namespace {

const Duration kOffset = milliseconds(1'700'000'000'000) - hours(1);  // kT0 -> 1.7e12 ms
const Time kT0 = Time{} + hours(1);

TEST(RedisCodecTest, KeysAndFieldsAreTheDrawnBytes) {
    std::string out;
    append_aor_key(out, "fe", "sip:alice@example.com");
    EXPECT_EQ(out, "fe:{sip:alice@example.com}:b");
    out.clear();
    append_token_key(out, "fe", "TOK");
    EXPECT_EQ(out, "fe:{tok:TOK}:a");
    out.clear();
    append_binding_field(out, BindingUpdate{.instance_key = "urn:x", .reg_id = 2});
    EXPECT_EQ(out, "o:2:urn:x");
    out.clear();
    append_binding_field(out, BindingUpdate{.contact_key = "sip:a@h"});
    EXPECT_EQ(out, "p:sip:a@h");
}

TEST(RedisCodecTest, WallClockConversionRoundTripsWholeMilliseconds) {
    EXPECT_EQ(wall_ms(kT0, kOffset), 1'700'000'000'000);
    EXPECT_EQ(wall_ms(kT0 + microseconds(1999), kOffset), 1'700'000'000'001) << "rounds down";
    EXPECT_EQ(time_from_wall_ms(1'700'000'000'001, kOffset), kT0 + milliseconds(1));
}

std::string record_with_seq(uint64_t seq, const RegisterUpdate& update, const BindingUpdate& b) {
    std::string out;
    append_netstring(out, seq);
    append_binding_record(out, update, b,
                          RecordTimes{.expires_ms = wall_ms(kT0 + seconds(60), kOffset),
                                      .now_ms = wall_ms(kT0, kOffset)});
    return out;
}

TEST(RedisCodecTest, RecordRoundTripsEveryField) {
    const std::string_view path[] = {"<sip:T@e;lr;ob>", "<sip:p2;lr>"};
    const RegisterUpdate update{.aor_key = "sip:a@x", .call_id = "cid", .cseq = 9,
                                .path = path, .flow_token = "T", .node_id = 3};
    const BindingUpdate b{.instance_key = "urn:x", .reg_id = 1, .contact_key = "sip:a@h",
                          .contact = "<sip:a@h>;q=0.5", .contact_uri = "sip:a@h", .has_q = true,
                          .q_thousandths = 500};
    const std::string record = record_with_seq(4, update, b);
    Binding out;
    out.path = {"stale", "stale", "stale"};  // Reused storage must be trimmed.
    uint64_t seq = 0;
    ASSERT_EQ(decode_binding_record(record, kOffset, out, seq), RecordError::kOk);
    EXPECT_EQ(seq, 4u);
    EXPECT_EQ(out.expires_at, kT0 + seconds(60));
    EXPECT_EQ(out.updated_at, kT0);
    EXPECT_EQ(out.cseq, 9u);
    EXPECT_EQ(out.call_id, "cid");
    EXPECT_EQ(out.flow_token, "T");
    EXPECT_EQ(out.instance_key, "urn:x");
    EXPECT_EQ(out.reg_id, 1u);
    EXPECT_EQ(out.contact_key, "sip:a@h");
    EXPECT_EQ(out.contact, "<sip:a@h>;q=0.5");
    EXPECT_EQ(out.contact_uri, "sip:a@h");
    EXPECT_TRUE(out.has_q);
    EXPECT_EQ(out.q_thousandths, 500);
    EXPECT_EQ(out.node_id, 3u);
    EXPECT_EQ(out.path, (std::vector<std::string>{"<sip:T@e;lr;ob>", "<sip:p2;lr>"}));
}

TEST(RedisCodecTest, EachMalformedRecordHasItsError) {
    const RegisterUpdate update{.call_id = "c", .cseq = 1};
    const BindingUpdate b{.contact_key = "k"};
    const std::string good = record_with_seq(1, update, b);
    Binding out;
    uint64_t seq = 0;
    EXPECT_EQ(decode_binding_record("x:1", kOffset, out, seq), RecordError::kBadLength);
    EXPECT_EQ(decode_binding_record("12345678901:", kOffset, out, seq), RecordError::kBadLength);
    EXPECT_EQ(decode_binding_record("5:ab", kOffset, out, seq), RecordError::kTruncated);
    EXPECT_EQ(decode_binding_record("", kOffset, out, seq), RecordError::kMissingField);
    EXPECT_EQ(decode_binding_record("1:x" + good.substr(3), kOffset, out, seq),
              RecordError::kBadNumber);
    // q above 1000 thousandths.
    const BindingUpdate bad_q{.contact_key = "k", .has_q = true, .q_thousandths = 1001};
    EXPECT_EQ(decode_binding_record(record_with_seq(1, update, bad_q), kOffset, out, seq),
              RecordError::kBadNumber);
    std::string many = good;
    for (uint32_t i = 0; i <= kRedisRecordPathCountMax; ++i) {
        append_netstring(many, "<sip:p;lr>");
    }
    EXPECT_EQ(decode_binding_record(many, kOffset, out, seq), RecordError::kTooManyPaths);
}

// A record cut anywhere before its last fixed field never decodes.
TEST(RedisCodecTest, RecordCutAtEveryByteFails) {
    const RegisterUpdate update{.call_id = "call", .cseq = 77, .flow_token = "TOKEN"};
    const BindingUpdate b{.instance_key = "urn:i", .reg_id = 2, .contact_key = "k"};
    const std::string good = record_with_seq(3, update, b);
    Binding out;
    uint64_t seq = 0;
    ASSERT_EQ(decode_binding_record(good, kOffset, out, seq), RecordError::kOk);
    for (size_t size = 0; size < good.size(); ++size) {
        EXPECT_NE(decode_binding_record(good.substr(0, size), kOffset, out, seq), RecordError::kOk)
            << "cut at " << size;
    }
}

}  // namespace
}  // namespace fe::state::internal
