#include "cluster/node.h"

#include <netdb.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cluster/node_limits.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/base/strings.h"
#include "core/syntax/host.h"
#include "core/syntax/uri.h"
#include "state/embedded_store.h"
#include "state/redis_store.h"

namespace fe::cluster {

absl::StatusOr<token::KeyRing> parse_key_file(std::string_view text) {
    // "ID:HEX" is the documented form; KeyRing::parse() reads "ID HEX". Turn
    // the first ':' of each line into a space and let it judge the rest.
    std::string converted;
    converted.reserve(text.size());
    size_t line_begin = 0;
    while (line_begin <= text.size()) {
        size_t line_end = text.find('\n', line_begin);
        if (line_end == std::string_view::npos) {
            line_end = text.size();
        }
        std::string line(text.substr(line_begin, line_end - line_begin));
        const size_t hash = line.find('#');
        const size_t colon = line.find(':');
        if (colon != std::string::npos && (hash == std::string::npos || colon < hash)) {
            line[colon] = ' ';
        }
        converted += line;
        converted += '\n';
        line_begin = line_end + 1;
    }
    auto ring = token::KeyRing::parse(converted);
    if (!ring.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flowedge: --token-key-file: ", ring.status().message(),
                         " (want one key per line as ID:HEX, 64 hex digits)"));
    }
    if (ring->key_count() == 0) {
        return absl::InvalidArgumentError(
            "flowedge: --token-key-file holds no key (want one key per line as ID:HEX)");
    }
    return ring;
}

absl::StatusOr<token::KeyRing> load_key_ring(const std::string& path) {
    if (path.empty()) {
        std::array<uint8_t, token::kKeySize> random{};
        if (RAND_bytes(random.data(), random.size()) != 1) {
            return absl::InternalError("flowedge: RAND_bytes failed: no randomness for the token key");
        }
        token::KeyRing ring = token::KeyRing::from_random(0, random);
        random.fill(0);
        return ring;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return absl::NotFoundError(
            absl::StrCat("flowedge: cannot read --token-key-file ", path, ": check the path and its permissions"));
    }
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().size() > token::kKeyFileSizeMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("flowedge: --token-key-file ", path, " is larger than ",
                         token::kKeyFileSizeMax, " bytes"));
    }
    return parse_key_file(text.str());
}

absl::StatusOr<NextHop> parse_next_hop(std::string_view text) {
    syntax::Uri uri;
    if (syntax::Error e = syntax::parse_uri(text, uri); e != syntax::Error::kOk) {
        return absl::InvalidArgumentError(absl::StrCat("flowedge: --next-hop '", to_absl(text),
                                                       "': ", to_absl(syntax::error_text(e))));
    }
    if (uri.host_kind != syntax::HostKind::kIpv4 && uri.host_kind != syntax::HostKind::kIpv6) {
        return absl::InvalidArgumentError(absl::StrCat(
            "flowedge: --next-hop '", to_absl(text),
            "': name the host by IP address (the node does no DNS), e.g. sip:10.0.0.5:5060"));
    }
    auto endpoint = Endpoint::parse(syntax::host_address(uri.host));
    FE_ASSERT(endpoint.has_value());
    endpoint->port = uri.has_port() ? uri.port : 5060;
    NextHop hop{*endpoint, uri.is_sips() ? Transport::kTls : Transport::kUdp,
                std::string(syntax::host_address(uri.host))};
    if (!uri.transport_param().empty()) {
        auto t = uri.transport();
        if (!t || (*t != Transport::kUdp && *t != Transport::kTcp && *t != Transport::kTls) ||
            (uri.is_sips() && *t == Transport::kUdp)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "flowedge: --next-hop '", to_absl(text), "': transport must be udp, tcp or tls"));
        }
        if (!uri.is_sips()) {
            hop.transport = *t;
        }
    }
    if (!uri.has_port() && hop.transport == Transport::kTls) {
        hop.endpoint.port = 5061;
    }
    return hop;
}

