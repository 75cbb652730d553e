// Checks state/internal/binding_codec.h: every field of a binding survives an
// encode/decode round trip (empty strings, long values, extreme integers and
// times, no Path and many Path values, q present or not), strings found in
// the binding's own bytes or in the previous binding become references (the
// encoding of a realistic outbound binding is small), and decoding into a
// warm vector reuses its elements.
#include "state/internal/binding_codec.h"

#include "state/binding_limits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace fe::state::internal {
namespace {

constexpr std::string_view kAor = "sip:u0@example.com";

// What flowedge-bench registers through an edge that is its own registrar.
Binding outbound_binding() {
    Binding b;
    b.aor_key = std::string(kAor);
    b.instance_key = "urn:uuid:910a2dec-8902-4cc1-beeb-8da1658eec67";
    b.reg_id = 1;
    b.contact_key = "sip:u0@127.96.0.1:5060;transport=tcp";
    b.contact =
        "<sip:u0@127.96.0.1:5060;transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:910a2dec-"
        "8902-4cc1-beeb-8da1658eec67>\"";
    b.contact_uri = b.contact_key;
    b.path = {"<sip:AQACAAABAAAAAH23LPoNbrSZ2NbpjqN-uLo@127.0.0.1:15373;transport=tcp;lr;ob>"};
    b.flow_token = "AQACAAABAAAAAH23LPoNbrSZ2NbpjqN-uLo";
    b.expires_at = time_from_ns(5939644556202);
    b.updated_at = time_from_ns(2339644556202);
    b.call_id = "3def033caf087d0e4ed3802c678e1698";
    b.cseq = 1;
    b.node_id = 1;
    return b;
}

bool same(const Binding& a, const Binding& b) {
    return a.aor_key == b.aor_key && a.instance_key == b.instance_key && a.reg_id == b.reg_id &&
           a.contact_key == b.contact_key && a.contact == b.contact &&
           a.contact_uri == b.contact_uri && a.path == b.path && a.flow_token == b.flow_token &&
           a.expires_at == b.expires_at && a.call_id == b.call_id && a.cseq == b.cseq &&
           a.has_q == b.has_q && a.q_thousandths == b.q_thousandths &&
           a.updated_at == b.updated_at && a.node_id == b.node_id;
}

std::vector<Binding> round_trip(const std::vector<Binding>& in, std::string* bytes = nullptr) {
    std::string encoded;
    encode_bindings(in, encoded);
    std::vector<Binding> out;
    const size_t count = decode_bindings(encoded, kAor, out);
    EXPECT_EQ(count, in.size());
    out.resize(count);
    if (bytes != nullptr) {
        *bytes = encoded;
    }
    return out;
}

void expect_round_trip(const std::vector<Binding>& in) {
    const std::vector<Binding> out = round_trip(in);
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_TRUE(same(in[i], out[i])) << "binding " << i;
    }
}

TEST(BindingCodecTest, NothingIsEmpty) {
    std::string bytes;
    encode_bindings({}, bytes);
    EXPECT_TRUE(bytes.empty());
    std::vector<Binding> out(3);
    EXPECT_EQ(decode_bindings(bytes, kAor, out), 0u);
    EXPECT_EQ(out.size(), 3u);  // Never shrinks.
}

TEST(BindingCodecTest, OutboundBindingIsSmall) {
    std::string bytes;
    const std::vector<Binding> in = {outbound_binding()};
    const std::vector<Binding> out = round_trip(in, &bytes);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(same(in[0], out[0]));
    // Contact, Path and Call-ID as literals; URI, key, instance and token as
    // references; ~20 B of fields.
    const size_t literals = in[0].contact.size() + in[0].path[0].size() + in[0].call_id.size();
    EXPECT_LE(bytes.size(), literals + 40);
}

TEST(BindingCodecTest, EmptyStringsAndNoPath) {
    Binding b;
    b.aor_key = std::string(kAor);
    expect_round_trip({b});
    b.contact = "sip:x@1";
    b.contact_key = "sip:x@1";
    b.contact_uri = "sip:x@1";
    expect_round_trip({b});
}

TEST(BindingCodecTest, ExtremeNumbersAndTimes) {
    Binding b = outbound_binding();
    b.reg_id = std::numeric_limits<uint32_t>::max();
    b.cseq = std::numeric_limits<uint32_t>::max();
    b.node_id = std::numeric_limits<uint32_t>::max();
    b.has_q = true;
    b.q_thousandths = 1000;
    b.expires_at = time_from_ns(std::numeric_limits<int64_t>::max());
    b.updated_at = time_from_ns(0);
    expect_round_trip({b});
    b.q_thousandths = 0;
    b.expires_at = time_from_ns(-5);  // Before the clock's epoch, and
    b.updated_at = time_from_ns(7);   // a lifetime below zero.
    expect_round_trip({b});
    b.expires_at = time_from_ns(std::numeric_limits<int64_t>::min());
    b.updated_at = time_from_ns(std::numeric_limits<int64_t>::min());
    expect_round_trip({b});
}

