// File: net/handler.h
//
// The contract between the io_uring runtime and the layer above it (the SIP
// node in cluster/). net/ moves bytes and runs timers; the Handler frames and
// parses. Each worker has its own Handler, called only on that worker's thread,
// and a handler never blocks (STYLE §8).
//
//   class EchoHandler : public fe::net::Handler {
//       size_t on_stream_data(Runtime& w, ConnectionId c, std::string_view bytes,
//                             Time) override {
//           size_t end = bytes.rfind('\n');
//           if (end == std::string_view::npos) { return 0; }   // wait for more
//           (void)w.send_stream(c, bytes.substr(0, end + 1));
//           return end + 1;                                   // whole lines only
//       }
//       ...
//   };
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "net/mailbox.h"

namespace fe::net {

class Runtime;

// Index of a UDP socket within its worker (the order of the listen specs).
struct UdpSocketId {
    uint32_t index = 0;
    friend bool operator==(UdpSocketId, UdpSocketId) = default;
};

// A connection: its slot (which is also its direct descriptor index in the
// worker's ring) and the slot's generation, so that an id kept past the
// connection's close matches nothing.
struct ConnectionId {
    uint32_t index = 0;
    uint32_t generation = 0;
    friend bool operator==(ConnectionId, ConnectionId) = default;
};

enum class CloseReason : uint8_t {
    kLocal,              // Worker::close() by the layer above
    kPeerClosed,         // the peer closed (recv returned 0)
    kError,              // a socket error (ECONNRESET, EPIPE, ...)
    kPartialTimeout,     // slowloris: a partial message did not complete in time
    kPartialTooLarge,    // a partial message outgrew kPartialMessageSizeMax
    kNoPartialBuffer,    // the worker's partial buffer pool is exhausted
    kSendQueueOverflow,  // a slow reader: the send queue passed its byte limit
    kConnectFailed,      // outbound connect was refused or failed
    kConnectTimeout,     // outbound connect took longer than kConnectTimeMax
    kShutdown,           // the worker is stopping
    // TLS listeners. A connection closed before its handshake completed was
    // never opened for the handler, so it hears of these only after one.
    kTlsHandshakeTimeout,  // the handshake outlived tls_handshake_time_max
    kTlsFailed,            // the handshake failed or a record was bad (alert sent, counted)
    // WebSocket listeners, after the handshake (before it the handler knows
    // nothing of the connection).
    kWsClosed,         // the peer's close frame (answered)
    kWsProtocolError,  // the peer broke RFC 6455: closed with 1002/1007/1009 (counted)
    kWsHandshakeTimeout,  // never reaches the handler: the connection was not open yet
    kWsPingTimeout,       // an idle WebSocket did not answer our PING in time (counted)
};
std::string_view close_reason_name(CloseReason reason);

enum class [[nodiscard]] SendResult : uint8_t {
    kQueued,        // accepted; the caller's bytes may be reused at once
    kStale,         // the connection id names a closed connection
    kClosing,       // the connection is closing; nothing more is sent
    kQueueFull,     // past the send queue byte limit: the connection is being closed
    kBusy,          // no send slot or chunk free (counted); UDP: the datagram is dropped
    kTooLarge,      // a datagram larger than kUdpDatagramSizeMax, or too many parts
    kBadSocket,     // no such UDP socket
    kBadAddress,    // the destination's family does not match the socket
};

enum class [[nodiscard]] PostResult : uint8_t {
    kPosted,
    kFull,       // the receiver's mailbox is full; nothing was queued
    kNoWorker,   // no worker with that index
};

class Handler {
public:
    virtual ~Handler() = default;

    // One UDP datagram. `bytes` points into a provided buffer that goes back to
    // the kernel when this returns: copy what must outlive the call.
    virtual void on_datagram(Runtime& runtime, UdpSocketId socket, const Endpoint& from,
                             std::string_view bytes, Time now) = 0;

    // Bytes received on a stream, starting where the last call's consumed count
    // stopped. Return how many bytes were consumed (whole messages, pings);
    // the rest is kept and presented again with more bytes appended. Returning
    // 0 means "incomplete, wait". `bytes` is valid only during the call. The
    // handler may call runtime.close(connection) from here.
    virtual size_t on_stream_data(Runtime& runtime, ConnectionId connection,
                                  std::string_view bytes, Time now) = 0;

    // One whole message received on a WebSocket connection (transport kWs
    // or kWss): RFC 7118 §5.1 puts exactly one SIP message in each, so it is
    // framed by the WebSocket, not by Content-Length. `message` is valid only
    // during the call. Default: handed to on_stream_data() (for handlers that
    // never listen on WebSockets).
    virtual void on_stream_message(Runtime& runtime, ConnectionId connection,
                                   std::string_view message, Time now) {
        (void)on_stream_data(runtime, connection, message, now);
    }

    // An accepted connection (outbound == false) or a completed connect().
    // A TLS connection (transport kTls) opens when its handshake completes:
    // bytes and sends are plaintext, the worker encrypts and decrypts. A
    // WebSocket connection (kWs; kWss inside TLS) opens when its 101 is queued: its messages
    // come through on_stream_message(), and each send_stream() is one
    // message (the worker writes the frame header).
    virtual void on_connection_open(Runtime& runtime, ConnectionId connection, const Endpoint& peer,
                                    Transport transport, Time now) = 0;

    // The connection is gone from the layer's point of view: its id is stale
    // from now on. Called once per opened or connect()ed connection.
    virtual void on_connection_closed(Runtime& runtime, ConnectionId connection, CloseReason reason,
                                      Time now) = 0;

    // An item another worker (or thread) posted to this worker.
    virtual void on_mailbox(Runtime& runtime, const MailboxItem& item, Time now) = 0;

    // The worker's loop is about to stop (after Workers::stop()); the handler
    // may still send and close. Default: nothing.
    virtual void on_stop(Runtime& runtime, Time now) {
        (void)runtime;
        (void)now;
    }
};

}  // namespace fe::net
