// File: cluster/sip_worker.h
//
// The SIP layer of one worker: the net::Handler that frames and parses what
// the worker's sockets receive and applies the RFC 5626 edge rules
// (core/outbound/edge.h) to it. It owns the worker's flow table; it answers
// keep-alives (CRLF on streams, STUN on UDP), adds Path to REGISTERs and hands
// them to the registrar (a call) or the next hop, routes requests whose Route
// carries one of our flow tokens down that flow (430 / 403 otherwise),
// forwards other requests to the proxy role or the next hop, and sends
// responses back over the flow named in our Via's `fl` parameter.
//
//   NodeContext context = ...;                      // shared, read-only
//   SipWorker handler(0, context, &registrar, nullptr);
//   // handed to net::Workers as worker 0's Handler; all calls on its thread
//
// A flow of another worker is reached through that worker's mailbox: the
// edited message is copied into a Delivery that the receiver owns and frees.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "cluster/config.h"
#include "cluster/node_limits.h"
#include "cluster/proxy_service.h"
#include "cluster/registrar_service.h"
#include "cluster/worker_store.h"
#include "core/base/endpoint.h"
#include "core/outbound/edge.h"
#include "core/sip/edit.h"
#include "core/sip/framing.h"
#include "core/sip/message.h"
#include "core/time/timer_wheel.h"
#include "core/token/flow_token.h"
#include "core/token/key_ring.h"
#include "net/handler.h"
#include "net/worker.h"
#include "state/flow_table.h"

namespace fe::state {
class BindingStore;
class RedisStore;
}  // namespace fe::state

namespace fe::cluster {

// What every worker of the node shares, read-only once the workers run.
struct NodeContext {
    const Config* config = nullptr;
    const token::KeyRing* key_ring = nullptr;
    std::string advertise_host;       // host of our Path / Record-Route / Via
    std::vector<uint16_t> ports;      // every port we listen on
    uint16_t udp_port = 0;            // our UDP port (first UDP listener), 0: none
    uint16_t tcp_port = 0;            // our TCP port (first TCP listener), 0: none
    bool has_next_hop = false;
    Endpoint next_hop;                // IP literal and port of --next-hop
    Transport next_hop_transport = Transport::kUdp;
    uint32_t worker_count = 1;
    // Flow-table sizing; generation_start is random per boot so tokens minted
    // by an earlier process with the same key name no flow of this one.
    uint32_t flow_count_max = state::kFlowCountMax;
    uint32_t generation_start = 1;
    // Worker 0 expires the store's bindings on its sweep (null: none).
    state::BindingStore* store = nullptr;
    // "HOST:PORT" of --store redis://HOST:PORT as the operator wrote it, for
    // the warnings worker 0 prints when Redis goes and comes back; empty
    // with the embedded store.
    std::string redis_label;
    // The node's start-up probe found Redis unreachable and said so.
    bool redis_down_at_start = false;
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
    net::Counter registers_forwarded;     // sent to the next hop
    net::Counter registers_rejected;      // 421 / 500 before forwarding
    net::Counter route_incoming;          // delivered down a flow (OB-EDGE-12)
    net::Counter route_outgoing;          // from the token's own flow (OB-EDGE-10)
    net::Counter route_ours_no_token;     // our Route removed (OB-EDGE-09)
    net::Counter route_bad_token;         // 403 (OB-EDGE-14)
    net::Counter route_flow_gone;         // 430 (OB-EDGE-15)
    net::Counter route_other_node;        // token of another node: no relay yet, 430
    net::Counter too_many_hops;           // 483
    net::Counter loops;                   // 482
    net::Counter forwarded_next_hop;      // requests sent to --next-hop
    net::Counter to_proxy;                // handed to the ProxyService
    net::Counter unavailable;             // 480: no proxy and no next hop
    net::Counter responses_forwarded;     // sent back down a flow
    net::Counter responses_not_ours;      // top Via not ours: dropped
    net::Counter responses_flow_gone;     // the flow of our Via is gone: dropped
    net::Counter deliveries_posted;       // to another worker's mailbox
    net::Counter deliveries_received;
    net::Counter deliveries_dropped;      // mailbox full
    net::Counter sends_failed;            // a send to a flow or the next hop was refused
    net::Counter flows_created;
    net::Counter flows_expired;           // idle past their limit (OB-FT-02)
    net::Counter flows_table_full;
    // Redis store (--store redis://), final values once the worker stopped.
    net::Counter store_unavailable;       // calls answered kUnavailable by the Redis store
    net::Counter store_connects;          // connections to Redis established
    net::Counter store_connect_failures;  // refused, failed or timed-out connects
    net::Counter store_disconnects;       // established connections lost
};

class SipWorker final : public net::Handler, public EdgeSender {
public:
    // `registrar` / `proxy` may be null (role absent or not built yet); they
    // are used only on this worker's thread and must outlive it.
    SipWorker(uint32_t index, const NodeContext& context, RegistrarService* registrar,
              ProxyService* proxy);
    ~SipWorker() override;
    SipWorker(const SipWorker&) = delete;
    SipWorker& operator=(const SipWorker&) = delete;

