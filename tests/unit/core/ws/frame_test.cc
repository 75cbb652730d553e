// Checks the WebSocket frame codec (core/ws/frame.h) against RFC 6455 §5:
// the §5.7 example frames byte for byte, masking rules for each role,
// fragmentation with control frames in between, every framing error with the
// close code to send (1002, 1007, 1009), UTF-8 validation of text messages
// (overlongs, surrogates, code points split across fragments), and the
// encoder. Inputs are decoded the way a connection sees them: appended in
// chunks of every size from 1 byte to all at once, each call's input ending
// flush against a PROT_NONE page, and every valid case must give the same
// events whatever the chunking.
#include "core/ws/frame.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/core/ws/guarded_bytes.h"

namespace fe::ws {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::GuardedBytes;

constexpr MaskKey kKey = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7

Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

enum class Length : uint8_t { kMinimal, k16, k64 };

// A frame built by hand (not by the encoder under test).
Bytes make_frame(bool fin, uint8_t opcode, std::string_view payload,
                 std::optional<MaskKey> mask = std::nullopt, Length form = Length::kMinimal,
                 uint8_t rsv = 0) {
    Bytes out;
    out.push_back(static_cast<uint8_t>((fin ? 0x80 : 0) | rsv | opcode));
    const uint8_t mask_bit = mask ? 0x80 : 0;
    const uint64_t n = payload.size();
    if (form == Length::kMinimal && n <= 125) {
        out.push_back(static_cast<uint8_t>(mask_bit | n));
    } else if (form != Length::k64 && n <= 0xFFFF) {
        out.push_back(static_cast<uint8_t>(mask_bit | 126));
        out.push_back(static_cast<uint8_t>(n >> 8));
        out.push_back(static_cast<uint8_t>(n));
    } else {
        out.push_back(static_cast<uint8_t>(mask_bit | 127));
        for (int i = 7; i >= 0; --i) {
            out.push_back(static_cast<uint8_t>(n >> (8 * i)));
        }
    }
    if (mask) {
        out.insert(out.end(), mask->begin(), mask->end());
    }
    for (size_t i = 0; i < payload.size(); ++i) {
        out.push_back(static_cast<uint8_t>(payload[i] ^ (mask ? (*mask)[i % 4] : 0)));
    }
    return out;
}

// Client frames (masked, for a server decoder).
Bytes text(std::string_view p, bool fin = true) {
    return make_frame(fin, 0x1, p, kKey);
}
Bytes binary(std::string_view p, bool fin = true) {
    return make_frame(fin, 0x2, p, kKey);
}
Bytes cont(std::string_view p, bool fin = true) {
    return make_frame(fin, 0x0, p, kKey);
}
Bytes ping(std::string_view p) {
    return make_frame(true, 0x9, p, kKey);
}
Bytes pong(std::string_view p) {
    return make_frame(true, 0xA, p, kKey);
}
Bytes close_frame(std::string_view p) {
    return make_frame(true, 0x8, p, kKey);
}

struct Event {
    EventKind kind;
    MessageType type;
    std::string payload;
    uint16_t close_code;
    friend bool operator==(const Event&, const Event&) = default;
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
    return os << "{kind " << static_cast<int>(e.kind) << " type " << static_cast<int>(e.type)
              << " payload[" << e.payload.size() << "] code " << e.close_code << "}";
}

Event message(std::string_view p, MessageType t = MessageType::kText) {
    return {EventKind::kMessage, t, std::string(p), 0};
}
Event error(uint16_t code) {
    return {EventKind::kError, MessageType::kText, "", code};
}

// A connection: `wire` arrives `chunk` bytes at a time and is appended to the
// unconsumed bytes; decode() runs until it needs more or the connection ends.
std::vector<Event> decode_chunked(const Bytes& wire, size_t chunk, Role role = Role::kServer,
                                  size_t assembly_size = kMessageSizeMax,
                                  uint32_t message_size_max = kMessageSizeMax) {
    FrameDecoder decoder(role, message_size_max);
    std::vector<uint8_t> assembly(assembly_size);
    std::vector<Event> events;
    Bytes pending;
    for (size_t at = 0; at < wire.size();) {
        const size_t n = std::min(chunk, wire.size() - at);
        pending.insert(pending.end(), wire.begin() + static_cast<long>(at),
                       wire.begin() + static_cast<long>(at + n));
        at += n;
        GuardedBytes buf(pending);
        std::span<uint8_t> rest = buf.span();
        for (;;) {
            const DecodeResult r = decoder.decode(rest, assembly);
            EXPECT_LE(r.consumed, rest.size());
            if (r.kind != EventKind::kNeedMore) {
                events.push_back(
                    {r.kind, r.message_type, std::string(as_chars(r.payload)), r.close_code});
            }
            rest = rest.subspan(r.consumed);
            if (r.kind == EventKind::kError || r.kind == EventKind::kClose) {
                return events;  // the connection ends here
            }
            if (r.kind == EventKind::kNeedMore) {
                break;
            }
        }
        // The decoder must not have touched what it did not consume.
        pending.assign(rest.begin(), rest.end());
    }
    return events;
}

std::vector<Event> decode_all(const Bytes& wire, Role role = Role::kServer) {
    return decode_chunked(wire, wire.size() + 1, role);
}

// Every chunk size gives the same events as decoding all at once.
void expect_any_chunking(const Bytes& wire, const std::vector<Event>& expected,
                         Role role = Role::kServer) {
    for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
        ASSERT_EQ(decode_chunked(wire, chunk, role), expected) << "chunk " << chunk;
    }
}

