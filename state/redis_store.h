// File: state/redis_store.h
//
// The Redis BindingStore: bindings live in Redis, so every node of a cluster
// sees every binding and a UA stays reachable when the node it registered
// through dies (DESIGN.md "Shared state in Redis"). One store per worker, made
// and used on that worker's thread: it owns one hiredis async connection
// driven by the worker's io_uring loop (fe::FdPoller polls) and timer wheel,
// and every `done` runs later, on that thread, from a loop event.
//
//   // On worker w's thread (net::Worker is an fe::FdPoller):
//   fe::state::RedisStoreConfig config{.host = "10.0.0.5", .port = 6379,
//                                      .wall_clock_offset = offset};   // see below
//   fe::state::RedisStore store(config, w, w.timer_wheel());          // connects
//   store.apply(update, w.now(), [&](fe::state::StoreStatus s, const fe::state::AorView& v) {
//       if (s == fe::state::StoreStatus::kUnavailable) { ...answer 500, count... }
//   });
//
// Semantics are the embedded store's (state/embedded_store.h): the same
// binding keys, RFC 3261 §10.3 Call-ID/CSeq ordering, all-or-nothing
// REGISTERs, the per-AOR limit, and forget_flow across AORs. Each apply() is
// one Lua script run atomically inside Redis (state/internal/redis_scripts.cc);
// the key and record layout is drawn in state/internal/redis_codec.h.
//
// Time: fe::Time is each node's own monotonic clock, so expiries are stored
// as wall-clock milliseconds: wall = now + config.wall_clock_offset. The node
// reads the clocks once at start (state/ never does):
//   offset = system_clock::now().time_since_epoch() - steady_clock::now().time_since_epoch()
// Nodes must keep their wall clocks in step (NTP); an error of e seconds
// moves other nodes' view of an expiry by e. Redis expires a whole AOR key
// (PEXPIREAT) at its latest binding; a binding that expired before its
// AOR's others stays in the hash until the AOR's next change, and every
// answer filters it out. expire() thus has nothing to do and returns 0.
//
// Failure (STYLE §11): Redis down, a refused or slow connect, a command not
// answered within command_timeout, or more than pending_count_max commands
// in flight: the caller gets kUnavailable (at once when nothing was sent;
// with the pending calls when the connection dies), the cause is counted in
// stats(), and the store reconnects with an exponential back-off. No call
// blocks the worker: hiredis's connect is non-blocking (give `host` as an IP
// literal: a name is resolved with a blocking getaddrinfo on each connect).
// forget_flow while Redis is unavailable is dropped and counted; the
// bindings then expire, or the proxy learns from the edge's 430 (OB-430-02).
//
// forget_flow of a flow that carries many AORs (a trunk) runs as several
// scripts of at most forget_aor_count_per_script_max AORs each, sent one
// after another, so Redis (which runs one script at a time for every node)
// is never held for long. Commands issued meanwhile run between two batches
// and may still see bindings of the forgotten flow (the edge then answers
// 430, OB-430-02). If the connection drops between batches, the rest is
// counted in forgets_incomplete and left to expiry.
//
// Lifetime: destroy the store on its worker's thread before the worker (and
// not from inside a `done`); pending calls are answered kUnavailable then.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/fd_poller.h"
#include "core/time/timer_wheel.h"
#include "state/binding_limits.h"
#include "state/binding_store.h"
#include "state/internal/redis_events.h"
#include "state/redis_limits.h"

struct redisAsyncContext;
struct redisReply;

