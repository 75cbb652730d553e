#include "cluster/config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/strings.h"

namespace fe::cluster {
namespace {

constexpr uint32_t kWorkerCountMax = 256;  // a ring per worker; more than cores is waste
constexpr uint32_t kFlowTimerMaxS = 86400;

absl::Status flag_error(std::string_view flag, std::string_view value, std::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("flowedge: ", to_absl(flag), " '",
                                                   to_absl(value), "': ", to_absl(want)));
}

absl::StatusOr<uint32_t> parse_number(std::string_view flag, std::string_view value, uint32_t min,
                                      uint32_t max) {
    auto n = parse_u32(value, max);
    if (!n || *n < min) {
        return flag_error(flag, value, absl::StrCat("want a whole number from ", min, " to ", max));
    }
    return *n;
}

absl::StatusOr<uint8_t> parse_roles(std::string_view value) {
    uint8_t roles = 0;
    for (absl::string_view part : absl::StrSplit(to_absl(value), ',')) {
        std::string_view p = to_std(part);
        if (p == "edge") {
            roles |= static_cast<uint8_t>(Role::kEdge);
        } else if (p == "registrar") {
            roles |= static_cast<uint8_t>(Role::kRegistrar);
        } else if (p == "proxy") {
            roles |= static_cast<uint8_t>(Role::kProxy);
        } else {
            return flag_error("--roles", value, "want a comma list of edge, registrar, proxy");
        }
    }
    return roles;
}

bool contains_ignore_case(std::string_view text, std::string_view part) {
    for (size_t i = 0; i + part.size() <= text.size(); ++i) {
        if (equals_ignore_case(text.substr(i, part.size()), part)) {
            return true;
        }
    }
    return false;
}

absl::StatusOr<TlsVerify> parse_tls_verify(std::string_view value) {
    for (TlsVerify v : {TlsVerify::kOptional, TlsVerify::kRequired, TlsVerify::kNone}) {
        if (value == tls_verify_name(v)) {
            return v;
        }
    }
    return flag_error("--tls-verify", value, "want optional, required or none");
}

// A tls listener needs its certificate and key, and a policy that asks for
// client certificates needs the CAs to judge them; TLS flags without a tls
// listener would be ignored, so they are an error too.
absl::Status check_tls(const Config& config) {
    // A tcp and a tls listener are both TCP sockets: on one address and port
    // SO_REUSEPORT would let the kernel hand TLS clients to the TCP listener.
    for (const Listen& a : config.listens) {
        for (const Listen& b : config.listens) {
            if (a.transport == Transport::kTcp && b.transport == Transport::kTls &&
                a.endpoint == b.endpoint && a.endpoint.port != 0) {
                return absl::InvalidArgumentError(absl::StrCat(
                    "flowedge: --listen ", a.to_string(), " and --listen ", b.to_string(),
                    " would share one TCP port: give TLS a port of its own (5061 is usual)"));
            }
            // Likewise a ws or wss listener and any other stream listener.
            const bool a_ws = a.transport == Transport::kWs || a.transport == Transport::kWss;
            if (a_ws && b.transport != a.transport && b.transport != Transport::kUdp &&
                a.endpoint == b.endpoint && a.endpoint.port != 0) {
                return absl::InvalidArgumentError(absl::StrCat(
                    "flowedge: --listen ", a.to_string(), " and --listen ", b.to_string(),
                    " would share one TCP port: give ", to_absl(transport_param_name(a.transport)),
                    " a port of its own (8080 and 8443 are usual)"));
            }
        }
    }
    const bool tls_next_hop = starts_with_ignore_case(config.next_hop, "sips:") ||
                              contains_ignore_case(config.next_hop, ";transport=tls");
    if (tls_next_hop && config.tls_ca_file.empty()) {
        return absl::InvalidArgumentError(
            "flowedge: a TLS --next-hop needs --tls-ca FILE: the CAs its certificate is "
            "verified against");
    }
    if (!config.has_tls_listener()) {
        if (!config.tls_ticket_key_file.empty()) {
            return absl::InvalidArgumentError(
                "flowedge: --tls-ticket-key-file is for TLS listeners, and no --listen is tls");
        }
        if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
            return absl::InvalidArgumentError(
                "flowedge: --tls-cert and --tls-key go together: give both (PEM files)");
        }
        // Without a listener, the files serve outbound TLS only, which
        // needs the CAs (the certificate is the client identity).
        if (!config.tls_cert_file.empty() && config.tls_ca_file.empty()) {
            return absl::InvalidArgumentError(
                "flowedge: --tls-cert and --tls-key are for TLS listeners, and no --listen is "
                "tls: add one, e.g. --listen tls:127.0.0.1:5061 (or give --tls-ca for outbound "
                "TLS)");
        }
        return absl::OkStatus();
    }
    if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
        return absl::InvalidArgumentError(
            "flowedge: a tls or wss listener needs the node's certificate and private key: give "
            "--tls-cert FILE (PEM, the leaf first) and --tls-key FILE (PEM)");
    }
    if (config.tls_verify != TlsVerify::kNone && config.tls_ca_file.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "flowedge: --tls-verify ", to_absl(tls_verify_name(config.tls_verify)),
            config.tls_verify == TlsVerify::kOptional ? " (the default)" : "",
            " asks clients for a certificate and needs the CAs to verify it: give --tls-ca "
            "FILE, or --tls-verify none for a listener that serves only phones"));
    }
    return absl::OkStatus();
}

}  // namespace

