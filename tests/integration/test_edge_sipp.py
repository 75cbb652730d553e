"""sipp as the RFC 5626 UA: four outbound registrations (tests/integration/
sipp/register_outbound.xml, users from users.csv) against a two-worker node,
over TCP and over UDP. sipp checks each 200 for Require: outbound, a
Flow-Timer and a Path with ;ob (OB-EDGE-06, OB-FT-03) and exits 0 only when
every call passed.
"""
import os
import shutil
import subprocess

import pytest

from conftest import HERE, free_port


@pytest.mark.parametrize("transport", ["t1", "u1"])
def test_sipp_outbound_registrations(start_node, tmp_path, transport):
    sipp = shutil.which("sipp") or "/usr/bin/sipp"
    if not os.path.exists(sipp):
        pytest.fail("sipp is not installed (deploy/install-deps.sh installs it)")
    node = start_node(["--workers", "2"])
    cmd = [sipp, "-sf", os.path.join(HERE, "sipp", "register_outbound.xml"),
           "-inf", os.path.join(HERE, "sipp", "users.csv"),
           "127.0.0.1:%d" % node.port, "-i", "127.0.0.1", "-p", str(free_port()),
           "-t", transport, "-cp", str(free_port()), "-mp", str(free_port()),
           "-m", "4", "-timeout", "20s", "-nostdin", "-trace_err",
           "-error_file", str(tmp_path / "sipp_errors.log")]
    p = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    errors = ""
    if (tmp_path / "sipp_errors.log").exists():
        errors = (tmp_path / "sipp_errors.log").read_text()
    assert p.returncode == 0, "sipp exit %d\n%s\n%s\n%s" % (p.returncode, p.stdout[-2000:],
                                                           p.stderr[-2000:], errors[-2000:])
