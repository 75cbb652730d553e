#include "cluster/flows.h"

#include "core/base/assert.h"
#include "net/limits.h"

namespace fe::cluster {

WorkerFlows::WorkerFlows(uint32_t worker_index, const NodeContext& context)
    : worker_index_(worker_index),
      context_(context),
      table_([&] {
          state::FlowTableConfig c;
          c.generation_start = context.generation_start;
          c.flow_count_max = context.flow_count_max;
          // A worker's stream flows are its connections: no more than its
          // io_uring file table holds.
          c.stream_flow_count_max = net::kConnectionCountMax;
          return c;
      }()) {}

void WorkerFlows::set_udp_sockets(std::span<const net::WorkerSocket> sockets) {
    udp_socket_ports_.clear();
    for (const net::WorkerSocket& s : sockets) {
        if (s.transport == Transport::kUdp) {
            udp_socket_ports_.push_back(s.local.port);
        }
    }
}

std::optional<Source> WorkerFlows::datagram_source(net::UdpSocketId socket,
                                                   const Endpoint& remote, Time now,
                                                   bool& created) {
    created = false;
    const auto local = static_cast<uint16_t>(socket.index);
    std::optional<state::FlowHandle> flow = table_.find_udp(remote, local);
    if (flow) {
        (void)table_.touch(*flow, now);
    } else {
        const state::FlowCreated made = table_.create_udp(remote, local, now);
        if (made.result != state::FlowResult::kOk) {
            return std::nullopt;
        }
        created = true;
        flow = made.handle;
    }
    return Source{.transport = Transport::kUdp, .connection = {}, .socket = socket,
                  .remote = remote, .flow = *flow, .worker = worker_index_};
}

void WorkerFlows::touch_udp(net::UdpSocketId socket, const Endpoint& remote, Time now) {
    if (auto flow = table_.find_udp(remote, static_cast<uint16_t>(socket.index))) {
        (void)table_.touch(*flow, now);
    }
}

bool WorkerFlows::open_connection(net::ConnectionId connection, const Endpoint& peer,
                                  Transport transport, Time now) {
    if (connection.index >= connections_.size()) {
        connections_.resize(connection.index + 1);
    }
    Connection& conn = connections_[connection.index];
    conn = Connection{};
    if (auto stale = table_.find_by_connection(connection.index)) {
        // The previous connection in this slot closed without our seeing it:
        // end its flow so its tokens go stale (OB-EDGE-04).
        FE_BUG(true, "a connection slot reopened with its old flow alive");
        (void)table_.erase(*stale);
    }
    const state::FlowCreated made = table_.create_stream(connection.index, transport, now, peer);
    if (made.result != state::FlowResult::kOk) {
        return false;
    }
    (void)table_.set_cookie(made.handle, connection.generation);
    conn.generation = connection.generation;
    conn.flow = made.handle;
    return true;
}

WorkerFlows::Connection* WorkerFlows::find_connection(net::ConnectionId connection) {
    if (connection.index >= connections_.size() || connection.generation == 0 ||
        connections_[connection.index].generation != connection.generation) {
        return nullptr;
    }
    return &connections_[connection.index];
}

const WorkerFlows::Connection* WorkerFlows::find_connection(net::ConnectionId connection) const {
    return const_cast<WorkerFlows*>(this)->find_connection(connection);
}

std::optional<Source> WorkerFlows::stream_source(net::ConnectionId connection) const {
    const Connection* conn = find_connection(connection);
    if (conn == nullptr) {
        return std::nullopt;
    }
    const state::FlowEntry* entry = table_.find(conn->flow);
    if (entry == nullptr) {
        return std::nullopt;
    }
    return Source{.transport = entry->transport, .connection = connection, .socket = {},
                  .remote = entry->remote, .flow = conn->flow, .worker = worker_index_};
}

sip::StreamScan* WorkerFlows::stream_scan(net::ConnectionId connection) {
    Connection* conn = find_connection(connection);
    return conn == nullptr ? nullptr : &conn->scan;
}

std::optional<EndedFlow> WorkerFlows::close_connection(net::ConnectionId connection) {
    Connection* conn = find_connection(connection);
    if (conn == nullptr) {
        return std::nullopt;
    }
    std::optional<EndedFlow> ended;
    if (const state::FlowEntry* entry = table_.find(conn->flow)) {
        ended = EndedFlow{fields_of(conn->flow, *entry), entry->has(state::kFlowOutbound)};
        (void)table_.erase(conn->flow);  // old tokens now get 430 (OB-EDGE-15)
    }
    *conn = Connection{};
    return ended;
}

token::Fields WorkerFlows::fields_of(state::FlowHandle handle,
                                     const state::FlowEntry& entry) const {
    token::Fields f;
    f.node_id = context_.config->node_id;
    f.worker_index = static_cast<uint8_t>(worker_index_);
    f.slot = handle.slot;
    f.generation = handle.generation;
    f.transport = entry.transport;
    if (entry.is_udp()) {
        f.remote = entry.remote;
        f.local_socket_index = entry.local_socket;
    }
    return f;
}

bool WorkerFlows::note_user(const Source& source, uint32_t user_hash) {
    FE_ASSERT(source.worker == worker_index_);
    if (user_hash == 0) {
        user_hash = 1;  // 0 means "none seen yet"
    }
    const state::FlowEntry* entry = table_.find(source.flow);
    if (entry == nullptr) {
        return false;
    }
    if (entry->has(state::kFlowTrunk)) {
        return true;
    }
    // UDP keeps the first user in the entry's cookie (unused for UDP);
    // a stream in its connection's state (the cookie holds its generation).
    uint32_t* first = nullptr;
    uint32_t udp_first = entry->cookie;
    if (entry->is_udp()) {
        first = &udp_first;
    } else if (Connection* conn = find_connection(source.connection)) {
        first = &conn->user_hash;
    } else {
        return false;
    }
    if (*first == 0) {
        *first = user_hash;
        if (entry->is_udp()) {
            (void)table_.set_cookie(source.flow, user_hash);
        }
        return false;
    }
    if (*first == user_hash) {
        return false;
    }
    (void)table_.set_flags(source.flow, state::kFlowTrunk);
    return true;
}

token::Fields WorkerFlows::fields_of(const Source& source) const {
    token::Fields f;
    f.node_id = context_.config->node_id;
    f.worker_index = static_cast<uint8_t>(source.worker);
    f.slot = source.flow.slot;
    f.generation = source.flow.generation;
    f.transport = source.transport;
    if (source.transport == Transport::kUdp) {
        f.remote = source.remote;
        f.local_socket_index = static_cast<uint16_t>(source.socket.index);
    }
    return f;
}

SendOutcome WorkerFlows::send(net::Runtime& runtime, const token::Fields& target,
                              std::span<const std::string_view> parts, uint32_t flow_timer_s) {
    FE_ASSERT(target.worker_index == worker_index_);
    const state::FlowHandle handle{target.slot, target.generation};
    const state::FlowEntry* entry = table_.find(handle);
    if (entry == nullptr || entry->transport != target.transport ||
        entry->has(state::kFlowClosing)) {
        return SendOutcome::kGone;
    }
    net::SendResult sent;
    if (entry->is_udp()) {
        sent = runtime.send_datagram(net::UdpSocketId{entry->local_socket}, entry->remote, parts);
    } else {
        sent = runtime.send_stream(net::ConnectionId{entry->connection_id, entry->cookie}, parts);
    }
    if (sent == net::SendResult::kStale || sent == net::SendResult::kClosing) {
        return SendOutcome::kGone;
    }
    if (sent != net::SendResult::kQueued) {
        return SendOutcome::kFailed;
    }
    if (flow_timer_s != 0) {
        (void)hold(target, flow_timer_s);  // the UA now pings at this interval
    }
    return SendOutcome::kSent;
}

bool WorkerFlows::hold(const token::Fields& target, uint32_t flow_timer_s) {
    FE_ASSERT(target.worker_index == worker_index_);
    const state::FlowHandle handle{target.slot, target.generation};
    const state::FlowEntry* entry = table_.find(handle);
    if (entry == nullptr || entry->transport != target.transport) {
        return false;
    }
    // A WebSocket UA keeps its flow alive with WebSocket PING/PONG, not
    // CRLF (RFC 7118 defines no CRLF keep-alive; JsSIP sends none), and
    // refreshes its registration well within the stream idle limit: its flow
    // keeps that limit instead of being closed Flow-Timer seconds after its
    // last SIP message. Liveness is net/'s instead: an idle WebSocket is
    // sent a PING every ws_ping_interval and closed when it stops answering
    // (net/worker_ws.cc), which ends the flow.
    if (target.transport != Transport::kWs && target.transport != Transport::kWss) {
        (void)table_.set_flow_timer(handle, seconds(flow_timer_s));
    }
    (void)table_.set_flags(handle, state::kFlowOutbound);
    return true;
}

SendOutcome WorkerFlows::reply(net::Runtime& runtime, const Source& source,
                               std::span<const std::string_view> parts) {
    const net::SendResult sent =
        source.transport == Transport::kUdp
            ? runtime.send_datagram(source.socket, source.remote, parts)
            : runtime.send_stream(source.connection, parts);
    if (sent == net::SendResult::kStale || sent == net::SendResult::kClosing) {
        return SendOutcome::kGone;
    }
    return sent == net::SendResult::kQueued ? SendOutcome::kSent : SendOutcome::kFailed;
}

}  // namespace fe::cluster