std::string_view tls_verify_name(TlsVerify verify) {
    switch (verify) {
        case TlsVerify::kOptional: return "optional";
        case TlsVerify::kRequired: return "required";
        case TlsVerify::kNone: return "none";
    }
    return "unknown";
}

bool Config::has_tls_listener() const {
    for (const Listen& l : listens) {
        if (l.transport == Transport::kTls || l.transport == Transport::kWss) {
            return true;
        }
    }
    return false;
}

std::string Listen::to_string() const {
    return absl::StrCat(to_absl(transport_param_name(transport)), ":", endpoint.to_string());
}

absl::StatusOr<RedisUrl> parse_redis_url(std::string_view text) {
    constexpr std::string_view kScheme = "redis://";
    constexpr std::string_view kWant = "want redis://HOST:PORT with HOST an IP address or localhost, "
                                       "e.g. redis://127.0.0.1:6379";
    if (!starts_with_ignore_case(text, kScheme)) {
        return flag_error("--store", text, kWant);
    }
    std::string_view rest = text.substr(kScheme.size());
    if (rest.find_first_of("@/?#") != std::string_view::npos) {
        return flag_error("--store", text,
                          "user, password, database and query are not supported; "
                          "want redis://HOST:PORT");
    }
    RedisUrl url;
    std::string_view host;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const size_t close = rest.find(']');
        if (close == std::string_view::npos) {
            return flag_error("--store", text, "an IPv6 host needs its ']', e.g. redis://[::1]:6379");
        }
        host = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return flag_error("--store", text, kWant);
        }
        port = rest.empty() ? std::string_view() : rest.substr(1);
        if (rest.size() == 1) {
            return flag_error("--store", text, "the port after ':' is missing");
        }
        auto address = Endpoint::parse(host);
        if (!address || !address->is_v6()) {
            return flag_error("--store", text, "the bracketed host is not an IPv6 address");
        }
    } else {
        const size_t colon = rest.find(':');
        if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
            return flag_error("--store", text,
                              "put an IPv6 host in brackets, e.g. redis://[::1]:6379");
        }
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
            if (port.empty()) {
                return flag_error("--store", text, "the port after ':' is missing");
            }
        }
        if (host.empty()) {
            return flag_error("--store", text, "the host is missing; " + std::string(kWant));
        }
        auto address = Endpoint::parse(host);
        if (!equals_ignore_case(host, "localhost") && (!address || address->is_v6())) {
            return flag_error("--store", text,
                              "name the host by IPv4 address, [IPv6] address or localhost "
                              "(the node does no DNS), e.g. redis://10.0.0.5:6379");
        }
    }
    if (!port.empty()) {
        auto n = parse_u32(port, 65535);
        if (!n || *n == 0) {
            return flag_error("--store", text, "the port must be a number from 1 to 65535");
        }
        url.port = static_cast<uint16_t>(*n);
    }
    url.host = equals_ignore_case(host, "localhost") ? std::string("localhost") : std::string(host);
    return url;
}

