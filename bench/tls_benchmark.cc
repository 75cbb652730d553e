// TLS building blocks (net/tls): what one TLS worker can do per core, to size
// it. Client and server TlsSessions talk through memory on one thread; the
// reported time of the handshake benchmarks is the server's share only (the
// thread CPU time spent in its calls, UseManualTime), and the client's share
// is the counter client_us. Certificates: tests/data/tls (ECDSA P-256
// example-com-ec, RSA-2048 example-net-rsa).
//
//   build/bench/flowedge-micro --benchmark_filter=Tls --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true      (one command line)
//
// Target (issue 10): at least 3x the handshakes per CPU second of Kamailio's
// tls module (OpenSSL), and a 600-byte SIP message sealed and opened in a few
// microseconds, so TLS costs little next to parsing and routing it.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"

namespace {

using fe::net::tls::ClientCertificatePolicy;
using fe::net::tls::ClientOptions;
using fe::net::tls::FeedResult;
using fe::net::tls::TlsContext;
using fe::net::tls::TlsContextConfig;
using fe::net::tls::TlsResumption;
using fe::net::tls::TlsRole;
using fe::net::tls::TlsSession;
using fe::net::tls::TlsState;
using fe::net::tls::TlsVersion;
// The thread's CPU time, not the wall clock: on a shared machine the wall
// clock counts the time other processes ran, CPU time only ours.
struct Clock {
    using time_point = std::chrono::nanoseconds;
    static time_point now() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }
};

std::string data_path(const std::string& name) {
    return std::string(FE_TLS_TEST_DATA_DIR) + "/" + name;
}

// Arg 0: ECDSA P-256 (example.com); 1: RSA-2048 (example.net).
const char* stem_of(int64_t cert) {
    return cert == 0 ? "example-com-ec" : "example-net-rsa";
}
const char* host_of(int64_t cert) {
    return cert == 0 ? "example.com" : "example.net";
}

std::unique_ptr<TlsContext> make(TlsContextConfig config) {
    absl::StatusOr<std::unique_ptr<TlsContext>> context = TlsContext::create(config);
    if (!context.ok()) {
        std::fprintf(stderr, "tls_benchmark: %s\n",
                     std::string(context.status().message()).c_str());
        std::abort();
    }
    return std::move(*context);
}

std::unique_ptr<TlsContext> server_context(int64_t cert, TlsVersion version,
                                           ClientCertificatePolicy policy) {
    TlsContextConfig config;
    config.role = TlsRole::kServer;
    config.identities.push_back(
        {.certificate_chain_file = data_path(std::string(stem_of(cert)) + ".pem"),
         .private_key_file = data_path(std::string(stem_of(cert)) + ".key")});
    config.ca_file = data_path("ca.pem");
    config.client_certificate = policy;
    config.version_min = config.version_max = version;
    std::string keys(fe::net::tls::TicketKey::kSize, 'k');
    config.ticket_keys = *fe::net::tls::TicketKey::parse(keys);
    return make(config);
}

std::unique_ptr<TlsContext> client_context(TlsVersion version) {
    TlsContextConfig config;
    config.role = TlsRole::kClient;
    config.identities.push_back({.certificate_chain_file = data_path("example-com-ec.pem"),
                                 .private_key_file = data_path("example-com-ec.key")});
    config.ca_file = data_path("ca.pem");
    config.version_min = config.version_max = version;
    return make(config);
}

// Runs one connection's bytes between the two sessions until both are quiet;
// adds the time spent inside each side's calls.
struct Wire {
    std::array<char, fe::net::tls::kTlsRecordPlaintextSizeMax> plain{};
    double server_s = 0;
    double client_s = 0;
    size_t plaintext_at_server = 0;

    static size_t feed(TlsSession& s, std::string_view bytes, std::array<char, 16384>& plain) {
        size_t plaintext = 0;
        while (!bytes.empty()) {
            FeedResult r = s.feed(bytes, plain);
            plaintext += r.plaintext_size;
            bytes.remove_prefix(r.consumed);
            benchmark::DoNotOptimize(plain.data());
        }
        return plaintext;
    }

    void run(TlsSession& client, TlsSession& server) {
        for (int round = 0; round < 20; ++round) {
            Clock::time_point t0 = Clock::now();
            std::string to_server(client.take_output());
            Clock::time_point t1 = Clock::now();
            plaintext_at_server += feed(server, to_server, plain);
            std::string to_client(server.take_output());
            Clock::time_point t2 = Clock::now();
            feed(client, to_client, plain);
            Clock::time_point t3 = Clock::now();
            client_s += std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
            server_s += std::chrono::duration<double>(t2 - t1).count();
            if (to_server.empty() && to_client.empty()) {
                return;
            }
        }
    }
};

std::unique_ptr<TlsSession> connect(const TlsContext& client, int64_t cert, bool mutual,
                                    const TlsResumption* resumption, double& client_s) {
    Clock::time_point t0 = Clock::now();
    ClientOptions options{.peer_host = host_of(cert), .resumption = resumption};
    if (mutual) {
        options.identity_index = 0;
    }
    absl::StatusOr<std::unique_ptr<TlsSession>> session = TlsSession::connect(client, options);
    client_s += std::chrono::duration<double>(Clock::now() - t0).count();
    return std::move(*session);
}

