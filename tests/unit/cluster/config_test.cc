// Checks command-line parsing of the flowedge node: each flag's value lands in
// the Config, and each bad value gets an error that names the flag.
#include "cluster/config.h"

#include <gtest/gtest.h>

#include <vector>

namespace fe::cluster {
namespace {

absl::StatusOr<Config> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "flowedge");
    return parse_args(static_cast<int>(args.size()), args.data());
}

TEST(Config, ParsesListensAndDefaults) {
    auto c = parse({"--listen", "udp:127.0.0.1:5060", "--listen=tcp:[::1]:5061"});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->listens.size(), 2u);
    EXPECT_EQ(c->listens[0].to_string(), "udp:127.0.0.1:5060");
    EXPECT_EQ(c->listens[1].to_string(), "tcp:[::1]:5061");
    EXPECT_TRUE(c->has_role(Role::kEdge));
    EXPECT_TRUE(c->has_role(Role::kRegistrar));
    EXPECT_TRUE(c->has_role(Role::kProxy));
    EXPECT_EQ(c->flow_timer_s, 120u);
    EXPECT_EQ(c->store, "embedded");
}

TEST(Config, ParsesEveryFlag) {
    auto c = parse({"--listen", "tcp:127.0.0.1:5060", "--workers", "3", "--roles", "edge",
                    "--next-hop", "sip:10.0.0.5:5060;transport=tcp", "--domain", "example.com",
                    "--flow-timer", "90", "--node-id", "7", "--store", "redis://127.0.0.1:6379",
                    "--advertise", "edge1.example.com"});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->worker_count, 3u);
    EXPECT_TRUE(c->has_role(Role::kEdge));
    EXPECT_FALSE(c->has_role(Role::kRegistrar));
    EXPECT_EQ(c->next_hop, "sip:10.0.0.5:5060;transport=tcp");
    EXPECT_EQ(c->domains, std::vector<std::string>{"example.com"});
    EXPECT_EQ(c->flow_timer_s, 90u);
    EXPECT_EQ(c->node_id, 7);
    EXPECT_EQ(c->store, "redis://127.0.0.1:6379");
    EXPECT_EQ(c->advertise, "edge1.example.com");
}

TEST(Config, HelpNeedsNothingElse) {
    auto c = parse({"--help"});
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->help);
}

TEST(Config, BadValuesNameTheFlag) {
    struct Case {
        std::vector<const char*> args;
        const char* message_part;
    };
    std::vector<Case> cases = {
        {{}, "nothing to listen on"},
        {{"--listen", "sctp:127.0.0.1:5060"}, "udp, tcp, tls, ws or wss"},
        {{"--listen", "udp:127.0.0.1"}, "--listen 'udp:127.0.0.1'"},
        {{"--listen", "udp:localhost:5060"}, "IP address"},
        {{"--listen", "udp:1.2.3.4:5060", "--workers", "many"}, "--workers 'many'"},
        {{"--listen", "udp:1.2.3.4:5060", "--roles", "edge,bouncer"}, "--roles"},
        {{"--listen", "udp:1.2.3.4:5060", "--roles", "edge"}, "--next-hop"},
        {{"--listen", "udp:1.2.3.4:5060", "--next-hop", "10.0.0.1"}, "SIP URI"},
        {{"--listen", "udp:1.2.3.4:5060", "--flow-timer", "0"}, "--flow-timer"},
        {{"--listen", "udp:1.2.3.4:5060", "--node-id", "70000"}, "--node-id"},
        {{"--listen", "udp:1.2.3.4:5060", "--store", "mysql://x"}, "redis://"},
        {{"--listen", "udp:1.2.3.4:5060", "--bogus", "1"}, "unknown flag"},
        {{"--listen"}, "needs a value"},
        {{"--listen", "udp:1.2.3.4:5060", "--tls-verify", "sometimes"}, "--tls-verify 'sometimes'"},
    };
    for (const auto& tc : cases) {
        auto c = parse(tc.args);
        ASSERT_FALSE(c.ok()) << tc.message_part;
        EXPECT_NE(c.status().message().find(tc.message_part), std::string::npos)
            << c.status().message();
    }
}

