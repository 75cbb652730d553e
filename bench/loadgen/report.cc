#include "bench/loadgen/report.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "bench/loadgen/text.h"
#include "absl/strings/str_format.h"
#include "core/ua/flow_fsm.h"

namespace fe::loadgen {

namespace {

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string percentiles_text(const fe::ua::LatencyHistogram& h) {
    return absl::StrFormat("p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
                           ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
                           ms(h.percentile(99.9)), ms(h.max()));
}

std::string status_text(const std::array<uint64_t, 700>& status) {
    std::string text;
    for (size_t code = 0; code < status.size(); ++code) {
        if (status[code] != 0) {
            append(text, text.empty() ? "" : " ", code, "=", status[code]);
        }
    }
    return text.empty() ? "none" : text;
}

double rate(uint64_t count, double seconds) { return seconds > 0 ? count / seconds : 0; }

std::string json_histogram(const fe::ua::LatencyHistogram& h) {
    return absl::StrFormat(
        "{\"count\": %u, \"p50_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, "
        "\"p999_ms\": %.4f, \"max_ms\": %.4f, \"mean_ms\": %.4f}",
        h.count(), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
        ms(h.percentile(99.9)), ms(h.max()), h.mean() / 1e6);
}

std::string json_status(const std::array<uint64_t, 700>& status) {
    std::string text = "{";
    bool first = true;
    for (size_t code = 0; code < status.size(); ++code) {
        if (status[code] != 0) {
            append(text, first ? "" : ", ", "\"", code, "\": ", status[code]);
            first = false;
        }
    }
    return text + "}";
}

// One line chart as inline SVG: several series over the run's seconds.
struct Line {
    std::string name;
    std::string color;
    std::function<double(const SeriesPoint&)> value;
};

std::string svg_chart(const std::string& title, const std::string& unit,
                      const std::vector<SeriesPoint>& series, const std::vector<Line>& lines) {
    constexpr double kWidth = 760, kHeight = 240, kLeft = 70, kRight = 20, kTop = 30,
                     kBottom = 40;
    const double plot_w = kWidth - kLeft - kRight;
    const double plot_h = kHeight - kTop - kBottom;
    double y_max = 0;
    uint32_t x_max = 1;
    for (const SeriesPoint& p : series) {
        x_max = std::max(x_max, p.second);
        for (const Line& line : lines) {
            y_max = std::max(y_max, line.value(p));
        }
    }
    if (y_max <= 0) {
        y_max = 1;
    }
    // Round the axis up to 1, 2 or 5 x 10^k so the tick labels read well.
    const double magnitude = std::pow(10.0, std::floor(std::log10(y_max)));
    for (double step : {1.0, 2.0, 5.0, 10.0}) {
        if (step * magnitude >= y_max) {
            y_max = step * magnitude;
            break;
        }
    }
    std::string svg = absl::StrFormat(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "font-family=\"sans-serif\" font-size=\"11\">\n"
        "<text x=\"%.0f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
        kWidth, kHeight, kLeft, title);
    for (int i = 0; i <= 4; ++i) {
        const double y = kTop + plot_h - plot_h * i / 4;
        absl::StrAppendFormat(&svg,
                              "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
                              "stroke=\"#ddd\"/>\n<text x=\"%.0f\" y=\"%.1f\" "
                              "text-anchor=\"end\">%g</text>\n",
                              kLeft, y, kLeft + plot_w, y, kLeft - 6, y + 4, y_max * i / 4);
    }
    for (int i = 0; i <= 5; ++i) {
        const double x = kLeft + plot_w * i / 5;
        absl::StrAppendFormat(&svg,
                              "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f s</text>\n",
                              x, kTop + plot_h + 16, x_max * i / 5.0);
    }
    absl::StrAppendFormat(&svg,
                          "<text x=\"12\" y=\"%.0f\" transform=\"rotate(-90 12 %.0f)\" "
                          "text-anchor=\"middle\">%s</text>\n",
                          kTop + plot_h / 2, kTop + plot_h / 2, unit);
    double legend_x = kLeft;
    for (const Line& line : lines) {
        std::string points;
        for (const SeriesPoint& p : series) {
            const double x = kLeft + plot_w * p.second / x_max;
            const double y = kTop + plot_h - plot_h * std::min(line.value(p), y_max) / y_max;
            absl::StrAppendFormat(&points, "%.1f,%.1f ", x, y);
        }
        absl::StrAppendFormat(&svg,
                              "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                              "points=\"%s\"/>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" "
                              "height=\"10\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                              line.color, points, legend_x, kHeight - 14, line.color,
                              legend_x + 14, kHeight - 5, line.name);
        legend_x += 20 + 7 * static_cast<double>(line.name.size()) + 20;
    }
    svg += "</svg>\n";
    return svg;
}

}  // namespace

void print_summary(const RunResult& r, std::FILE* out) {
    const Counts& t = r.totals;
    const Options& o = r.options;
    std::fprintf(out,
                 "scenario: %s, transport %s, %u UAs x %u flows, %u threads, target %s, "
                 "seed %llu\n",
                 std::string(scenario_name(o.scenario)).c_str(),
                 std::string(transport_param_name(o.transport)).c_str(), o.ua_count,
                 o.flows_per_ua, r.thread_count, sockaddr_text(o.target).c_str(),
                 static_cast<unsigned long long>(o.seed));
    std::fprintf(out,
                 "register: %llu ok, %llu failed, %llu timeout, %llu aborted, %.1f/s, %s\n",
                 static_cast<unsigned long long>(t.register_ok),
                 static_cast<unsigned long long>(t.register_failed),
                 static_cast<unsigned long long>(t.register_timeout),
                 static_cast<unsigned long long>(t.register_aborted),
                 rate(r.register_phase_ok, r.register_phase_s), percentiles_text(r.register_latency).c_str());
    std::fprintf(out, "register-status: %s\n", status_text(r.register_status).c_str());
    std::fprintf(out,
                 "uas: %llu registered of %u in %.3f s, %llu flows up of %llu, %llu retransmits, "
                 "%llu connect failures\n",
                 static_cast<unsigned long long>(t.uas_registered), o.ua_count, r.register_phase_s,
                 static_cast<unsigned long long>(t.flows_up),
                 static_cast<unsigned long long>(uint64_t{o.ua_count} * o.flows_per_ua),
                 static_cast<unsigned long long>(t.register_retransmits),
                 static_cast<unsigned long long>(t.connect_failures));
    std::fprintf(out, "keepalive: %llu sent, %llu answered\n",
                 static_cast<unsigned long long>(t.keepalive_sent),
                 static_cast<unsigned long long>(t.keepalive_answered));
    if (t.call_sent != 0) {
        std::fprintf(out,
                     "call: %llu sent, %llu delivered, %llu ok, %llu failed, %llu timeout, "
                     "%llu not sent, %.1f delivered/s, %s\n",
                     static_cast<unsigned long long>(t.call_sent),
                     static_cast<unsigned long long>(t.call_delivered),
                     static_cast<unsigned long long>(t.call_ok),
                     static_cast<unsigned long long>(t.call_failed),
                     static_cast<unsigned long long>(t.call_timeout),
                     static_cast<unsigned long long>(t.call_not_sent),
                     rate(t.call_delivered, r.hold_phase_s), percentiles_text(r.call_latency).c_str());
        std::fprintf(out, "delivery: %s\n", percentiles_text(r.delivery_latency).c_str());
        std::fprintf(out, "call-status: %s\n", status_text(r.call_status).c_str());
        if (o.method == CallMethod::kInvite) {
            std::fprintf(out,
                         "dialog: %llu invites answered, %llu acks sent, %llu acks delivered, "
                         "%llu byes sent, %llu byes delivered, %llu bye ok, %llu bye failed, "
                         "%llu bye timeout, %llu bye not sent, %llu byes misrouted, BYE %s\n",
                         static_cast<unsigned long long>(t.invite_answered),
                         static_cast<unsigned long long>(t.ack_sent),
                         static_cast<unsigned long long>(t.ack_delivered),
                         static_cast<unsigned long long>(t.bye_sent),
                         static_cast<unsigned long long>(t.bye_delivered),
                         static_cast<unsigned long long>(t.bye_ok),
                         static_cast<unsigned long long>(t.bye_failed),
                         static_cast<unsigned long long>(t.bye_timeout),
                         static_cast<unsigned long long>(t.bye_not_sent),
                         static_cast<unsigned long long>(t.bye_misrouted),
                         percentiles_text(r.bye_latency).c_str());
            std::fprintf(out, "bye-status: %s\n", status_text(r.bye_status).c_str());
        }
        std::fprintf(out, "completed: %llu of %llu sent, %.1f completed/s, %llu not completed\n",
                     static_cast<unsigned long long>(t.call_completed),
                     static_cast<unsigned long long>(t.call_sent),
                     rate(t.call_completed, r.hold_phase_s),
                     static_cast<unsigned long long>(t.call_sent - t.call_completed));
    }
    std::string reasons;
    for (size_t i = 0; i < r.failure_reasons.size(); ++i) {
        if (r.failure_reasons[i] != 0) {
            append(reasons, reasons.empty() ? "" : " ",
                            fe::ua::flow_failure_name(static_cast<fe::ua::FlowFailure>(i)), "=",
                            r.failure_reasons[i]);
        }
    }
    std::fprintf(out, "flows: %llu failures (%s), %llu UAs recovered, recovery %s\n",
                 static_cast<unsigned long long>(t.flow_failures),
                 reasons.empty() ? "none" : reasons.c_str(),
                 static_cast<unsigned long long>(t.recoveries),
                 percentiles_text(r.recovery_time).c_str());
    std::fprintf(out,
                 "io: %llu send-no-slot, %llu send-errors, %llu udp-send-errors, "
                 "%llu recv-no-buffers, %llu stream-errors\n",
                 static_cast<unsigned long long>(r.io.send_no_slot),
                 static_cast<unsigned long long>(t.send_errors),
                 static_cast<unsigned long long>(r.io.udp_send_errors),
                 static_cast<unsigned long long>(r.io.udp_recv_no_buffers),
                 static_cast<unsigned long long>(r.io.stream_errors));
    const double uas = std::max<double>(1, o.ua_count);
    std::fprintf(out,
                 "resources: rss %.1f MiB (%.0f B/UA), cpu %.2f s (%.1f us/UA), run %.1f s\n",
                 r.rss_bytes / 1048576.0, r.rss_bytes / uas, r.cpu_s, r.cpu_s * 1e6 / uas,
                 r.run_s);
}

absl::Status write_json(const RunResult& r, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        return absl::InvalidArgumentError(cat("--json ", path, ": cannot open for writing"));
    }
    const Counts& t = r.totals;
    const Options& o = r.options;
    std::string j = "{\n";
    absl::StrAppendFormat(
        &j,
        "  \"scenario\": \"%s\", \"transport\": \"%s\", \"uas\": %u, \"flows_per_ua\": %u, "
        "\"threads\": %u, \"target\": \"%s\", \"seed\": %u,\n",
        scenario_name(o.scenario), transport_param_name(o.transport), o.ua_count, o.flows_per_ua,
        r.thread_count, sockaddr_text(o.target), o.seed);
    absl::StrAppendFormat(&j,
                          "  \"register\": {\"sent\": %u, \"ok\": %u, \"failed\": %u, "
                          "\"timeout\": %u, \"aborted\": %u, \"retransmits\": %u, "
                          "\"rate_per_s\": %.2f, \"phase_s\": %.4f, \"latency\": %s, "
                          "\"status\": %s},\n",
                          t.register_sent, t.register_ok, t.register_failed, t.register_timeout,
                          t.register_aborted, t.register_retransmits,
                          rate(r.register_phase_ok, r.register_phase_s), r.register_phase_s,
                          json_histogram(r.register_latency), json_status(r.register_status));
    absl::StrAppendFormat(&j,
                          "  \"uas_started\": %u, \"uas_registered\": %u, \"flows_up\": %u, "
                          "\"flow_failures\": %u, \"recoveries\": %u, \"connect_failures\": %u,\n"
                          "  \"recovery\": %s,\n",
                          t.uas_started, t.uas_registered, t.flows_up, t.flow_failures,
                          t.recoveries, t.connect_failures, json_histogram(r.recovery_time));
    absl::StrAppendFormat(&j, "  \"keepalive\": {\"sent\": %u, \"answered\": %u},\n",
                          t.keepalive_sent, t.keepalive_answered);
    absl::StrAppendFormat(&j,
                          "  \"call\": {\"method\": \"%s\", \"sent\": %u, \"delivered\": %u, "
                          "\"ok\": %u, \"failed\": %u, \"timeout\": %u, \"not_sent\": %u, "
                          "\"delivered_per_s\": %.2f, \"phase_s\": %.4f, \"latency\": %s, "
                          "\"delivery_latency\": %s, \"status\": %s,\n"
                          "           \"invite_answered\": %u, \"acks_sent\": %u, "
                          "\"acks_delivered\": %u, \"byes_sent\": %u, \"byes_delivered\": %u, "
                          "\"byes_misrouted\": %u, \"bye_ok\": %u, \"bye_failed\": %u, "
                          "\"bye_timeout\": %u, \"bye_not_sent\": %u, \"completed\": %u, "
                          "\"completed_per_s\": %.2f, \"bye_latency\": %s, "
                          "\"bye_status\": %s},\n",
                          o.method == CallMethod::kInvite ? "INVITE" : "MESSAGE", t.call_sent,
                          t.call_delivered, t.call_ok, t.call_failed, t.call_timeout,
                          t.call_not_sent, rate(t.call_delivered, r.hold_phase_s), r.hold_phase_s,
                          json_histogram(r.call_latency), json_histogram(r.delivery_latency),
                          json_status(r.call_status), t.invite_answered, t.ack_sent,
                          t.ack_delivered, t.bye_sent, t.bye_delivered, t.bye_misrouted, t.bye_ok,
                          t.bye_failed, t.bye_timeout, t.bye_not_sent, t.call_completed,
                          rate(t.call_completed, r.hold_phase_s), json_histogram(r.bye_latency),
                          json_status(r.bye_status));
    absl::StrAppendFormat(&j, "  \"requests_answered\": %u, \"send_errors\": %u,\n",
                          t.requests_answered, t.send_errors);
    append(j, "  \"flow_failure_reasons\": {");
    bool first = true;
    for (size_t i = 0; i < r.failure_reasons.size(); ++i) {
        if (r.failure_reasons[i] != 0) {
            append(j, first ? "" : ", ", "\"",
                            fe::ua::flow_failure_name(static_cast<fe::ua::FlowFailure>(i)),
                            "\": ", r.failure_reasons[i]);
            first = false;
        }
    }
    append(j, "},\n");
    absl::StrAppendFormat(&j,
                          "  \"resources\": {\"rss_bytes\": %u, \"cpu_s\": %.3f, \"run_s\": %.3f, "
                          "\"rss_bytes_per_ua\": %.1f, \"cpu_us_per_ua\": %.2f},\n",
                          r.rss_bytes, r.cpu_s, r.run_s,
                          r.rss_bytes / std::max<double>(1, o.ua_count),
                          r.cpu_s * 1e6 / std::max<double>(1, o.ua_count));
    append(j, "  \"series\": [\n");
    for (size_t i = 0; i < r.series.size(); ++i) {
        const SeriesPoint& p = r.series[i];
        absl::StrAppendFormat(
            &j,
            "    {\"second\": %u, \"flows_up\": %u, \"uas_registered\": %u, "
            "\"register_per_s\": %.1f, \"calls_per_s\": %.1f, \"completed_per_s\": %.1f, "
            "\"errors_per_s\": %.1f, "
            "\"keepalives_per_s\": %.1f, \"register_p50_ms\": %.4f, \"register_p99_ms\": %.4f, "
            "\"call_p50_ms\": %.4f, \"call_p99_ms\": %.4f}%s\n",
            p.second, p.flows_up, p.uas_registered, p.register_per_s, p.calls_per_s,
            p.completed_per_s, p.errors_per_s, p.keepalives_per_s, p.register_p50_ms, p.register_p99_ms,
            p.call_p50_ms, p.call_p99_ms, i + 1 < r.series.size() ? "," : "");
    }
    append(j, "  ]\n}\n");
    const bool ok = std::fwrite(j.data(), 1, j.size(), f) == j.size();
    std::fclose(f);
    return ok ? absl::OkStatus()
              : absl::InternalError(cat("--json ", path, ": write failed"));
}

