// File: cluster/sip_worker.h
//
// The SIP layer of one worker: the net::Handler that frames and parses what
// the worker's sockets receive, asks the router (core/outbound/router.h)
// where each message goes, and carries that out. It answers keep-alives
// (CRLF on streams, STUN on UDP), hands REGISTERs to its registrar and
// out-of-dialog requests to its home proxy (both built here, on the worker's
// thread), forwards the rest statelessly (down a flow, to the next hop, to a
// URI), sends responses back over the flow our Via names, and is the proxy's
// way out (ProxySender).
//
//   fe::net::Workers workers(config, [&](fe::net::Worker& w) {
//       return std::make_unique<fe::cluster::SipWorker>(w, context, nullptr);
//   });
//
// Parts, each in its own file: WorkerFlows (flows.h: the flow table and
// sending down a flow), Forwarder (forwarder.h: the edits of a stateless
// forward), OutboundLinks (links.h: URIs to destinations and outbound
// connections), WorkerMail (worker_mail.h: parcels to other workers).
//
// A flow of another worker is reached through a parcel on the ring to that
// worker; when the flow turns out gone there, the request's 430 comes back
// as a response like any other (RFC 5626 §5.3.1, OB-430-02).
//
// Every call runs on the worker's thread; the runtime may be net::Worker or a
// test's fake (tests/unit/cluster/sip_worker_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "cluster/flows.h"
#include "cluster/forwarder.h"
#include "cluster/links.h"
#include "cluster/proxy.h"
#include "cluster/proxy_service.h"
#include "cluster/registrar.h"
#include "cluster/worker_context.h"
#include "cluster/worker_mail.h"
#include "cluster/worker_store.h"
#include "core/outbound/router.h"
#include "core/sip/message.h"
#include "core/time/timer_wheel.h"
#include "net/handler.h"
#include "net/runtime.h"
#include "state/redis_store.h"

namespace fe::cluster {

class SipWorker final : public net::Handler, public ProxySender {
public:
    // Built on the worker's thread, before its loop runs. `redis` is this
    // worker's own Redis store (--store redis://), or null to use the node's
    // embedded store (context.store). Arms the sweep timer at once.
    SipWorker(net::Runtime& runtime, const NodeContext& context,
              std::unique_ptr<state::RedisStore> redis);
    ~SipWorker() override;
    SipWorker(const SipWorker&) = delete;
    SipWorker& operator=(const SipWorker&) = delete;

    // net::Handler.
    void on_datagram(net::Runtime& runtime, net::UdpSocketId socket, const Endpoint& from,
                     std::string_view bytes, Time now) override;
    void on_stream_message(net::Runtime& runtime, net::ConnectionId connection,
                           std::string_view message, Time now) override;
    size_t on_stream_data(net::Runtime& runtime, net::ConnectionId connection,
                          std::string_view bytes, Time now) override;
    void on_connection_open(net::Runtime& runtime, net::ConnectionId connection,
                            const Endpoint& peer, Transport transport, Time now) override;
    void on_connection_closed(net::Runtime& runtime, net::ConnectionId connection,
                              net::CloseReason reason, Time now) override;
    void on_mailbox(net::Runtime& runtime, const net::MailboxItem& item, Time now) override;
    void on_stop(net::Runtime& runtime, Time now) override;

    // ProxySender: the home proxy's way out.
    SendStatus send_to_flow(const token::Fields& flow,
                            std::span<const std::string_view> parts) override;
    SendStatus send_to_uri(std::string_view uri, std::span<const std::string_view> parts) override;

    const EdgeStats& stats() const { return stats_; }
    // Live flows (this worker's thread, or after the worker stopped).
    size_t flow_count() const { return flows_.count(); }
    const HomeProxy* proxy() const { return proxy_.get(); }
    // Store calls refused because this worker's Redis store was not there
    // (after on_stop).
    uint64_t redis_refused_count() const { return redis_slot_.refused_count(); }
    const Registrar* registrar() const { return registrar_.get(); }

private:
    enum class [[nodiscard]] Delivery : uint8_t { kSent, kPosted, kGone, kFailed };

    // Receiving.
    void handle_message(const Source& source, std::string_view bytes, Time now);
    // A trunk's request whose Call-ID another worker owns goes there (true).
    bool dispatch(const Source& source, const sip::Message& request);
    void handle_request(const Source& source, const sip::Message& request, Time now);
    void handle_response(const sip::Message& response, Time now);
    void answer_stun(net::UdpSocketId socket, const Endpoint& from, std::string_view bytes,
                     Time now);
    void answer_malformed(const Source& source, std::string_view bytes, sip::ParseError error);

    // Carrying out the router's decision.
    void respond_route(const Source& source, const sip::Message& request,
                       const outbound::RequestRoute& route);
    void to_registrar(const Source& source, const sip::Message& request,
                      const outbound::RequestRoute& route, Time now);
    void to_proxy(const Source& source, const sip::Message& request,
                  const outbound::RequestRoute& route, Time now);
    void forward(const Source& source, const sip::Message& request,
                 const outbound::RequestRoute& route, Time now);
    void forward_response_to_flow(const sip::Message& response, const token::Fields& flow,
                                  bool flow_timer);

    // Flows and delivery.
    Delivery deliver(const token::Fields& target, std::span<const std::string_view> parts,
                     uint32_t flow_timer_s);
    Delivery send_to_destination(std::string_view uri, std::span<const std::string_view> parts);
    void deliver_parcel(const ParcelHeader& header, std::string_view message, Time now);
    void answer_gone_request(std::string_view request_bytes, Time now);
    std::string_view mint(const token::Fields& fields, std::span<char> out);
    void respond(const Source& source, const sip::Message& request, uint16_t status,
                 std::string_view reason = {}, std::span<const std::string_view> extra = {});
    void reply(const Source& source, std::string_view bytes);
    void respond_on(const Source& source, const token::Fields& from, std::string_view response,
                    uint32_t flow_timer_s);
    void flow_ended(const EndedFlow& ended, Time now);
    void sweep(Time now);
    static void on_sweep_timer(time::Timer& timer, Time now);
    void report_redis_health();
    void remove_redis_store();

    net::Runtime& runtime_;
    const uint32_t index_;
    const NodeContext& context_;
    const outbound::EdgeIdentity identity_;
    WorkerFlows flows_;
    Forwarder forwarder_;
    OutboundLinks links_;
    // Tokens minted and verified lately (the router, the proxy and mint()
    // use it); before the roles, which hold a pointer to it.
    token::TokenCache tokens_;
    // The store the roles use: the node's embedded one, or this slot holding
    // this worker's Redis store (emptied on_stop, when calls answer
    // kUnavailable).
    WorkerStore redis_slot_;
    state::RedisStore* redis_ = nullptr;  // in redis_slot_, until on_stop
    std::unique_ptr<Registrar> registrar_;
    std::unique_ptr<HomeProxy> proxy_;
    // Responses this worker writes itself.
    std::unique_ptr<char[]> response_buffer_;
    time::Timer sweep_timer_;
    bool stopping_ = false;
    // Worker 0's last reported Redis health: true after "unreachable" was
    // printed, until "reachable again" is; failures_seen_ is the count of
    // connect failures and disconnects when last looked at.
    bool redis_down_reported_ = false;
    uint64_t redis_failures_seen_ = 0;
    // When an outbound TLS failure was last printed (rate limit).
    Time tls_failure_logged_{};
    EdgeStats stats_;
};

}  // namespace fe::cluster