namespace fe::state {

struct RedisStoreConfig {
    // An IP literal (see "Failure" above) and port of a standalone Redis or of
    // the current Sentinel master.
    std::string host = "127.0.0.1";
    uint16_t port = 6379;
    // First part of every key, so several clusters (or tests) share a Redis.
    std::string key_prefix = "fe";
    // wall-clock time since the Unix epoch = Time::time_since_epoch() + this.
    Duration wall_clock_offset{};
    uint32_t binding_count_per_aor_max = kBindingCountPerAorMax;
    uint32_t pending_count_max = kRedisPendingCountMax;
    uint32_t forget_aor_count_per_script_max = kRedisForgetAorCountPerScriptMax;
    Duration connect_timeout = kRedisConnectTimeout;
    Duration command_timeout = kRedisCommandTimeout;
    Duration reconnect_delay_min = kRedisReconnectDelayMin;
    Duration reconnect_delay_max = kRedisReconnectDelayMax;
};

// Written by the store's worker, read by anyone (stats export, tests).
class RedisCounter {
public:
    void add(uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

struct RedisStoreStats {
    RedisCounter commands_sent;       // apply, lookup and forget commands written to hiredis
    RedisCounter unavailable;         // calls answered kUnavailable, whatever the cause
    RedisCounter pending_full;        // refused at once: pending_count_max in flight
    RedisCounter refused_down;        // refused at once: no connection (back-off running)
    RedisCounter connects;            // connections established
    RedisCounter connect_failures;    // refused, failed or timed-out connects
    RedisCounter disconnects;         // established connections lost
    RedisCounter command_timeouts;    // connections dropped for a command past command_timeout
    RedisCounter noscript_fallbacks;  // EVALSHA answered NOSCRIPT, resent as EVAL
    RedisCounter error_replies;       // Redis answered an error (READONLY, OOM, LOADING, ...)
    RedisCounter bad_records;         // stored records that failed to decode: skipped
    RedisCounter forgets_dropped;     // forget_flow not sent (no connection or full)
    RedisCounter forget_batches;      // forget scripts sent after a forget_flow's first
    RedisCounter forgets_incomplete;  // forget_flow stopped with AORs left (connection lost)
};

class RedisStore final : public BindingStore {
public:
    // Starts connecting. `poller` and `wheel` are the worker's; both outlive
    // the store.
    RedisStore(RedisStoreConfig config, FdPoller& poller, time::TimerWheel& wheel);
    ~RedisStore() override;
    RedisStore(const RedisStore&) = delete;
    RedisStore& operator=(const RedisStore&) = delete;

    void apply(const RegisterUpdate& update, Time now, Done done) override;
    void lookup(std::string_view aor_key, Time now, Done done) override;
    void forget_flow(std::string_view flow_token, Time now) override;
    size_t expire(Time now) override;

    // True once connected, until the connection is lost.
    bool connected() const { return state_ == State::kConnected; }
    // Commands sent and not yet answered.
    uint32_t pending_count() const { return fifo_count_; }
    const RedisStoreStats& stats() const { return stats_; }

private:
    enum class State : uint8_t {
        kDown,        // no context; reconnect_timer_ is armed
        kConnecting,  // context made, TCP connect in progress; commands may queue
        kConnected,
    };
    enum class Kind : uint8_t { kApply, kLookup, kForget };
    struct Pending;

    // Connection.
    void connect();
    void go_down();
    void close_now();
    static void on_connect(const redisAsyncContext* context, int status);
    static void on_disconnect(const redisAsyncContext* context, int status);
    static void on_script_loaded(redisAsyncContext* context, void* reply, void* privdata);
    static void on_poll_refused(void* self);
    static void on_reconnect_timer(time::Timer& timer, Time now);
    static void on_connect_timer(time::Timer& timer, Time now);
    static void on_command_timer(time::Timer& timer, Time now);
    static void on_close_timer(time::Timer& timer, Time now);

    // Commands.
    // A free slot, or null when down or pending_count_max are in flight.
    Pending* take_pending(Kind kind);
    void refuse(Done& done, std::string_view aor_key, RedisCounter& cause);
    bool send(Pending& pending);
    static void on_reply(redisAsyncContext* context, void* reply, void* privdata);
    void finish(Pending& pending, const redisReply* reply);
    bool continue_forget(Pending& pending, const redisReply* reply);
    void release(Pending& pending);
    void arm_command_timer();
    void deliver_bindings(Pending& pending, const redisReply* const* records, size_t count);

    const RedisStoreConfig config_;
    FdPoller& poller_;
    time::TimerWheel& wheel_;
    internal::RedisEvents events_;
    RedisStoreStats stats_;

    State state_ = State::kDown;
    // Non-null exactly while state_ is kConnecting or kConnected.
    redisAsyncContext* context_ = nullptr;
    Duration reconnect_delay_;

    time::Timer reconnect_timer_{&RedisStore::on_reconnect_timer, this};
    time::Timer connect_timer_{&RedisStore::on_connect_timer, this};
    // Armed at the oldest pending command's deadline while any is pending.
    time::Timer command_timer_{&RedisStore::on_command_timer, this};
    // Armed "now" to close the connection from outside a hiredis call.
    time::Timer close_timer_{&RedisStore::on_close_timer, this};

    // Pending slots, made at construction; free ones are stacked.
    std::vector<std::unique_ptr<Pending>> pending_;
    std::vector<Pending*> pending_free_;
    // Sent commands in the order Redis answers them (a ring of slots).
    std::vector<Pending*> fifo_;
    uint32_t fifo_head_ = 0;
    uint32_t fifo_count_ = 0;

    // The bindings handed to `done`, reused across calls (no allocation once
    // warm). Only the reply path fills it, and it does not nest.
    std::vector<Binding> scratch_;
    std::vector<uint64_t> scratch_seq_;
    bool delivering_ = false;
};

}  // namespace fe::state
