"""flowedge-bench against a real flowedge node on loopback (issue #5).

Each test runs one scenario with a few hundred emulated UAs, reads the
bench's --json summary, and checks it against what the node itself counted
(its "flowedge: stats ..." line at SIGTERM): a REGISTER the bench calls "ok"
must be one the node received, a request it calls "delivered" one the node
routed, and nothing is missing from the totals.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT

UAS = 300


def bench_binary():
    build = os.environ.get("FE_BUILD_DIR") or os.path.join(ROOT, "build")
    path = os.path.join(build, "bench", "loadgen", "flowedge-bench")
    if not os.path.exists(path):
        pytest.fail("flowedge-bench not found at %s: build the flowedge-bench target" % path)
    return path


def run_bench(tmp_path, node, scenario, *args, timeout=120):
    out = tmp_path / ("%s.json" % scenario)
    report = tmp_path / ("%s.html" % scenario)
    cmd = [bench_binary(), scenario, "--target", "127.0.0.1:%d" % node.port, "--quiet",
           "--json", str(out), "--report", str(report)] + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "flowedge-bench failed:\n%s\n%s" % (proc.stdout, proc.stderr)
    summary = json.loads(out.read_text())
    html = report.read_text()
    assert "<svg" in html and "flowedge-bench" in html
    return summary, proc.stdout


def node_stats(node):
    """Stops the node and returns its stats line as a dict of ints."""
    assert node.stop() == 0
    m = re.search(r"flowedge: stats (.*)", node.output())
    assert m, node.output()
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_register_counts_match_the_node(start_node, tmp_path, transport):
    # covers OB-UA-10, OB-UA-12 (REGISTER with outbound, reg-id and instance)
    node = start_node(["--workers", "2"])
    s, text = run_bench(tmp_path, node, "register", "--uas", UAS, "--transport", transport,
                        "--udp-port-base", 21000)
    assert re.search(r"^register: %d ok, 0 failed, 0 timeout" % UAS, text, re.M), text
    assert s["register"]["ok"] == UAS
    assert s["register"]["sent"] == UAS
    assert s["register"]["status"] == {"200": UAS}
    assert s["uas_registered"] == UAS
    assert s["flows_up"] == UAS
    assert s["register"]["latency"]["count"] == UAS
    stats = node_stats(node)
    # The node saw every REGISTER (and, over UDP, any retransmission the bench
    # made after a drop), and holds one flow per UA.
    assert stats["requests"] == UAS + s["register"]["retransmits"] or transport == "udp"
    assert UAS <= stats["requests"] <= UAS + s["register"]["retransmits"]
    assert stats["flows"] >= UAS


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_hold_keeps_every_flow_alive_at_the_flow_timer(start_node, tmp_path, transport):
    # covers OB-KA-01, OB-KA-02 (keep-alives at the registrar's Flow-Timer)
    node = start_node(["--workers", "2", "--flow-timer", "2"])
    s, _ = run_bench(tmp_path, node, "hold", "--uas", 200, "--transport", transport,
                     "--duration", 6, "--udp-port-base", 22000)
    assert s["flows_up"] == 200
    assert s["flow_failures"] == 0
    # Flow-Timer 2 s: a keep-alive every 1.6-2 s per flow, about 3 in 6 s.
    assert s["keepalive"]["sent"] >= 200 * 2
    assert s["keepalive"]["answered"] >= s["keepalive"]["sent"] - 200
    stats = node_stats(node)
    answered_by_node = stats["pings"] if transport == "tcp" else stats["stun"]
    assert s["keepalive"]["answered"] <= answered_by_node <= s["keepalive"]["sent"]


@pytest.mark.parametrize("method", ["message", "invite"])
def test_call_counts_only_requests_the_callee_received(start_node, tmp_path, method):
    node = start_node(["--workers", "2"])
    # The node's proxy role may not route by AOR yet: the caller routes by the
    # callee's Path (the edge alone delivers it by its flow token).
    s, text = run_bench(tmp_path, node, "call", "--uas", UAS, "--rate", 200, "--duration", 3,
                        "--method", method, "--call-route", "path")
    c = s["call"]
    assert c["sent"] >= 500
    assert c["delivered"] == c["sent"]
    assert c["ok"] == c["sent"]
    assert c["failed"] == 0 and c["timeout"] == 0 and c["not_sent"] == 0
    assert c["status"] == {"200": c["sent"]}
    assert c["latency"]["count"] == c["ok"]
    assert re.search(r"^call: %d sent, %d delivered" % (c["sent"], c["delivered"]), text, re.M)
    # Every answered INVITE got its ACK and BYE sent, and every BYE ended one
    # way or another; a call is completed only with a 2xx to its BYE
    # (MESSAGE: to the MESSAGE itself).
    if method == "invite":
        assert c["invite_answered"] == c["ok"]
        assert c["acks_sent"] == c["invite_answered"] - c["bye_not_sent"]
        assert c["byes_sent"] == c["acks_sent"]
        assert c["bye_ok"] + c["bye_failed"] + c["bye_timeout"] == c["byes_sent"]
        assert c["completed"] == c["bye_ok"]
        assert c["bye_latency"]["count"] == c["bye_ok"] + c["bye_failed"]
        assert re.search(r"^dialog: %d invites answered, %d acks sent" %
                         (c["invite_answered"], c["acks_sent"]), text, re.M)
    else:
        assert c["completed"] == c["ok"]
        assert c["byes_sent"] == 0
    assert re.search(r"^completed: %d of %d sent" % (c["completed"], c["sent"]), text, re.M)
    stats = node_stats(node)
    # Every delivered request went through the node's token routing (INVITE:
    # plus the ACK and BYE that follow the 200).
    assert stats["routed"] >= c["delivered"]


@pytest.mark.parametrize("route", ["aor", "path"])
def test_invite_calls_complete_only_with_a_2xx_to_their_bye(start_node, tmp_path, route):
    # The whole dialog through the node: INVITE, 180, 200, then ACK and BYE to
    # the callee's Contact through the 200's Record-Route set, BYE 200. By
    # Path the edge record-routes with the callee's flow token (OB-EDGE-12).
    node = start_node(["--workers", "2"])
    s, text = run_bench(tmp_path, node, "call", "--uas", 100, "--rate", 100, "--duration", 2,
                        "--method", "invite", "--call-route", route)
    c = s["call"]
    assert c["sent"] >= 150
    assert c["acks_delivered"] == c["acks_sent"] == c["sent"]
    assert c["byes_delivered"] == c["byes_sent"] == c["sent"]
    assert c["bye_status"] == {"200": c["sent"]}
    assert c["completed"] == c["sent"]
    assert "completed: %d of %d sent" % (c["sent"], c["sent"]) in text
    node_stats(node)


def test_failover_recovers_every_ua_after_its_flows_are_cut(start_node, tmp_path):
    # covers OB-BO-01 (a flow that had worked is re-formed at once)
    node = start_node(["--workers", "2", "--flow-timer", "2"])
    s, text = run_bench(tmp_path, node, "failover", "--uas", 200, "--duration", 8,
                        "--cut-at", 4)
    assert s["flow_failures"] == 200
    assert s["recoveries"] == 200
    assert s["flows_up"] == 200
    # Re-forming a flow whose attempt had succeeded needs no back-off wait.
    assert s["recovery"]["p99_ms"] < 2000
    assert s["register"]["ok"] == 400
    assert "flows: 200 failures (transport-closed=200), 200 UAs recovered" in text
