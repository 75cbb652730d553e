// File: bench/loadgen/shard.h
//
// One thread of flowedge-bench: its io_uring engine (io.h), timer wheel, and
// the slice of the emulated UA population it owns (UA g lives on shard
// g % thread_count). The shard turns fe::ua::Ua actions into bytes on flows,
// decodes what comes back (responses, pongs, STUN answers, requests for the
// phone), places calls, and publishes one Sample per second for the main
// thread, which merges the shards' samples into the run's series.
//
//   fe::loadgen::Shard shard(plan, /*index=*/0);
//   std::thread t([&] { shard.run(); });      // init happens on the thread
//   plan.command.store(Command::kHold);       // after every shard registered
//   ...
//   plan.command.store(Command::kStop);
//   t.join();
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/loadgen/io.h"
#include "bench/loadgen/options.h"
#include "core/time/timer_wheel.h"
#include "core/ua/histogram.h"
#include "core/ua/ua.h"

namespace fe::sip {
class Message;
}

namespace fe::loadgen {

// What the main thread tells every shard; shards read it once per loop turn.
enum class Command : uint32_t {
    kRegister,  // start UAs (paced), register them
    kHold,      // keep flows up; place calls when the scenario has them
    kCut,       // once: cut --cut-fraction of the flows, then behave as kHold
    kStop,      // stop calls, finish, exit the loop
};

// Shared, read-only after start (except `command`).
struct Plan {
    Options options;
    fe::ua::UaConfig ua_config;
    uint32_t thread_count = 1;
    std::atomic<Command> command{Command::kRegister};
    // Calls/s per shard while calls run (0: none).
    double call_rate_per_shard = 0;
    bool calls_enabled = false;
    // --call-route path: the Path of each UA's flow 0, published once by the
    // owning shard (bytes first, then the size with release) and read by
    // callers on any shard (size with acquire). Empty otherwise.
    std::unique_ptr<char[]> paths;
    std::unique_ptr<std::atomic<uint8_t>[]> path_sizes;  // 0: not known yet
};

// Bytes of one stored Path value; a longer one is not stored (calls to that
// UA are then "not sent").
inline constexpr uint32_t kPathSizeMax = 255;

// Cumulative counters of a shard (plain integers: written by the shard, read
// by the main thread only through a Sample copied under the sample lock).
struct Counts {
    uint64_t uas_started = 0;
    uint64_t uas_registered = 0;       // UAs with every flow registered at least once
    uint64_t uas_settled = 0;          // registered, or each flow failed once
    uint64_t register_sent = 0;        // REGISTER transactions (not retransmissions)
    uint64_t register_retransmits = 0; // UDP Timer E resends
    uint64_t register_ok = 0;          // 2xx finals
    uint64_t register_failed = 0;      // non-2xx finals
    uint64_t register_timeout = 0;     // no final response in time
    uint64_t register_aborted = 0;     // the flow died while a REGISTER was out
    uint64_t flows_up = 0;             // gauge: flows in kRegistered now
    uint64_t flow_failures = 0;        // transitions out of kRegistered into failure
    uint64_t keepalive_sent = 0;
    uint64_t keepalive_answered = 0;
    uint64_t call_sent = 0;
    uint64_t call_delivered = 0;       // callee UAs that received the request
    uint64_t call_ok = 0;              // 2xx finals at the caller
    uint64_t call_failed = 0;          // non-2xx finals at the caller
    uint64_t call_timeout = 0;         // no final response within Timer F (or run end)
    uint64_t call_not_sent = 0;        // no registered caller flow or send refused
    // INVITE dialogs (issue 8): a call is completed only when its BYE got a
    // 2xx, so a broken mid-dialog path shows as calls not completed.
    uint64_t invite_answered = 0;      // 2xx finals to INVITE at the caller
    uint64_t ack_sent = 0;             // ACKs for those 2xx, sent by the caller
    uint64_t ack_delivered = 0;        // ACKs of bench calls that reached a callee UA
    uint64_t bye_sent = 0;             // BYEs sent by the caller after the ACK
    uint64_t bye_delivered = 0;        // BYEs that reached the callee UA of their dialog
    uint64_t bye_misrouted = 0;        // BYEs that reached another UA (answered 481)
    uint64_t bye_ok = 0;               // 2xx finals to BYE at the caller
    uint64_t bye_failed = 0;           // non-2xx finals to BYE
    uint64_t bye_timeout = 0;          // no final to BYE within Timer F (or run end)
    uint64_t bye_not_sent = 0;         // no usable Contact in the 2xx, or send refused
    // Calls completed: INVITE, BYE got a 2xx; MESSAGE, the MESSAGE got a 2xx.
    uint64_t call_completed = 0;
    uint64_t requests_answered = 0;    // requests the phones answered
    uint64_t send_errors = 0;
    uint64_t connect_failures = 0;
    uint64_t recoveries = 0;           // UAs that were cut/failed and became reachable again
};

// One second of one shard.
struct Sample {
    uint32_t second = 0;  // index since the run start
    Counts counts;        // cumulative at the end of the second
    fe::ua::LatencyHistogram register_latency;  // this second only
    fe::ua::LatencyHistogram call_latency;      // caller: send -> final response
    fe::ua::LatencyHistogram delivery_latency;  // send -> callee received
    fe::ua::LatencyHistogram bye_latency;       // caller: BYE sent -> its final response
};

// Per-flow I/O state beside the pure FlowFsm.
struct FlowIo;

class Shard : public IoHandler {
public:
    Shard(Plan& plan, uint32_t index, Time run_start);
    ~Shard() override;