absl::StatusOr<RedisTarget> resolve_redis_url(std::string_view text) {
    FE_ASSIGN_OR_RETURN(RedisUrl url, parse_redis_url(text));
    RedisTarget target;
    target.port = url.port;
    target.label = url.host.find(':') != std::string::npos
                       ? absl::StrCat("[", url.host, "]:", url.port)
                       : absl::StrCat(url.host, ":", url.port);
    if (auto literal = Endpoint::parse(url.host)) {
        target.ip = literal->address_string();
        return target;
    }
    FE_ASSERT(url.host == "localhost");  // parse_redis_url() lets no other name through
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(url.host.c_str(), nullptr, &hints, &found); rc != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("flowedge: --store redis://", target.label, ": cannot resolve ",
                         url.host, " (", ::gai_strerror(rc), "); give an IP address instead"));
    }
    // IPv4 first: "localhost" is 127.0.0.1 for a Redis started with its
    // default bind on most hosts, while ::1 may be missing from it.
    const addrinfo* pick = nullptr;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET && pick == nullptr) {
            pick = a;
        }
    }
    for (const addrinfo* a = found; a != nullptr && pick == nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET6) {
            pick = a;
        }
    }
    char ip[NI_MAXHOST] = {};
    const bool named = pick != nullptr && ::getnameinfo(pick->ai_addr, pick->ai_addrlen, ip,
                                                        sizeof(ip), nullptr, 0,
                                                        NI_NUMERICHOST) == 0;
    ::freeaddrinfo(found);
    if (!named) {
        return absl::InvalidArgumentError(absl::StrCat("flowedge: --store redis://", target.label,
                                                       ": ", url.host, " has no IP address"));
    }
    target.ip = ip;
    return target;
}

bool redis_reachable(const RedisTarget& target, Duration timeout) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;  // never a lookup
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* address = nullptr;
    const std::string port = std::to_string(target.port);
    if (::getaddrinfo(target.ip.c_str(), port.c_str(), &hints, &address) != 0) {
        return false;
    }
    const int fd = ::socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && ::connect(fd, address->ai_addr, address->ai_addrlen) == 0;
    if (!ok && fd >= 0 && errno == EINPROGRESS) {
        pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
        const auto timeout_ms =
            static_cast<int>(std::chrono::duration_cast<milliseconds>(timeout).count());
        int error = 0;
        socklen_t error_size = sizeof(error);
        ok = ::poll(&p, 1, timeout_ms) == 1 &&
             ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_size) == 0 && error == 0;
    }
    ::freeaddrinfo(address);
    if (fd >= 0) {
        ::close(fd);
    }
    return ok;
}

absl::StatusOr<std::unique_ptr<net::tls::TlsContext>> make_tls_context(const Config& config) {
    net::tls::TlsContextConfig tls;
    tls.role = net::tls::TlsRole::kServer;
    tls.identities.push_back(net::tls::TlsIdentityConfig{
        .certificate_chain_file = config.tls_cert_file, .private_key_file = config.tls_key_file});
    tls.ca_file = config.tls_ca_file;
    if (!config.tls_ticket_key_file.empty()) {
        std::ifstream in(config.tls_ticket_key_file, std::ios::binary);
        if (!in) {
            return absl::NotFoundError(
                absl::StrCat("flowedge: cannot read --tls-ticket-key-file ",
                             config.tls_ticket_key_file, ": check the path and its permissions"));
        }
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto keys = net::tls::TicketKey::parse(bytes);
        std::fill(bytes.begin(), bytes.end(), '\0');
        if (!keys.ok()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "flowedge: --tls-ticket-key-file ", config.tls_ticket_key_file, ": ",
                keys.status().message()));
        }
        tls.ticket_keys = std::move(*keys);
    }
    switch (config.tls_verify) {
        case TlsVerify::kOptional:
            tls.client_certificate = net::tls::ClientCertificatePolicy::kOptional;
            break;
        case TlsVerify::kRequired:
            tls.client_certificate = net::tls::ClientCertificatePolicy::kRequired;
            break;
        case TlsVerify::kNone:
            tls.client_certificate = net::tls::ClientCertificatePolicy::kNone;
            break;
    }
    auto context = net::tls::TlsContext::create(tls);
    if (!context.ok()) {
        return absl::Status(context.status().code(),
                            absl::StrCat("flowedge: tls listener: ", context.status().message()));
    }
    return std::move(*context);
}

