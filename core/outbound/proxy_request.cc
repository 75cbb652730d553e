// Branch request edits, branch ids, and the hop-by-hop CANCEL and ACK of a
// branch (RFC 3261 §16.6, §9.1, §17.1.1.3).
#include "core/outbound/proxy_request.h"

#include <openssl/siphash.h>

#include <cstring>
#include <optional>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/sip/limits.h"
#include "core/syntax/via.h"
#include "core/token/limits.h"
#include "core/txn/limits.h"
#include "core/txn/txn_table.h"

namespace fe::outbound {
namespace {

static_assert(kRouteLineSizeMax <= sip::kEditArenaSizeMax,
              "a Route line larger than the arena could never be inserted");

// SipHash of `text` under a key chained from the previous field's hash, so
// field boundaries matter ("ab"+"c" and "a"+"bc" hash differently).
uint64_t chain_hash(const BranchSecret& secret, uint64_t previous, std::string_view text) {
    const uint64_t key[2] = {secret.k0 ^ previous,
                             secret.k1 + 0x9e3779b97f4a7c15ULL * (previous | 1)};
    return SIPHASH_24(key, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

BranchBuildError from_edit_error(sip::EditError error) {
    switch (error) {
        case sip::EditError::kOk:
            return BranchBuildError::kOk;
        case sip::EditError::kTooManyEdits:
            return BranchBuildError::kTooManyEdits;
        case sip::EditError::kArenaFull:
            return BranchBuildError::kArenaFull;
        case sip::EditError::kNoSuchHeader:
            break;
    }
    FE_ASSERT(false && "branch edits only touch headers they checked");
    return BranchBuildError::kTooManyEdits;
}

// Bytes of our Via value: "SIP/2.0/" + transport (<= 3) + " " + sent-by +
// ";branch=" + id.
constexpr size_t kViaValueSizeMax =
    8 + 3 + 1 + txn::kSentBySizeMax + 8 + kOurBranchSizeMax + 4 + token::kTokenTextSizeMax;

// Writes a request for the next hop only (CANCEL or ACK) built from the
// branch's request, with `to` as the To value.
BranchMessageError write_hop_request(const sip::Message& branch_request, std::string_view method,
                                     std::string_view to, sip::Writer& out) {
    if (!branch_request.is_request()) {
        return BranchMessageError::kNotARequest;
    }
    const sip::ListRange vias = branch_request.list(sip::HeaderId::kVia);
    FE_ASSERT(!vias.empty());  // The parser refuses a request without Via.
    out.append(method);
    out.append(" ");
    out.append(branch_request.request_uri());
    out.append(" SIP/2.0\r\nVia: ");
    out.append(*vias.begin());
    out.append("\r\n");
    for (const sip::HeaderField& route : branch_request.fields(sip::HeaderId::kRoute)) {
        out.append("Route: ");
        out.append(branch_request.value(route));
        out.append("\r\n");
    }
    out.append("Max-Forwards: 70\r\nFrom: ");
    out.append(branch_request.header(sip::HeaderId::kFrom));
    out.append("\r\nTo: ");
    out.append(to);
    out.append("\r\nCall-ID: ");
    out.append(branch_request.header(sip::HeaderId::kCallId));
    out.append("\r\nCSeq: ");
    out.append_u32(branch_request.cseq_number());
    out.append(" ");
    out.append(method);
    out.append("\r\nContent-Length: 0\r\n\r\n");
    return out.overflowed() ? BranchMessageError::kNoSpace : BranchMessageError::kOk;
}

}  // namespace

std::string_view branch_build_error_name(BranchBuildError error) {
    switch (error) {
        case BranchBuildError::kOk:
            return "kOk";
        case BranchBuildError::kNotARequest:
            return "kNotARequest";
        case BranchBuildError::kEmptyContact:
            return "kEmptyContact";
        case BranchBuildError::kMaxForwardsExhausted:
            return "kMaxForwardsExhausted";
        case BranchBuildError::kBadMaxForwards:
            return "kBadMaxForwards";
        case BranchBuildError::kEmptySentBy:
            return "kEmptySentBy";
        case BranchBuildError::kBadBranchId:
            return "kBadBranchId";
        case BranchBuildError::kRouteTooLarge:
            return "kRouteTooLarge";
        case BranchBuildError::kTooManyEdits:
            return "kTooManyEdits";
        case BranchBuildError::kArenaFull:
            return "kArenaFull";
    }
    return "?";
}

uint64_t branch_hash(const sip::Message& request, const BranchSecret& secret) {
    const sip::ListRange vias = request.list(sip::HeaderId::kVia);
    const std::string_view top_via = vias.empty() ? std::string_view() : *vias.begin();
    uint64_t h = chain_hash(secret, 0, top_via);
    h = chain_hash(secret, h, request.header(sip::HeaderId::kCallId));
    return chain_hash(secret, h, request.header(sip::HeaderId::kCSeq));
}

bool server_key_of(const sip::Message& request, txn::ServerKey& key) {
    const sip::ListRange vias = request.list(sip::HeaderId::kVia);
    if (vias.empty()) {
        return false;
    }
    syntax::Via via;
    if (syntax::parse_via(*vias.begin(), via) != syntax::Error::kOk) {
        return false;
    }
    return server_key_of(request, via, key);
}

bool server_key_of(const sip::Message& request, const syntax::Via& top, txn::ServerKey& key) {
    if (top.host.empty()) {
        return false;
    }
    key = txn::ServerKey{top.branch, top.sent_by, request.method_text()};
    return true;
}

ToTag response_to_tag(const sip::Message& request, const BranchSecret& secret) {
    static constexpr char kHex[] = "0123456789abcdef";
    ToTag tag;
    tag.bytes[0] = 'f';
    tag.bytes[1] = 'e';
    const uint64_t h = branch_hash(request, secret);
    for (size_t i = 0; i < 16; ++i) {
        tag.bytes[2 + i] = kHex[(h >> (60 - 4 * i)) & 0xf];
    }
    return tag;
}

BranchBuildError add_branch_edits(const sip::Message& request, const BranchRequestSpec& spec,
                                  sip::EditList& edits) {
    if (!request.is_request()) {
        return BranchBuildError::kNotARequest;
    }
    if (spec.contact_uri.empty()) {
        return BranchBuildError::kEmptyContact;
    }
    if (spec.via_sent_by.empty()) {
        return BranchBuildError::kEmptySentBy;
    }
    FE_ASSERT(spec.via_sent_by.size() <= txn::kSentBySizeMax);  // Our own config.
    if (!spec.branch_id.starts_with(txn::kBranchMagicCookie) ||
        spec.branch_id.size() > kOurBranchSizeMax) {
        return BranchBuildError::kBadBranchId;
    }
    // §16.6 step 3; §16.3 step 3 should have answered 483 / 400 already.
    const uint8_t mf_index = request.first_index(sip::HeaderId::kMaxForwards);
    std::optional<uint32_t> max_forwards;
    if (mf_index != sip::Message::kNoIndex) {
        max_forwards = parse_u32(request.value(request.field(mf_index)));
        if (!max_forwards) {
            return BranchBuildError::kBadMaxForwards;
        }
        if (*max_forwards == 0) {
            return BranchBuildError::kMaxForwardsExhausted;
        }
    }

    // OB-AUTH-04, RFC 3327 §5.4: the Path vector, in order, ahead of any Route.
    if (!spec.path.empty()) {
        char line[kRouteLineSizeMax];
        sip::Writer w(line, sizeof(line));
        w.append("Route: ");
        for (size_t i = 0; i < spec.path.size(); ++i) {
            if (i != 0) {
                w.append(", ");
            }
            w.append(spec.path[i]);
        }
        w.append("\r\n");
        if (w.overflowed()) {
            return BranchBuildError::kRouteTooLarge;
        }
        const uint8_t route_index = request.first_index(sip::HeaderId::kRoute);
        const uint32_t offset = route_index == sip::Message::kNoIndex
                                    ? request.headers_end()
                                    : request.field(route_index).line_begin;
        if (const BranchBuildError e = from_edit_error(edits.insert(offset, w.view()));
            e != BranchBuildError::kOk) {
            return e;
        }
    }
    // OB-AUTH-04, §16.6 step 2.
    if (const BranchBuildError e =
            from_edit_error(edits.replace(request.request_uri(), spec.contact_uri));
        e != BranchBuildError::kOk) {
        return e;
    }
    if (max_forwards) {
        if (const BranchBuildError e =
                from_edit_error(edits.replace_value(request.field(mf_index), *max_forwards - 1));
            e != BranchBuildError::kOk) {
            return e;
        }
    } else {
        char digits[10];
        sip::Writer w(digits, sizeof(digits));
        w.append_u32(kMaxForwardsDefault);
        if (const BranchBuildError e =
                from_edit_error(edits.insert_header_at_end("Max-Forwards", w.view()));
            e != BranchBuildError::kOk) {
            return e;
        }
    }
    // §16.6 step 8.
    char via[kViaValueSizeMax];
    sip::Writer w(via, sizeof(via));
    w.append("SIP/2.0/");
    w.append(transport_via_name(spec.via_transport));
    w.append(" ");
    w.append(spec.via_sent_by);
    w.append(";branch=");
    w.append(spec.branch_id);
    if (!spec.via_flow_token.empty()) {
        w.append(";fl=");
        w.append(spec.via_flow_token);
    }
    FE_ASSERT(!w.overflowed());
    if (!spec.top_via.drop.empty()) {
        if (const BranchBuildError e = from_edit_error(edits.remove(spec.top_via.drop));
            e != BranchBuildError::kOk) {
            return e;
        }
    }
    if (!spec.top_via.append.empty()) {
        const sip::ListRange vias = request.list(sip::HeaderId::kVia);
        FE_ASSERT(!vias.empty());  // A parsed request has one.
        if (const BranchBuildError e =
                from_edit_error(edits.insert_after(*vias.begin(), spec.top_via.append));
            e != BranchBuildError::kOk) {
            return e;
        }
    }
    return from_edit_error(edits.insert_header_before(sip::HeaderId::kVia, "Via", w.view()));
}

BranchMessageError build_cancel(const sip::Message& branch_request, sip::Writer& out) {
    return write_hop_request(branch_request, "CANCEL", branch_request.header(sip::HeaderId::kTo),
                             out);
}

BranchMessageError build_ack(const sip::Message& branch_request, const sip::Message& response,
                             sip::Writer& out) {
    if (response.is_request()) {
        return BranchMessageError::kNotAResponse;
    }
    return write_hop_request(branch_request, "ACK", response.header(sip::HeaderId::kTo), out);
}

}  // namespace fe::outbound