    // The thread body: init, loop until kStop, final accounting.
    void run();
    const absl::Status& status() const { return status_; }

    // ---- Main thread (under the sample lock) ----
    std::vector<std::unique_ptr<Sample>> take_samples();
    bool registration_settled() const { return settled_.load(std::memory_order_acquire); }
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    // When this shard started its first UA and when its last UA settled;
    // valid once registration_settled().
    Time first_start() const { return first_start_; }
    Time settled_at() const { return settled_at_; }
    uint64_t settled_register_ok() const { return settled_register_ok_; }

    // ---- After run() returned ----
    const Counts& counts() const { return counts_; }
    const fe::ua::LatencyHistogram& register_latency() const { return register_latency_total_; }
    const fe::ua::LatencyHistogram& call_latency() const { return call_latency_total_; }
    const fe::ua::LatencyHistogram& delivery_latency() const { return delivery_latency_total_; }
    const fe::ua::LatencyHistogram& recovery_time() const { return recovery_total_; }
    const fe::ua::LatencyHistogram& bye_latency() const { return bye_latency_total_; }
    const std::array<uint64_t, 700>& register_status() const { return register_status_; }
    const std::array<uint64_t, 700>& call_status() const { return call_status_; }
    const std::array<uint64_t, 700>& bye_status() const { return bye_status_; }
    const std::array<uint64_t, 32>& failure_reasons() const { return failure_reasons_; }
    const IoStats& io_stats() const { return io_.stats(); }

    // IoHandler.
    void on_connected(ConnRef conn, uint64_t user, Time now) override;
    void on_closed(ConnRef conn, uint64_t user, IoCloseReason reason, Time now) override;
    size_t on_stream_data(ConnRef conn, uint64_t user, std::string_view bytes, Time now) override;
    void on_datagram(uint32_t socket_index, uint32_t local_addr, const sockaddr_in& from,
                     std::string_view bytes, Time now) override;

    // Timer callbacks (the wheel calls these through FlowIo).
    void on_flow_timer(FlowIo& flow, Time now);
    void on_retransmit_timer(FlowIo& flow, Time now);

private:
    struct PendingCall;

