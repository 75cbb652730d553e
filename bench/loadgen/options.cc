#include "bench/loadgen/options.h"

#include <arpa/inet.h>

#include <time.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "bench/loadgen/text.h"
#include "core/base/status.h"
#include "core/base/strings.h"

namespace fe::loadgen {

std::string_view scenario_name(Scenario scenario) {
    switch (scenario) {
        case Scenario::kRegister: return "register";
        case Scenario::kHold: return "hold";
        case Scenario::kCall: return "call";
        case Scenario::kFailover: return "failover";
        case Scenario::kMix: return "mix";
    }
    return "?";
}

const char* usage() {
    return R"(usage: flowedge-bench SCENARIO --target HOST:PORT [options]

Emulates RFC 5626 (SIP Outbound) user agents against an edge proxy and
registrar (flowedge, Kamailio, ...): each UA has a stable +sip.instance and
one flow per edge with its own reg-id, registers with Supported: outbound,
path, keeps every flow alive (CRLF on TCP, STUN on UDP, at the Flow-Timer the
registrar returned), recovers failed flows with the RFC 5626 4.5 back-off and
answers incoming requests like a phone (MESSAGE/OPTIONS 200; INVITE 180, 200;
ACK; BYE 200).

SCENARIO
  register   N UAs register at --rate UAs/s (0: as fast as the server allows,
             --window registrations in flight); ends when all registered
  hold       register, then hold every flow with keep-alives for --duration s
  call       register, then send --method requests at --rate/s for --duration s
             to random registered UAs through --target; a request counts as
             delivered only when the callee UA received it on its flow. An
             INVITE call is completed only when the whole dialog worked:
             INVITE, 180, 200, then ACK and BYE to the 200's Contact through
             its Record-Route set (reversed, RFC 3261 12.1.2) over the
             caller's flow, and a 2xx to the BYE; a MESSAGE when it got a 2xx
  message    the same as call --method message
  failover   register, hold; at --cut-at s cut --cut-fraction of the flows
             (abort the TCP connections / drop the UDP flows); reports the
             time until every UA is reachable again and requests failed
  mix        hold + calls at --rate/s, with a cut when --cut-at is given

OPTIONS
  --target HOST:PORT     the server (calls go here; also the edge if no --edge)
  --edge HOST:PORT       an edge of the outbound-proxy-set (repeatable); flow i
                         of a UA uses edge i
  --transport udp|tcp    (default tcp)
  --uas N                emulated UAs (default 100)
  --rate R               UA starts/s (register, hold, failover) or requests/s
                         (call, mix); 0 = unpaced (default 0)
  --window N             registrations in flight when unpaced (default 1000)
  --duration S           hold/call/mix/failover phase length (default 10)
  --flows-per-ua K       flows per UA, 1..4 (default 1)
  --threads T            threads, each with its own io_uring (default 1; TCP
                         needs one per ~19000 flows: raised automatically)
  --source-net A.B.C.D/P loopback net the UAs send from (default 127.1.0.0/16)
  --udp-port-base P      first local UDP port (default 20000)
  --expires S            requested registration expiry (default 3600)
  --domain D             AOR domain (default example.com)
  --method message|invite  request of the call scenario (default message)
  --call-route aor|path  call/mix: address the callee by its AOR (the server's
                         proxy role routes it; default) or add Route = the Path
                         from the callee's first registration (edge routing only)
  --cut-at S             failover/mix: cut flows S s into the hold phase
  --cut-fraction F       failover/mix: fraction of flows cut (default 1.0)
  --seed N               run seed: Call-IDs, jitter, callee choice (default: from
                         the clock, printed in the summary to repeat a run)
  --identity-seed N      seed of the UAs' +sip.instance URNs (default 1: the same
                         devices every run)
  --json FILE            summary and per-second series as JSON
  --report FILE.html     self-contained HTML page with SVG charts
  --quiet                no live progress line
  --help                 this text

OUTPUT
  A progress line per second on a terminal, then a summary whose lines start
  with the phase name, e.g.
    register: 1000 ok, 0 failed, 0 timeout, 20345.2/s, p50 0.41 ms, p90 ...
  call and message add (call: "ok" counts 2xx finals to the INVITE/MESSAGE)
    call: S sent, D delivered, K ok, F failed, T timeout, N not sent, X delivered/s, p50 ...
    delivery: p50 ... (send -> the callee UA received it)
    call-status: 200=K ...
    dialog: A invites answered, A acks sent, A acks delivered, B byes sent,
            B byes delivered, O bye ok, F bye failed, T bye timeout, N bye not sent,
            M byes misrouted, BYE p50 ... (INVITE only; one line)
    bye-status: 200=O ... (INVITE only)
    completed: C of S sent, X completed/s, S-C not completed
)";
}