// Arg: certificate (0 ECDSA P-256, 1 RSA-2048), TLS version (12, 13), mutual
// authentication (0 server only, 1 the client presents a certificate too).
void BM_TlsHandshakeFull(benchmark::State& state) {
    const int64_t cert = state.range(0);
    const TlsVersion version = state.range(1) == 12 ? TlsVersion::kTls12 : TlsVersion::kTls13;
    const bool mutual = state.range(2) == 1;
    auto server = server_context(
        cert, version,
        mutual ? ClientCertificatePolicy::kRequired : ClientCertificatePolicy::kNone);
    auto client = client_context(version);
    double client_total = 0;
    for (auto _ : state) {
        Wire wire;
        std::unique_ptr<TlsSession> c = connect(*client, cert, mutual, nullptr, wire.client_s);
        Clock::time_point t0 = Clock::now();
        std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
        wire.server_s += std::chrono::duration<double>(Clock::now() - t0).count();
        wire.run(*c, *s);
        if (s->state() != TlsState::kOpen || c->state() != TlsState::kOpen || s->resumed()) {
            state.SkipWithError("handshake failed");
            break;
        }
        state.SetIterationTime(wire.server_s);
        client_total += wire.client_s;
    }
    state.counters["client_us"] =
        benchmark::Counter(client_total * 1e6 / static_cast<double>(state.iterations()));
    state.counters["server_handshakes_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TlsHandshakeFull)
    ->ArgNames({"rsa", "tls", "mutual"})
    ->Args({0, 13, 0})
    ->Args({1, 13, 0})
    ->Args({0, 12, 0})
    ->Args({1, 12, 0})
    ->Args({0, 13, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// A resumed handshake with a ticket from the same ticket key (another node
// with the same key behaves the same). Each iteration uses the newest ticket,
// as a client should (TLS 1.3 tickets are single-use).
void BM_TlsHandshakeResumed(benchmark::State& state) {
    const int64_t cert = state.range(0);
    const TlsVersion version = state.range(1) == 12 ? TlsVersion::kTls12 : TlsVersion::kTls13;
    const bool mutual = state.range(2) == 1;
    auto server = server_context(
        cert, version,
        mutual ? ClientCertificatePolicy::kRequired : ClientCertificatePolicy::kNone);
    auto client = client_context(version);
    std::optional<TlsResumption> ticket;
    {
        Wire wire;
        std::unique_ptr<TlsSession> c = connect(*client, cert, mutual, nullptr, wire.client_s);
        std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
        wire.run(*c, *s);
        ticket = c->take_resumption();
    }
    double client_total = 0;
    for (auto _ : state) {
        Wire wire;
        std::unique_ptr<TlsSession> c =
            connect(*client, cert, mutual, ticket ? &*ticket : nullptr, wire.client_s);
        Clock::time_point t0 = Clock::now();
        std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
        wire.server_s += std::chrono::duration<double>(Clock::now() - t0).count();
        wire.run(*c, *s);
        if (!s->resumed() || c->state() != TlsState::kOpen) {
            state.SkipWithError("not resumed");
            break;
        }
        if (std::optional<TlsResumption> next = c->take_resumption()) {
            ticket = std::move(next);
        }
        state.SetIterationTime(wire.server_s);
        client_total += wire.client_s;
    }
    state.counters["client_us"] =
        benchmark::Counter(client_total * 1e6 / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_TlsHandshakeResumed)
    ->ArgNames({"rsa", "tls", "mutual"})
    ->Args({0, 13, 0})
    ->Args({1, 13, 0})
    ->Args({0, 12, 0})
    ->Args({0, 13, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

std::string sip_message_600() {
    std::ifstream in(std::string(FE_BENCH_DATA_DIR) + "/register.sip");
    std::stringstream text;
    text << in.rdbuf();
    std::string message = text.str();
    message.resize(600, ' ');  // a typical REGISTER or 200 OK, exactly 600 bytes
    return message;
}

// One 600-byte SIP message: write() seals it on one side, feed() opens it on
// the other. Arg: TLS version (the cipher is BoringSSL's first choice, AES-128-GCM).
void BM_TlsSealOpen600(benchmark::State& state) {
    const TlsVersion version = state.range(0) == 12 ? TlsVersion::kTls12 : TlsVersion::kTls13;
    auto server = server_context(0, version, ClientCertificatePolicy::kNone);
    auto client = client_context(version);
    Wire wire;
    std::unique_ptr<TlsSession> c = connect(*client, 0, false, nullptr, wire.client_s);
    std::unique_ptr<TlsSession> s = TlsSession::accept(*server);
    wire.run(*c, *s);
    const std::string message = sip_message_600();
    std::array<char, fe::net::tls::kTlsRecordPlaintextSizeMax> plain{};
    for (auto _ : state) {
        if (c->write(message) != fe::net::tls::WriteResult::kQueued) {
            state.SkipWithError("write refused");
            break;
        }
        std::string_view record = c->take_output();
        FeedResult r = s->feed(record, plain);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(plain.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 600);
    state.SetLabel(std::string(c->cipher_name()));
}
BENCHMARK(BM_TlsSealOpen600)->ArgName("tls")->Arg(13)->Arg(12);

}  // namespace
