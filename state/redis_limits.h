// File: state/redis_limits.h
//
// Limits and timings of the Redis binding store (state/redis_store.h), each
// with its reason (STYLE §7). RedisStoreConfig copies these defaults; tests
// shrink them.
//
//   fe::state::RedisStoreConfig config;            // defaults from here
//   config.pending_count_max = 4;                  // a tiny test store
//
// Memory per worker with the defaults: kRedisPendingCountMax pending slots of
// ~200 B plus their argument buffers, which grow to the largest REGISTER
// seen (a few KiB with 32 bindings) and are then reused: ~1-5 MiB worst case.
#pragma once

#include <cstdint>

#include "core/base/time.h"

namespace fe::state {

// Commands one worker may have sent to Redis and not yet seen answered.
// Redis answers a local EVALSHA in ~20-50 us, so at the ~300 REGISTERs a
// second of a million hourly-refreshing UAs a worker has about one in flight;
// 1024 absorbs a registration storm after an outage (a few thousand a second)
// for the ~100 ms Redis takes to catch up. Past it a caller gets kUnavailable
// at once (STYLE §11: no queue that hides an overloaded Redis).
inline constexpr uint32_t kRedisPendingCountMax = 1024;

// A TCP connect to Redis that has not completed in this time is abandoned and
// retried after the back-off. Redis is on the local network: 1 s is far above
// a SYN round trip and short enough that REGISTER retransmissions (T1 = 500
// ms, Timer F = 32 s) are still running when the store comes back.
inline constexpr Duration kRedisConnectTimeout = std::chrono::seconds(1);

// The oldest unanswered command may wait this long; past it the connection
// is declared dead, every pending call gets kUnavailable and we reconnect. A
// healthy Redis answers in well under a millisecond; 1 s tolerates a fork for
// a snapshot or a slow script without giving up on a server that is alive.
inline constexpr Duration kRedisCommandTimeout = std::chrono::seconds(1);

// Reconnect back-off: starts at the minimum, doubles per failed attempt, stops
// at the maximum, resets on a successful connect. 50 ms recovers quickly from
// a Redis restart; 2 s caps the delay after a long outage while keeping each
// worker to one connect attempt every 2 s against a dead server.
inline constexpr Duration kRedisReconnectDelayMin = std::chrono::milliseconds(50);
inline constexpr Duration kRedisReconnectDelayMax = std::chrono::seconds(2);

// AORs one forget script visits. Redis runs a script alone, so a flow
// carrying a trunk's 100,000 AORs forgotten in one script held every node's
// commands for 1.1 s (measured on this VM, ~11 us per AOR), past
// kRedisCommandTimeout: the forgetting node dropped its connection and failed
// its pending REGISTERs. 256 AORs are ~3 ms per script; a larger flow takes
// several scripts, sent one after the other by the store.
inline constexpr uint32_t kRedisForgetAorCountPerScriptMax = 256;

// Path values a stored binding record may hold. The registrar accepts at most
// 8 per REGISTER (core/outbound/registrar_limits.h kPathCountPerRegisterMax);
// a record with more was not written by us and is counted and skipped.
inline constexpr uint32_t kRedisRecordPathCountMax = 16;

}  // namespace fe::state
