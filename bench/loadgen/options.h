// File: bench/loadgen/options.h
//
// The command line of flowedge-bench (the user-facing contract) and its
// parser. Errors name the flag and the fix.
//
//   absl::StatusOr<fe::loadgen::Options> o = fe::loadgen::parse_options(argc, argv);
//   if (!o.ok()) { fprintf(stderr, "%s\n", ...); return 2; }
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/endpoint.h"

namespace fe::loadgen {

enum class Scenario : uint8_t {
    kRegister,  // N UAs register (paced by --rate, or a window of --window)
    kHold,      // N UAs register and stay registered with keep-alives for --duration
    kCall,      // register, then callers send --method requests to registered UAs
    kFailover,  // register, hold, cut flows at --cut-at; time until all reachable again
    kMix,       // hold + calls at --rate + a cut at --cut-at when given
};

enum class CallMethod : uint8_t { kMessage, kInvite };

// How a caller addresses the callee: by AOR (the server's proxy role looks up
// the bindings) or by Route = the Path the callee's registration returned
// (the edge alone routes it, for servers without a proxy role).
enum class CallRoute : uint8_t { kAor, kPath };

std::string_view scenario_name(Scenario scenario);

// Limits of the command line (STYLE §7).
// Threads: each has its own ring and file table (RLIMIT_NOFILE slots).
inline constexpr uint32_t kThreadCountMax = 64;
// UAs per process: 1M x ~1 KiB per UA is the memory a 24 GiB machine gives.
inline constexpr uint32_t kUaCountMax = 1'000'000;
// Loopback addresses one UDP port serves (a /24's worth): 250k UDP UAs need
// 1000 ports, far below the file limit.
inline constexpr uint32_t kUdpAddrsPerPortDefault = 250;

struct Options {
    Scenario scenario = Scenario::kRegister;
    sockaddr_in target{};              // where calls go; edge 0 when no --edge
    std::vector<sockaddr_in> edges;    // outbound-proxy-set (flow i -> edge i % size)
    Transport transport = Transport::kTcp;
    uint32_t ua_count = 100;
    double rate = 0;                    // UA starts/s (register, hold) or calls/s (call, mix)
    uint32_t window = 1000;             // registrations in flight when --rate is 0
    double duration_s = 0;              // 0: the scenario's default
    uint32_t flows_per_ua = 1;
    uint32_t threads = 1;
    uint32_t source_net = 0x7F010000;   // 127.1.0.0
    uint32_t source_prefix = 16;
    uint32_t expires_s = 3600;
    std::string domain = "example.com";
    // Run seed: Call-IDs, tags, jitter, callee choice. Drawn from the clock
    // unless --seed is given (a registrar refuses a reused Call-ID with a
    // CSeq that is not higher, RFC 3261 §10.3 step 7), and printed.
    uint64_t seed = 0;
    bool seed_given = false;
    // Identity seed: the UAs' +sip.instance URNs, stable across runs (§4.1).
    uint64_t identity_seed = 1;
    CallMethod method = CallMethod::kMessage;
    CallRoute call_route = CallRoute::kAor;
    double cut_at_s = -1;               // failover/mix: seconds after all registered
    double cut_fraction = 1.0;          // of the flows
    uint16_t udp_port_base = 20000;
    uint32_t udp_addrs_per_port = kUdpAddrsPerPortDefault;
    double register_timeout_s = 32;
    std::string json_path;
    std::string report_path;
    bool quiet = false;
    bool help = false;
};

const char* usage();
absl::StatusOr<Options> parse_options(int argc, char** argv);
std::string sockaddr_text(const sockaddr_in& address);

}  // namespace fe::loadgen
