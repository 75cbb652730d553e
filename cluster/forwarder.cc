#include "cluster/forwarder.h"

#include "cluster/node_limits.h"
#include "core/base/assert.h"
#include "core/sip/response.h"

namespace fe::cluster {

Forwarder::Forwarder()
    : arena_(std::make_unique<sip::EditArena>()),
      scratch_(std::make_unique<char[]>(kDeliverySizeMax)) {}

std::span<const std::string_view> Forwarder::request(const sip::Message& request,
                                                     const ForwardPlan& plan) {
    FE_ASSERT(plan.edits != nullptr);
    FE_ASSERT(!plan.via.empty());
    const outbound::ForwardEdits& what = *plan.edits;
    arena_->reset();
    sip::EditList edits(request, *arena_);
    bool ok = true;
    auto check = [&ok](sip::EditError e) { ok = ok && e == sip::EditError::kOk; };
    if (!plan.via_received.drop.empty()) {
        check(edits.remove(plan.via_received.drop));
    }
    if (!plan.via_received.append.empty()) {
        check(edits.insert_after(*request.list(sip::HeaderId::kVia).begin(),
                                 plan.via_received.append));
    }
    check(edits.remove_first_values(sip::HeaderId::kRoute, what.route_values_removed));
    switch (what.max_forwards.verdict) {
        case outbound::MaxForwardsVerdict::kAbsent: {
            char text[16];
            sip::Writer w(text, sizeof(text));
            w.append_u32(what.max_forwards.next_value);
            check(edits.insert_header_at_end("Max-Forwards", w.view()));
            break;
        }
        case outbound::MaxForwardsVerdict::kForward:
            check(edits.replace_value(
                request.field(request.first_index(sip::HeaderId::kMaxForwards)),
                what.max_forwards.next_value));
            break;
        case outbound::MaxForwardsVerdict::kTooManyHops:
        case outbound::MaxForwardsVerdict::kMalformed:
            FE_BUG(true, "forwarding a request whose Max-Forwards was refused");
            return {};
    }
    check(edits.insert_header_before(sip::HeaderId::kVia, "Via", plan.via));
    // Inserts at one offset keep their order: the target's on top.
    if (!plan.record_route_target.empty()) {
        check(edits.insert_header_before(sip::HeaderId::kRecordRoute, "Record-Route",
                                         plan.record_route_target));
    }
    if (!plan.record_route_source.empty()) {
        check(edits.insert_header_before(sip::HeaderId::kRecordRoute, "Record-Route",
                                         plan.record_route_source));
    }
    if (!plan.path.empty()) {
        check(edits.insert_header_before(sip::HeaderId::kPath, "Path", plan.path));
    }
    if (what.require_path) {
        check(edits.insert_header_at_end("Require", "path"));
    }
    if (!ok) {
        return {};
    }
    return gather(edits);
}

std::span<const std::string_view> Forwarder::response(const sip::Message& response,
                                                      std::string_view flow_timer) {
    arena_->reset();
    sip::EditList edits(response, *arena_);
    if (edits.remove_first_value(sip::HeaderId::kVia) != sip::EditError::kOk) {
        return {};
    }
    if (!flow_timer.empty() &&
        edits.insert_header_at_end("Flow-Timer", flow_timer) != sip::EditError::kOk) {
        return {};
    }
    return gather(edits);
}

std::span<const std::string_view> Forwarder::gather(sip::EditList& edits) {
    sip::ConstBuffer ranges[sip::kEditRangeCountMax];
    const size_t n = edits.gather(ranges, std::size(ranges));
    if (n <= parts_.size()) {
        for (size_t i = 0; i < n; ++i) {
            parts_[i] = std::string_view(static_cast<const char*>(ranges[i].data), ranges[i].size);
        }
        return std::span<const std::string_view>(parts_.data(), n);
    }
    // More pieces than one send takes: copy once into the scratch buffer.
    const size_t size = edits.serialize_into(scratch_.get(), kDeliverySizeMax);
    if (size == 0) {
        return {};
    }
    parts_[0] = std::string_view(scratch_.get(), size);
    return std::span<const std::string_view>(parts_.data(), 1);
}

}  // namespace fe::cluster