// One decode() call on exactly these bytes.
DecodeResult decode_once(FrameDecoder& d, const Bytes& wire, std::span<uint8_t> assembly = {}) {
    GuardedBytes buf(wire);
    return d.decode(buf.span(), assembly);
}

TEST(FrameDecode, Rfc6455MaskedHello) {
    const Bytes wire = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    FrameDecoder d(Role::kServer);
    GuardedBytes buf(wire);
    const DecodeResult r = d.decode(buf.span(), {});
    EXPECT_EQ(r.kind, EventKind::kMessage);
    EXPECT_EQ(r.message_type, MessageType::kText);
    EXPECT_EQ(r.consumed, 11u);
    EXPECT_EQ(as_chars(r.payload), "Hello");
    // Delivered in place: the payload is the unmasked receive buffer.
    EXPECT_EQ(r.payload.data(), buf.span().data() + 6);
    expect_any_chunking(wire, {message("Hello")});
}

TEST(FrameDecode, Rfc6455UnmaskedHelloAsClient) {
    const Bytes wire = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    expect_any_chunking(wire, {message("Hello")}, Role::kClient);
}

TEST(FrameDecode, ServerRefusesUnmaskedFrameFromTwoBytes) {
    FrameDecoder d(Role::kServer);
    const DecodeResult r = decode_once(d, {0x81, 0x05});
    EXPECT_EQ(r.kind, EventKind::kError);
    EXPECT_EQ(r.close_code, 1002);
    EXPECT_EQ(r.consumed, 0u);
}

TEST(FrameDecode, ClientRefusesMaskedFrame) {
    EXPECT_EQ(decode_all(text("Hello"), Role::kClient), std::vector<Event>{error(1002)});
}

TEST(FrameDecode, Rfc6455FragmentedUnmaskedHello) {
    const Bytes wire = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    expect_any_chunking(wire, {message("Hello")}, Role::kClient);
}

TEST(FrameDecode, FragmentedMaskedMessageGoesThroughAssembly) {
    const Bytes wire = text("REGISTER ", false) + cont("sip:", false) + cont("") + cont("x");
    // The final fragment ("") with FIN is not the last frame here: cont("")
    // is final, so the message ends there and cont("x") is an error.
    EXPECT_EQ(decode_all(wire), (std::vector<Event>{message("REGISTER sip:"), error(1002)}));
    expect_any_chunking(text("REG", false) + cont("IS", false) + cont("", false) + cont("TER"),
                        {message("REGISTER")});
}