absl::StatusOr<Listen> parse_listen(std::string_view text) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return flag_error("--listen", text, "want PROTO:HOST:PORT, e.g. udp:127.0.0.1:5060");
    }
    auto transport = transport_from_name(text.substr(0, colon));
    if (!transport) {
        return flag_error("--listen", text, "the protocol must be udp, tcp, tls, ws or wss");
    }
    auto endpoint = Endpoint::parse(text.substr(colon + 1));
    if (!endpoint || text.substr(colon + 1).find(':') == std::string_view::npos) {
        return flag_error("--listen", text,
                          "want an IP address and a port, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060");
    }
    return Listen{*transport, *endpoint};
}

absl::StatusOr<Config> parse_args(int argc, const char* const* argv) {
    Config config;
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            config.help = true;
            return config;
        }
        std::string_view value;
        if (size_t eq = flag.find('='); eq != std::string_view::npos && flag.substr(0, 2) == "--") {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return flag_error(flag, "", "needs a value (see --help)");
        }
        if (flag == "--listen") {
            auto listen = parse_listen(value);
            if (!listen.ok()) return listen.status();
            config.listens.push_back(*listen);
        } else if (flag == "--workers") {
            auto n = parse_number(flag, value, 0, kWorkerCountMax);
            if (!n.ok()) return n.status();
            config.worker_count = *n;
        } else if (flag == "--roles") {
            auto roles = parse_roles(value);
            if (!roles.ok()) return roles.status();
            config.roles = *roles;
        } else if (flag == "--domain") {
            config.domains.emplace_back(value);
        } else if (flag == "--ws-origin") {
            if (value.empty() || value.find_first_of(" \t\r\n,") != std::string_view::npos) {
                return flag_error(flag, value, "want one origin, e.g. https://app.example.com");
            }
            config.ws_origins.emplace_back(value);
        } else if (flag == "--next-hop") {
            if (!starts_with_ignore_case(value, "sip:") && !starts_with_ignore_case(value, "sips:")) {
                return flag_error(flag, value, "want a SIP URI, e.g. sip:10.0.0.5:5060;transport=tcp");
            }
            config.next_hop = std::string(value);
        } else if (flag == "--flow-timer") {
            auto n = parse_number(flag, value, 1, kFlowTimerMaxS);
            if (!n.ok()) return n.status();
            config.flow_timer_s = *n;
        } else if (flag == "--token-key-file") {
            config.token_key_file = std::string(value);
        } else if (flag == "--node-id") {
            auto n = parse_number(flag, value, 1, 65535);
            if (!n.ok()) return n.status();
            config.node_id = static_cast<uint16_t>(*n);
        } else if (flag == "--advertise") {
            config.advertise = std::string(value);
        } else if (flag == "--store") {
            if (value != "embedded" && !starts_with_ignore_case(value, "redis://")) {
                return flag_error(flag, value, "want 'embedded' or redis://HOST:PORT");
            }
            if (value != "embedded") {
                if (auto url = parse_redis_url(value); !url.ok()) {
                    return url.status();
                }
            }
            config.store = std::string(value);
        } else if (flag == "--min-expires") {
            auto n = parse_number(flag, value, 1, 86400);
            if (!n.ok()) return n.status();
            config.min_expires_s = *n;
        } else if (flag == "--max-expires") {
            auto n = parse_number(flag, value, 1, 604800);
            if (!n.ok()) return n.status();
            config.max_expires_s = *n;
        } else if (flag == "--default-expires") {
            auto n = parse_number(flag, value, 1, 604800);
            if (!n.ok()) return n.status();
            config.default_expires_s = *n;
        } else if (flag == "--tls-cert") {
            config.tls_cert_file = std::string(value);
        } else if (flag == "--tls-key") {
            config.tls_key_file = std::string(value);
        } else if (flag == "--tls-ca") {
            config.tls_ca_file = std::string(value);
        } else if (flag == "--tls-ticket-key-file") {
            config.tls_ticket_key_file = std::string(value);
        } else if (flag == "--tls-verify") {
            auto verify = parse_tls_verify(value);
            if (!verify.ok()) return verify.status();
            config.tls_verify = *verify;
        } else {
            return flag_error(flag, value, "unknown flag (see --help)");
        }
    }
    if (config.listens.empty()) {
        return absl::InvalidArgumentError(
            "flowedge: nothing to listen on: give at least one --listen, e.g. --listen "
            "udp:127.0.0.1:5060 --listen tcp:127.0.0.1:5060");
    }
    if (config.roles == 0) {
        return absl::InvalidArgumentError("flowedge: --roles names no role");
    }
    if (!config.has_role(Role::kRegistrar) && !config.has_role(Role::kProxy) &&
        config.next_hop.empty()) {
        // A pure edge has nothing of its own to hand requests to.
        return absl::InvalidArgumentError(
            "flowedge: an edge without the registrar or proxy role forwards to a next hop: "
            "give --next-hop sip:HOST:PORT;transport=tcp");
    }
    if (config.min_expires_s > config.max_expires_s) {
        return absl::InvalidArgumentError("flowedge: --min-expires is above --max-expires");
    }
    if (absl::Status s = check_tls(config); !s.ok()) {
        return s;
    }
    return config;
}

