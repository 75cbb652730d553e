// Fuzzes the WebSocket frame decoder (core/ws/frame.h). The first input byte
// picks the role, the message size limit and the assembly buffer size; the
// rest is the bytes a connection receives. Checks: decoding all at once and
// in chunks of 1, 3 and 64 bytes gives the same events; consumed never
// exceeds the input; a message stays within the limit; a text message is
// valid UTF-8 by an independent check; every message and ping, re-encoded by
// the encoder from the other side, decodes to the same payload.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/base/assert.h"
#include "core/ws/frame.h"

namespace {

using fe::ws::DecodeResult;
using fe::ws::EventKind;
using fe::ws::FrameDecoder;
using fe::ws::Role;

struct Event {
    EventKind kind;
    fe::ws::MessageType type;
    std::string payload;
    uint16_t close_code;
    bool operator==(const Event&) const = default;
};

struct Setup {
    Role role;
    uint32_t message_size_max;
    size_t assembly_size;
};

// Decodes each code point in full: a second opinion on the decoder's
// streaming validator.
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<uint8_t>(s[i]);
        size_t n = 0;
        uint32_t cp = 0;
        if (b < 0x80) {
            ++i;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 3;
            cp = b & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) {
                return false;
            }
            const auto c = static_cast<uint8_t>(s[i + k]);
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3F);
        }
        const uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

std::vector<Event> decode_chunked(const Setup& setup, std::string_view wire, size_t chunk) {
    FrameDecoder decoder(setup.role, setup.message_size_max);
    // One buffer for every pass: each pass's decoder starts afresh.
    static std::vector<uint8_t> assembly_buffer(fe::ws::kMessageSizeMax);
    const std::span<uint8_t> assembly(assembly_buffer.data(), setup.assembly_size);
    std::vector<Event> events;
    std::vector<uint8_t> pending;
    for (size_t at = 0; at < wire.size();) {
        const size_t n = std::min(chunk, wire.size() - at);
        pending.insert(pending.end(), wire.begin() + static_cast<long>(at),
                       wire.begin() + static_cast<long>(at + n));
        at += n;
        std::span<uint8_t> rest(pending);
        for (;;) {
            const DecodeResult r = decoder.decode(rest, assembly);
            FE_ASSERT(r.consumed <= rest.size());
            if (r.kind != EventKind::kNeedMore) {
                events.push_back({r.kind, r.message_type, std::string(fe::ws::as_chars(r.payload)),
                                  r.close_code});
            }
            if (r.kind == EventKind::kMessage) {
                FE_ASSERT(r.payload.size() <= setup.message_size_max);
                FE_ASSERT(r.message_type == fe::ws::MessageType::kBinary ||
                          valid_utf8(fe::ws::as_chars(r.payload)));
            }
            if (r.kind == EventKind::kPing || r.kind == EventKind::kPong) {
                FE_ASSERT(r.payload.size() <= fe::ws::kControlPayloadSizeMax);
            }
            rest = rest.subspan(r.consumed);
            if (r.kind == EventKind::kError || r.kind == EventKind::kClose) {
                FE_ASSERT(r.close_code >= 1000);
                return events;
            }
            if (r.kind == EventKind::kNeedMore) {
                break;
            }
        }
        pending.erase(pending.begin(), pending.end() - static_cast<long>(rest.size()));
    }
    return events;
}

// The peer's encoder: one frame carrying `e`, decoded by a fresh decoder.
void check_reencoded(const Setup& setup, const Event& e) {
    const Role sender = setup.role == Role::kServer ? Role::kClient : Role::kServer;
    std::optional<fe::ws::MaskKey> mask;
    if (sender == Role::kClient) {
        mask = fe::ws::MaskKey{0xA5, 0x00, 0x5A, 0xFF};
    }
    std::vector<uint8_t> wire(fe::ws::kFrameHeaderSizeMax + e.payload.size());
    fe::ws::Opcode opcode = e.kind == EventKind::kPing             ? fe::ws::Opcode::kPong
                            : e.type == fe::ws::MessageType::kText ? fe::ws::Opcode::kText
                                                                   : fe::ws::Opcode::kBinary;
    size_t size = 0;
    if (e.kind == EventKind::kPing) {
        std::array<uint8_t, fe::ws::kControlFrameSizeMax> out{};
        size = fe::ws::write_control_frame(
            opcode, {reinterpret_cast<const uint8_t*>(e.payload.data()), e.payload.size()}, mask,
            out);
        std::memcpy(wire.data(), out.data(), size);
    } else {
        size = fe::ws::write_frame_header(
            {.opcode = opcode, .payload_size = e.payload.size(), .mask = mask},
            std::span<uint8_t, fe::ws::kFrameHeaderSizeMax>(wire.data(),
                                                            fe::ws::kFrameHeaderSizeMax));
        std::memcpy(wire.data() + size, e.payload.data(), e.payload.size());
        if (mask) {
            fe::ws::mask_payload({wire.data() + size, e.payload.size()}, *mask);
        }
        size += e.payload.size();
    }
    FrameDecoder decoder(setup.role, setup.message_size_max);
    const DecodeResult r = decoder.decode({wire.data(), size}, {});
    FE_ASSERT(r.consumed == size);
    FE_ASSERT(r.kind == (e.kind == EventKind::kPing ? EventKind::kPong : EventKind::kMessage));
    FE_ASSERT(fe::ws::as_chars(r.payload) == e.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const uint8_t selector = data[0];
    static const uint32_t kLimits[] = {fe::ws::kMessageSizeMax, 16, 200, 1000};
    const Setup setup{
        .role = (selector & 1) != 0 ? Role::kClient : Role::kServer,
        .message_size_max = kLimits[(selector >> 1) & 3],
        .assembly_size = (selector & 0x08) != 0 ? 64 : fe::ws::kMessageSizeMax,
    };
    const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);

    const std::vector<Event> whole = decode_chunked(setup, wire, wire.size() + 1);
    for (size_t chunk : {1, 3, 64}) {
        FE_ASSERT(decode_chunked(setup, wire, chunk) == whole);
    }
    for (const Event& e : whole) {
        if (e.kind == EventKind::kMessage || e.kind == EventKind::kPing) {
            check_reencoded(setup, e);
        }
    }
    return 0;
}
