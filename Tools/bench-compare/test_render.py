"""render.py on made-up results: medians, ratios, verdicts, the markers and the SVG.

    /usr/bin/python3 -m unittest discover -s Tools/bench-compare -p 'test_*.py'

(`make bench-compare` runs it first.)
"""

import os
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402


def run(impl, size, settle, connections, round_, rate, kind="throughput", **extra):
    entry = {"kind": kind, "impl": impl, "size": size, "settle": settle, "connections": connections,
             "round": round_, "ok": rate is not None, "rate": rate}
    if rate is None:
        entry["error"] = "boom"
    entry.update(extra)
    return entry


def results():
    runs = []
    # ours-epoll at 100 B at-least-once: 90k, 100k, 200k → median 100k.
    for i, r in enumerate([90000, 200000, 100000]):
        runs.append(run("ours-epoll", 100, "at-least-once", 1, i, r))
    # Peer to peer: ours-direct-epoll 120k, 100k, 110k → median 110k.
    for i, r in enumerate([120000, 100000, 110000]):
        runs.append(run("ours-direct-epoll", 100, "at-least-once", 1, i, r))
    for i, r in enumerate([20000, 25000, 15000]):
        runs.append(run("protonc-direct", 100, "at-least-once", 1, i, r))
    runs.append(run("protonc@amqp-direct", 100, "at-least-once", 1, 0, 30000))
    runs.append(run("uamqp@amqp-peer", 100, "at-least-once", 1, 0, None))
    # uamqp's sender into our direct listener: 110,000 ÷ 2,000 = 55× passes 50×.
    runs.append(run("uamqp@amqp-direct", 100, "at-least-once", 1, 0, 2000))
    runs.append(run("ours-epoll", 65536, "at-least-once", 1, 0, 1000, mbps=700.0))
    runs.append(run("ours-direct-epoll", 65536, "at-least-once", 1, 0, 1400, mbps=900.0))
    runs.append(run("iperf3", 0, "-", 1, 0, None, kind="iperf3", mbps=1000.0))
    runs[-1].update(ok=True)
    runs.append(run("ours-uring", 100, "at-least-once", 1000, 0, 130000))
    runs.append(run("ours-epoll", 100, "at-least-once", 1000, 0, 100000))
    runs.append(run("ours-epoll", 100, "at-least-once", 1, 0, 10000, kind="latency", p99_us=350.0, p50_us=90.0))
    # Through the same peer: ours p99 200, 300, 250 → 250; Proton C 400, 600, 500 → 500.
    for i, (ours, theirs) in enumerate([(200.0, 400.0), (300.0, 600.0), (250.0, 500.0)]):
        runs.append(run("ours@amqp-peer", 100, "at-least-once", 1, i, 9990, kind="latency", p99_us=ours, p50_us=40.0))
        runs.append(run("protonc@amqp-peer", 100, "at-least-once", 1, i, 9980, kind="latency", p99_us=theirs, p50_us=60.0))
    # Through the same broker, ours is higher: a failure.
    runs.append(run("ours@proton-broker", 100, "at-least-once", 1, 0, 9990, kind="latency", p99_us=900.0, p50_us=100.0))
    runs.append(run("protonc@proton-broker", 100, "at-least-once", 1, 0, 9990, kind="latency", p99_us=700.0, p50_us=80.0))
    idle = dict(kind="idle", connections_open=10000, idle_timeout_ms=60000, announced_idle_timeout_ms=30000,
                heartbeat_interval_ms=15000.0, heartbeats_per_second=667.0, setup_seconds=8.0, quiet_seconds=70.0,
                peer_cpu_percent=1.5, process_cpu_percent=2.3, rss_before_bytes=0, rss_quiet_bytes=0, backend="epoll")
    # The judged 60 s limit. epoll: 0.8% of a core and 24 KiB for both ends (12 per end)
    # pass; io_uring: 1.2% and 40 KiB (20 per end) fail.
    runs.append(run("ours-epoll", 0, "idle 60000 ms", 10000, 0, None, client_cpu_percent=0.8, client_us_per_heartbeat=1.0,
                    rss_per_connection_bytes=24 * 1024.0, **idle))
    runs.append(run("ours-uring", 0, "idle 60000 ms", 10000, 0, None, client_cpu_percent=1.2, client_us_per_heartbeat=1.5,
                    rss_per_connection_bytes=40 * 1024.0, **idle))
    runs[-1].update(ok=True, error=None)
    runs[-2].update(ok=True, error=None)
    # The stress limit, 10 s: figures without a verdict (epoll's only; io_uring's failed).
    stress = dict(idle, idle_timeout_ms=10000, announced_idle_timeout_ms=5000, heartbeat_interval_ms=2500.0,
                  heartbeats_per_second=4000.0, quiet_seconds=30.0)
    runs.append(run("ours-epoll", 0, "idle 10000 ms", 10000, 0, None, client_cpu_percent=4.5, client_us_per_heartbeat=5.6,
                    rss_per_connection_bytes=15 * 1024.0, **stress))
    runs[-1].update(ok=True, error=None)
    meta = {"date": "2026-01-01 00:00 UTC", "commit": "abc1234", "cpus": 2, "kernel": "6.1", "proton": "0.37.0",
            "uamqp": "1.6.11", "iperf3": "iperf 3.12", "rounds_done": 3, "rounds_planned": 3, "quick": False,
            "seconds_per_run": 2.0, "elapsed_seconds": 600.0, "load_before": [1.0, 2.0, 3.0],
            "load_after": [1.5, 2.5, 3.5], "fan_in": 1000, "latency_rate": 10000, "notes": [],
            "idle_connections": 10000, "idle_configurations": [[60000, 70], [10000, 30]]}
    return {"meta": meta, "runs": runs}


