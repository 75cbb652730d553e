// Checks how the node reads --store redis://HOST:PORT: what parse_redis_url()
// accepts and the error it gives for each malformed URL (the flag parser
// exits 2 with it), how resolve_redis_url() turns the host into the IP
// literal hiredis gets, and that redis_reachable() tells a listening port
// from a closed one (the start-up warning).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/config.h"
#include "cluster/node.h"

namespace fe::cluster {
namespace {

TEST(RedisUrl, AcceptsIpLiteralsAndLocalhost) {
    struct Case {
        const char* url;
        const char* host;
        uint16_t port;
    };
    const Case cases[] = {
        {"redis://127.0.0.1:6379", "127.0.0.1", 6379},
        {"redis://10.0.0.5:7000", "10.0.0.5", 7000},
        {"REDIS://10.0.0.5:1", "10.0.0.5", 1},
        {"redis://10.0.0.5", "10.0.0.5", 6379},  // Redis's default port
        {"redis://[::1]:6380", "::1", 6380},
        {"redis://[2001:db8::7]", "2001:db8::7", 6379},
        {"redis://localhost:6390", "localhost", 6390},
        {"redis://LocalHost", "localhost", 6379},
    };
    for (const Case& c : cases) {
        auto url = parse_redis_url(c.url);
        ASSERT_TRUE(url.ok()) << c.url << ": " << url.status();
        EXPECT_EQ(url->host, c.host) << c.url;
        EXPECT_EQ(url->port, c.port) << c.url;
    }
}

TEST(RedisUrl, EachMalformedUrlSaysWhatIsWrong) {
    struct Case {
        const char* url;
        const char* message_part;
    };
    const Case cases[] = {
        {"rediss://127.0.0.1:6379", "want redis://HOST:PORT"},
        {"redis://", "the host is missing"},
        {"redis://:6379", "the host is missing"},
        {"redis://127.0.0.1:", "the port after ':' is missing"},
        {"redis://127.0.0.1:0", "from 1 to 65535"},
        {"redis://127.0.0.1:65536", "from 1 to 65535"},
        {"redis://127.0.0.1:63x9", "from 1 to 65535"},
        {"redis://redis.example.com:6379", "the node does no DNS"},
        {"redis://10.0.0:6379", "the node does no DNS"},
        {"redis://::1:6379", "put an IPv6 host in brackets"},
        {"redis://[::1:6379", "needs its ']'"},
        {"redis://[::1]6379", "want redis://HOST:PORT"},
        {"redis://[::1]:", "the port after ':' is missing"},
        {"redis://[10.0.0.1]:6379", "not an IPv6 address"},
        {"redis://:secret@127.0.0.1:6379", "password"},
        {"redis://127.0.0.1:6379/2", "database"},
        {"redis://127.0.0.1:6379?timeout=1", "query"},
    };
    for (const Case& c : cases) {
        auto url = parse_redis_url(c.url);
        ASSERT_FALSE(url.ok()) << c.url;
        const std::string message(url.status().message());
        EXPECT_NE(message.find(c.message_part), std::string::npos) << c.url << ": " << message;
        EXPECT_NE(message.find("--store"), std::string::npos) << message;
    }
}

TEST(RedisUrl, TheFlagParserRefusesAMalformedUrl) {
    const char* args[] = {"flowedge", "--listen", "udp:127.0.0.1:5060", "--store",
                          "redis://127.0.0.1:99999"};
    auto config = parse_args(5, args);
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find("--store 'redis://127.0.0.1:99999'"),
              std::string::npos)
        << config.status().message();
}

TEST(RedisUrl, ResolvesToTheIpLiteralHiredisGets) {
    auto v4 = resolve_redis_url("redis://127.0.0.1:6400");
    ASSERT_TRUE(v4.ok()) << v4.status();
    EXPECT_EQ(v4->ip, "127.0.0.1");
    EXPECT_EQ(v4->port, 6400);
    EXPECT_EQ(v4->label, "127.0.0.1:6400");

    auto v6 = resolve_redis_url("redis://[::1]:6401");
    ASSERT_TRUE(v6.ok()) << v6.status();
    EXPECT_EQ(v6->ip, "::1");
    EXPECT_EQ(v6->label, "[::1]:6401");

    auto local = resolve_redis_url("redis://localhost");
    ASSERT_TRUE(local.ok()) << local.status();
    EXPECT_TRUE(local->ip == "127.0.0.1" || local->ip == "::1") << local->ip;
    EXPECT_EQ(local->port, 6379);
    EXPECT_EQ(local->label, "localhost:6379");

    EXPECT_FALSE(resolve_redis_url("redis://db.internal:6379").ok());
}

// A listening TCP socket on a free loopback port, closed at the end.
class Listener {
public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(a);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), size), 0);
        EXPECT_EQ(::listen(fd_, 4), 0);
        EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &size), 0);
        port_ = ntohs(a.sin_port);
    }
    ~Listener() { close(); }
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

TEST(RedisUrl, ReachableOnlyWhileSomethingListens) {
    Listener listener;
    const RedisTarget target{.ip = "127.0.0.1", .port = listener.port(), .label = "x"};
    EXPECT_TRUE(redis_reachable(target, milliseconds(500)));
    listener.close();
    EXPECT_FALSE(redis_reachable(target, milliseconds(500)));
}

}  // namespace
}  // namespace fe::cluster