namespace {

absl::StatusOr<sockaddr_in> parse_hostport(std::string_view flag, std::string_view text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return absl::InvalidArgumentError(
            cat(flag, " ", text, ": expected IPV4:PORT, e.g. 127.0.0.1:5060"));
    }
    const std::string host(text.substr(0, colon));
    const std::optional<uint64_t> port = parse_u64(text.substr(colon + 1), 65535);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (!port || *port == 0 || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
        return absl::InvalidArgumentError(
            cat(flag, " ", text, ": expected IPV4:PORT, e.g. 127.0.0.1:5060"));
    }
    address.sin_port = htons(static_cast<uint16_t>(*port));
    return address;
}

absl::StatusOr<uint64_t> parse_number(std::string_view flag, std::string_view text, uint64_t min,
                                      uint64_t max) {
    const std::optional<uint64_t> value = parse_u64(text, max);
    if (!value || *value < min) {
        return absl::InvalidArgumentError(
            cat(flag, " ", text, ": expected a whole number in [", min, ", ", max, "]"));
    }
    return *value;
}

absl::StatusOr<double> parse_real(std::string_view flag, std::string_view text, double max) {
    char* end = nullptr;
    const std::string copy(text);
    const double value = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() || *end != '\0' || !(value >= 0) || value > max) {
        return absl::InvalidArgumentError(
            cat(flag, " ", text, ": expected a number in [0, ", max, "]"));
    }
    return value;
}

}  // namespace

std::string sockaddr_text(const sockaddr_in& address) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &address.sin_addr, text, sizeof(text));
    return cat(text, ":", ntohs(address.sin_port));
}

