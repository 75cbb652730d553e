// Checks what the home proxy sends on a branch (core/outbound/proxy_request.h)
// by exact bytes: the forwarded request (Request-URI from the Contact, Route
// from the Path vector ahead of existing Routes, Max-Forwards decremented or
// added, our Via on top: OB-AUTH-04, RFC 3261 §16.6, RFC 3327 §5.4), the
// branch id's form, stability and uniqueness (§16.6 step 8), the CANCEL
// (§9.1) and ACK (§17.1.1.3) of a branch, and each named error.
#include "core/outbound/proxy_request.h"

#include <gtest/gtest.h>

#include <string>

#include "core/sip/edit.h"
#include "tests/unit/core/sip/guarded_buffer.h"

namespace fe::outbound {
namespace {

using sip::testing::GuardedBuffer;

// RFC 5626 §9.3 msg 21, Alice's INVITE reaching Bob's home proxy.
const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.a.example:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 69\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
    "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@client.a.example;transport=tcp>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

constexpr std::string_view kEp1Path =
    "<sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>";
constexpr std::string_view kBranch = "z9hG4bK0123456789abcdef.0";

struct Parsed {
    explicit Parsed(std::string_view bytes) : buffer(bytes) {
        EXPECT_EQ(message.parse(buffer.view()), sip::ParseError::kOk);
    }
    GuardedBuffer buffer;
    sip::Message message;
};

BranchRequestSpec ep1_spec(const std::string_view* path, size_t path_count) {
    return BranchRequestSpec{.contact_uri = "sip:bob@192.0.2.2;transport=tcp",
                             .path = std::span<const std::string_view>(path, path_count),
                             .via_transport = Transport::kTcp,
                             .via_sent_by = "proxy.example.com",
                             .branch_id = kBranch};
}

std::string serialize(sip::EditList& edits) {
    std::string out(edits.output_size(), '\0');
    EXPECT_EQ(edits.serialize_into(out.data(), out.size()), out.size());
    return out;
}

TEST(BranchRequest, RequestUriRouteViaAndMaxForwardsExactBytes) {
    // covers OB-AUTH-04 (RFC 5626 §9.3 msg 22)
    Parsed in(kInvite);
    sip::EditArena arena;
    sip::EditList edits(in.message, arena);
    const std::string_view path[] = {kEp1Path};
    ASSERT_EQ(add_branch_edits(in.message, ep1_spec(path, 1), edits), BranchBuildError::kOk);
    EXPECT_EQ(serialize(edits),
              "INVITE sip:bob@192.0.2.2;transport=tcp SIP/2.0\r\n"
              "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0123456789abcdef.0\r\n"
              "Via: SIP/2.0/TCP client.a.example:5060;branch=z9hG4bK74bf9\r\n"
              "Max-Forwards: 68\r\n"
              "To: Bob <sip:bob@example.com>\r\n"
              "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
              "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
              "CSeq: 314159 INVITE\r\n"
              "Contact: <sip:alice@client.a.example;transport=tcp>\r\n"
              "Content-Length: 0\r\n"
              "Route: <sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>\r\n"
              "\r\n");
}

TEST(BranchRequest, PathGoesBeforeExistingRoutesAndMaxForwardsIsAdded) {
    // RFC 3327 §5.4: the Path vector in order, ahead of the request's Route
    // set; the owner removed its own Route value in the same edit list.
    Parsed in(
        "OPTIONS sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx\r\n"
        "Route: <sip:proxy.example.com;lr>, <sip:later.example.com;lr>\r\n"
        "To: <sip:bob@example.com>\r\n"
        "From: <sip:carol@example.com>;tag=1\r\n"
        "Call-ID: opt1\r\n"
        "CSeq: 2 OPTIONS\r\n"
        "\r\n");
    sip::EditArena arena;
    sip::EditList edits(in.message, arena);
    ASSERT_EQ(edits.remove_first_value(sip::HeaderId::kRoute), sip::EditError::kOk);
    const std::string_view path[] = {"<sip:T1@edge2.example.com;lr>", kEp1Path};
    BranchRequestSpec spec = ep1_spec(path, 2);
    spec.via_transport = Transport::kUdp;
    spec.via_sent_by = "192.0.2.1:5070";
    ASSERT_EQ(add_branch_edits(in.message, spec, edits), BranchBuildError::kOk);
    EXPECT_EQ(serialize(edits),
              "OPTIONS sip:bob@192.0.2.2;transport=tcp SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK0123456789abcdef.0\r\n"
              "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx\r\n"
              "Route: <sip:T1@edge2.example.com;lr>, "
              "<sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>\r\n"
              "Route: <sip:later.example.com;lr>\r\n"
              "To: <sip:bob@example.com>\r\n"
              "From: <sip:carol@example.com>;tag=1\r\n"
              "Call-ID: opt1\r\n"
              "CSeq: 2 OPTIONS\r\n"
              "Max-Forwards: 70\r\n"
              "\r\n");
}

TEST(BranchRequest, EmptyPathAddsNoRoute) {
    Parsed in(kInvite);
    sip::EditArena arena;
    sip::EditList edits(in.message, arena);
    ASSERT_EQ(add_branch_edits(in.message, ep1_spec(nullptr, 0), edits), BranchBuildError::kOk);
    EXPECT_EQ(serialize(edits).find("Route:"), std::string::npos);
}

TEST(BranchRequest, MaxForwardsZeroOrGarbageIsRefused) {
    std::string zero = kInvite;
    zero.replace(zero.find("69"), 2, "0");
    Parsed in_zero(zero);
    sip::EditArena arena;
    sip::EditList edits_zero(in_zero.message, arena);
    EXPECT_EQ(add_branch_edits(in_zero.message, ep1_spec(nullptr, 0), edits_zero),
              BranchBuildError::kMaxForwardsExhausted);

    std::string garbage = kInvite;
    garbage.replace(garbage.find("69"), 2, "x9");
    Parsed in_garbage(garbage);
    sip::EditList edits_garbage(in_garbage.message, arena);
    EXPECT_EQ(add_branch_edits(in_garbage.message, ep1_spec(nullptr, 0), edits_garbage),
              BranchBuildError::kBadMaxForwards);
}

TEST(BranchRequest, SpecErrorsAreNamed) {
    Parsed in(kInvite);
    sip::EditArena arena;
    sip::EditList edits(in.message, arena);
    BranchRequestSpec spec = ep1_spec(nullptr, 0);
    spec.contact_uri = {};
    EXPECT_EQ(add_branch_edits(in.message, spec, edits), BranchBuildError::kEmptyContact);
    spec = ep1_spec(nullptr, 0);
    spec.via_sent_by = {};
    EXPECT_EQ(add_branch_edits(in.message, spec, edits), BranchBuildError::kEmptySentBy);
    spec = ep1_spec(nullptr, 0);
    spec.branch_id = "abc.0";
    EXPECT_EQ(add_branch_edits(in.message, spec, edits), BranchBuildError::kBadBranchId);
    const std::string huge = "<sip:" + std::string(kRouteLineSizeMax, 'a') + "@edge;lr>";
    const std::string_view path[] = {huge};
    EXPECT_EQ(add_branch_edits(in.message, ep1_spec(path, 1), edits),
              BranchBuildError::kRouteTooLarge);
    EXPECT_EQ(edits.edit_count(), 0u);  // Refused before any edit.
    EXPECT_EQ(branch_build_error_name(BranchBuildError::kRouteTooLarge), "kRouteTooLarge");

    Parsed response(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n"
        "From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n");
    sip::EditList response_edits(response.message, arena);
    EXPECT_EQ(add_branch_edits(response.message, ep1_spec(nullptr, 0), response_edits),
              BranchBuildError::kNotARequest);
}

TEST(BranchRequest, ArenaExhaustionIsAnError) {
    Parsed in(kInvite);
    sip::EditArena arena;
    ASSERT_NE(arena.allocate(sip::kEditArenaSizeMax - 20), nullptr);
    sip::EditList edits(in.message, arena);
    const std::string_view path[] = {kEp1Path};
    EXPECT_EQ(add_branch_edits(in.message, ep1_spec(path, 1), edits), BranchBuildError::kArenaFull);
}

// --- Branch ids (RFC 3261 §16.6 step 8) --------------------------------------

TEST(BranchId, FormStabilityAndUniqueness) {
    const BranchSecret secret{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    Parsed a(kInvite);
    Parsed retransmission(kInvite);  // The same bytes in another buffer.
    std::string other_call = kInvite;
    other_call.replace(other_call.find("klmv"), 4, "KLMV");
    Parsed b(other_call);

    const uint64_t hash = branch_hash(a.message, secret);
    EXPECT_EQ(hash, branch_hash(retransmission.message, secret));
    EXPECT_NE(hash, branch_hash(b.message, secret));
    EXPECT_NE(hash, branch_hash(a.message, BranchSecret{secret.k0 + 1, secret.k1}));

}

// --- CANCEL and ACK of a branch ----------------------------------------------

// The request as sent on the branch (RFC 5626 §9.3 msg 22).
const std::string kBranchInvite =
    "INVITE sip:bob@192.0.2.2;transport=tcp SIP/2.0\r\n"
    "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0123456789abcdef.0\r\n"
    "Via: SIP/2.0/TCP client.a.example:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 68\r\n"
    "Route: <sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>\r\n"
    "Route: <sip:later.example.com;lr>\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
    "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

TEST(BranchCancel, ExactBytes) {
    // RFC 3261 §9.1: same Request-URI, Call-ID, To, From, CSeq number; one Via
    // equal to the request's top Via; the Route set; no body.
    Parsed branch(kBranchInvite);
    char buf[1024];
    sip::Writer out(buf, sizeof(buf));
    ASSERT_EQ(build_cancel(branch.message, out), BranchMessageError::kOk);
    EXPECT_EQ(out.view(),
              "CANCEL sip:bob@192.0.2.2;transport=tcp SIP/2.0\r\n"
              "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0123456789abcdef.0\r\n"
              "Route: <sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>\r\n"
              "Route: <sip:later.example.com;lr>\r\n"
              "Max-Forwards: 70\r\n"
              "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
              "To: Bob <sip:bob@example.com>\r\n"
              "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
              "CSeq: 314159 CANCEL\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    sip::Message reparsed;
    EXPECT_EQ(reparsed.parse(out.view()), sip::ParseError::kOk);
}

TEST(BranchAck, TakesToFromTheResponse) {
    // RFC 3261 §17.1.1.3: To (with the UAS tag) from the response.
    Parsed branch(kBranchInvite);
    Parsed response(
        "SIP/2.0 486 Busy Here\r\n"
        "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0123456789abcdef.0\r\n"
        "Via: SIP/2.0/TCP client.a.example:5060;branch=z9hG4bK74bf9\r\n"
        "To: Bob <sip:bob@example.com>;tag=skduk2\r\n"
        "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
        "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
    char buf[1024];
    sip::Writer out(buf, sizeof(buf));
    ASSERT_EQ(build_ack(branch.message, response.message, out), BranchMessageError::kOk);
    EXPECT_EQ(out.view(),
              "ACK sip:bob@192.0.2.2;transport=tcp SIP/2.0\r\n"
              "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK0123456789abcdef.0\r\n"
              "Route: <sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>\r\n"
              "Route: <sip:later.example.com;lr>\r\n"
              "Max-Forwards: 70\r\n"
              "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
              "To: Bob <sip:bob@example.com>;tag=skduk2\r\n"
              "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
              "CSeq: 314159 ACK\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    // Arguments swapped: named errors, not garbage.
    sip::Writer out2(buf, sizeof(buf));
    EXPECT_EQ(build_ack(branch.message, branch.message, out2), BranchMessageError::kNotAResponse);
    EXPECT_EQ(build_ack(response.message, response.message, out2),
              BranchMessageError::kNotARequest);
}

TEST(BranchCancel, SmallBufferIsNoSpace) {
    Parsed branch(kBranchInvite);
    char buf[64];
    sip::Writer out(buf, sizeof(buf));
    EXPECT_EQ(build_cancel(branch.message, out), BranchMessageError::kNoSpace);
}

TEST(BranchRequest, CancelOfABuiltBranchMatchesItsVia) {
    // End to end: build the branch request, parse what would be sent, CANCEL it.
    Parsed in(kInvite);
    sip::EditArena arena;
    sip::EditList edits(in.message, arena);
    const BranchSecret secret{1, 2};
    const BranchId id = write_branch_id({.kind = BranchKind::kProxy,
                                         .branch_index = 3,
                                         .hash = branch_hash(in.message, secret)});
    BranchRequestSpec spec = ep1_spec(nullptr, 0);
    spec.branch_id = id.view();
    ASSERT_EQ(add_branch_edits(in.message, spec, edits), BranchBuildError::kOk);
    const std::string sent = serialize(edits);
    Parsed branch(sent);
    char buf[1024];
    sip::Writer out(buf, sizeof(buf));
    ASSERT_EQ(build_cancel(branch.message, out), BranchMessageError::kOk);
    const std::string via_line =
        "\r\nVia: SIP/2.0/TCP proxy.example.com;branch=" + std::string(id.view()) +
        "\r\nMax-Forwards: 70\r\n";
    EXPECT_NE(std::string(out.view()).find(via_line), std::string::npos) << out.view();
}

}  // namespace
}  // namespace fe::outbound