absl::StatusOr<std::unique_ptr<net::tls::TlsContext>> make_tls_client_context(
    const Config& config) {
    net::tls::TlsContextConfig tls;
    tls.role = net::tls::TlsRole::kClient;
    if (!config.tls_cert_file.empty()) {
        tls.identities.push_back(net::tls::TlsIdentityConfig{
            .certificate_chain_file = config.tls_cert_file,
            .private_key_file = config.tls_key_file});
    }
    tls.ca_file = config.tls_ca_file;
    auto context = net::tls::TlsContext::create(tls);
    if (!context.ok()) {
        return absl::Status(context.status().code(), absl::StrCat("flowedge: outbound TLS: ",
                                                                  context.status().message()));
    }
    return std::move(*context);
}

Node::Node(Config config) : config_(std::move(config)) {}

Node::~Node() { stop(); }

absl::Status Node::start() {
    FE_ASSERT(workers_ == nullptr);
    FE_ASSIGN_OR_RETURN(key_ring_, load_key_ring(config_.token_key_file));

    uint32_t worker_count = config_.worker_count;
    if (worker_count == 0) {
        worker_count = std::max(1u, std::thread::hardware_concurrency());
    }
    context_.config = &config_;
    context_.key_ring = &key_ring_;
    context_.worker_count = worker_count;
    context_.roles = outbound::Roles{.edge = config_.has_role(Role::kEdge),
                                     .registrar = config_.has_role(Role::kRegistrar),
                                     .proxy = config_.has_role(Role::kProxy),
                                     .has_next_hop = !config_.next_hop.empty()};
    if (context_.roles.has_next_hop) {
        FE_ASSIGN_OR_RETURN(NextHop hop, parse_next_hop(config_.next_hop));
        context_.next_hop = hop.endpoint;
        context_.next_hop_transport = hop.transport;
        context_.next_hop_host = hop.host;
        if (hop.transport == Transport::kTls && config_.tls_ca_file.empty()) {
            return absl::InvalidArgumentError(
                "flowedge: a TLS --next-hop needs --tls-ca to verify its certificate");
        }
    }
    uint32_t generation = 0;
    if (RAND_bytes(reinterpret_cast<uint8_t*>(&generation), sizeof(generation)) != 1) {
        return absl::InternalError("flowedge: RAND_bytes failed");
    }
    context_.generation_start = 1 + (generation & 0x7fffffffu);

    // The registrar and the proxy both need the location service; a node
    // with neither role keeps none.
    if (context_.roles.registrar || context_.roles.proxy) {
        if (config_.store == "embedded") {
            store_ = std::make_unique<state::EmbeddedStore>();
            context_.store = store_.get();
        } else {
            redis_mode_ = true;
            FE_ASSIGN_OR_RETURN(redis_, resolve_redis_url(config_.store));
            context_.redis_label = redis_.label;
            // Read once, here: core/ and state/ never read a clock. Redis
            // keeps expiries as wall-clock time so every node reads them alike.
            wall_clock_offset_ =
                std::chrono::duration_cast<Duration>(
                    std::chrono::system_clock::now().time_since_epoch()) -
                std::chrono::duration_cast<Duration>(
                    std::chrono::steady_clock::now().time_since_epoch());
            if (!redis_reachable(redis_, kRedisStartProbeTimeout)) {
                // Not fatal: each worker's store keeps reconnecting, and the
                // node serves everything but registrations meanwhile.
                context_.redis_down_at_start = true;
                std::fprintf(stderr,
                             "flowedge: redis %s unreachable; REGISTER will get 500 until it "
                             "is back\n",
                             redis_.label.c_str());
            }
        }
    }

    if (config_.has_tls_listener()) {
        FE_ASSIGN_OR_RETURN(tls_context_, make_tls_context(config_));
    }
    if (!config_.tls_ca_file.empty()) {
        FE_ASSIGN_OR_RETURN(tls_client_context_, make_tls_client_context(config_));
        context_.tls_client = tls_client_context_.get();
    }
    net::WorkersConfig workers_config;
    workers_config.worker_count = worker_count;
    workers_config.worker.ws_origins_allowed = config_.ws_origins;
    for (const Listen& l : config_.listens) {
        workers_config.listens.push_back(net::ListenSpec{
            l.transport, l.endpoint,
            l.transport == Transport::kTls || l.transport == Transport::kWss ? tls_context_.get()
                                                                             : nullptr});
    }
    sip_workers_.assign(worker_count, nullptr);
    workers_ = std::make_unique<net::Workers>(
        workers_config, [this](net::Worker& worker) { return make_sip_worker(worker); });
    if (absl::Status s = workers_->bind(); !s.ok()) {
        workers_.reset();
        return absl::Status(s.code(), absl::StrCat("flowedge: ", s.message()));
    }
    FE_RETURN_IF_ERROR(learn_listeners());

    context_.registrar.expires_min_s = config_.min_expires_s;
    context_.registrar.expires_max_s = config_.max_expires_s;
    context_.registrar.expires_default_s = config_.default_expires_s;
    context_.registrar.flow_timer_s = config_.flow_timer_s;
    context_.registrar.domains = config_.domains;
    context_.registrar.local_hosts = context_.aliases;
    context_.registrar.local_hosts.push_back(context_.advertise_host);
    context_.registrar.local_ports = context_.ports;
    context_.registrar.node_id = config_.node_id;

    context_.proxy.identity = context_.identity();
    context_.proxy.keys = &key_ring_;
    context_.proxy.via_host = context_.advertise_host;
    context_.proxy.udp_port = context_.udp_port;
    context_.proxy.tcp_port = context_.tcp_port;
    context_.proxy.tls_port = context_.tls_port;
    context_.proxy.ws_port = context_.ws_port;
    context_.proxy.wss_port = context_.wss_port;
    if (RAND_bytes(reinterpret_cast<uint8_t*>(&context_.proxy.branch_secret),
                   sizeof(context_.proxy.branch_secret)) != 1) {
        return absl::InternalError("flowedge: RAND_bytes failed");
    }
    if (worker_count > 1) {
        mail_ = std::make_unique<WorkerMail>(worker_count, kWorkerMailRingSize);
        context_.mail = mail_.get();
    }
    if (absl::Status s = workers_->start(); !s.ok()) {
        workers_.reset();
        return absl::Status(s.code(), absl::StrCat("flowedge: ", s.message()));
    }
    return absl::OkStatus();
}