absl::StatusOr<Options> parse_options(int argc, char** argv) {
    Options o;
    bool have_target = false;
    bool have_scenario = false;
    bool message_scenario = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            o.help = true;
            return o;
        }
        if (arg == "--quiet") {
            o.quiet = true;
            continue;
        }
        if (arg.substr(0, 2) != "--") {
            if (have_scenario) {
                return absl::InvalidArgumentError(cat("unexpected argument ", arg));
            }
            have_scenario = true;
            if (arg == "register") {
                o.scenario = Scenario::kRegister;
            } else if (arg == "hold") {
                o.scenario = Scenario::kHold;
            } else if (arg == "call") {
                o.scenario = Scenario::kCall;
            } else if (arg == "message") {
                o.scenario = Scenario::kCall;
                o.method = CallMethod::kMessage;
                message_scenario = true;
            } else if (arg == "failover") {
                o.scenario = Scenario::kFailover;
            } else if (arg == "mix") {
                o.scenario = Scenario::kMix;
            } else {
                return absl::InvalidArgumentError(cat("unknown scenario ", arg,
                                                      ": use register, hold, call, message, "
                                                      "failover or mix"));
            }
            continue;
        }
        if (i + 1 >= argc) {
            return absl::InvalidArgumentError(cat(arg, " needs a value"));
        }
        const std::string_view value = argv[++i];
        if (arg == "--target") {
            auto a = parse_hostport(arg, value);
            FE_RETURN_IF_ERROR(a.status());
            o.target = *a;
            have_target = true;
        } else if (arg == "--edge") {
            auto a = parse_hostport(arg, value);
            FE_RETURN_IF_ERROR(a.status());
            o.edges.push_back(*a);
        } else if (arg == "--transport") {
            if (value == "udp") {
                o.transport = Transport::kUdp;
            } else if (value == "tcp") {
                o.transport = Transport::kTcp;
            } else {
                return absl::InvalidArgumentError(
                    cat("--transport ", value, ": use udp or tcp"));
            }
        } else if (arg == "--uas") {
            auto n = parse_number(arg, value, 1, kUaCountMax);
            FE_RETURN_IF_ERROR(n.status());
            o.ua_count = static_cast<uint32_t>(*n);
        } else if (arg == "--rate") {
            auto r = parse_real(arg, value, 10'000'000);
            FE_RETURN_IF_ERROR(r.status());
            o.rate = *r;
        } else if (arg == "--window") {
            auto n = parse_number(arg, value, 1, kUaCountMax);
            FE_RETURN_IF_ERROR(n.status());
            o.window = static_cast<uint32_t>(*n);
        } else if (arg == "--duration") {
            auto r = parse_real(arg, value, 86400);
            FE_RETURN_IF_ERROR(r.status());
            o.duration_s = *r;
        } else if (arg == "--flows-per-ua") {
            auto n = parse_number(arg, value, 1, 4);
            FE_RETURN_IF_ERROR(n.status());
            o.flows_per_ua = static_cast<uint32_t>(*n);
        } else if (arg == "--threads") {
            auto n = parse_number(arg, value, 1, kThreadCountMax);
            FE_RETURN_IF_ERROR(n.status());
            o.threads = static_cast<uint32_t>(*n);
        } else if (arg == "--source-net") {
            const size_t slash = value.find('/');
            auto a = parse_hostport(arg, cat(value.substr(0, slash), ":1"));
            const auto prefix = slash == std::string_view::npos
                                    ? std::optional<uint64_t>()
                                    : parse_u64(value.substr(slash + 1), 30);
            if (!a.ok() || !prefix || *prefix < 8 ||
                (ntohl(a->sin_addr.s_addr) >> 24) != 127) {
                return absl::InvalidArgumentError(cat(
                    "--source-net ", value, ": expected a loopback net 127.X.Y.Z/8..30"));
            }
            o.source_prefix = static_cast<uint32_t>(*prefix);
            const uint32_t mask = ~uint32_t{0} << (32 - o.source_prefix);
            o.source_net = ntohl(a->sin_addr.s_addr) & mask;
        } else if (arg == "--udp-port-base") {
            auto n = parse_number(arg, value, 1024, 65000);
            FE_RETURN_IF_ERROR(n.status());
            o.udp_port_base = static_cast<uint16_t>(*n);
        } else if (arg == "--expires") {
            auto n = parse_number(arg, value, 1, 86400);
            FE_RETURN_IF_ERROR(n.status());
            o.expires_s = static_cast<uint32_t>(*n);
        } else if (arg == "--domain") {
            o.domain = std::string(value);
        } else if (arg == "--method") {
            if (value == "message") {
                o.method = CallMethod::kMessage;
            } else if (value == "invite" && !message_scenario) {
                o.method = CallMethod::kInvite;
            } else {
                return absl::InvalidArgumentError(
                    cat("--method ", value,
                        message_scenario ? ": the message scenario sends MESSAGE (use call)"
                                         : ": use message or invite"));
            }
        } else if (arg == "--call-route") {
            if (value == "aor") {
                o.call_route = CallRoute::kAor;
            } else if (value == "path") {
                o.call_route = CallRoute::kPath;
            } else {
                return absl::InvalidArgumentError(
                    cat("--call-route ", value, ": use aor or path"));
            }
        } else if (arg == "--cut-at") {
            auto r = parse_real(arg, value, 86400);
            FE_RETURN_IF_ERROR(r.status());
            o.cut_at_s = *r;
        } else if (arg == "--cut-fraction") {
            auto r = parse_real(arg, value, 1.0);
            FE_RETURN_IF_ERROR(r.status());
            o.cut_fraction = *r;
        } else if (arg == "--seed") {
            auto n = parse_number(arg, value, 0, UINT64_MAX);
            FE_RETURN_IF_ERROR(n.status());
            o.seed = *n;
            o.seed_given = true;
        } else if (arg == "--identity-seed") {
            auto n = parse_number(arg, value, 0, UINT64_MAX);
            FE_RETURN_IF_ERROR(n.status());
            o.identity_seed = *n;
        } else if (arg == "--json") {
            o.json_path = std::string(value);
        } else if (arg == "--report") {
            o.report_path = std::string(value);
        } else {
            return absl::InvalidArgumentError(cat("unknown option ", arg, " (see --help)"));
        }
    }
    if (!have_scenario) {
        return absl::InvalidArgumentError(
            "no scenario: use register, hold, call, message, failover or mix");
    }
    if (!have_target) {
        return absl::InvalidArgumentError("--target HOST:PORT is required");
    }
    if (!o.seed_given) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        o.seed = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
                 static_cast<uint64_t>(ts.tv_nsec);
    }
    if (o.edges.empty()) {
        o.edges.push_back(o.target);
    }
    if (o.duration_s == 0) {
        o.duration_s = 10;
    }
    if (o.scenario == Scenario::kFailover && o.cut_at_s < 0) {
        o.cut_at_s = o.duration_s / 3;
    }
    return o;
}

}  // namespace fe::loadgen
