// Fuzzes RFC 5923 reuse (core/reuse): decide_alias(), decide_offer_alias() and
// an AliasTable driven by a program read from the input, against a shadow
// model of the table. The input is a byte stream of operations on up to
// kSlots fake TLS/TCP/UDP connections, each with a generation, a peer
// authentication result, certificate names and a local identity index; hosts
// come from a small vocabulary of near-misses (case, trailing dot, suffix,
// wildcard, IPv4/IPv6 forms) or raw input bytes. Checks:
//   - decide_alias() says kAlias only over TLS, with a TLS Via carrying the
//     `alias` flag, a verified peer whose identities match the Via sent-by
//     host (RFC 5922 §7.2), and a key of the canonical sent-by host, the
//     sent-by port or 5061, and the connection's local identity index; any
//     other verdict leaves no key;
//   - decide_offer_alias() offers only over a verified TLS connection whose
//     certificate names the dialled host;
//   - find() returns only a live connection (current generation), verified,
//     whose identities match the key's host, and of the key's local identity;
//   - remove() drops exactly the row named; remove_connection() leaves no row of that connection;
//   the table's size
//     never passes count_max(), a connection's rows never pass
//     kAliasPerConnectionCountMax; the table equals the model after every step
//     and its internal invariants hold.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/reuse/alias_decision.h"
#include "core/reuse/alias_table.h"
#include "core/reuse/limits.h"
#include "core/syntax/via.h"
#include "core/tls/peer_identity.h"

namespace {

using fe::Transport;
using fe::reuse::AliasDecision;
using fe::reuse::AliasKey;
using fe::reuse::AliasTable;
using fe::reuse::AliasVerdict;
using fe::reuse::ConnectionRef;
using fe::reuse::InsertResult;
using fe::reuse::PeerAuthentication;

void check(bool ok) {
    if (!ok) {
        abort();
    }
}

constexpr size_t kSlots = 12;
constexpr size_t kTableRows = 24;  // small, so that "full" is reached

constexpr std::array<std::string_view, 16> kHosts = {
    "p1.example.com",
    "P1.Example.COM",
    "p1.example.com.",
    "example.com",
    "a.p1.example.com",
    "*.example.com",
    "example.net",
    "p2.example.net",
    "192.0.2.1",
    "192.0.2.2",
    "[2001:db8::1]",
    "[2001:DB8:0::1]",
    "2001:db8::1",
    "com",
    "xn--bcher-kva.example",
    "",
};

struct Reader {
    const uint8_t* data;
    size_t size;
    size_t at = 0;