absl::Status Node::learn_listeners() {
    const std::vector<net::ListenSpec>& bound = workers_->listening();
    for (const net::ListenSpec& l : bound) {
        context_.ports.push_back(l.endpoint.port);
        context_.aliases.push_back(l.endpoint.address_string());
        if (l.transport == Transport::kUdp && context_.udp_port == 0) {
            context_.udp_port = l.endpoint.port;
        }
        if (l.transport == Transport::kTcp && context_.tcp_port == 0) {
            context_.tcp_port = l.endpoint.port;
        }
        if (l.transport == Transport::kTls && context_.tls_port == 0) {
            context_.tls_port = l.endpoint.port;
        }
        if (l.transport == Transport::kWs && context_.ws_port == 0) {
            context_.ws_port = l.endpoint.port;
        }
        if (l.transport == Transport::kWss && context_.wss_port == 0) {
            context_.wss_port = l.endpoint.port;
        }
    }
    context_.advertise_host = config_.advertise;
    if (context_.advertise_host.empty()) {
        const Endpoint& first = bound.front().endpoint;
        context_.advertise_host =
            first.is_v6() ? absl::StrCat("[", first.address_string(), "]") : first.address_string();
    }
    if (context_.advertise_host.size() > outbound::kEdgeHostSizeMax) {
        return absl::InvalidArgumentError("flowedge: --advertise host is too long");
    }
    return absl::OkStatus();
}