    // Mailbox item kinds.
    static constexpr uint32_t kMailStart = 1;     // arm the sweep timer (from the node)
    static constexpr uint32_t kMailDelivery = 2;  // words[0]: Delivery*, the receiver frees it
    // words[0]: std::string* holding a response for this worker's HomeProxy
    // (its branch id names this worker); the receiver frees it.
    static constexpr uint32_t kMailProxyResponse = 3;

    void on_datagram(net::Worker& worker, net::UdpSocketId socket, const Endpoint& from,
                     std::string_view bytes, Time now) override;
    size_t on_stream_data(net::Worker& worker, net::ConnectionId connection,
                          std::string_view bytes, Time now) override;
    void on_connection_open(net::Worker& worker, net::ConnectionId connection,
                            const Endpoint& peer, Transport transport, Time now) override;
    void on_connection_closed(net::Worker& worker, net::ConnectionId connection,
                              net::CloseReason reason, Time now) override;
    void on_mailbox(net::Worker& worker, const net::MailboxItem& item, Time now) override;
    void on_stop(net::Worker& worker, Time now) override;

    // The proxy role's way out (cluster/proxy_service.h): a URI with one of
    // our flow tokens goes down that flow (kFlowGone when it is gone on this
    // worker); any other sip URI with an IP literal goes to host:port over UDP.
    SendStatus send_request(std::span<const std::string_view> parts,
                            std::string_view route_uri) override;
    // Installs the proxy role once it is built (it needs this worker as its
    // EdgeSender); before the worker runs.
    void set_proxy(ProxyService* proxy) { proxy_ = proxy; }

    // Makes this worker's Redis store on its own thread (the ring accepts
    // polls from that thread only).
    using RedisFactory = absl::AnyInvocable<std::unique_ptr<state::RedisStore>(net::Worker&)>;
    // Before the worker runs: on kMailStart the worker makes its store with
    // `make` and installs it into `slot` (which its registrar and proxy
    // hold); on_stop() removes it again, answering its pending calls with
    // kUnavailable. `slot` must outlive the worker's thread.
    void set_redis_store(WorkerStore* slot, RedisFactory make);

    const EdgeStats& stats() const { return stats_; }
    // Live flows (this worker's thread, or after the worker stopped).
    size_t flow_count() const { return flows_.count(); }

private:
    struct Delivery;
    struct Source;
    struct ConnState;
    enum class [[nodiscard]] DeliverResult : uint8_t { kSent, kPosted, kGone, kFailed };

    // Receiving.
    void handle_message(const Source& source, std::string_view bytes, Time now);
    void handle_request(const Source& source, const sip::Message& request, Time now);
    void handle_register(const Source& source, const sip::Message& request, Time now);
    void handle_routed(const Source& source, const sip::Message& request,
                       const outbound::RouteDecision& route, Time now);
    void route_onward(const Source& source, const sip::Message& request, bool remove_top_route,
                      Time now);
    void handle_response(const sip::Message& response, Time now);
    void answer_stun(net::UdpSocketId socket, const Endpoint& from, std::string_view bytes,
                     Time now);
    void answer_malformed(const Source& source, std::string_view bytes, sip::ParseError error);