// Issue 11: a ws listener (RFC 7118) beside udp and tcp, IPv4 and IPv6; it
// needs no certificate, and it cannot share a port with another stream
// listener (they are all TCP sockets).
TEST(Config, ParsesWsListener) {
    auto c = parse({"--listen", "udp:127.0.0.1:5060", "--listen", "tcp:127.0.0.1:5060",
                    "--listen", "ws:127.0.0.1:8080", "--listen", "ws:[::1]:0"});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->listens.size(), 4u);
    EXPECT_EQ(c->listens[2].transport, Transport::kWs);
    EXPECT_EQ(c->listens[2].to_string(), "ws:127.0.0.1:8080");
    EXPECT_EQ(c->listens[3].to_string(), "ws:[::1]:0");
    EXPECT_FALSE(c->has_tls_listener());

    auto shared = parse({"--listen", "tcp:127.0.0.1:5060", "--listen", "ws:127.0.0.1:5060"});
    ASSERT_FALSE(shared.ok());
    EXPECT_NE(shared.status().message().find("give ws a port of its own"), std::string::npos)
        << shared.status();
    // udp and ws may share a number: different protocols.
    EXPECT_TRUE(parse({"--listen", "udp:127.0.0.1:5060", "--listen", "ws:127.0.0.1:5060"}).ok());
    auto origins = parse({"--listen", "ws:127.0.0.1:8080", "--ws-origin",
                          "https://app.example.com", "--ws-origin=https://b.example.com"});
    ASSERT_TRUE(origins.ok()) << origins.status();
    EXPECT_EQ(origins->ws_origins,
              (std::vector<std::string>{"https://app.example.com", "https://b.example.com"}));
    EXPECT_FALSE(parse({"--listen", "ws:127.0.0.1:8080", "--ws-origin", "a b"}).ok());

    // wss is WebSocket inside TLS: it needs the node's certificate and key,
    // and its own port.
    auto wss = parse({"--listen", "wss:127.0.0.1:8443", "--tls-cert", "c.pem", "--tls-key",
                      "k.pem", "--tls-verify", "none"});
    ASSERT_TRUE(wss.ok()) << wss.status();
    EXPECT_EQ(wss->listens[0].transport, Transport::kWss);
    EXPECT_EQ(wss->listens[0].to_string(), "wss:127.0.0.1:8443");
    EXPECT_TRUE(wss->has_tls_listener());
    auto no_cert = parse({"--listen", "wss:127.0.0.1:8443"});
    ASSERT_FALSE(no_cert.ok());
    EXPECT_NE(no_cert.status().message().find("a tls or wss listener needs"), std::string::npos)
        << no_cert.status();
    auto wss_shared = parse({"--listen", "ws:127.0.0.1:8443", "--listen", "wss:127.0.0.1:8443",
                             "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-verify", "none"});
    ASSERT_FALSE(wss_shared.ok());
    EXPECT_NE(wss_shared.status().message().find("a port of its own"), std::string::npos)
        << wss_shared.status();
}

// Issue 10: a tls listener with the node's certificate, key and client CAs;
// client certificates are asked for by default (CR-36).
TEST(Config, ParsesTlsListenerAndFlags) {
    auto c = parse({"--listen", "udp:127.0.0.1:5060", "--listen", "tls:127.0.0.1:5061",
                    "--tls-cert", "/etc/fe/node.pem", "--tls-key", "/etc/fe/node.key",
                    "--tls-ca", "/etc/fe/ca.pem"});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->listens.size(), 2u);
    EXPECT_EQ(c->listens[1].transport, Transport::kTls);
    EXPECT_EQ(c->listens[1].to_string(), "tls:127.0.0.1:5061");
    EXPECT_TRUE(c->has_tls_listener());
    EXPECT_EQ(c->tls_cert_file, "/etc/fe/node.pem");
    EXPECT_EQ(c->tls_key_file, "/etc/fe/node.key");
    EXPECT_EQ(c->tls_ca_file, "/etc/fe/ca.pem");
    EXPECT_EQ(c->tls_verify, TlsVerify::kOptional);  // CR-36: always ask
    EXPECT_TRUE(c->tls_ticket_key_file.empty());

    auto required = parse({"--listen", "tls:[::1]:5061", "--tls-cert", "c.pem", "--tls-key",
                           "k.pem", "--tls-ca", "ca.pem", "--tls-verify=required"});
    ASSERT_TRUE(required.ok()) << required.status();
    EXPECT_EQ(required->tls_verify, TlsVerify::kRequired);
    auto tickets = parse({"--listen", "tls:[::1]:5061", "--tls-cert", "c.pem", "--tls-key",
                          "k.pem", "--tls-verify", "none", "--tls-ticket-key-file", "t.key"});
    ASSERT_TRUE(tickets.ok()) << tickets.status();
    EXPECT_EQ(tickets->tls_ticket_key_file, "t.key");
    EXPECT_EQ(required->listens[0].to_string(), "tls:[::1]:5061");

    // Phones only: no client certificate asked for, so no CA needed.
    auto none = parse({"--listen", "tls:127.0.0.1:5061", "--tls-cert", "c.pem", "--tls-key",
                       "k.pem", "--tls-verify", "none"});
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_EQ(none->tls_verify, TlsVerify::kNone);
    EXPECT_TRUE(none->tls_ca_file.empty());
}