absl::Status write_html(const RunResult& r, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        return absl::InvalidArgumentError(
            cat("--report ", path, ": cannot open for writing"));
    }
    char* text = nullptr;
    size_t text_size = 0;
    std::FILE* memory = open_memstream(&text, &text_size);
    print_summary(r, memory);
    std::fclose(memory);
    std::string summary;
    for (char c : std::string_view(text, text_size)) {
        if (c == '<') {
            summary += "&lt;";
        } else if (c == '&') {
            summary += "&amp;";
        } else {
            summary += c;
        }
    }
    std::free(text);
    std::string html = cat(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>flowedge-bench ",
        scenario_name(r.options.scenario),
        "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:820px}"
        "pre{background:#f6f6f6;padding:1em;overflow-x:auto}</style></head><body>\n"
        "<h1>flowedge-bench: ",
        scenario_name(r.options.scenario), "</h1>\n<pre>", summary, "</pre>\n");
    absl::StrAppend(
        &html,
        svg_chart("Rates", "per second", r.series,
                  {{"REGISTER 2xx/s", "#1f77b4", [](const SeriesPoint& p) { return p.register_per_s; }},
                   {"delivered/s", "#2ca02c", [](const SeriesPoint& p) { return p.calls_per_s; }},
                   {"completed/s", "#ff7f0e", [](const SeriesPoint& p) { return p.completed_per_s; }},
                   {"errors/s", "#d62728", [](const SeriesPoint& p) { return p.errors_per_s; }}}));
    absl::StrAppend(
        &html,
        svg_chart("Latency percentiles", "ms", r.series,
                  {{"REGISTER p50", "#1f77b4", [](const SeriesPoint& p) { return p.register_p50_ms; }},
                   {"REGISTER p99", "#aec7e8", [](const SeriesPoint& p) { return p.register_p99_ms; }},
                   {"call p50", "#2ca02c", [](const SeriesPoint& p) { return p.call_p50_ms; }},
                   {"call p99", "#98df8a", [](const SeriesPoint& p) { return p.call_p99_ms; }}}));
    absl::StrAppend(
        &html,
        svg_chart("Flows up", "flows", r.series,
                  {{"flows up", "#9467bd",
                    [](const SeriesPoint& p) { return static_cast<double>(p.flows_up); }}}));
    html += "</body></html>\n";
    const bool ok = std::fwrite(html.data(), 1, html.size(), f) == html.size();
    std::fclose(f);
    return ok ? absl::OkStatus()
              : absl::InternalError(cat("--report ", path, ": write failed"));
}

}  // namespace fe::loadgen