TEST(BindingCodecTest, LongValuesAndManyPaths) {
    Binding b = outbound_binding();
    b.contact = "<" + std::string(64 * 1024, 'c') + ">";
    b.contact_uri = std::string(64 * 1024, 'c');
    b.contact_key = std::string(300, 'c');
    b.call_id = std::string(256, 'i');
    b.path.clear();
    for (int i = 0; i < 40; ++i) {
        b.path.push_back("<sip:hop" + std::to_string(i) + "@" + std::string(200, 'h') + ";lr>");
    }
    b.flow_token = "hop39";
    std::string bytes;
    const std::vector<Binding> out = round_trip({b, b}, &bytes);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(same(b, out[0]));
    EXPECT_TRUE(same(b, out[1]));
    // The second binding refers to the first one's strings.
    EXPECT_LT(bytes.size(), b.contact.size() + 40 * 220 + 256 + 400);
}

TEST(BindingCodecTest, ReferencesToThePreviousBinding) {
    Binding a = outbound_binding();
    Binding b = outbound_binding();
    b.reg_id = 2;
    b.instance_key = "urn:uuid:00000000-0000-0000-0000-000000000001";
    b.contact = "<sip:u0@10.0.0.9:5061;transport=tcp>;reg-id=2;+sip.instance=\"<" +
                b.instance_key + ">\"";
    b.contact_uri = "sip:u0@10.0.0.9:5061;transport=tcp";
    b.contact_key = b.contact_uri;
    std::string one, two;
    (void)round_trip({a}, &one);
    const std::vector<Binding> out = round_trip({a, b}, &two);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(same(a, out[0]));
    EXPECT_TRUE(same(b, out[1]));
    // b's Path, token and Call-ID are a's: references of a few bytes each.
    EXPECT_LE(two.size() - one.size(), b.contact.size() + 48);
    // A Path that differs in count still lines up value by value.
    b.path.push_back("<sip:second@example.net;lr>");
    expect_round_trip({a, b, a});
}

TEST(BindingCodecTest, DecodingIntoAWarmVectorReusesElements) {
    std::vector<Binding> in = {outbound_binding(), outbound_binding(), outbound_binding()};
    in[1].reg_id = 2;
    in[1].path.clear();
    in[2].reg_id = 3;
    in[2].path.push_back("<sip:x@y;lr>");
    std::string bytes;
    encode_bindings(in, bytes);
    std::vector<Binding> out(5);
    out[4].contact = "left alone";
    ASSERT_EQ(decode_bindings(bytes, kAor, out), 3u);
    EXPECT_EQ(out.size(), 5u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(same(in[i], out[i])) << i;
    }
    EXPECT_EQ(out[4].contact, "left alone");
    // Decoding fewer into the same vector.
    bytes.clear();
    encode_bindings(std::span<const Binding>(in.data() + 1, 1), bytes);
    ASSERT_EQ(decode_bindings(bytes, kAor, out), 1u);
    EXPECT_TRUE(same(in[1], out[0]));
}

// Random bindings built from a small alphabet, so that substrings and equal
// fields (hence references) are frequent.
TEST(BindingCodecTest, RandomisedRoundTrips) {
    std::mt19937 rng(20261202);
    auto text = [&](size_t max) {
        std::uniform_int_distribution<size_t> len(0, max);
        std::uniform_int_distribution<int> ch(0, 2);
        std::string s(len(rng), 'a');
        for (char& c : s) {
            c = static_cast<char>('a' + ch(rng));
        }
        return s;
    };
    for (int round = 0; round < 2000; ++round) {
        std::vector<Binding> in(std::uniform_int_distribution<size_t>(1, 6)(rng));
        for (Binding& b : in) {
            b.aor_key = std::string(kAor);
            b.contact = text(60);
            b.contact_uri = text(8);
            b.contact_key = text(4);
            b.instance_key = text(3);
            b.path.resize(std::uniform_int_distribution<size_t>(0, 3)(rng));
            for (std::string& p : b.path) {
                p = text(10);
            }
            b.flow_token = text(5);
            b.call_id = text(6);
            b.reg_id = static_cast<uint32_t>(rng());
            b.cseq = static_cast<uint32_t>(rng());
            b.node_id = static_cast<uint32_t>(rng() % 4);
            b.has_q = rng() % 2 == 0;
            b.q_thousandths = b.has_q ? static_cast<uint16_t>(rng() % 1001) : uint16_t{0};
            b.updated_at = time_from_ns(static_cast<int64_t>(rng()) << 20);
            b.expires_at = b.updated_at + seconds(rng() % 7200);
        }
        expect_round_trip(in);
        if (HasFailure()) {
            break;
        }
    }
}

