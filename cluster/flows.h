// File: cluster/flows.h
//
// One worker's flows (RFC 5626 §3.2): its state::FlowTable, the framing state
// of each of its connections, how a flow is named by a token, and sending
// down a flow of this worker. The SIP worker (cluster/sip_worker) asks it
// which flow a message came in on and where a token's flow is; it decides
// nothing about SIP.
//
//   fe::cluster::WorkerFlows flows(worker_index, context);
//   std::optional<Source> from = flows.datagram_source(socket, remote, now);
//   token::Fields f = flows.fields_of(*from);                 // what a token names
//   switch (flows.send(runtime, f, parts, 0)) { case SendOutcome::kGone: ... }
//
// All calls on the worker's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cluster/worker_context.h"
#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/sip/framing.h"
#include "core/token/flow_token.h"
#include "net/runtime.h"
#include "state/flow_table.h"

namespace fe::cluster {

// Where a message came from: the flow and how to answer on it. The flow
// lives in worker `worker`'s table: this one's, or the one that received a
// trunk's request and handed it here (SipWorker's dispatch by Call-ID).
struct Source {
    Transport transport = Transport::kUdp;
    net::ConnectionId connection;  // streams, when the flow is this worker's
    net::UdpSocketId socket;       // UDP: the same index names the same port on every worker
    Endpoint remote;
    state::FlowHandle flow;
    uint32_t worker = 0;
};

enum class [[nodiscard]] SendOutcome : uint8_t {
    kSent,
    kGone,    // no such flow (closed, expired, or its connection is closing)
    kFailed,  // the flow is there but refused the bytes (send queue, slots)
};

// A flow that just ended, for whoever must forget it (the registrar).
struct EndedFlow {
    token::Fields fields;
    bool outbound = false;  // it carried a REGISTER with reg-id (kFlowOutbound)
};

class WorkerFlows {
  public:
    WorkerFlows(uint32_t worker_index, const NodeContext& context);

    // The worker's listening sockets: which UDP socket has which port.
    void set_udp_sockets(std::span<const net::WorkerSocket> sockets);

    // UDP: the flow of (remote, socket), made on first sight; nullopt when
    // the table is full (counted by the caller).
    std::optional<Source> datagram_source(net::UdpSocketId socket, const Endpoint& remote,
                                          Time now, bool& created);
    // A keep-alive from (remote, socket) is activity on its flow if there is
    // one; it makes none (RFC 5626 §4.4.2).
    void touch_udp(net::UdpSocketId socket, const Endpoint& remote, Time now);

    // A connection opened (accepted or connected): its flow. False when the
    // table is full: the caller closes the connection.
    bool open_connection(net::ConnectionId connection, const Endpoint& peer, Transport transport,
                         Time now);
    // The connection's flow and framing state; nullopt when the id is not
    // one of ours (stale, or its flow could not be made).
    std::optional<Source> stream_source(net::ConnectionId connection) const;
    sip::StreamScan* stream_scan(net::ConnectionId connection);
    // The connection closed: its flow ends (old tokens now get 430,
    // OB-EDGE-15). nullopt when it had none.
    std::optional<EndedFlow> close_connection(net::ConnectionId connection);

    // Only for a flow of this worker (Source::worker).
    void touch(const Source& source, Time now) { (void)table_.touch(source.flow, now); }
    void mark_outbound(const Source& source) {
        if (source.worker == worker_index_) {
            (void)table_.set_flags(source.flow, state::kFlowOutbound);
        }
    }
    // Whether the source's flow still exists (a handler may close it).
    bool alive(const Source& source) const { return table_.find(source.flow) != nullptr; }

    // A request from the user `user_hash` (its From URI, hashed) came in on
    // the flow: true once the flow has carried more than one user (a trunk,
    // kFlowTrunk), and from then on. Only for a flow of this worker.
    bool note_user(const Source& source, uint32_t user_hash);

    // What a token naming the flow carries (node, worker, slot, generation,
    // transport; for UDP the remote address and local socket).
    token::Fields fields_of(const Source& source) const;

    // Holds a flow of this worker to a keep-alive interval (OB-FT-02): its
    // idle limit becomes flow_timer_s plus grace. False when it is gone.
    bool hold(const token::Fields& target, uint32_t flow_timer_s);

    // Down a flow of this worker. A non-zero flow_timer_s holds the flow to
    // that keep-alive interval from now on (OB-FT-02).
    SendOutcome send(net::Runtime& runtime, const token::Fields& target,
                     std::span<const std::string_view> parts, uint32_t flow_timer_s);
    // Back to where `source` came from.
    SendOutcome reply(net::Runtime& runtime, const Source& source,
                      std::span<const std::string_view> parts);

    // Flows idle past their limit (a slice of the table per call): UDP
    // flows end here and are passed to `ended`; a stream flow's connection is
    // closed, and close_connection() ends it.
    template <typename Ended>
    size_t expire(net::Runtime& runtime, Time now, Duration interval, Ended&& ended);

    size_t count() const { return table_.count(); }
    // The local port of each UDP socket, by UdpSocketId::index.
    const std::vector<uint16_t>& udp_socket_ports() const { return udp_socket_ports_; }

  private:
    struct Connection {
        uint32_t generation = 0;  // of the connection using the slot; 0: none
        state::FlowHandle flow;
        sip::StreamScan scan;
        uint32_t user_hash = 0;   // the first user seen on it (note_user()); 0: none yet
    };
    Connection* find_connection(net::ConnectionId connection);
    const Connection* find_connection(net::ConnectionId connection) const;
    token::Fields fields_of(state::FlowHandle handle, const state::FlowEntry& entry) const;

    const uint32_t worker_index_;
    const NodeContext& context_;
    state::FlowTable table_;
    // By connection slot (net::ConnectionId::index).
    std::vector<Connection> connections_;
    std::vector<uint16_t> udp_socket_ports_;
    // Connections the sweep closes once the table's walk is over (the table
    // must not see an erase from inside expire()).
    std::vector<net::ConnectionId> to_close_;
};

template <typename Ended>
size_t WorkerFlows::expire(net::Runtime& runtime, Time now, Duration interval, Ended&& ended) {
    const size_t count = table_.expire(
        now, table_.sweep_budget(interval),
        [&](state::FlowHandle handle, const state::FlowEntry& entry) {
            if (entry.is_udp()) {
                ended(EndedFlow{fields_of(handle, entry), entry.has(state::kFlowOutbound)});
                return state::ExpireDecision::kErase;
            }
            to_close_.push_back(net::ConnectionId{entry.connection_id, entry.cookie});
            return state::ExpireDecision::kClosing;
        });
    for (net::ConnectionId connection : to_close_) {
        // on_connection_closed() follows from inside close(): it ends the flow.
        (void)runtime.close(connection, net::CloseMode::kAbort);
    }
    to_close_.clear();
    return count;
}

}  // namespace fe::cluster