TEST(FrameDecode, ControlFramesInsideFragmentedMessageAreDelivered) {
    const Bytes wire = text("fragment one, ", false) + ping("are you there") +
                       cont("two, ", false) + pong("") + cont("three");
    expect_any_chunking(wire, {{EventKind::kPing, MessageType::kText, "are you there", 0},
                               {EventKind::kPong, MessageType::kText, "", 0},
                               message("fragment one, two, three")});
}

TEST(FrameDecode, Rfc6455PingAndMaskedPong) {
    expect_any_chunking({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
                        {{EventKind::kPing, MessageType::kText, "Hello", 0}}, Role::kClient);
    expect_any_chunking({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
                        {{EventKind::kPong, MessageType::kText, "Hello", 0}});
}

TEST(FrameDecode, Rfc6455BinaryLengthForms) {
    // §5.7: 256 bytes in one unmasked frame has a 16-bit length, 64 KiB a
    // 64-bit one. 64 KiB is exactly kMessageSizeMax: accepted.
    const std::string p256(256, 'a');
    Bytes wire = {0x82, 0x7E, 0x01, 0x00};
    wire = wire + bytes_of(p256);
    EXPECT_EQ(decode_all(wire, Role::kClient),
              std::vector<Event>{message(p256, MessageType::kBinary)});
    const std::string p64k(65536, 'b');
    Bytes big = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    big = big + bytes_of(p64k);
    EXPECT_EQ(decode_all(big, Role::kClient),
              std::vector<Event>{message(p64k, MessageType::kBinary)});
    // Split in a few big pieces (every chunk size is too slow for 64 KiB).
    EXPECT_EQ(decode_chunked(big, 1000, Role::kClient),
              std::vector<Event>{message(p64k, MessageType::kBinary)});
}

TEST(FrameDecode, NonMinimalLengthsAreAccepted) {
    expect_any_chunking(make_frame(true, 0x1, "Hello", kKey, Length::k16), {message("Hello")});
    expect_any_chunking(make_frame(true, 0x1, "Hello", kKey, Length::k64), {message("Hello")});
    expect_any_chunking(make_frame(true, 0x2, "", kKey, Length::k64),
                        {message("", MessageType::kBinary)});
}

TEST(FrameDecode, OversizeIsRefusedFromTheHeaderAlone) {
    // 16-bit form: 1001 bytes against a 1000-byte limit; 4 header bytes are
    // enough to know.
    {
        FrameDecoder d(Role::kClient, 1000);
        const DecodeResult r = decode_once(d, {0x82, 0x7E, 0x03, 0xE9});
        EXPECT_EQ(r.kind, EventKind::kError);
        EXPECT_EQ(r.close_code, 1009);
    }
    {
        FrameDecoder d(Role::kClient, 1000);
        const DecodeResult r = decode_once(d, {0x82, 0x7E, 0x03, 0xE8});  // exactly 1000
        EXPECT_EQ(r.kind, EventKind::kNeedMore);
    }
    // 64-bit form: 65537 bytes against the default 64 KiB, and 2^62.
    {
        FrameDecoder d(Role::kServer);
        const DecodeResult r = decode_once(d, {0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01});
        EXPECT_EQ(r.kind, EventKind::kError);
        EXPECT_EQ(r.close_code, 1009);
    }
    {
        FrameDecoder d(Role::kServer);
        const DecodeResult r = decode_once(d, {0x81, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0});
        EXPECT_EQ(r.close_code, 1009);
    }
}

TEST(FrameDecode, SixtyFourBitLengthWithMsbSetIsProtocolError) {
    FrameDecoder d(Role::kServer);
    const DecodeResult r = decode_once(d, {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x05});
    EXPECT_EQ(r.kind, EventKind::kError);
    EXPECT_EQ(r.close_code, 1002);
}

TEST(FrameDecode, FragmentedMessageOverTheLimitIs1009) {
    // Each fragment fits, the sum does not: refused at the fragment header
    // that crosses the limit.
    const std::string half(600, 'x');
    EXPECT_EQ(decode_chunked(text(half, false) + cont(half), 7, Role::kServer, 1000, 1000),
              std::vector<Event>{error(1009)});
    // The assembly buffer caps fragmented messages too.
    EXPECT_EQ(decode_chunked(text(half, false) + cont(half), 7, Role::kServer, 1000),
              std::vector<Event>{error(1009)});
    // Exactly at the limit is fine.
    const std::string five(500, 'y');
    EXPECT_EQ(decode_chunked(text(five, false) + cont(five), 7, Role::kServer, 1000, 1000),
              std::vector<Event>{message(five + five)});
    // No assembly buffer: every fragmented message is refused, but
    // unfragmented ones still pass.
    EXPECT_EQ(decode_chunked(text("Hello") + text("a", false) + cont("b"), 100, Role::kServer, 0),
              (std::vector<Event>{message("Hello"), error(1009)}));
}

TEST(FrameDecode, RsvBitsAreProtocolErrors) {
    for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
        FrameDecoder d(Role::kServer);
        const DecodeResult r = decode_once(d, {static_cast<uint8_t>(0x81 | rsv), 0x80});
        EXPECT_EQ(r.kind, EventKind::kError) << int(rsv);
        EXPECT_EQ(r.close_code, 1002) << int(rsv);
    }
}

TEST(FrameDecode, ReservedOpcodesAreProtocolErrors) {
    for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        FrameDecoder d(Role::kServer);
        const DecodeResult r = decode_once(d, {static_cast<uint8_t>(0x80 | op), 0x80});
        EXPECT_EQ(r.kind, EventKind::kError) << int(op);
        EXPECT_EQ(r.close_code, 1002) << int(op);
    }
}

