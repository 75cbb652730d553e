// File: net/runtime.h
//
// What a worker's handler may ask of the runtime it runs on: send, close,
// connect, post to another worker, timers and the loop's time. net::Worker
// implements it on io_uring; a unit test implements it with a fake that
// records sends and lets the test set the time, so the whole SIP data plane
// (cluster/sip_worker) runs without a socket.
//
//   class MyHandler : public fe::net::Handler {
//     public:
//       explicit MyHandler(fe::net::Runtime& runtime) : runtime_(runtime) {}
//       void on_datagram(fe::net::UdpSocketId s, const fe::Endpoint& from,
//                        std::string_view bytes, fe::Time now) override {
//           (void)runtime_.send_datagram(s, from, bytes);     // echo
//       }
//       ...
//     private:
//       fe::net::Runtime& runtime_;
//   };
//
// Every call is made on the worker's own thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/time/timer_wheel.h"
#include "net/handler.h"
#include "net/mailbox.h"

namespace fe::net::tls {
class TlsContext;
class TlsSession;
}  // namespace fe::net::tls

namespace fe::net {

enum class CloseMode : uint8_t {
    kAbort,      // drop queued sends and close now
    kAfterSend,  // stop receiving, send what is queued (bounded by close_flush_time_max), close
};

enum class [[nodiscard]] ConnectResult : uint8_t {
    kStarted,      // on_connection_open or on_connection_closed(kConnectFailed/...) follows
    kTableFull,    // connection_count_max connections already exist
    kBadAddress,   // the endpoint has no IP family
    kStopping,
    kTlsRefused,   // connect_tls(): a server context, or a peer_host that is not a host
    kBusy,         // connect_tls(): no send chunk for the ClientHello (counted)
};

// The listening sockets a worker is given (opened by Workers with SO_REUSEPORT).
struct WorkerSocket {
    Transport transport = Transport::kUdp;  // kUdp, kTcp, kTls, kWs or kWss
    int fd = -1;     // the worker takes ownership
    Endpoint local;
    // kTls and kWss: the server context every connection accepted here handshakes
    // with; shared by the workers, it outlives them.
    const tls::TlsContext* tls = nullptr;
};

class Runtime {
  public:
    virtual ~Runtime() = default;

    // Copies the parts into a send slot: the caller's bytes may be reused when
    // this returns.
    virtual SendResult send_datagram(UdpSocketId socket, const Endpoint& to,
                                     std::span<const std::string_view> parts) = 0;
    SendResult send_datagram(UdpSocketId socket, const Endpoint& to, std::string_view bytes) {
        return send_datagram(socket, to, std::span<const std::string_view>(&bytes, 1));
    }
    // Appends to the connection's send queue (copied).
    virtual SendResult send_stream(ConnectionId connection,
                                   std::span<const std::string_view> parts) = 0;
    SendResult send_stream(ConnectionId connection, std::string_view bytes) {
        return send_stream(connection, std::span<const std::string_view>(&bytes, 1));
    }
    // Starts closing: the handler's on_connection_closed(kLocal) runs from
    // inside this call, and the id is stale when it returns. False when the
    // id is already stale.
    virtual bool close(ConnectionId connection, CloseMode mode) = 0;
    // Opens a TCP connection to `to`; sends may be queued before it opens.
    virtual ConnectResult connect(const Endpoint& to, ConnectionId* connection) = 0;
    // Opens a TLS connection to `to`: TCP, then a client handshake with
    // `context` (a client context, shared, outliving the connection) that
    // checks the server's certificate against `peer_host` (RFC 5922 §7.3:
    // the host of the URI dialled, an IP literal included) and presents the
    // context's first certificate, if any, when the server asks. The handler's
    // on_connection_open (kTls) follows when the handshake completes, or
    // on_connection_closed (kTlsFailed, kConnectFailed, ...); sends may be
    // queued before (plaintext, encrypted when the handshake ends).
    virtual ConnectResult connect_tls(const Endpoint& to, const tls::TlsContext& context,
                                      std::string_view peer_host, ConnectionId* connection) = 0;
    // Why the last TLS session of this worker that failed did (one line,
    // e.g. "peer-certificate-invalid: unable to get local issuer certificate
    // (alert sent: unknown CA)"); valid until the next failure. For the
    // handler's on_connection_closed(kTlsFailed). Empty when none failed.
    virtual std::string_view last_tls_failure() const = 0;
    // An open TLS connection's session, for what its handshake proved: the
    // peer's authentication and RFC 5922 identities, the identity we served
    // (RFC 5923 binds connection reuse to them). Null for plain TCP, a
    // handshake not completed, or a stale id; valid until the connection
    // closes. Read only: sending goes through send_stream().
    virtual const tls::TlsSession* tls_session(ConnectionId connection) const = 0;
    // Posts to worker `to_index` (may be this one); its on_mailbox() runs on
    // its own thread.
    virtual PostResult post(uint32_t to_index, const MailboxItem& item) = 0;

    virtual time::TimerWheel& timer_wheel() = 0;
    // The time the loop read at the start of this turn.
    virtual Time now() const = 0;
    virtual uint32_t index() const = 0;
    // Local endpoint of each UDP socket and TCP listener, in listen-spec order.
    virtual std::span<const WorkerSocket> sockets() const = 0;
};

}  // namespace fe::net