// Outbound TLS only (a pure edge whose next hop speaks TLS): the CAs, and
// optionally the node's certificate as its client identity, without a tls
// listener.
TEST(Config, TlsNextHopWithoutTlsListener) {
    auto c = parse({"--listen", "udp:127.0.0.1:5060", "--roles", "edge", "--next-hop",
                    "sip:10.0.0.5:5061;transport=tls", "--tls-ca", "ca.pem", "--tls-cert",
                    "c.pem", "--tls-key", "k.pem"});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->has_tls_listener());
    EXPECT_EQ(c->tls_ca_file, "ca.pem");
}

TEST(Config, TlsListenerWithoutCertificateIsRefused) {
    struct Case {
        std::vector<const char*> args;
        const char* message_part;
    };
    std::vector<Case> cases = {
        {{"--listen", "tls:127.0.0.1:5061"}, "--tls-cert FILE"},
        {{"--listen", "tls:127.0.0.1:5061", "--tls-cert", "c.pem"}, "--tls-key FILE"},
        {{"--listen", "tls:127.0.0.1:5061", "--tls-key", "k.pem"}, "--tls-cert FILE"},
        // optional (the default) and required verify client certificates.
        {{"--listen", "tls:127.0.0.1:5061", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
         "--tls-verify optional (the default) asks clients"},
        {{"--listen", "tls:127.0.0.1:5061", "--tls-cert", "c.pem", "--tls-key", "k.pem",
          "--tls-verify", "required"},
         "give --tls-ca FILE"},
        // tcp and tls are both TCP sockets: they cannot share a port.
        {{"--listen", "tcp:127.0.0.1:5060", "--listen", "tls:127.0.0.1:5060", "--tls-cert",
          "c.pem", "--tls-key", "k.pem", "--tls-verify", "none"},
         "would share one TCP port"},
        {{"--listen", "udp:127.0.0.1:5060", "--tls-cert", "c.pem", "--tls-ca", "ca.pem"},
         "go together"},
        // A TLS next hop's certificate is verified against --tls-ca.
        {{"--listen", "udp:127.0.0.1:5060", "--roles", "edge", "--next-hop",
          "sip:10.0.0.5:5061;transport=tls"},
         "needs --tls-ca"},
        {{"--listen", "udp:127.0.0.1:5060", "--roles", "edge", "--next-hop", "sips:10.0.0.5"},
         "needs --tls-ca"},
        {{"--listen", "udp:127.0.0.1:5060", "--tls-ticket-key-file", "t.key"},
         "--tls-ticket-key-file is for TLS listeners"},
        // TLS flags without a tls listener would be ignored.
        {{"--listen", "tcp:127.0.0.1:5060", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
         "no --listen is tls"},
    };
    for (const auto& tc : cases) {
        auto c = parse(tc.args);
        ASSERT_FALSE(c.ok()) << tc.message_part;
        EXPECT_NE(c.status().message().find(tc.message_part), std::string::npos)
            << c.status().message();
    }
}

}  // namespace
}  // namespace fe::cluster
