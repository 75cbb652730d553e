// File: cluster/node.h
//
// One flowedge node: the key ring, the binding store, the rings between
// workers, and the net::Workers that run one SipWorker each. Control plane
// only (absl::Status); the data plane lives in SipWorker.
//
// Start-up: bind every listener (a port 0 becomes the port the kernel
// chose), fill the NodeContext completely, then start the workers; each
// worker's SipWorker (with its registrar, home proxy and, with Redis, its own
// store) is built on that worker's thread before its loop runs.
//
// The binding store is one EmbeddedStore shared by the workers (--store
// embedded, the default), or with --store redis://HOST:PORT one RedisStore
// per worker, made on that worker's thread when it starts and destroyed there
// when it stops (state/redis_store.h). A Redis that is down at start does not
// stop the node: REGISTERs get 500 until it is back.
//
//   FE_ASSIGN_OR_RETURN(fe::cluster::Config config, fe::cluster::parse_args(argc, argv));
//   fe::cluster::Node node(config);
//   if (absl::Status s = node.start(); !s.ok()) { die(s.message()); }
//   for (const auto& l : node.listening()) { printf("listening on %s\n", ...); }
//   ... wait for SIGTERM ...
//   node.stop();                      // stop accepting, flush, close, join
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/config.h"
#include "cluster/sip_worker.h"
#include "cluster/worker_context.h"
#include "cluster/worker_mail.h"
#include "core/outbound/registrar.h"
#include "core/token/key_ring.h"
#include "net/tls/tls_context.h"
#include "net/workers.h"
#include "state/binding_store.h"

namespace fe::cluster {

// The --token-key-file text: one key per line as "ID HEX" (--help) or "ID:HEX" (ID 0..255, HEX 64
// hex digits = 32 bytes), oldest first, the last one mints; '#' comments and
// blank lines are skipped (KeyRing::parse() judges the rest).
absl::StatusOr<token::KeyRing> parse_key_file(std::string_view text);
// Reads and parses the file; an empty path gives one random key (RAND_bytes).
absl::StatusOr<token::KeyRing> load_key_ring(const std::string& path);

// --next-hop "sip:IP:PORT;transport=tcp" as an endpoint and a transport.
struct NextHop {
    Endpoint endpoint;
    Transport transport = Transport::kUdp;  // TLS for sips: or transport=tls
    std::string host;  // the URI's host, without brackets (TLS: what the certificate must match)
};
absl::StatusOr<NextHop> parse_next_hop(std::string_view uri);

// The Redis server of --store redis://HOST:PORT, ready for hiredis: HOST
// "localhost" resolved once (getaddrinfo, IPv4 first), an IP literal as is.
struct RedisTarget {
    std::string ip;     // an IP literal: hiredis never resolves a name
    uint16_t port = 0;
    std::string label;  // "HOST:PORT" as written, for messages
};
absl::StatusOr<RedisTarget> resolve_redis_url(std::string_view url);

// Whether a TCP connection to `target` opens within `timeout` (control plane
// only: it blocks). The node warns at start when it does not.
bool redis_reachable(const RedisTarget& target, Duration timeout);

// The server context of the node's TLS listeners (--tls-cert, --tls-key,
// --tls-ca, --tls-verify): one per node, shared by every worker. Errors
// name the file and the fix (net/tls/tls_context.h).
absl::StatusOr<std::unique_ptr<net::tls::TlsContext>> make_tls_context(const Config& config);
// The client context of outbound TLS connections (--tls-ca trusted for
// server certificates; --tls-cert/--tls-key presented when a server asks).
absl::StatusOr<std::unique_ptr<net::tls::TlsContext>> make_tls_client_context(
    const Config& config);

class Node {
public:
    explicit Node(Config config);
    ~Node();  // stop()
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Loads the keys, builds the roles and starts the workers. On error
    // nothing runs and the message says what to fix.
    absl::Status start();
    // Stop accepting, flush, close, join. Idempotent.
    void stop();

    // The listeners as bound (after start()).
    std::vector<Listen> listening() const;
    // One line of the main counters summed over workers (after stop()).
    std::string stats_line() const;

    // Worker `index`'s SIP layer (after start(); its counters may be read
    // from any thread).
    const SipWorker& sip_worker(uint32_t index) const { return *sip_workers_[index]; }
    uint32_t worker_count() const { return context_.worker_count; }

private:
    // Fills the context's names and ports from the bound listeners.
    absl::Status learn_listeners();
    // Worker `worker.index()`'s handler, on that worker's thread.
    std::unique_ptr<net::Handler> make_sip_worker(net::Worker& worker);

    Config config_;
    token::KeyRing key_ring_;
    NodeContext context_;
    std::unique_ptr<state::BindingStore> store_;  // --store embedded
    bool redis_mode_ = false;
    RedisTarget redis_;  // --store redis:// only
    // Wall-clock time minus fe::Time (the monotonic clock), read at start.
    Duration wall_clock_offset_{};
    std::unique_ptr<WorkerMail> mail_;
    // With a tls listener: every TLS connection's context; outlives workers_.
    std::unique_ptr<net::tls::TlsContext> tls_context_;
    // With --tls-ca: outbound TLS connections' context; outlives workers_.
    std::unique_ptr<net::tls::TlsContext> tls_client_context_;
    // One per worker, each written once by its own thread in
    // make_sip_worker(); owned by workers_.
    std::vector<SipWorker*> sip_workers_;
    std::unique_ptr<net::Workers> workers_;
    bool stopped_ = false;
};

}  // namespace fe::cluster