std::unique_ptr<net::Handler> Node::make_sip_worker(net::Worker& worker) {
    std::unique_ptr<state::RedisStore> redis;
    if (redis_mode_) {
        const state::RedisStoreConfig config{.host = redis_.ip, .port = redis_.port,
                                             .wall_clock_offset = wall_clock_offset_};
        redis = std::make_unique<state::RedisStore>(config, worker, worker.timer_wheel());
    }
    auto handler = std::make_unique<SipWorker>(worker, context_, std::move(redis));
    sip_workers_[worker.index()] = handler.get();
    return handler;
}

void Node::stop() {
    if (workers_ == nullptr || stopped_) {
        return;
    }
    stopped_ = true;
    workers_->stop();
}

std::vector<Listen> Node::listening() const {
    std::vector<Listen> out;
    if (workers_ != nullptr) {
        for (const net::ListenSpec& l : workers_->listening()) {
            out.push_back(Listen{l.transport, l.endpoint});
        }
    }
    return out;
}

std::string Node::stats_line() const {
    uint64_t requests = 0, responses = 0, pings = 0, stun = 0, malformed = 0, incoming = 0,
             gone = 0, bad_token = 0, flows = 0, expired = 0, posted = 0, other_node = 0,
             dispatched = 0, mail_dropped = 0, send_failed = 0;
    for (const SipWorker* w : sip_workers_) {
        if (w == nullptr) {
            continue;
        }
        const EdgeStats& s = w->stats();
        requests += s.requests.get();
        responses += s.responses.get();
        pings += s.pings_answered.get();
        stun += s.stun_answered.get();
        malformed += s.malformed_requests.get() + s.malformed_responses.get();
        incoming += s.route_incoming.get();
        gone += s.route_flow_gone.get();
        bad_token += s.route_bad_token.get();
        flows += s.flows_created.get();
        expired += s.flows_expired.get();
        posted += s.deliveries_posted.get();
        other_node += s.route_other_node.get();
        dispatched += s.dispatched.get();
        mail_dropped += s.deliveries_dropped.get();
        send_failed += s.sends_failed.get();
    }
    std::string line = absl::StrCat(
        "flowedge: stats requests=", requests, " responses=", responses, " pings=", pings,
        " stun=", stun, " malformed=", malformed, " routed=", incoming, " flow_failed=", gone,
        " bad_token=", bad_token, " flows=", flows, " flows_expired=", expired,
        " cross_worker=", posted, " other_node=", other_node, " dispatched=", dispatched,
        " mail_dropped=", mail_dropped, " send_failed=", send_failed);
    if ((tls_context_ != nullptr || tls_client_context_ != nullptr) && workers_ != nullptr) {
        uint64_t completed = 0, resumed = 0, failed = 0, timeouts = 0, deferred = 0, errors = 0;
        for (uint32_t i = 0; i < workers_->worker_count(); ++i) {
            const net::WorkerStats& s = workers_->worker(i).stats();
            completed += s.tls_handshakes_completed.get();
            resumed += s.tls_handshakes_resumed.get();
            failed += s.tls_handshakes_failed.get();
            timeouts += s.tls_handshake_timeouts.get();
            deferred += s.tls_handshakes_deferred.get();
            errors += s.tls_errors.get();
        }
        absl::StrAppend(&line, " tls_handshakes=", completed, " tls_resumed=", resumed,
                        " tls_handshake_failures=", failed, " tls_handshake_timeouts=", timeouts,
                        " tls_handshakes_deferred=", deferred, " tls_errors=", errors);
    }
    if (redis_mode_) {
        uint64_t unavailable = 0, connects = 0, connect_failures = 0, disconnects = 0;
        for (const SipWorker* w : sip_workers_) {
            if (w == nullptr) {
                continue;
            }
            const EdgeStats& s = w->stats();
            unavailable += s.store_unavailable.get() + w->redis_refused_count();
            connects += s.store_connects.get();
            connect_failures += s.store_connect_failures.get();
            disconnects += s.store_disconnects.get();
        }
        absl::StrAppend(&line, " redis_unavailable=", unavailable, " redis_connects=", connects,
                        " redis_connect_failures=", connect_failures,
                        " redis_disconnects=", disconnects);
    }
    return line;
}

}  // namespace fe::cluster