const char* usage() {
    return R"(usage: flowedge --listen PROTO:HOST:PORT [--listen ...] [options]

Runs one flowedge node: an RFC 5626 (SIP Outbound) edge proxy, registrar and
authoritative proxy. Every worker thread owns its own io_uring and a slice of
the client flows.

  --listen PROTO:HOST:PORT  where to take SIP traffic; PROTO is udp, tcp, tls, ws or wss.
                            Repeat for each address, e.g.
                            --listen udp:127.0.0.1:5060 --listen tcp:127.0.0.1:5060
                            --listen tls:127.0.0.1:5061
  --workers N               worker threads (default: one per core)
  --roles LIST              comma list of edge, registrar, proxy (default: all three)
  --domain D                an AOR domain this node serves (repeatable; default: any)
  --ws-origin O             an Origin whose pages may open ws/wss connections, e.g.
                            https://app.example.com (repeatable; others get 403;
                            default: any; clients sending no Origin always pass)
  --next-hop URI            where a pure edge (no registrar role) sends REGISTER and
                            requests it does not route itself, e.g.
                            sip:10.0.0.5:5060;transport=tcp (transport=tls or sips:
                            for TLS, verified against --tls-ca)
  --flow-timer SECONDS      Flow-Timer given to outbound UAs (default 120); a flow
                            idle for longer than this plus a grace is closed
  --token-key-file F        flow-token keys shared by the cluster, one per line as
                            "ID HEX" (ID 0..255, 64 hex digits), oldest first, the
                            last line current; default: a random key per boot
  --node-id N               this node's id in the cluster, 1..65535 (default 1)
  --advertise HOST          host put in Path, Record-Route and Via (default: the
                            listen address)
  --store S                 binding store: embedded (default) or redis://HOST:PORT
                            (HOST an IP address or localhost; shared by every node)
  --min-expires S           smallest registration interval accepted (default 60; 423 below)
  --max-expires S           largest interval granted (default 7200)
  --default-expires S       interval when the REGISTER names none (default 3600)
  --tls-cert F              the node's TLS certificate chain (PEM, leaf first); needed
                            with a tls listener
  --tls-key F               its private key (PEM, unencrypted)
  --tls-ca F                CAs (PEM) trusted for client certificates, and for the
                            server certificates of outbound TLS (the next hop, sips:
                            URIs), which must name the host dialled (RFC 5922);
                            --tls-cert/--tls-key then serve as the client certificate
  --tls-verify MODE         client certificates on tls listeners: optional (default:
                            always asked for, a client without one is served
                            unauthenticated), required, or none (never asked; for
                            listeners that serve only phones). optional and required
                            need --tls-ca
  --tls-ticket-key-file F   session ticket keys every node shares, so a TLS session
                            made on one node resumes on any: 80 bytes per key, the
                            current key first (openssl rand 80 > ticket.key); default:
                            a random key per node
  --help                    this text

On start the node prints one line per listening socket, e.g.
  flowedge: listening on udp:127.0.0.1:5060
and runs until SIGTERM or SIGINT, then stops accepting, flushes and exits 0.
)";
}

}  // namespace fe::cluster
