// File: state/limits.h
//
// Limits of the per-worker state (STYLE §7), each with its default and the
// reason for it. FlowTableConfig copies these defaults; tests shrink them.
//
//   fe::state::FlowTableConfig config;           // defaults from here
//   config.flow_count_max = 16;                   // a tiny test table
//
// Memory of one worker's flow table with the defaults, committed only as
// flows are created (the slab is reserved, pages are touched on first use):
//   entries   flow_count_max * sizeof(FlowEntry) = 2M * 48 B     =  96 MiB max
//   indexes   2^22 slots * 5 B (uint32 slot + control byte)      =  20 MiB max (UDP),
//             of which the control bytes are committed at start;
//             streams: kConnectionIdLimit * 4 B = 256 KiB, a page per 1,024
//             connection ids, committed as ids are used
// Measured (flow_table_benchmark, RSS growth / flows): 60.6 B per UDP flow at
// 1M flows, 58.1 B at 10M, against a budget of 256 B per UDP flow in total.
#pragma once

#include <cstdint>

#include "core/base/time.h"

namespace fe::state {

// Flows per worker. RFC 5626 UAs keep one flow per reg-id (usually two per
// instance); a node holds "hundreds of thousands to millions" of flows on a
// few cores, so 2M per worker covers 8M on a 4-worker node. A full table
// refuses new flows (backpressure); it never grows past this.
inline constexpr uint32_t kFlowCountMax = 2'000'000;

// Stream (TCP/TLS/WS) flows per worker. Each is a connection, and a worker's
// connections are io_uring direct descriptors capped by its ring's file table
// (RLIMIT_NOFILE, 20,000 here), so the connection index is sized for this and
// not for flow_count_max: an index reserved for 2M flows touched one random
// page per insert and cost ~1.2 kB per TCP flow at 12,500 flows per worker.
inline constexpr uint32_t kStreamFlowCountMax = 65'536;

// Connection ids a flow table indexes (ids 0 .. limit - 1). Stream flows are
// keyed by net/'s connection id, an index into a worker's connection table
// (net::kConnectionCountMax = 20,000, capped by RLIMIT_NOFILE), so 2^16
// leaves room to raise that cap; the index is an array of this many uint32
// (256 KiB per worker, committed a page per 1,024 ids as they are used). A
// larger id gets kTableFull from create_stream().
inline constexpr uint32_t kConnectionIdLimit = 1u << 16;
// The largest connection_id_limit a table accepts (64 MiB of index): a unit
// mistake in the config, not a size anyone needs.
inline constexpr uint32_t kConnectionIdLimitCeiling = 1u << 24;

// The largest flow_count_max a table accepts. Slots are uint32 and
// UINT32_MAX means "no slot"; 2^30 entries would be 48 GiB, far beyond any
// worker, so this only catches a unit mistake in the config.
inline constexpr uint32_t kFlowCountMaxCeiling = 1u << 30;

// Idle limit of a UDP flow that has no Flow-Timer. A UDP flow costs only a
// table entry, so the limit exists to forget NAT bindings that are gone. UAs
// without Flow-Timer ping every 24-29 s with STUN (OB-KA-14) or up to 120 s
// with CRLF-less UDP traffic (OB-KA-10); 180 s outlives both with grace.
inline constexpr Duration kUdpFlowIdleLimit = seconds(180);

// Idle limit of a stream (TCP/TLS/WS/WSS) flow without Flow-Timer. Must
// exceed the mobile keep-alive upper bound of 840 s plus grace (OB-KA-10).
inline constexpr Duration kStreamFlowIdleLimit = seconds(900);

// Added to an advertised Flow-Timer before a flow is declared dead: RFC 5626
// §4.4 / §5.4 require waiting longer than the Flow-Timer "to have a grace
// period to account for transport delay" (OB-FT-02). 10 s covers a lost
// first keep-alive retried over a slow mobile path.
inline constexpr Duration kFlowTimerGrace = seconds(10);

// Idle limits are stored in milliseconds in 32 bits; 49 days is far beyond
// any keep-alive interval and any registration lifetime we accept.
inline constexpr Duration kFlowIdleLimitMax = milliseconds(UINT32_MAX);

// How long one full expiry sweep over the table may take, i.e. the most a
// flow can outlive its idle limit before expire() reports it. The worker
// sizes the per-call budget from this (FlowTable::sweep_budget()).
inline constexpr Duration kFlowSweepPeriod = seconds(2);

}  // namespace fe::state