TEST(FrameDecode, ControlFrameRules) {
    // Fragmented control frames and payloads over 125 bytes (any length form).
    EXPECT_EQ(decode_all(make_frame(false, 0x9, "x", kKey)), std::vector<Event>{error(1002)});
    EXPECT_EQ(decode_all(make_frame(false, 0x8, "", kKey)), std::vector<Event>{error(1002)});
    EXPECT_EQ(decode_all(ping(std::string(126, 'p'))), std::vector<Event>{error(1002)});
    EXPECT_EQ(decode_all(make_frame(true, 0xA, "x", kKey, Length::k16)),
              std::vector<Event>{error(1002)});
    // 125 bytes is the most a control frame may carry.
    const std::string p125(125, 'p');
    EXPECT_EQ(decode_all(ping(p125)),
              (std::vector<Event>{{EventKind::kPing, MessageType::kText, p125, 0}}));
}

TEST(FrameDecode, FragmentSequenceErrors) {
    // A continuation with nothing open.
    EXPECT_EQ(decode_all(cont("x")), std::vector<Event>{error(1002)});
    // A new data frame while a fragmented message is open (text or binary,
    // final or not).
    EXPECT_EQ(decode_all(text("a", false) + text("b")), std::vector<Event>{error(1002)});
    EXPECT_EQ(decode_all(text("a", false) + binary("b", false)), std::vector<Event>{error(1002)});
    // A complete message closes the sequence: a continuation after it fails.
    EXPECT_EQ(decode_all(text("a", false) + cont("b") + cont("c")),
              (std::vector<Event>{message("ab"), error(1002)}));
}

struct Utf8Case {
    const char* name;
    std::string text;
    bool valid;
};

