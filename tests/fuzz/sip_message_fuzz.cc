// Fuzzes the SIP message layer on one input: stream framing (stateless and
// resumed byte by byte), datagram framing, Message::parse, list iteration over
// every list header, a forwarding edit and a response build. Checks that
// framed sizes stay inside the input and that edits reproduce the input when
// empty.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/base/assert.h"
#include "core/sip/edit.h"
#include "core/sip/framing.h"
#include "core/sip/message.h"
#include "core/sip/response.h"

namespace {

void exercise_message(const fe::sip::Message& m) {
    using fe::sip::HeaderId;
    size_t total = 0;
    for (size_t id = 1; id < fe::sip::kHeaderIdCount; ++id) {
        const auto hid = static_cast<HeaderId>(id);
        for (std::string_view v : m.list(hid)) {
            FE_ASSERT(v.data() >= m.data());
            FE_ASSERT(v.data() + v.size() <= m.data() + m.size());
            total += v.size();
        }
        for (const fe::sip::HeaderField& f : m.fields(hid)) {
            total += m.line(f).size();
        }
    }
    (void)total;

    fe::sip::EditArena arena;
    {
        fe::sip::EditList none(m, arena);
        static char out[fe::sip::kMessageSizeMax + fe::sip::kEditArenaSizeMax];
        const size_t size = none.serialize_into(out, sizeof(out));
        FE_ASSERT(size == m.size());
        FE_ASSERT(std::memcmp(out, m.data(), size) == 0);
    }
    fe::sip::EditList edits(m, arena);
    if (m.has(HeaderId::kRoute)) {
        (void)edits.remove_first_value(HeaderId::kRoute);
    }
    if (m.has(HeaderId::kMaxForwards)) {
        (void)edits.replace_value(m.field(m.first_index(HeaderId::kMaxForwards)), 69u);
    }
    (void)edits.insert_after(*m.list(HeaderId::kVia).begin(), ";received=192.0.2.1");
    (void)edits.insert_header_before(HeaderId::kVia, "Via", "SIP/2.0/UDP edge;branch=z9hG4bKf");
    static char out[fe::sip::kMessageSizeMax + fe::sip::kEditArenaSizeMax];
    const size_t size = edits.serialize_into(out, sizeof(out));
    FE_ASSERT(size == edits.output_size());

    if (m.is_request()) {
        static char response[fe::sip::kMessageSizeMax * 2];
        fe::sip::Writer w(response, sizeof(response));
        const std::string_view extra[] = {"Require: outbound"};
        (void)fe::sip::build_response(m, {.status_code = 200, .to_tag = "t", .extra_headers = extra}, w);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // Streams: walk the whole input as a connection would.
    std::string_view rest = bytes;
    while (!rest.empty()) {
        const fe::sip::FrameResult r = fe::sip::frame_stream(rest);
        if (r.kind == fe::sip::FrameKind::kIncomplete || r.kind == fe::sip::FrameKind::kError) {
            break;
        }
        FE_ASSERT(r.size > 0);
        FE_ASSERT(r.size <= rest.size());
        if (r.kind == fe::sip::FrameKind::kMessage) {
            fe::sip::Message m;
            if (m.parse(rest.substr(0, r.size)) == fe::sip::ParseError::kOk) {
                exercise_message(m);
            }
        }
        rest.remove_prefix(r.size);
    }
    // The resumable scan must agree with the stateless one at every length.
    if (size <= 512) {
        fe::sip::StreamScan scan;
        for (size_t n = 1; n <= size; ++n) {
            const fe::sip::FrameResult resumed = fe::sip::frame_stream(bytes.substr(0, n), scan);
            const fe::sip::FrameResult fresh = fe::sip::frame_stream(bytes.substr(0, n));
            FE_ASSERT(resumed.kind == fresh.kind);
            FE_ASSERT(resumed.size == fresh.size);
            if (resumed.kind != fe::sip::FrameKind::kIncomplete) {
                break;
            }
        }
    }

    const fe::sip::FrameResult d = fe::sip::frame_datagram(bytes);
    if (d.kind == fe::sip::FrameKind::kMessage) {
        FE_ASSERT(d.size <= size);
    }
    fe::sip::Message m;
    if (m.parse(bytes) == fe::sip::ParseError::kOk) {
        FE_ASSERT(m.size() <= size);
        exercise_message(m);
    }
    return 0;
}