    bool empty() const { return at >= size; }
    uint8_t byte() { return at < size ? data[at++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    // A host: from the vocabulary, or up to 15 raw bytes.
    std::string host() {
        uint8_t b = byte();
        if (b < 0xf0) {
            return std::string(kHosts[b % kHosts.size()]);
        }
        size_t n = b & 0x0f;
        std::string out;
        while (n-- > 0 && !empty()) {
            out.push_back(static_cast<char>(byte()));
        }
        return out;
    }
};

struct Slot {
    bool open = false;
    uint32_t generation = 0;
    Transport transport = Transport::kTls;
    PeerAuthentication authentication = PeerAuthentication::kNone;
    fe::tls::SipIdentities identities;
    uint32_t local_identity_index = 0;
};

using ModelKey = std::tuple<std::string, uint16_t, uint32_t>;

struct Harness {
    std::array<Slot, kSlots> slots;
    AliasTable table{kTableRows};
    std::map<ModelKey, ConnectionRef> model;

    const fe::tls::SipIdentities* identities_of(ConnectionRef c) const {
        if (c.index >= kSlots) {
            return nullptr;
        }
        const Slot& s = slots[c.index];
        if (!s.open || s.generation != c.generation || s.transport != Transport::kTls ||
            s.authentication != PeerAuthentication::kVerified) {
            return nullptr;
        }
        return &s.identities;
    }

    fe::tls::SipIdentities make_identities(Reader& in) {
        fe::tls::CertificateNames names;
        uint8_t flags = in.byte();
        names.has_subject_alt_name = (flags & 1) != 0;
        names.truncated = (flags & 2) != 0 && (flags & 4) != 0;
        fe::tls::IdentityPolicy policy;
        if ((flags & 8) != 0) {
            policy.ip_address_san = fe::tls::IpAddressSanPolicy::kAccept;
        }
        size_t count = (flags >> 4) % 4;
        for (size_t i = 0; i < count; ++i) {
            uint8_t kind = in.byte() % 5;
            std::string h = in.host();
            switch (kind) {
                case 0:
                    names.uris.push_back("sip:" + h);
                    break;
                case 1:
                    names.uris.push_back("sip:user@" + h);
                    break;
                case 2:
                    names.dns_names.push_back(h);
                    break;
                case 3:
                    names.ip_addresses.push_back(h);
                    break;
                default:
                    names.common_names.push_back(h);
                    break;
            }
        }
        return fe::tls::find_sip_identities(names, policy);
    }

    void open(Reader& in, size_t i) {
        Slot& s = slots[i];
        s.open = true;
        ++s.generation;
        static constexpr Transport kTransports[] = {Transport::kTls, Transport::kTls,
                                                    Transport::kTls, Transport::kTcp,
                                                    Transport::kUdp, Transport::kWss};
        s.transport = kTransports[in.byte() % 6];
        s.authentication = static_cast<PeerAuthentication>(in.byte() % 3);
        s.identities = s.authentication == PeerAuthentication::kVerified ? make_identities(in)
                                                                         : fe::tls::SipIdentities{};
        s.local_identity_index = in.byte() % 3;
    }

    void close(size_t i) {
        Slot& s = slots[i];
        ConnectionRef c{static_cast<uint32_t>(i), s.generation};
        size_t expected = 0;
        for (auto it = model.begin(); it != model.end();) {
            if (it->second == c) {
                it = model.erase(it);
                ++expected;
            } else {
                ++it;
            }
        }
        check(table.remove_connection(c) == expected);
        check(table.connection_alias_count(c) == 0);
        s.open = false;
    }

    void receive(Reader& in, size_t i) {
        Slot& s = slots[i];
        if (!s.open) {
            return;
        }
        static constexpr std::string_view kViaTransports[] = {"TLS", "tls", "TCP", "UDP", "WSS"};
        static constexpr std::string_view kAliasParams[] = {
            ";alias", ";ALIAS", ";alias=1", "", ";alias;keep", ";received=192.0.2.9;alias"};
        uint8_t shape = in.byte();
        std::string host = in.host();
        std::string via = "SIP/2.0/" + std::string(kViaTransports[shape % 5]) + " " + host;
        uint16_t port = in.u16();
        if ((shape & 0x08) != 0) {
            via += ":" + std::to_string(port);
        }
        via += ";branch=z9hG4bK1" + std::string(kAliasParams[(shape >> 4) % 6]);
        fe::syntax::Via parsed;
        if (fe::syntax::parse_via(via, parsed) != fe::syntax::Error::kOk) {
            return;
        }
        fe::reuse::ReceivedConnection over{s.transport, s.authentication, &s.identities,
                                           fe::Endpoint{}, s.local_identity_index};
        fe::reuse::AliasOptions options;
        if ((shape & 0x80) != 0 && (shape & 0x04) != 0) {
            options.mode = fe::reuse::AliasMode::kIgnore;
        }
        AliasDecision d = fe::reuse::decide_alias(parsed, over, options);
        if (d.verdict != AliasVerdict::kAlias) {
            check(d.key.host.empty());
            check(!parsed.alias || options.mode == fe::reuse::AliasMode::kHonour ||
                  d.verdict == AliasVerdict::kIgnored);
            return;
        }
        // Never an alias without a verified TLS peer whose identity matches.
        check(parsed.alias);
        check(options.mode == fe::reuse::AliasMode::kHonour);
        check(s.transport == Transport::kTls);
        check(parsed.transport() == Transport::kTls);
        check(s.authentication == PeerAuthentication::kVerified);
        check(!s.identities.empty());
        check(fe::tls::match_sip_identity(s.identities, parsed.host) ==
              fe::tls::MatchResult::kMatch);
        std::optional<fe::tls::SipIdentity> canonical = fe::tls::canonical_host(parsed.host);
        check(canonical.has_value() && canonical->name == d.key.host);
        check(d.key.port == (parsed.has_port() ? parsed.port : fe::reuse::kTlsDefaultPort));
        check(d.key.transport == Transport::kTls);
        check(d.key.local_identity_index == s.local_identity_index);
        insert(d.key, ConnectionRef{static_cast<uint32_t>(i), s.generation});
    }

    void insert(const AliasKey& key, ConnectionRef c) {
        ModelKey mk{key.host, key.port, key.local_identity_index};
        auto it = model.find(mk);
        size_t conn_rows = 0;
        for (const auto& [k, v] : model) {
            conn_rows += v == c ? 1 : 0;
        }
        InsertResult r = table.insert(key, c);
        if (it != model.end() && it->second == c) {
            check(r == InsertResult::kRefreshed);
        } else if (conn_rows >= fe::reuse::kAliasPerConnectionCountMax) {
            check(r == InsertResult::kConnectionFull || r == InsertResult::kTableFull);
        } else if (it != model.end()) {
            check(r == InsertResult::kMoved);
            it->second = c;
        } else if (model.size() >= kTableRows) {
            check(r == InsertResult::kTableFull);
        } else {
            check(r == InsertResult::kInserted);
            model.emplace(mk, c);
        }
    }

    void offer(Reader& in, size_t i) {
        Slot& s = slots[i];
        if (!s.open) {
            return;
        }
        std::string host = in.host();
        fe::reuse::DialledConnection dialled{s.transport, s.authentication, &s.identities,
                                             host,        in.u16(),         s.local_identity_index};
        fe::reuse::PeerReuse reuse =
            (in.byte() & 1) != 0 ? fe::reuse::PeerReuse::kOn : fe::reuse::PeerReuse::kOff;
        fe::reuse::OfferDecision d = fe::reuse::decide_offer_alias(dialled, reuse);
        if (d.verdict != fe::reuse::OfferVerdict::kOffer) {
            check(d.key.host.empty());
            return;
        }
        check(reuse == fe::reuse::PeerReuse::kOn);
        check(s.transport == Transport::kTls);
        check(s.authentication == PeerAuthentication::kVerified);
        check(fe::tls::match_sip_identity(s.identities, host) == fe::tls::MatchResult::kMatch);
        check(d.key.port != 0);
        insert(d.key, ConnectionRef{static_cast<uint32_t>(i), s.generation});
    }

    void find(Reader& in) {
        std::string host = in.host();
        uint16_t port = (in.byte() & 1) != 0 ? 0 : fe::reuse::kTlsDefaultPort + in.byte() % 3;
        uint8_t local_byte = in.byte();
        uint32_t local = local_byte % 3;
        std::optional<AliasKey> key = fe::reuse::target_alias_key(host, port, local);
        if (!key) {
            return;
        }
        if ((local_byte & 0x80) != 0) {  // remove one row instead
            bool removed = table.remove(key->view());
            check(removed == (model.erase(ModelKey{key->host, key->port, local}) == 1));
            return;
        }
        std::optional<ConnectionRef> found =
            table.find(key->view(), [this](ConnectionRef c) { return identities_of(c); });
        ModelKey mk{key->host, key->port, key->local_identity_index};
        auto it = model.find(mk);
        if (!found) {
            if (it != model.end()) {
                // Only a row whose connection failed the check may vanish.
                const fe::tls::SipIdentities* ids = identities_of(it->second);
                check(ids == nullptr ||
                      fe::tls::match_sip_identity(*ids, key->host) != fe::tls::MatchResult::kMatch);
                model.erase(it);
            }
            return;
        }
        check(it != model.end() && it->second == *found);
        const fe::tls::SipIdentities* ids = identities_of(*found);
        check(ids != nullptr);
        check(fe::tls::match_sip_identity(*ids, key->host) == fe::tls::MatchResult::kMatch);
        check(slots[found->index].local_identity_index == local);
    }

    void step(Reader& in) {
        uint8_t op = in.byte();
        size_t i = (op >> 3) % kSlots;
        switch (op & 7) {
            case 0:
                if (slots[i].open) {
                    close(i);
                }
                open(in, i);
                break;
            case 1:
            case 2:
                receive(in, i);
                break;
            case 3:
                if (slots[i].open) {
                    close(i);
                }
                break;
            case 4:
                find(in);
                break;
            case 5:
                offer(in, i);
                break;
            case 6:  // the slot reused without the close being told (must not leak rows)
                open(in, i);
                break;
            default:  // the connection's identities change under the table
                if (slots[i].open && slots[i].authentication == PeerAuthentication::kVerified) {
                    slots[i].identities = make_identities(in);
                }
                break;
        }
        check(table.count() == model.size());
        check(table.count() <= table.count_max());
        table.check_invariants_for_test();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader in{data, size};
    Harness h;
    size_t steps = 0;
    while (!in.empty() && steps++ < 512) {
        h.step(in);
    }
    // Closing every slot leaves only rows of stale generations (op 6), which
    // find() drops; after that nothing of an open connection remains.
    for (size_t i = 0; i < kSlots; ++i) {
        if (h.slots[i].open) {
            h.close(i);
        }
    }
    for (const auto& [k, c] : h.model) {
        check(h.identities_of(c) == nullptr);
    }
    return 0;
}
