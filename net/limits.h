// File: net/limits.h
//
// Every limit of the io_uring runtime, with its default and the reason for it
// (STYLE §7). WorkerConfig copies these defaults; tests shrink them.
//
//   fe::net::WorkerConfig config;                       // defaults from here
//   config.connection_count_max = 4000;                 // a smaller test worker
//
// Memory budget of one worker with the defaults (allocated at start, never per
// message; lazily grown pools stop at their _max):
//   UDP receive buffers   kUdpBufferCount * kUdpBufferSize        =  4 MiB
//   TCP receive buffers   kStreamBufferCount * kStreamBufferSize  =  4 MiB
//   UDP send slots        kUdpSendInFlightMax * kUdpDatagramSizeMax =  2 MiB
//   connection table      kConnectionCountMax * ~320 B            ~  6 MiB
//   mailbox               kMailboxCapacity * 64 B                 =  256 KiB
//   partial buffers (lazy) up to kPartialBufferCountMax * 64 KiB  <= 64 MiB
//   send chunks (lazy)     up to kSendChunkCountMax * kSendChunkSize <= 64 MiB
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/time.h"

namespace fe::net {

// Submission queue entries per ring. A loop turn queues at most one SQE per
// completion it handles plus sends; 4096 keeps submit-and-retry rare at the
// CQE batch size below. The CQ is twice this (the kernel default).
inline constexpr uint32_t kRingEntries = 4096;

// CQEs copied out of the ring per reap. Bounded so that one turn's handler work
// is bounded and timers are looked at between batches.
inline constexpr uint32_t kCqeBatchMax = 256;

// Provided buffers for UDP datagrams. A buffer holds the io_uring_recvmsg_out
// header, the source address and the datagram; SIP over UDP should stay below
// the path MTU (RFC 3261 §18.1.1), so 8 KiB is generous; a longer datagram is
// truncated by the kernel, and we count and drop it.
inline constexpr uint32_t kUdpDatagramSizeMax = 8192;
inline constexpr uint32_t kUdpBufferSize = kUdpDatagramSizeMax + 256;
// Power of two (a buffer ring requirement). 512 datagrams of burst absorb a
// full CQ batch twice over before the kernel answers ENOBUFS.
inline constexpr uint32_t kUdpBufferCount = 512;

// Kernel receive buffer of each UDP listening socket. The default
// (net.core.rmem_default, ~208 KiB, ~160 small datagrams) overflowed under
// bursts of 1,000 STUN requests in flight (RcvbufErrors, 5 % lost): 8 MiB holds
// several thousand SIP datagrams while the worker is busy. Set with
// SO_RCVBUFFORCE when we may (root), else SO_RCVBUF (capped by rmem_max).
inline constexpr int kUdpSocketReceiveBufferSize = 8 << 20;

// Provided buffers for stream receives, shared by every connection of a worker:
// an idle connection holds none. 4 KiB is one page, and a typical SIP message
// fits; longer messages arrive in several buffers and are reassembled in a
// partial buffer.
inline constexpr uint32_t kStreamBufferSize = 4096;
inline constexpr uint32_t kStreamBufferCount = 1024;

// Connections per worker (accepted and outbound). Also the size of the ring's
// direct descriptor table, which the kernel caps at RLIMIT_NOFILE (20000 on
// our machines): each ring has its own table, so N workers hold N times this
// without using the process's file descriptors.
inline constexpr uint32_t kConnectionCountMax = 20000;

// Accepts kept in flight per TCP listener. Each reserves a connection slot and
// carries its own sockaddr, which is how we learn the peer address of a direct
// descriptor (getpeername() needs a real fd). 16 absorbs connection bursts.
inline constexpr uint32_t kAcceptInFlightCount = 16;

// A stream message that is not complete yet is copied out of the shared
// buffers into a per-connection partial buffer. SIP messages above 64 KiB are
// refused (STYLE §7, the SIP layer's own message size limit is lower).
inline constexpr uint32_t kPartialMessageSizeMax = 64 * 1024;
// Slowloris: a partial message must complete within this time or the
// connection is closed and counted. 30 s is generous for a real client
// (RFC 3261 Timer B is 32 s for a whole transaction).
inline constexpr Duration kPartialMessageTimeMax = std::chrono::seconds(30);
// WebSocket listeners: the whole HTTP Upgrade request (at most
// ws::kHandshakeSizeMax bytes, core/ws/limits.h) must arrive within this after
// accept, or the connection is closed unanswered and counted. A browser sends
// it in its first packet; 10 s leaves room for a lossy mobile link and, like
// TLS's handshake limit, stops a peer holding a connection slot while saying
// nothing.
inline constexpr Duration kWsHandshakeTimeMax = std::chrono::seconds(10);
// An open WebSocket that has received nothing for this long is sent a PING;
// if nothing (the PONG, or anything else) arrives within the same time, the
// connection is closed (1001) and counted, so its flow ends and requests for
// it get 430 (issue 11). Browsers answer PINGs but send no keep-alives of
// their own; 30 s stays under the UDP-less NAT and load-balancer idle
// timeouts browsers meet (often 60 s) at one small frame per idle minute.
inline constexpr Duration kWsPingInterval = std::chrono::seconds(30);
// Partial buffers per worker; a connection that needs one when none is left is
// closed (backpressure, not growth).
inline constexpr uint32_t kPartialBufferCountMax = 1024;

// Bytes queued for sending on one connection. A reader slower than we write
// cannot make the node grow: past this the connection is closed and counted.
// 256 KiB is many SIP messages; a healthy peer drains it in one RTT.
inline constexpr uint32_t kSendQueueSizeMax = 256 * 1024;
// Send queues are chains of chunks from a per-worker pool.
inline constexpr uint32_t kSendChunkSize = 16 * 1024;
inline constexpr uint32_t kSendChunkCountMax = 4096;
// Chunks gathered into one sendmsg (one send in flight per connection).
inline constexpr uint32_t kSendIovecCountMax = 8;
static_assert(kSendQueueSizeMax / kSendChunkSize + 1 >= kSendIovecCountMax,
              "a full queue can fill the iovec array");

// UDP sends in flight per worker; each slot owns a copy of the datagram so the
// caller's bytes may die when send_datagram() returns. When all are busy the
// send fails with kBusy (and is counted): UDP is allowed to drop.
inline constexpr uint32_t kUdpSendInFlightMax = 256;
// Parts (iovecs) one datagram or one stream send may be given in.
inline constexpr uint32_t kSendPartCountMax = 16;

// Outbound TCP connect must finish within this or the connection is closed
// with CloseReason::kConnectTimeout.
inline constexpr Duration kConnectTimeMax = std::chrono::seconds(10);
// A close that flushes its send queue first gives up after this.
inline constexpr Duration kCloseFlushTimeMax = std::chrono::seconds(5);

// Mailbox slots per worker (power of two). A full mailbox fails the post; 4096
// is several loop turns of cross-worker traffic at line rate.
inline constexpr uint32_t kMailboxCapacity = 4096;

// Timer wheel tick. Coarser than SIP's shortest timer (T1 = 500 ms) by far.
inline constexpr Duration kTimerTick = std::chrono::milliseconds(1);
// The loop never sleeps longer than this, so a stop request through the
// eventfd is the only thing it waits for in the worst case.
inline constexpr Duration kLoopWaitMax = std::chrono::seconds(1);

// Listeners (UDP + TCP sockets) per worker.
inline constexpr uint32_t kListenerCountMax = 16;
// Workers per process (one per core).
inline constexpr uint32_t kWorkerCountMax = 256;

// listen() backlog of each TCP listener.
inline constexpr int kListenBacklog = 4096;

// Readiness polls (Worker::poll_fd) armed at once per worker. Each plain
// descriptor a worker drives outside its direct descriptor table costs up to
// two: a Redis connection (state/redis_store.h) holds one read and one write
// poll. 64 leaves room for a few more clients without a pool to tune.
inline constexpr uint32_t kFdPollCountMax = 64;

}  // namespace fe::net