// A refresh's new fields are written in place while their encoding keeps its
// size, and refused (nothing written) when a varint grows.
TEST(BindingCodecTest, PatchFieldsInPlace) {
    std::vector<Binding> in = {outbound_binding(), outbound_binding()};
    in[1].reg_id = 2;
    in[1].cseq = 100;
    std::string bytes;
    encode_bindings(in, bytes);
    std::vector<Binding> out;
    std::vector<FieldsSpan> fields;
    ASSERT_EQ(decode_bindings(bytes, kAor, out, &fields), 2u);
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].begin, 0u);
    EXPECT_LT(fields[0].begin + fields[0].size, fields[1].begin);

    Binding refreshed = in[1];
    refreshed.cseq = 127;  // Still one byte.
    refreshed.updated_at += seconds(10);
    refreshed.expires_at += seconds(10);
    refreshed.has_q = false;
    const std::span<char> span(bytes.data() + fields[1].begin, fields[1].size);
    ASSERT_TRUE(patch_fields(span, refreshed));
    ASSERT_EQ(decode_bindings(bytes, kAor, out), 2u);
    EXPECT_TRUE(same(in[0], out[0]));
    EXPECT_TRUE(same(refreshed, out[1]));

    const std::string before = bytes;
    refreshed.cseq = 128;  // Two bytes: refused.
    EXPECT_FALSE(patch_fields(span, refreshed));
    EXPECT_EQ(bytes, before);
    refreshed.cseq = 127;
    refreshed.has_q = true;  // One more varint: refused.
    refreshed.q_thousandths = 500;
    EXPECT_FALSE(patch_fields(span, refreshed));
    EXPECT_EQ(bytes, before);
}

std::vector<Binding> round_trip_with(PathParts& parts, const std::vector<Binding>& in,
                                     std::string* bytes) {
    bytes->clear();
    encode_bindings(in, *bytes, &parts);
    std::vector<Binding> out;
    out.resize(decode_bindings(*bytes, kAor, out, nullptr, &parts));
    return out;
}

// Our Path value around the token is shared: the binding keeps the token
// only, and decodes to the same text; values without the token, pieces too
// long, and a full PathParts fall back to whole values.
TEST(BindingCodecTest, PathValuesInParts) {
    PathParts parts;
    std::string plain, shared;
    const std::vector<Binding> in = {outbound_binding()};
    (void)round_trip(in, &plain);
    std::vector<Binding> out = round_trip_with(parts, in, &shared);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(same(in[0], out[0]));
    EXPECT_EQ(parts.count(), 2u);  // "<sip:" and "@127.0.0.1:15373;transport=tcp;lr;ob>"
    EXPECT_LE(shared.size() + 35, plain.size());
    // A second AOR through the same edge adds no piece.
    Binding other = outbound_binding();
    other.flow_token = "ZZZZAAAABAAAAAH23LPoNbrSZ2NbpjqN-uLo";
    other.path = {"<sip:" + other.flow_token + "@127.0.0.1:15373;transport=tcp;lr;ob>",
                  "<sip:proxy.example.com;lr>"};
    out = round_trip_with(parts, {other, in[0]}, &shared);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(same(other, out[0]));
    EXPECT_TRUE(same(in[0], out[1]));
    EXPECT_EQ(parts.count(), 2u);
    // The token at either end of a value; an empty token; a token in no value.
    Binding edge = outbound_binding();
    edge.path = {edge.flow_token, edge.flow_token + ";lr", "<" + edge.flow_token};
    expect_round_trip({edge});
    out = round_trip_with(parts, {edge}, &shared);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(same(edge, out[0]));
    edge.flow_token.clear();
    out = round_trip_with(parts, {edge}, &shared);
    EXPECT_TRUE(same(edge, out[0]));
    // Pieces longer than kPathPartSizeMax are not shared.
    Binding long_piece = outbound_binding();
    long_piece.path = {"<sip:" + long_piece.flow_token + "@" + std::string(200, 'h') + ";lr>"};
    const size_t count_before = parts.count();
    out = round_trip_with(parts, {long_piece}, &shared);
    EXPECT_TRUE(same(long_piece, out[0]));
    EXPECT_EQ(parts.count(), count_before);  // The prefix was there; the suffix is too long.
    // A full PathParts: new pieces are refused and values written whole.
    for (uint32_t i = 0; parts.count() < kPathPartCountMax; ++i) {
        ASSERT_TRUE(parts.find_or_add("piece" + std::to_string(i)).has_value());
    }
    EXPECT_FALSE(parts.find_or_add("one more").has_value());
    EXPECT_TRUE(parts.find_or_add("<sip:").has_value());
    Binding fresh = outbound_binding();
    fresh.path = {"<sip:" + fresh.flow_token + "@new-edge.example.com;lr>"};
    out = round_trip_with(parts, {fresh}, &shared);
    EXPECT_TRUE(same(fresh, out[0]));
}

}  // namespace
}  // namespace fe::state::internal
