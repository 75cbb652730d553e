// Micro-benchmarks for core/syntax: the header values the edge parses on every
// REGISTER and every forwarded request (a Contact with +sip.instance and
// reg-id, a Via with branch and rport, a Path URI with a flow token).
#include <benchmark/benchmark.h>

#include <string_view>

#include "core/syntax/contact.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/uri.h"
#include "core/syntax/via.h"

namespace {

constexpr std::string_view kContact =
    "<sip:line1@192.0.2.2:50123;transport=tcp;ob>;reg-id=1;"
    "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";expires=3600";
constexpr std::string_view kVia =
    "SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK776asdhds.7f2a1c;rport";
// A 40-character URL-safe base64 flow token, as the edge puts in Path.
constexpr std::string_view kPathUri =
    "<sip:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_@edge1.example.com;lr;ob>";

void BM_ParseContact(benchmark::State& state) {
    for (auto _ : state) {
        fe::syntax::Contact contact;
        auto e = fe::syntax::parse_contact(kContact, contact);
        benchmark::DoNotOptimize(e);
        benchmark::DoNotOptimize(contact.reg_id);
    }
}
BENCHMARK(BM_ParseContact);

void BM_ParseVia(benchmark::State& state) {
    for (auto _ : state) {
        fe::syntax::Via via;
        auto e = fe::syntax::parse_via(kVia, via);
        benchmark::DoNotOptimize(e);
        benchmark::DoNotOptimize(via.branch);
    }
}
BENCHMARK(BM_ParseVia);

void BM_ParsePathUri(benchmark::State& state) {
    for (auto _ : state) {
        fe::syntax::NameAddr path;
        auto e = fe::syntax::parse_name_addr(kPathUri, path);
        benchmark::DoNotOptimize(e);
        benchmark::DoNotOptimize(path.uri.user);
        benchmark::DoNotOptimize(path.uri.has_ob());
    }
}
BENCHMARK(BM_ParsePathUri);

}  // namespace