class RenderTests(unittest.TestCase):
    def test_medians_ratios_and_verdicts(self):
        text = render.section(results())
        # Peer to peer is ours-direct-epoll ÷ protonc-direct: 110,000 ÷ 20,000 = 5.50× passes.
        self.assertIn("our senders → our direct listener) ÷ Proton C `send` → `direct` | 110,000 ÷ 20,000 | 5.50× | ≥ 5× | pass |", text)
        self.assertIn("| %s | 110,000 |" % render.LABELS["ours-direct-epoll"], text)
        # The same sender into our direct listener ÷ into Proton's: a ratio, no verdict.
        self.assertIn("(our receiving end against Proton's) | 30,000 ÷ 20,000 | 1.50× | — |  |", text)
        # 700 MB/s of 1,000 is 70%, below 80%.
        # The target is peer to peer (one loopback crossing, as iperf3's); the queue row is
        # shown without a verdict.
        self.assertIn("| 900 ÷ 1,000 | 90% | ≥ 80% | pass |", text)
        self.assertIn("| 700 ÷ 1,000 | 70% | — |  |", text)
        # 130,000 ÷ 100,000 = 1.30× ≥ 1.2×.
        self.assertIn("| 130,000 ÷ 100,000 | 1.30× | ≥ 1.2× | pass |", text)
        # A configuration whose every run failed says so, and has no figure.
        self.assertIn("failed (1 runs)", text)
        # Through a broker: shown without a goal.
        self.assertIn("| … ours → `amqp peer` ÷ uamqp → `amqp peer` (through a broker) | — | — | — | no figure |", text)
        self.assertIn("(uamqp has no listener: its sender into our receiving end) | 110,000 ÷ 2,000 | 55× | ≥ 50× | pass |", text)
        self.assertIn("| %s | 2,000 |" % render.LABELS["uamqp@amqp-direct"], text)
        self.assertIn("p99 350 µs", text)
        # Latency through the same peer: medians 250 ÷ 500 µs, lower: pass.
        self.assertIn("same peer: `amqp peer`: ours (epoll) ÷ Proton C `send`/`receive` (medians of the rounds) | "
                      "p99 250 µs (p50 40 µs, 9,990 msg/s) ÷ p99 500 µs (p50 60 µs, 9,980 msg/s) | 0.50× | < 1× (lower than Proton C's) | pass |", text)
        self.assertIn("| p99 900 µs (p50 100 µs, 9,990 msg/s) ÷ p99 700 µs (p50 80 µs, 9,990 msg/s) | 1.29× | < 1× (lower than Proton C's) | **FAIL** |", text)
        # Idle: the client reactor's CPU against 1% of a core, memory against 16 KiB.
        self.assertIn("| 0.80% (embedded peer's thread, same process: 1.50%; process 2.30%) | — | < 1% | pass |", text)
        self.assertIn("| 1.20% (embedded peer's thread, same process: 1.50%; process 2.30%) | — | < 1% | **FAIL** |", text)
        self.assertIn("10,000 idle connections with heartbeats on one reactor (epoll, idle limit 60 s): resident memory per connection end", text)
        self.assertIn("| 12.0 KiB (both ends of a connection: 24.0 KiB) | — | ≤ 16 KiB | pass |", text)
        self.assertIn("| 20.0 KiB (both ends of a connection: 40.0 KiB) | — | ≤ 16 KiB | **FAIL** |", text)
        self.assertIn("an empty frame every 15.0 s each way (667 a second each way), 70 s quiet", text)
        # The stress limit: figures, no target, no verdict; a missing run says so.
        self.assertIn("(epoll, idle limit 10 s; stress, no target): CPU", text)
        self.assertIn("an empty frame every 2.5 s each way (4,000 a second each way), 30 s quiet; 5.60 µs per heartbeat", text)
        self.assertIn("| 4.50% (embedded peer's thread, same process: 1.50%; process 2.30%) | — | — |  |", text)
        self.assertIn("| 7.5 KiB (both ends of a connection: 15.0 KiB) | — | — |  |", text)
        self.assertIn("(io_uring, idle limit 10 s; stress, no target) | not run | — | — | no figure |", text)
        self.assertIn("Runs that failed", text)
        self.assertIn("not run", text)

    def test_the_section_goes_between_the_markers_only(self):
        document = "# B\n\nbefore\n\n%s\nold\n%s\n\nafter\n" % (render.BEGIN, render.END)
        out = render.replace_section(document, "new")
        self.assertEqual(out, "# B\n\nbefore\n\n%s\nnew\n%s\n\nafter\n" % (render.BEGIN, render.END))
        with self.assertRaises(ValueError):
            render.replace_section("no markers", "new")

    def test_svg_is_well_formed_and_deterministic(self):
        a = render.svg(results())
        self.assertEqual(a, render.svg(results()))
        root = ET.fromstring(a)
        self.assertTrue(root.tag.endswith("svg"))
        bars = [e for e in root.iter() if e.tag.endswith("rect") and e.get("height") == "9"]
        # Bars only for the throughput figures there are: 7 at one connection, 2 at 1,000.
        self.assertEqual(len(bars), 9)


if __name__ == "__main__":
    unittest.main()
