// File: cluster/worker_context.h
//
// What every SIP worker of a node shares, read-only once the workers run
// (NodeContext), and the counters each worker keeps (EdgeStats). The node
// (cluster/node) fills the context completely, bound ports included, before
// it starts any worker.
//
//   fe::cluster::NodeContext context = ...;            // by Node::start()
//   fe::outbound::EdgeIdentity me = context.identity();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/config.h"
#include "cluster/proxy.h"
#include "core/base/endpoint.h"
#include "core/outbound/edge.h"
#include "core/outbound/registrar.h"
#include "core/outbound/router.h"
#include "core/token/key_ring.h"
#include "net/tls/tls_context.h"
#include "net/worker.h"
#include "state/binding_store.h"
#include "state/limits.h"

namespace fe::cluster {

class WorkerMail;

struct NodeContext {
    const Config* config = nullptr;
    const token::KeyRing* key_ring = nullptr;
    // Host of our Path / Record-Route / Via.
    std::string advertise_host;
    // Every port we listen on, as bound (a --listen port 0 is the chosen one).
    std::vector<uint16_t> ports;
    // Other hosts naming this node: the listen addresses.
    std::vector<std::string> aliases;
    uint16_t udp_port = 0;  // our UDP port (first UDP listener), 0: none
    uint16_t tcp_port = 0;  // our TCP port (first TCP listener), 0: none
    uint16_t tls_port = 0;  // our TLS port (first TLS listener), 0: none
    uint16_t ws_port = 0;   // our WebSocket port (first ws listener), 0: none
    uint16_t wss_port = 0;  // our secure WebSocket port (first wss listener), 0: none
    outbound::Roles roles;
    Endpoint next_hop;      // IP literal and port of --next-hop, when roles.has_next_hop
    Transport next_hop_transport = Transport::kUdp;
    // The --next-hop URI's host (an IP literal, no brackets): over TLS the
    // next hop's certificate must match it (RFC 5922 §7.3).
    std::string next_hop_host;
    // With --tls-ca: the client context of outbound TLS connections (the
    // next hop, sips: and transport=tls URIs); null: none are made.
    const net::tls::TlsContext* tls_client = nullptr;
    uint32_t worker_count = 1;
    // Flow-table sizing; generation_start is random per boot so tokens minted
    // by an earlier process with the same key name no flow of this one.
    uint32_t flow_count_max = state::kFlowCountMax;
    uint32_t generation_start = 1;
    // The embedded store every worker shares (null with Redis: each worker
    // makes its own). Worker 0 expires its bindings on its sweep.
    state::BindingStore* store = nullptr;
    // "HOST:PORT" of --store redis://HOST:PORT as the operator wrote it, for
    // the warnings worker 0 prints when Redis goes and comes back; empty
    // with the embedded store.
    std::string redis_label;
    // The node's start-up probe found Redis unreachable and said so.
    bool redis_down_at_start = false;
    // The registrar role's settings (when roles.registrar).
    outbound::RegistrarConfig registrar;
    // The home proxy's settings (when roles.proxy); worker_index is set per
    // worker.
    HomeProxyConfig proxy;
    // Rings between the workers.
    WorkerMail* mail = nullptr;

    outbound::EdgeIdentity identity() const {
        return outbound::EdgeIdentity{.host = advertise_host, .ports = ports,
                                      .aliases = aliases, .domains = config->domains};
    }
    // Our address for a Path / Record-Route / Via on `transport`: its port,
    // or the other one when we do not listen on it.
    // A URI (Path, Record-Route) takes `scheme`: sips where the request's
    // Request-URI was sips.
    outbound::EdgeAddress address(Transport transport,
                                  syntax::UriScheme scheme = syntax::UriScheme::kSip) const {
        const uint16_t port = outbound::edge_port_for(
            transport, {.udp = udp_port, .tcp = tcp_port, .tls = tls_port, .ws = ws_port,
                        .wss = wss_port});
        return outbound::EdgeAddress{advertise_host, port, transport, scheme};
    }
};

// Counters of one worker, readable from any thread (stats, shutdown line).
struct alignas(net::kCacheLineSize) EdgeStats {
    net::Counter requests;
    net::Counter responses;
    net::Counter pings_answered;          // CRLF CRLF -> CRLF (OB-EDGE-17)
    net::Counter stun_answered;           // Binding success / 420 (OB-STUN-02)
    net::Counter stun_dropped;            // not a Binding request, or malformed
    net::Counter non_sip_dropped;         // 0x00/0x01 first byte without the cookie (OB-STUN-09)
    net::Counter malformed_requests;      // answered 400 (or 505/513)
    net::Counter malformed_responses;     // dropped
    net::Counter stream_framing_errors;   // connection closed after a framing error
    net::Counter registers_local;         // handed to the registrar role
    net::Counter registers_forwarded;     // sent to the next hop or onward
    net::Counter registers_rejected;      // 421 / 500 before forwarding
    net::Counter route_incoming;          // delivered down a flow (OB-EDGE-12)
    net::Counter route_bad_token;         // 403 (OB-EDGE-14)
    net::Counter route_flow_gone;         // 430 (OB-EDGE-15)
    net::Counter route_other_node;        // token of another node: no relay yet, 430
    net::Counter too_many_hops;           // 483
    net::Counter loops;                   // 482
    net::Counter forwarded_next_hop;      // requests sent to --next-hop
    net::Counter forwarded_uri;           // requests sent to a Route / Request-URI
    net::Counter to_proxy;                // handed to the home proxy
    net::Counter unavailable;             // 404 / 403: nothing here routes it
    net::Counter responses_forwarded;     // sent back down a flow
    net::Counter responses_not_ours;      // top Via not ours: dropped
    net::Counter responses_flow_gone;     // the flow of our Via is gone: dropped
    net::Counter deliveries_posted;       // to another worker's ring
    net::Counter dispatched;              // a trunk's request handed to its Call-ID's worker
    net::Counter deliveries_received;
    net::Counter deliveries_dropped;      // ring full
    net::Counter sends_failed;            // a send to a flow or the next hop was refused
    net::Counter connects_failed;         // an outbound link that never opened
    net::Counter flows_created;
    net::Counter flows_expired;           // idle past their limit (OB-FT-02)
    net::Counter flows_table_full;
    // Redis store (--store redis://), final values once the worker stopped.
    net::Counter store_unavailable;       // calls answered kUnavailable by the Redis store
    net::Counter store_connects;          // connections to Redis established
    net::Counter store_connect_failures;  // refused, failed or timed-out connects
    net::Counter store_disconnects;       // established connections lost
};

}  // namespace fe::cluster
