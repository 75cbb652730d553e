// Checks forwarding edits by the exact bytes they produce: header inserts
// before Via / at the end, top Route removal (whole line or one value),
// value replacement, Via received/rport appends, gather ranges vs the
// contiguous copy, ordering of same-offset inserts, and the capacity errors.
#include "core/sip/edit.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/core/sip/guarded_buffer.h"

namespace fe::sip {
namespace {

using testing::GuardedBuffer;

const std::string kInvite = "INVITE sip:bob@example.com SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK2\r\n"
                            "Max-Forwards: 70\r\n"
                            "Route: <sip:edge.example.com;lr>, <sip:core.example.com;lr>\r\n"
                            "Route: <sip:last.example.com;lr>\r\n"
                            "To: <sip:bob@example.com>\r\n"
                            "From: <sip:alice@example.com>;tag=1\r\n"
                            "Call-ID: c2\r\n"
                            "CSeq: 7 INVITE\r\n"
                            "Content-Length: 4\r\n\r\nbody";

std::string output(EditList& edits) {
    std::string out(edits.output_size(), '\0');
    const size_t size = edits.serialize_into(out.data(), out.size());
    EXPECT_EQ(size, out.size());
    // The gathered ranges spell the same bytes.
    ConstBuffer ranges[kEditRangeCountMax];
    const size_t count = edits.gather(ranges, kEditRangeCountMax);
    std::string joined;
    for (size_t i = 0; i < count; ++i) {
        EXPECT_NE(ranges[i].size, 0u);
        joined.append(static_cast<const char*>(ranges[i].data), ranges[i].size);
    }
    EXPECT_EQ(joined, out);
    return out;
}

class EditTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(message_.parse(buf_.view()), ParseError::kOk); }
    GuardedBuffer buf_{kInvite};
    Message message_;
    EditArena arena_;
};

TEST_F(EditTest, NoEditsIsTheMessageInOneRange) {
    EditList edits(message_, arena_);
    ConstBuffer ranges[1];
    ASSERT_EQ(edits.gather(ranges, 1), 1u);
    EXPECT_EQ(ranges[0].data, message_.data());
    EXPECT_EQ(output(edits), kInvite);
}

TEST_F(EditTest, ProxyForwardingEdits) {
    // RFC 3261 §16.6: remove our Route value, decrement Max-Forwards, add our
    // Via on top; RFC 3581: received/rport on the received top Via.
    EditList edits(message_, arena_);
    ASSERT_EQ(edits.remove_first_value(HeaderId::kRoute), EditError::kOk);
    ASSERT_EQ(edits.replace_value(message_.field(message_.first_index(HeaderId::kMaxForwards)), 69u),
              EditError::kOk);
    ASSERT_EQ(edits.insert_header_before(HeaderId::kVia, "Via", "SIP/2.0/TCP edge;branch=z9hG4bKe"),
              EditError::kOk);
    ASSERT_EQ(edits.insert_after(*message_.list(HeaderId::kVia).begin(), ";received=198.51.100.7"),
              EditError::kOk);
    EXPECT_EQ(edits.edit_count(), 4u);
    EXPECT_EQ(output(edits),
              "INVITE sip:bob@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/TCP edge;branch=z9hG4bKe\r\n"
              "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK2;received=198.51.100.7\r\n"
              "Max-Forwards: 69\r\n"
              "Route: <sip:core.example.com;lr>\r\n"
              "Route: <sip:last.example.com;lr>\r\n"
              "To: <sip:bob@example.com>\r\n"
              "From: <sip:alice@example.com>;tag=1\r\n"
              "Call-ID: c2\r\n"
              "CSeq: 7 INVITE\r\n"
              "Content-Length: 4\r\n\r\nbody");
}

TEST_F(EditTest, RemovingTheOnlyValueRemovesTheLine) {
    GuardedBuffer buf("OPTIONS sip:x SIP/2.0\r\nRoute: <sip:a;lr>\r\nRoute: <sip:b;lr>, <sip:c;lr>\r\n"
                      "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\n"
                      "CSeq: 1 OPTIONS\r\n\r\n");
    Message m;
    ASSERT_EQ(m.parse(buf.view()), ParseError::kOk);
    EditList edits(m, arena_);
    ASSERT_EQ(edits.remove_first_value(HeaderId::kRoute), EditError::kOk);
    EXPECT_EQ(output(edits),
              "OPTIONS sip:x SIP/2.0\r\nRoute: <sip:b;lr>, <sip:c;lr>\r\n"
              "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\n"
              "CSeq: 1 OPTIONS\r\n\r\n");
    EXPECT_EQ(edits.remove_first_value(HeaderId::kPath), EditError::kNoSuchHeader);
}

