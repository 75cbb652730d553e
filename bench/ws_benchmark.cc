// The WebSocket codec (core/ws) on the paths a SIP-over-WebSocket flow pays
// per message: decoding the masked client frame carrying bench/data/
// register.sip (667 bytes; unmask in place, UTF-8 check for text), the same
// REGISTER in four fragments (through the assembly buffer), writing the header
// of a server frame, and reading a browser's Upgrade request (handshakes/s of
// the pure part). Decoding unmasks in place, so each iteration first restores
// the masked frame; BM_WsRestoreFrame measures that copy alone.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/ws/frame.h"
#include "core/ws/handshake.h"

namespace {

constexpr fe::ws::MaskKey kKey = {0x37, 0xfa, 0x21, 0x3d};

std::string load(const char* name) {
    std::ifstream in(std::string(FE_BENCH_DATA_DIR) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.empty()) {
        std::abort();
    }
    return s;
}

// `payload` as client frames: `fragment_count` frames, the first of `opcode`.
std::vector<uint8_t> client_frames(const std::string& payload, fe::ws::Opcode opcode,
                                   size_t fragment_count) {
    std::vector<uint8_t> wire;
    const size_t piece = (payload.size() + fragment_count - 1) / fragment_count;
    for (size_t at = 0; at < payload.size(); at += piece) {
        const size_t n = std::min(piece, payload.size() - at);
        const bool last = at + n == payload.size();
        std::array<uint8_t, fe::ws::kFrameHeaderSizeMax> header{};
        const size_t header_size = fe::ws::write_frame_header(
            {.opcode = at == 0 ? opcode : fe::ws::Opcode::kContinuation,
             .payload_size = n,
             .end = last ? fe::ws::FrameEnd::kFinal : fe::ws::FrameEnd::kMoreFragments,
             .mask = kKey},
            header);
        wire.insert(wire.end(), header.begin(), header.begin() + static_cast<long>(header_size));
        const size_t body = wire.size();
        wire.insert(wire.end(), payload.begin() + static_cast<long>(at),
                    payload.begin() + static_cast<long>(at + n));
        fe::ws::mask_payload({wire.data() + body, n}, kKey);
    }
    return wire;
}

void BM_WsRestoreFrame(benchmark::State& state) {
    const std::vector<uint8_t> wire =
        client_frames(load("register.sip"), fe::ws::Opcode::kText, 1);
    std::vector<uint8_t> buffer(wire.size());
    for (auto _ : state) {
        std::memcpy(buffer.data(), wire.data(), wire.size());
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_WsRestoreFrame);

// Arg 0: text (UTF-8 checked), 1: binary. Range(1): fragments.
void BM_WsDecodeMaskedRegister(benchmark::State& state) {
    const std::string sip = load("register.sip");
    const auto opcode = state.range(0) == 0 ? fe::ws::Opcode::kText : fe::ws::Opcode::kBinary;
    const std::vector<uint8_t> wire =
        client_frames(sip, opcode, static_cast<size_t>(state.range(1)));
    std::vector<uint8_t> buffer(wire.size());
    std::vector<uint8_t> assembly(fe::ws::kMessageSizeMax);
    fe::ws::FrameDecoder decoder(fe::ws::Role::kServer);
    for (auto _ : state) {
        std::memcpy(buffer.data(), wire.data(), wire.size());
        const fe::ws::DecodeResult r = decoder.decode(buffer, assembly);
        if (r.kind != fe::ws::EventKind::kMessage || r.payload.size() != sip.size()) {
            state.SkipWithError("frame did not decode");
            return;
        }
        benchmark::DoNotOptimize(r);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WsDecodeMaskedRegister)->Args({0, 1})->Args({1, 1})->Args({0, 4});

void BM_WsEncodeServerHeader(benchmark::State& state) {
    std::array<uint8_t, fe::ws::kFrameHeaderSizeMax> header{};
    uint64_t size = 667;
    for (auto _ : state) {
        benchmark::DoNotOptimize(size);
        const size_t n = fe::ws::write_frame_header(
            {.opcode = fe::ws::Opcode::kText, .payload_size = size}, header);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(header.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WsEncodeServerHeader);

void BM_WsReadHandshake(benchmark::State& state) {
    // What Firefox sends (JsSIP in a page), Origin checked against one entry.
    const std::string request =
        "GET /ws HTTP/1.1\r\n"
        "Host: edge.example.com:8443\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
        "Accept: */*\r\n"
        "Accept-Language: en-US,en;q=0.5\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Origin: https://app.example.com\r\n"
        "Sec-WebSocket-Protocol: sip\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Pragma: no-cache\r\n"
        "Cache-Control: no-cache\r\n"
        "Upgrade: websocket\r\n"
        "\r\n";
    const std::string_view allowed[] = {"https://app.example.com"};
    const fe::ws::HandshakeOptions options{.origins_allowed = allowed};
    std::array<char, fe::ws::kHandshakeResponseSizeMax> response{};
    for (auto _ : state) {
        fe::ws::HandshakeScan scan;
        const fe::ws::HandshakeResult r = fe::ws::read_handshake(request, scan, options, response);
        if (r.verdict != fe::ws::HandshakeVerdict::kAccept) {
            state.SkipWithError("handshake refused");
            return;
        }
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(response.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WsReadHandshake);

}  // namespace