const Utf8Case kUtf8Cases[] = {
    {"ascii", "REGISTER sip:example.com SIP/2.0\r\n", true},
    {"two_byte_min", "\xC2\x80", true},
    {"euro", "\xE2\x82\xAC", true},
    {"last_before_surrogates", "\xED\x9F\xBF", true},
    {"first_after_surrogates", "\xEE\x80\x80", true},
    {"emoji", "\xF0\x9F\x98\x80", true},
    {"max_code_point", "\xF4\x8F\xBF\xBF", true},
    {"mixed", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 ok", true},
    {"overlong_slash_2", "\xC0\xAF", false},
    {"overlong_c1", "\xC1\xBF", false},
    {"overlong_slash_3", "\xE0\x80\xAF", false},
    {"overlong_3_max", "\xE0\x9F\xBF", false},
    {"overlong_slash_4", "\xF0\x80\x80\xAF", false},
    {"overlong_4_max", "\xF0\x8F\xBF\xBF", false},
    {"surrogate_high", "\xED\xA0\x80", false},
    {"surrogate_low", "\xED\xBF\xBF", false},
    {"above_max", "\xF4\x90\x80\x80", false},
    {"f5_lead", "\xF5\x80\x80\x80", false},
    {"ff", "\xFF", false},
    {"lone_continuation", "a\x80z", false},
    {"truncated_at_end", "ok \xE2\x82", false},
    {"truncated_before_ascii", "\xE2\x82z", false},
    {"invalid_after_8_ascii", "abcdefgh\xC0\xAF", false},
};

TEST(FrameDecode, Utf8InTextMessages) {
    for (const Utf8Case& c : kUtf8Cases) {
        const std::vector<Event> expected =
            c.valid ? std::vector<Event>{message(c.text)} : std::vector<Event>{error(1007)};
        SCOPED_TRACE(c.name);
        expect_any_chunking(text(c.text), expected);
        // Split into fragments at every position: validation carries across.
        for (size_t cut = 0; cut <= c.text.size(); ++cut) {
            SCOPED_TRACE(cut);
            expect_any_chunking(text(c.text.substr(0, cut), false) + cont(c.text.substr(cut)),
                                expected);
        }
        // Binary messages are not validated.
        EXPECT_EQ(decode_all(binary(c.text)),
                  std::vector<Event>{message(c.text, MessageType::kBinary)})
            << c.name;
    }
}

TEST(FrameDecode, BadUtf8FailsAtTheFragmentThatShowsIt) {
    // The first fragment is already invalid: no need to wait for the rest.
    FrameDecoder d(Role::kServer);
    Bytes assembly(100);
    const DecodeResult r = decode_once(d, text("\xC0\xAF", false), assembly);
    EXPECT_EQ(r.kind, EventKind::kError);
    EXPECT_EQ(r.close_code, 1007);
    // A code point cut by the message's end fails at the final fragment.
    EXPECT_EQ(decode_all(text("\xF0\x9F", false) + cont("\x98", false) + cont("")),
              std::vector<Event>{error(1007)});
    EXPECT_EQ(decode_all(text("\xF0\x9F", false) + cont("\x98", false) + cont("\x80")),
              std::vector<Event>{message("\xF0\x9F\x98\x80")});
}

TEST(FrameDecode, CloseFrames) {
    const auto closed = [](uint16_t code, std::string reason) {
        return std::vector<Event>{{EventKind::kClose, MessageType::kText, std::move(reason), code}};
    };
    expect_any_chunking(close_frame(""), closed(1005, ""));
    expect_any_chunking(close_frame(std::string("\x03\xE8", 2) + "bye"), closed(1000, "bye"));
    for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1014, 3000, 4999}) {
        const std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
        EXPECT_EQ(decode_all(close_frame(p)), closed(code, "")) << code;
    }
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
        const std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
        EXPECT_EQ(decode_all(close_frame(p)), std::vector<Event>{error(1002)}) << code;
    }
    EXPECT_EQ(decode_all(close_frame("\x03")), std::vector<Event>{error(1002)});
    EXPECT_EQ(decode_all(close_frame(std::string("\x03\xE8", 2) + "\xC0\xAF")),
              std::vector<Event>{error(1007)});
    // A close in the middle of a fragmented message ends the connection.
    EXPECT_EQ(decode_all(text("a", false) + close_frame("")), closed(1005, ""));
}

TEST(FrameDecode, EverythingAfterCloseIsIgnored) {
    FrameDecoder d(Role::kServer);
    const Bytes wire = close_frame("") + text("late");
    GuardedBytes buf(wire);
    const DecodeResult r = d.decode(buf.span(), {});
    EXPECT_EQ(r.kind, EventKind::kClose);
    EXPECT_EQ(r.consumed, 6u);
    const DecodeResult after = d.decode(buf.span().subspan(6), {});
    EXPECT_EQ(after.kind, EventKind::kNeedMore);
    EXPECT_EQ(after.consumed, wire.size() - 6);
}