    // Forwarding.
    struct ForwardEdits;
    bool check_hops(const Source& source, const sip::Message& request, ForwardEdits& what);
    bool apply_forward_edits(const Source& source, const sip::Message& request,
                             const ForwardEdits& what, Transport out_transport,
                             sip::EditList& edits);
    void send_to_next_hop(const Source& source, const sip::Message& request,
                          sip::EditList& edits);
    size_t gather(sip::EditList& edits, std::array<std::string_view, net::kSendPartCountMax>& parts);

    // Flows.
    token::Fields fields_of(const Source& source) const;
    std::string_view mint_token(const token::Fields& fields, std::span<char> out);
    enum class FromProxy : bool { kNo, kYes };
    DeliverResult deliver(const token::Fields& target, std::span<const std::string_view> parts,
                          uint32_t flow_timer_s, std::string_view failure,
                          const token::Fields* reply_to, FromProxy from_proxy = FromProxy::kNo);
    void to_proxy_response(const sip::Message& response, std::string_view branch, Time now);
    void answer_proxy_branch_flow_gone(std::string_view request_bytes, Time now);
    DeliverResult deliver_local(const token::Fields& target,
                                std::span<const std::string_view> parts, uint32_t flow_timer_s);
    void reply(const Source& source, std::string_view bytes);
    void respond(const Source& source, const sip::Message& request, uint16_t status,
                 std::string_view reason = {}, std::span<const std::string_view> extra = {});
    void flow_closed(state::FlowHandle handle, const state::FlowEntry& entry, Time now);
    void sweep(Time now);
    static void on_sweep_timer(time::Timer& timer, Time now);
    bool next_hop_connection(net::ConnectionId& out);
    void report_redis_health();
    void remove_redis_store();

    outbound::EdgeAddress our_address(Transport transport) const;

    const uint32_t index_;
    const NodeContext& context_;
    RegistrarService* const registrar_;
    ProxyService* proxy_;
    // The worker this handler serves; set by the first callback (every
    // callback runs on that worker's thread).
    net::Worker* worker_ = nullptr;
    outbound::EdgeIdentity identity_;
    state::FlowTable flows_;
    // Per connection slot (net ConnectionId::index): framing state and flow.
    std::vector<ConnState> connections_;
    // Local port of each UDP socket, by UdpSocketId::index.
    std::vector<uint16_t> udp_socket_ports_;
    // Inserted text of the message being forwarded; reset per message.
    std::unique_ptr<sip::EditArena> arena_;
    // An edited message copied whole (for a mailbox delivery, or when it has
    // more parts than one send takes).
    std::unique_ptr<char[]> scratch_;
    // Responses this worker writes itself.
    std::unique_ptr<char[]> response_buffer_;
    time::Timer sweep_timer_;
    // Our TCP connection to --next-hop, while next_hop_connected_.
    net::ConnectionId next_hop_connection_;
    bool next_hop_connected_ = false;
    // Connections the idle sweep decided to close, closed after the sweep
    // (the flow table must not see an erase from inside expire()).
    std::vector<net::ConnectionId> to_close_;
    bool stopping_ = false;
    // Redis mode only: the slot the roles use, how to fill it, and the store
    // in it (non-null exactly while installed, between kMailStart and on_stop).
    WorkerStore* store_slot_ = nullptr;
    RedisFactory make_redis_store_;
    state::RedisStore* redis_ = nullptr;
    // Worker 0's last reported Redis health: true after "unreachable" was
    // printed, until "reachable again" is; failures_seen_ is the count of
    // connect failures and disconnects when last looked at.
    bool redis_down_reported_ = false;
    uint64_t redis_failures_seen_ = 0;
    EdgeStats stats_;
};

}  // namespace fe::cluster