    absl::Status init();
    absl::Status open_udp_sockets(std::vector<int>& fds);
    void loop();
    void start_uas(Time now);
    void start_ua(uint32_t local, Time now);
    void apply(uint32_t local, fe::ua::ActionList& actions, Time now);
    void after_input(uint32_t local, Time now);
    void do_action(uint32_t local, const fe::ua::Action& action, Time now);
    void send_register(FlowIo& flow, Time now);
    bool send_on_flow(FlowIo& flow, std::string_view bytes);
    void on_message(FlowIo& flow, std::string_view bytes, const sockaddr_in* from, Time now);
    void on_response(FlowIo& flow, const sip::Message& m, Time now);
    void on_request(FlowIo& flow, const sip::Message& m, const sockaddr_in* from, Time now);
    void publish_path(const FlowIo& flow, const sip::Message& m);
    void learn_port(FlowIo& flow, const sip::Message& m);
    void on_call_response(FlowIo& flow, const sip::Message& m, Time now);
    void on_bye_response(const sip::Message& m, PendingCall& call, Time now);
    bool send_ack_and_bye(FlowIo& flow, const sip::Message& ok, PendingCall& call, Time now);
    void end_call(PendingCall& call);
    void answer(FlowIo& flow, const sip::Message& m, uint16_t status, std::string_view reason,
                const sockaddr_in* from);
    void on_stun(FlowIo& flow, std::string_view bytes, Time now);
    void place_calls(Time now);
    void place_call(Time now);
    void expire_calls(Time now, bool all);
    void cut_flows(Time now);
    void publish_sample(Time now);
    FlowIo* flow_of(uint64_t key);
    uint32_t global_ua(uint32_t local) const { return local * plan_.thread_count + index_; }
    uint32_t source_addr_of(const FlowIo& flow) const;
    uint16_t local_port_of(const FlowIo& flow) const;

    Plan& plan_;
    const Options& options_;
    const uint32_t index_;
    const Time run_start_;
    absl::Status status_;
    Io io_;
    fe::time::TimerWheel wheel_;
    fe::ua::Rng rng_;

    uint32_t ua_count_ = 0;  // UAs of this shard
    uint32_t flows_per_ua_ = 1;
    std::vector<fe::ua::Ua> uas_;
    std::unique_ptr<FlowIo[]> flows_;  // ua_count_ * flows_per_ua_
    std::vector<Time> ua_down_since_;   // Time::max() while reachable or never registered
    std::vector<uint8_t> ua_flags_;     // bit 0 registered once, bit 1 settled
    std::vector<uint16_t> udp_ports_;

    // Pacing.
    uint32_t next_start_ = 0;    // next local UA to start
    double start_credit_ = 0;    // UA starts owed by the rate
    double call_credit_ = 0;
    Time last_pace_{};
    Command seen_command_ = Command::kRegister;
    Time calls_stop_at_ = Time::max();

    // Calls in flight: slot = seq % capacity; an entry is live while `seq` matches.
    std::unique_ptr<PendingCall[]> calls_;
    uint32_t call_seq_ = 0;
    uint32_t calls_live_ = 0;

    Counts counts_;
    std::array<uint64_t, 700> register_status_{};
    std::array<uint64_t, 700> call_status_{};
    std::array<uint64_t, 700> bye_status_{};
    std::array<uint64_t, 32> failure_reasons_{};
    fe::ua::LatencyHistogram register_latency_total_;
    fe::ua::LatencyHistogram call_latency_total_;
    fe::ua::LatencyHistogram delivery_latency_total_;
    fe::ua::LatencyHistogram recovery_total_;
    fe::ua::LatencyHistogram bye_latency_total_;
    std::unique_ptr<Sample> current_;
    uint32_t current_second_ = 0;

    std::mutex sample_mutex_;
    std::vector<std::unique_ptr<Sample>> outbox_;  // guarded by sample_mutex_
    Time first_start_ = Time::max();
    Time settled_at_{};  // written before settled_ is released
    uint64_t settled_register_ok_ = 0;  // REGISTER 2xx when the shard settled
    std::atomic<bool> settled_{false};
    std::atomic<bool> finished_{false};
    fe::ua::ActionList actions_;
    char scratch_[fe::ua::kUaMessageSizeMax];
};

}  // namespace fe::loadgen