TEST(FrameDecode, ErrorsAreSticky) {
    FrameDecoder d(Role::kServer);
    EXPECT_EQ(decode_once(d, cont("x")).close_code, 1002);
    const DecodeResult again = decode_once(d, text("fine"));
    EXPECT_EQ(again.kind, EventKind::kError);
    EXPECT_EQ(again.close_code, 1002);
    EXPECT_EQ(again.consumed, 0u);
}

TEST(FrameDecode, PipelinedMessagesComeOneAtATime) {
    const Bytes wire = text("one") + binary("two") + ping("") + text("three");
    FrameDecoder d(Role::kServer);
    GuardedBytes buf(wire);
    std::span<uint8_t> rest = buf.span();
    DecodeResult r = d.decode(rest, {});
    EXPECT_EQ(as_chars(r.payload), "one");
    EXPECT_EQ(r.consumed, 9u);
    rest = rest.subspan(r.consumed);
    r = d.decode(rest, {});
    EXPECT_EQ(r.message_type, MessageType::kBinary);
    EXPECT_EQ(as_chars(r.payload), "two");
    rest = rest.subspan(r.consumed);
    r = d.decode(rest, {});
    EXPECT_EQ(r.kind, EventKind::kPing);
    rest = rest.subspan(r.consumed);
    r = d.decode(rest, {});
    EXPECT_EQ(as_chars(r.payload), "three");
    EXPECT_EQ(r.consumed, rest.size());
    expect_any_chunking(wire, {message("one"),
                               message("two", MessageType::kBinary),
                               {EventKind::kPing, MessageType::kText, "", 0},
                               message("three")});
}

TEST(FrameDecode, PartialFrameIsNotConsumedOrUnmasked) {
    // Until the whole frame is in, the decoder neither consumes nor unmasks:
    // the caller keeps the bytes and calls again with more.
    const Bytes wire = text("Hello");
    for (size_t n = 0; n < wire.size(); ++n) {
        FrameDecoder d(Role::kServer);
        Bytes prefix(wire.begin(), wire.begin() + static_cast<long>(n));
        GuardedBytes buf(prefix);
        const DecodeResult r = d.decode(buf.span(), {});
        EXPECT_EQ(r.kind, EventKind::kNeedMore) << n;
        EXPECT_EQ(r.consumed, 0u) << n;
        EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), buf.span().begin())) << n;
    }
}

