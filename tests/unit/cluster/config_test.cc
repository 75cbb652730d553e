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
        {{"--listen", "sctp:127.0.0.1:5060"}, "udp or tcp"},
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
