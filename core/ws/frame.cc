#include "core/ws/frame.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/base/assert.h"

namespace fe::ws {

namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength7Bits = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;

constexpr bool is_control(uint8_t opcode) {
    return (opcode & 0x08) != 0;
}

constexpr bool is_known_opcode(uint8_t opcode) {
    return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// RFC 6455 §7.4.1 and the IANA registry: codes a peer may send. 1004 is
// reserved, 1005/1006/1015 must never be sent, below 1000 and 1016-2999 are
// unassigned or reserved for future RFCs.
constexpr bool is_valid_received_close_code(uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

uint64_t read_be(const uint8_t* p, size_t size) {
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

}  // namespace

struct FrameDecoder::Header {
    bool fin = false;
    uint8_t opcode = 0;
    bool masked = false;
    uint64_t payload_size = 0;
    size_t size = 0;  // header bytes, mask key included
    MaskKey key{};
};

FrameDecoder::FrameDecoder(Role role, uint32_t message_size_max)
    : message_size_max_(message_size_max), role_(role) {}

// Every WebSocket connection holds one; idle flows are most of a worker's.
static_assert(sizeof(FrameDecoder) <= 32, "keep the per-connection decoder small");

DecodeResult FrameDecoder::fail(CloseCode code) {
    state_ = State::kFailed;
    failure_ = code;
    return {.kind = EventKind::kError, .close_code = static_cast<uint16_t>(code)};
}

DecodeResult FrameDecoder::decode(std::span<uint8_t> bytes, std::span<uint8_t> assembly) {
    FE_ASSERT(bytes.size() <= std::numeric_limits<uint32_t>::max());
    if (state_ == State::kFailed) {
        return {.kind = EventKind::kError, .close_code = static_cast<uint16_t>(failure_)};
    }
    if (state_ == State::kClosed) {
        // RFC 6455 §5.5.1: nothing after a close frame is data; drop it.
        return {.kind = EventKind::kNeedMore, .consumed = static_cast<uint32_t>(bytes.size())};
    }
    if (assembling_) {
        FE_ASSERT(assembly.data() == assembly_data_);
    }
    size_t consumed = 0;
    for (;;) {
        const std::span<uint8_t> rest = bytes.subspan(consumed);
        const DecodeResult need_more{.kind = EventKind::kNeedMore,
                                     .consumed = static_cast<uint32_t>(consumed)};
        if (rest.size() < 2) {
            return need_more;
        }
        // Everything that two bytes can tell is checked before waiting for
        // more, so a bad frame fails at once, not when its payload is in.
        Header h;
        h.fin = (rest[0] & kFinBit) != 0;
        h.opcode = rest[0] & kOpcodeBits;
        h.masked = (rest[1] & kMaskBit) != 0;
        const uint8_t length7 = rest[1] & kLength7Bits;
        if ((rest[0] & kRsvBits) != 0) {
            return fail(CloseCode::kProtocolError);  // no extension negotiated (§5.2)
        }
        if (!is_known_opcode(h.opcode)) {
            return fail(CloseCode::kProtocolError);  // reserved opcode (§5.2)
        }
        if (h.masked != (role_ == Role::kServer)) {
            return fail(CloseCode::kProtocolError);  // §5.1
        }
        const bool control = is_control(h.opcode);
        if (control && (!h.fin || length7 > kControlPayloadSizeMax)) {
            return fail(CloseCode::kProtocolError);  // §5.5
        }
        const bool continuation = h.opcode == static_cast<uint8_t>(Opcode::kContinuation);
        if (!control && continuation != assembling_) {
            // A continuation with no message open, or a new message while
            // one is open (§5.4).
            return fail(CloseCode::kProtocolError);
        }
        const size_t extended = length7 == kLength64 ? 8 : length7 == kLength16 ? 2 : 0;
        if (rest.size() < 2 + extended) {
            return need_more;
        }
        h.payload_size = extended == 0 ? length7 : read_be(rest.data() + 2, extended);
        if (extended == 8 && (h.payload_size >> 63) != 0) {
            return fail(CloseCode::kProtocolError);  // §5.2: the MSB must be 0
        }
        if (!control) {
            const bool fragmented = continuation || !h.fin;
            const uint64_t limit = fragmented
                                       ? std::min<uint64_t>(message_size_max_, assembly.size())
                                       : message_size_max_;
            if (assembled_size_ + h.payload_size > limit) {
                return fail(CloseCode::kMessageTooBig);
            }
        }
        h.size = 2 + extended + (h.masked ? 4 : 0);
        if (rest.size() < h.size || rest.size() - h.size < h.payload_size) {
            return need_more;
        }
        const std::span<uint8_t> payload =
            rest.subspan(h.size, static_cast<size_t>(h.payload_size));
        if (h.masked) {
            std::memcpy(h.key.data(), rest.data() + 2 + extended, h.key.size());
            mask_payload(payload, h.key);
        }
        consumed += h.size + payload.size();
        const DecodeResult r = on_frame(h, payload, assembly, static_cast<uint32_t>(consumed));
        if (r.kind != EventKind::kNeedMore) {
            return r;
        }
        // A non-final fragment went into the assembly buffer; go on.
    }
}

DecodeResult FrameDecoder::on_frame(const Header& h, std::span<uint8_t> payload,
                                    std::span<uint8_t> assembly, uint32_t consumed) {
    switch (static_cast<Opcode>(h.opcode)) {
        case Opcode::kPing:
            return {.kind = EventKind::kPing, .consumed = consumed, .payload = payload};
        case Opcode::kPong:
            return {.kind = EventKind::kPong, .consumed = consumed, .payload = payload};
        case Opcode::kClose:
            return on_close(payload, consumed);
        case Opcode::kContinuation:
        case Opcode::kText:
        case Opcode::kBinary:
            return on_data(h, payload, assembly, consumed);
    }
    FE_ASSERT(false);  // decode() let only known opcodes through
    return {};
}

DecodeResult FrameDecoder::on_data(const Header& h, std::span<uint8_t> payload,
                                   std::span<uint8_t> assembly, uint32_t consumed) {
    const auto opcode = static_cast<Opcode>(h.opcode);
    if (opcode != Opcode::kContinuation && h.fin) {
        // The common case: a whole message in one frame, delivered in place.
        const MessageType type =
            opcode == Opcode::kText ? MessageType::kText : MessageType::kBinary;
        if (type == MessageType::kText) {
            internal::Utf8State utf8;
            if (!internal::utf8_feed(utf8, payload) || !utf8.complete()) {
                return fail(CloseCode::kInvalidPayload);  // §8.1
            }
        }
        return {.kind = EventKind::kMessage,
                .message_type = type,
                .consumed = consumed,
                .payload = payload};
    }
    if (opcode != Opcode::kContinuation) {
        FE_ASSERT(!assembling_);
        assembling_ = true;
        open_type_ = opcode == Opcode::kText ? MessageType::kText : MessageType::kBinary;
        assembled_size_ = 0;
        assembly_data_ = assembly.data();
        utf8_ = {};
    }
    // Invalid UTF-8 fails at the fragment that shows it, not at the end.
    if (open_type_ == MessageType::kText && !internal::utf8_feed(utf8_, payload)) {
        return fail(CloseCode::kInvalidPayload);
    }
    FE_ASSERT(assembled_size_ + payload.size() <= assembly.size());  // checked by decode()
    if (!payload.empty()) {
        std::memcpy(assembly.data() + assembled_size_, payload.data(), payload.size());
    }
    assembled_size_ += static_cast<uint32_t>(payload.size());
    if (!h.fin) {
        return {.kind = EventKind::kNeedMore, .consumed = consumed};
    }
    if (open_type_ == MessageType::kText && !utf8_.complete()) {
        return fail(CloseCode::kInvalidPayload);  // a code point cut by the end
    }
    const DecodeResult r{.kind = EventKind::kMessage,
                         .message_type = open_type_,
                         .consumed = consumed,
                         .payload = std::span<const uint8_t>(assembly.data(), assembled_size_)};
    assembling_ = false;
    assembled_size_ = 0;
    assembly_data_ = nullptr;
    return r;
}

DecodeResult FrameDecoder::on_close(std::span<uint8_t> payload, uint32_t consumed) {
    if (payload.empty()) {
        state_ = State::kClosed;
        return {.kind = EventKind::kClose,
                .consumed = consumed,
                .close_code = static_cast<uint16_t>(CloseCode::kNoStatus)};
    }
    if (payload.size() == 1) {
        return fail(CloseCode::kProtocolError);  // §5.5.1: a code is 2 bytes
    }
    const auto code = static_cast<uint16_t>(read_be(payload.data(), 2));
    if (!is_valid_received_close_code(code)) {
        return fail(CloseCode::kProtocolError);
    }
    const std::span<uint8_t> reason = payload.subspan(2);
    internal::Utf8State utf8;
    if (!internal::utf8_feed(utf8, reason) || !utf8.complete()) {
        return fail(CloseCode::kInvalidPayload);
    }
    state_ = State::kClosed;
    return {.kind = EventKind::kClose, .consumed = consumed, .payload = reason, .close_code = code};
}

KeepAlive classify_keepalive(std::span<const uint8_t> message) {
    const std::string_view text = as_chars(message);
    if (text == "\r\n\r\n") {
        return KeepAlive::kPing;
    }
    if (text == "\r\n") {
        return KeepAlive::kPong;
    }
    return KeepAlive::kNone;
}

size_t write_frame_header(const FrameSpec& spec, std::span<uint8_t, kFrameHeaderSizeMax> out) {
    const auto opcode = static_cast<uint8_t>(spec.opcode);
    FE_ASSERT(is_known_opcode(opcode));
    FE_ASSERT((spec.payload_size >> 63) == 0);
    if (is_control(opcode)) {
        FE_ASSERT(spec.end == FrameEnd::kFinal);
        FE_ASSERT(spec.payload_size <= kControlPayloadSizeMax);
    }
    out[0] = static_cast<uint8_t>((spec.end == FrameEnd::kFinal ? kFinBit : 0) | opcode);
    const uint8_t mask_bit = spec.mask ? kMaskBit : 0;
    size_t size = 2;
    if (spec.payload_size <= kControlPayloadSizeMax) {
        out[1] = static_cast<uint8_t>(mask_bit | spec.payload_size);
    } else if (spec.payload_size <= 0xFFFF) {
        out[1] = static_cast<uint8_t>(mask_bit | kLength16);
        out[2] = static_cast<uint8_t>(spec.payload_size >> 8);
        out[3] = static_cast<uint8_t>(spec.payload_size);
        size = 4;
    } else {
        out[1] = static_cast<uint8_t>(mask_bit | kLength64);
        for (size_t i = 0; i < 8; ++i) {
            out[2 + i] = static_cast<uint8_t>(spec.payload_size >> (56 - 8 * i));
        }
        size = 10;
    }
    if (spec.mask) {
        std::memcpy(out.data() + size, spec.mask->data(), spec.mask->size());
        size += 4;
    }
    return size;
}

void mask_payload(std::span<uint8_t> payload, const MaskKey& key, uint64_t offset) {
    // The key rotated so that payload byte 0 meets key byte offset % 4, then
    // repeated to 8 bytes: the loop XORs a word at a time.
    uint8_t rotated[8];
    for (size_t i = 0; i < sizeof rotated; ++i) {
        rotated[i] = key[(offset + i) % 4];
    }
    uint64_t word_key;
    std::memcpy(&word_key, rotated, sizeof word_key);
    uint8_t* p = payload.data();
    size_t n = payload.size();
    while (n >= 8) {
        uint64_t word;
        std::memcpy(&word, p, sizeof word);
        word ^= word_key;
        std::memcpy(p, &word, sizeof word);
        p += 8;
        n -= 8;
    }
    for (size_t i = 0; i < n; ++i) {
        p[i] ^= rotated[i];
    }
}

size_t write_control_frame(Opcode opcode, std::span<const uint8_t> payload,
                           const std::optional<MaskKey>& mask,
                           std::span<uint8_t, kControlFrameSizeMax> out) {
    FE_ASSERT(is_control(static_cast<uint8_t>(opcode)));
    FE_ASSERT(payload.size() <= kControlPayloadSizeMax);
    const size_t header_size =
        write_frame_header({.opcode = opcode, .payload_size = payload.size(), .mask = mask},
                           out.first<kFrameHeaderSizeMax>());
    FE_ASSERT(header_size + payload.size() <= out.size());
    const std::span<uint8_t> body = out.subspan(header_size, payload.size());
    if (!payload.empty()) {
        std::memcpy(body.data(), payload.data(), payload.size());
    }
    if (mask) {
        mask_payload(body, *mask);
    }
    return header_size + payload.size();
}

size_t write_close_frame(uint16_t code, std::string_view reason, const std::optional<MaskKey>& mask,
                         std::span<uint8_t, kControlFrameSizeMax> out) {
    FE_ASSERT(reason.size() <= kCloseReasonSizeMax);
    if (code == static_cast<uint16_t>(CloseCode::kNoStatus)) {
        FE_ASSERT(reason.empty());
        return write_control_frame(Opcode::kClose, {}, mask, out);
    }
    uint8_t payload[kControlPayloadSizeMax];
    payload[0] = static_cast<uint8_t>(code >> 8);
    payload[1] = static_cast<uint8_t>(code);
    if (!reason.empty()) {
        std::memcpy(payload + 2, reason.data(), reason.size());
    }
    return write_control_frame(Opcode::kClose, std::span<const uint8_t>(payload, 2 + reason.size()),
                               mask, out);
}

}  // namespace fe::ws