TEST(FrameDecode, CrlfKeepAliveInsideTextFrame) {
    const std::vector<Event> events = decode_all(text("\r\n\r\n") + text("\r\n"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0], message("\r\n\r\n"));
    const auto span_of = [](const std::string& s) {
        return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    EXPECT_EQ(classify_keepalive(span_of(events[0].payload)), KeepAlive::kPing);
    EXPECT_EQ(classify_keepalive(span_of(events[1].payload)), KeepAlive::kPong);
    EXPECT_EQ(classify_keepalive(span_of("OPTIONS sip:x SIP/2.0\r\n\r\n")), KeepAlive::kNone);
    EXPECT_EQ(classify_keepalive(span_of("")), KeepAlive::kNone);
}

// Encoder.

Bytes header_of(const FrameSpec& spec) {
    std::array<uint8_t, kFrameHeaderSizeMax> out{};
    const size_t n = write_frame_header(spec, out);
    return Bytes(out.begin(), out.begin() + static_cast<long>(n));
}

TEST(FrameEncode, HeaderBytes) {
    EXPECT_EQ(header_of({.opcode = Opcode::kText, .payload_size = 5}), (Bytes{0x81, 0x05}));
    EXPECT_EQ(header_of({.opcode = Opcode::kText, .payload_size = 125}), (Bytes{0x81, 0x7D}));
    EXPECT_EQ(header_of({.opcode = Opcode::kBinary, .payload_size = 126}),
              (Bytes{0x82, 0x7E, 0x00, 0x7E}));
    EXPECT_EQ(header_of({.opcode = Opcode::kText, .payload_size = 65535}),
              (Bytes{0x81, 0x7E, 0xFF, 0xFF}));
    EXPECT_EQ(header_of({.opcode = Opcode::kBinary, .payload_size = 65536}),
              (Bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
    EXPECT_EQ(
        header_of({.opcode = Opcode::kText, .payload_size = 3, .end = FrameEnd::kMoreFragments}),
        (Bytes{0x01, 0x03}));
    EXPECT_EQ(header_of({.opcode = Opcode::kContinuation, .payload_size = 2}), (Bytes{0x80, 0x02}));
    EXPECT_EQ(header_of({.opcode = Opcode::kText, .payload_size = 5, .mask = kKey}),
              (Bytes{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
    EXPECT_EQ(header_of({.opcode = Opcode::kBinary, .payload_size = 70000, .mask = kKey}),
              (Bytes{0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST(FrameEncode, MaskMatchesRfcExampleAndWorksInPieces) {
    Bytes hello = bytes_of("Hello");
    mask_payload(hello, kKey);
    EXPECT_EQ(hello, (Bytes{0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    // Masking in pieces at any offset equals masking at once.
    std::string long_text(100, '\0');
    for (size_t i = 0; i < long_text.size(); ++i) {
        long_text[i] = static_cast<char>('a' + i % 26);
    }
    Bytes whole = bytes_of(long_text);
    mask_payload(whole, kKey);
    for (size_t cut = 0; cut <= long_text.size(); ++cut) {
        Bytes pieces = bytes_of(long_text);
        std::span<uint8_t> all(pieces);
        mask_payload(all.first(cut), kKey, 0);
        mask_payload(all.subspan(cut), kKey, cut);
        EXPECT_EQ(pieces, whole) << cut;
    }
}

TEST(FrameEncode, ControlFrames) {
    std::array<uint8_t, kControlFrameSizeMax> out{};
    const Bytes hello = bytes_of("Hello");
    size_t n = write_control_frame(Opcode::kPong, hello, kKey, out);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)),
              (Bytes{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    n = write_control_frame(Opcode::kPong, hello, std::nullopt, out);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)),
              (Bytes{0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    n = write_close_frame(1000, "", std::nullopt, out);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)),
              (Bytes{0x88, 0x02, 0x03, 0xE8}));
    n = write_close_frame(1002, "bad", std::nullopt, out);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)),
              (Bytes{0x88, 0x05, 0x03, 0xEA, 'b', 'a', 'd'}));
    n = write_close_frame(1005, "", std::nullopt, out);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)), (Bytes{0x88, 0x00}));
    const std::string reason(kCloseReasonSizeMax, 'r');
    n = write_close_frame(1009, reason, kKey, out);
    EXPECT_EQ(n, kControlFrameSizeMax);
}

TEST(FrameEncode, RoundTripThroughTheDecoder) {
    // Client frames (masked by the encoder) decode on a server, server frames
    // (unmasked) on a client, for every length-form boundary.
    for (size_t size : {0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536}) {
        std::string payload(size, '\0');
        for (size_t i = 0; i < size; ++i) {
            payload[i] = static_cast<char>('A' + i % 26);
        }
        for (Role sender : {Role::kClient, Role::kServer}) {
            std::optional<MaskKey> mask;
            if (sender == Role::kClient) {
                mask = MaskKey{0x01, 0x80, 0xfe, 0x7f};
            }
            Bytes body = bytes_of(payload);
            if (mask) {
                mask_payload(body, *mask);
            }
            const Bytes wire =
                header_of({.opcode = Opcode::kText, .payload_size = size, .mask = mask}) + body;
            const Role receiver = sender == Role::kClient ? Role::kServer : Role::kClient;
            EXPECT_EQ(decode_chunked(wire, 4096, receiver), std::vector<Event>{message(payload)})
                << size;
        }
    }
}

}  // namespace
}  // namespace fe::ws
