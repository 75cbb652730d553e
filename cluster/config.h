// File: cluster/config.h
//
// The node's configuration, from the command line. Flag names are a user-facing
// contract (operators script against them): add freely, rename never.
//
//   auto config = fe::cluster::parse_args(argc, argv);
//   if (!config.ok()) { fprintf(stderr, "%s\n", config.status().message()); }
//   for (const auto& l : config->listens) { ... }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/endpoint.h"

namespace fe::cluster {

enum class Role : uint8_t { kEdge = 1, kRegistrar = 2, kProxy = 4 };

struct Listen {
    Transport transport = Transport::kUdp;  // kUdp, kTcp or kTls
    Endpoint endpoint;

    std::string to_string() const;  // "udp:127.0.0.1:5060", "tls:127.0.0.1:5061"
};

// --tls-verify: what a TLS listener asks of its clients (net/tls's
// ClientCertificatePolicy, named here so config stays free of libssl).
enum class TlsVerify : uint8_t {
    kOptional,  // always ask for a certificate (CR-36), serve clients without one
    kRequired,  // a client without a valid certificate fails the handshake
    kNone,      // never ask: listeners that serve only phones
};
std::string_view tls_verify_name(TlsVerify verify);

struct Config {
    std::vector<Listen> listens;
    uint32_t worker_count = 0;           // 0: one per core
    uint8_t roles = 7;                   // Role bits; all three by default
    std::vector<std::string> domains;    // AOR domains served; empty: any
    // --ws-origin: Origins a ws/wss handshake may come from; empty: any.
    std::vector<std::string> ws_origins;
    std::string next_hop;                // sip:HOST:PORT;transport=tcp (pure edge)
    uint32_t flow_timer_s = 120;         // RFC 5626 §4.4.1 default CRLF bound
    std::string token_key_file;          // empty: a random key per boot
    uint16_t node_id = 1;                // unique per node in a cluster
    std::string advertise;               // host for Path/Record-Route/Via; default: listen host
    std::string store = "embedded";      // "embedded" or redis://HOST:PORT
    uint32_t min_expires_s = 60;
    uint32_t max_expires_s = 7200;
    uint32_t default_expires_s = 3600;
    // TLS listeners (--listen tls:...): one certificate and key for every
    // TLS listener of the node, the CAs trusted for client certificates, and
    // the client-certificate policy. Required together with a tls listener.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_ca_file;  // empty: no client certificate is ever verified
    TlsVerify tls_verify = TlsVerify::kOptional;
    // Session ticket keys shared by the nodes (80-byte records, the current
    // key first: `openssl rand 80 > ticket.key`); empty: a random key per
    // node, so a session resumes only on the node that made it.
    std::string tls_ticket_key_file;
    bool help = false;

    bool has_role(Role r) const { return (roles & static_cast<uint8_t>(r)) != 0; }
    bool has_tls_listener() const;
};

// Parses argv. Errors name the flag and say what a right value looks like.
absl::StatusOr<Config> parse_args(int argc, const char* const* argv);
// "udp:127.0.0.1:5060", "tcp:[::1]:5060", "tls:127.0.0.1:5061"; an error
// status on anything else.
absl::StatusOr<Listen> parse_listen(std::string_view text);

// --store redis://HOST[:PORT] taken apart. HOST is an IPv4 literal, a
// bracketed IPv6 literal or "localhost" (the node resolves it once at start:
// hiredis would resolve a name with a blocking call on every reconnect).
// Nothing else is accepted: no user, password, database or query, so a
// setting the node would ignore is an error instead.
struct RedisUrl {
    std::string host;     // as written, without brackets: "127.0.0.1", "::1", "localhost"
    uint16_t port = 6379;  // Redis's default when the URL has none
};
absl::StatusOr<RedisUrl> parse_redis_url(std::string_view text);

// The --help text.
const char* usage();

}  // namespace fe::cluster