// Our own Route values at the top of a route set, across lines and commas
// (the caller's and the callee's token Record-Route when both sit behind us).
TEST_F(EditTest, RemovingSeveralFirstValuesAcrossLines) {
    GuardedBuffer buf("BYE sip:x SIP/2.0\r\nRoute: <sip:a;lr>\r\nRoute: <sip:b;lr>, <sip:c;lr>, "
                      "<sip:d;lr>\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>;tag=1\r\n"
                      "To: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n");
    Message m;
    ASSERT_EQ(m.parse(buf.view()), ParseError::kOk);
    for (uint32_t count = 0; count <= 4; ++count) {
        EditArena arena;
        EditList edits(m, arena);
        ASSERT_EQ(edits.remove_first_values(HeaderId::kRoute, count), EditError::kOk) << count;
        const std::string out = output(edits);
        const std::string_view expected_routes[] = {
            "Route: <sip:a;lr>\r\nRoute: <sip:b;lr>, <sip:c;lr>, <sip:d;lr>\r\n",
            "Route: <sip:b;lr>, <sip:c;lr>, <sip:d;lr>\r\n",
            "Route: <sip:c;lr>, <sip:d;lr>\r\n",
            "Route: <sip:d;lr>\r\n",
            "",
        };
        EXPECT_EQ(out, "BYE sip:x SIP/2.0\r\n" + std::string(expected_routes[count]) +
                           "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n"
                           "Call-ID: c\r\nCSeq: 2 BYE\r\n\r\n")
            << count;
    }
    EditArena arena;
    EditList edits(m, arena);
    EXPECT_EQ(edits.remove_first_values(HeaderId::kRoute, 5), EditError::kNoSuchHeader);
}

TEST_F(EditTest, PathInsertedAtEndWhenAbsentAndRequestUriRewritten) {
    EditList edits(message_, arena_);
    // The Path an edge adds (RFC 3327 §5; the ;ob flag is RFC 5626 §5.1)
    ASSERT_EQ(edits.insert_header_before(HeaderId::kPath, "Path", "<sip:TOKEN@edge;lr;ob>"),
              EditError::kOk);
    ASSERT_EQ(edits.replace(message_.request_uri(), "sip:bob@192.0.2.9:5060"), EditError::kOk);
    ASSERT_EQ(edits.insert_header_at_end("Record-Route", "<sip:edge;lr>"), EditError::kOk);
    const std::string out = output(edits);
    EXPECT_EQ(out.substr(0, out.find("\r\n")), "INVITE sip:bob@192.0.2.9:5060 SIP/2.0");
    // Same-offset inserts keep their order.
    EXPECT_NE(out.find("Content-Length: 4\r\nPath: <sip:TOKEN@edge;lr;ob>\r\n"
                       "Record-Route: <sip:edge;lr>\r\n\r\nbody"),
              std::string::npos);
}

TEST_F(EditTest, InsertBeforeARemovedLineIsAllowed) {
    // Replace the first Route line by a new one: insert at its start, remove it.
    EditList edits(message_, arena_);
    const HeaderField& route = message_.field(message_.first_index(HeaderId::kRoute));
    ASSERT_EQ(edits.remove_field(route), EditError::kOk);
    ASSERT_EQ(edits.insert_header_before(HeaderId::kRoute, "Route", "<sip:new;lr>"), EditError::kOk);
    const std::string out = output(edits);
    EXPECT_NE(out.find("Max-Forwards: 70\r\nRoute: <sip:new;lr>\r\nRoute: <sip:last.example.com;lr>\r\n"),
              std::string::npos);
}

TEST_F(EditTest, CapacityErrors) {
    EditList edits(message_, arena_);
    const std::string big(kEditArenaSizeMax + 1, 'x');
    EXPECT_EQ(edits.insert(0, big), EditError::kArenaFull);
    EXPECT_EQ(edits.insert_header_at_end("X", big), EditError::kArenaFull);
    for (uint32_t i = 0; i < kEditCountMax; ++i) {
        ASSERT_EQ(edits.insert(0, "a"), EditError::kOk);
    }
    EXPECT_EQ(edits.insert(0, "a"), EditError::kTooManyEdits);
    EXPECT_EQ(edits.insert_header_at_end("X", "y"), EditError::kTooManyEdits);
    char small[8];
    EXPECT_EQ(edits.serialize_into(small, sizeof(small)), 0u);
    EXPECT_EQ(output(edits), std::string(kEditCountMax, 'a') + kInvite);
    arena_.reset();
    EXPECT_EQ(arena_.used_size(), 0u);
}

TEST_F(EditTest, OverlappingEditsAssert) {
    EditList edits(message_, arena_);
    ASSERT_EQ(edits.remove(10, 20), EditError::kOk);
    ASSERT_EQ(edits.replace(15, 25, "x"), EditError::kOk);
    char out[4096];
    EXPECT_DEATH((void)edits.serialize_into(out, sizeof(out)), "end <= edits_");
}

}  // namespace
}  // namespace fe::sip
