"""Turns `make bench-compare`'s results.json into the BENCHMARKS.md section and the SVG plot.

Standard library only, deterministic: the same results give the same bytes (no clock, no
randomness). bench_compare.py calls `write`; test_render.py checks it on made-up results.
"""

import html
import math
import re

BEGIN = "<!-- bench-compare:begin -->"
END = "<!-- bench-compare:end -->"
SVG_LINK = "Docs/bench-compare.svg"

SIZE_NAMES = {100: "100 B", 1024: "1 KiB", 65536: "64 KiB"}
SETTLE_SHORT = {"at-least-once": "at-least-once", "pre-settled": "pre-settled"}

# What each implementation is, as the tables say it.
LABELS = {
    "ours-epoll": "swift-amqp, epoll: `amqp bench`, our client → embedded peer (in process)",
    "ours-uring": "swift-amqp, io_uring: `amqp bench`, our client → embedded peer (in process)",
    "ours-direct-epoll": "swift-amqp, epoll, peer to peer: `amqp bench --peer direct`, our senders → our listener (in process, no queue)",
    "ours@amqp-peer": "swift-amqp client (epoll) → `amqp peer` (own process)",
    "ours@proton-broker": "swift-amqp client (epoll) → Proton C broker",
    "protonc-direct": "Proton C `send` → Proton C `direct` (receiver as server)",
    "protonc@amqp-direct": "Proton C `send` → `amqp peer --direct` (our receiver as server)",
    "protonc@amqp-peer": "Proton C `send` / `receive` → `amqp peer`",
    "protonc@proton-broker": "Proton C `send` / `receive` → Proton C broker",
    "uamqp@amqp-peer": "uamqp 1.6.11 send / receive → TLS (socat) → `amqp peer`",
    "uamqp@proton-broker": "uamqp 1.6.11 send / receive → TLS (socat) → Proton C broker",
    "uamqp@amqp-direct": "uamqp 1.6.11 send → TLS (socat) → `amqp peer --direct` (at-least-once only)",
}
SHORT = {
    "ours-epoll": "ours, epoll, embedded peer",
    "ours-uring": "ours, io_uring, embedded peer",
    "ours-direct-epoll": "ours, epoll, send → direct",
    "ours@amqp-peer": "ours → amqp peer",
    "ours@proton-broker": "ours → Proton C broker",
    "protonc-direct": "Proton C send → direct",
    "protonc@amqp-direct": "Proton C send → amqp peer --direct",
    "protonc@amqp-peer": "Proton C → amqp peer",
    "protonc@proton-broker": "Proton C → Proton C broker",
    "uamqp@amqp-peer": "uamqp → amqp peer",
    "uamqp@proton-broker": "uamqp → Proton C broker",
    "uamqp@amqp-direct": "uamqp send → amqp peer --direct",
}
COLORS = {
    "ours-epoll": "#1f5fa8", "ours-uring": "#4f9be0", "ours-direct-epoll": "#0b2f5c", "ours@amqp-peer": "#2b8a8a", "ours@proton-broker": "#7fc4c4",
    "protonc-direct": "#b3541e", "protonc@amqp-direct": "#7a2e0b", "protonc@amqp-peer": "#e0803a", "protonc@proton-broker": "#f2b483",
    "uamqp@amqp-peer": "#6a4c93", "uamqp@proton-broker": "#a98fd0", "uamqp@amqp-direct": "#3d2466",
}
ORDER = list(LABELS)
ONE_CONNECTION_CONFIGS = [(size, settle) for size in (100, 1024, 65536) for settle in ("at-least-once", "pre-settled")]


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class Figures:
    """Medians of the successful runs, by (kind, impl, size, settle, connections)."""

    def __init__(self, results):
        self.meta = results["meta"]
        self.groups = {}
        for run in results["runs"]:
            key = (run["kind"], run["impl"], run["size"], run["settle"], run["connections"])
            self.groups.setdefault(key, []).append(run)

    def runs(self, kind, impl, size, settle, connections):
        return self.groups.get((kind, impl, size, settle, connections), [])

    def value(self, kind, impl, size, settle, connections, field="rate"):
        xs = [r[field] for r in self.runs(kind, impl, size, settle, connections) if r.get("ok") and r.get(field) is not None]
        return median(xs)

    def spread(self, kind, impl, size, settle, connections, field="rate"):
        """(max - min) / median of the successful runs, 0 for fewer than two."""
        xs = [r[field] for r in self.runs(kind, impl, size, settle, connections) if r.get("ok") and r.get(field) is not None]
        m = median(xs)
        return (max(xs) - min(xs)) / m if len(xs) > 1 and m else 0.0

    def failures(self):
        out = []
        for key, runs in sorted(self.groups.items(), key=lambda kv: str(kv[0])):
            for r in runs:
                if not r.get("ok"):
                    out.append((key, r.get("round"), r.get("error", "")))
        return out


def grouped(x):
    return "{:,}".format(int(round(x)))


def cell(figures, impl, size, settle, connections):
    runs = figures.runs("throughput", impl, size, settle, connections)
    if not runs:
        return "not run"
    ok = [r for r in runs if r.get("ok")]
    if not ok:
        return "failed (%d runs)" % len(runs)
    text = grouped(figures.value("throughput", impl, size, settle, connections))
    if len(ok) < len(runs):
        text += " (%d of %d runs)" % (len(ok), len(runs))
    return text


def ratio_row(name, numerator, denominator, goal, fmt="×"):
    """A Targets row: numerator ÷ denominator against goal (None: no verdict)."""
    if numerator is None or denominator is None or denominator == 0:
        return "| %s | — | — | %s | no figure |" % (name, goal_text(goal, fmt))
    r = numerator / denominator
    shown = "%.0f%%" % (r * 100) if fmt == "%" else ("%.2f×" % r if r < 10 else "%.0f×" % r)
    verdict = "" if goal is None else ("pass" if r >= goal else "**FAIL**")
    return "| %s | %s ÷ %s | %s | %s | %s |" % (name, grouped(numerator), grouped(denominator), shown, goal_text(goal, fmt), verdict)


def goal_text(goal, fmt):
    if goal is None:
        return "—"
    return "≥ %.0f%%" % (goal * 100) if fmt == "%" else "≥ %g×" % goal


def targets(f):
    tp = "throughput"
    rows = [
        "| target (same run) | measured | ratio | goal | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    one = (100, "at-least-once", 1)
    rows.append(ratio_row("100 B at-least-once, credit 1,000, 1 connection, peer to peer: ours (epoll, our senders → our direct listener) ÷ Proton C `send` → `direct`",
                          f.value(tp, "ours-direct-epoll", *one), f.value(tp, "protonc-direct", *one), 5))
    rows.append(ratio_row("… same sender, peer to peer: Proton C `send` → `amqp peer --direct` ÷ Proton C `send` → `direct` (our receiving end against Proton's)",
                          f.value(tp, "protonc@amqp-direct", *one), f.value(tp, "protonc-direct", *one), None))
    # Through a broker the broker sets the pace for both clients: shown, not judged (the
    # target is peer to peer).
    rows.append(ratio_row("… same peer: ours → `amqp peer` ÷ Proton C `send`/`receive` → `amqp peer` (through a broker; the target is peer to peer)",
                          f.value(tp, "ours@amqp-peer", *one), f.value(tp, "protonc@amqp-peer", *one), None))
    rows.append(ratio_row("… same broker: ours → Proton C broker ÷ Proton C → Proton C broker (through a broker)",
                          f.value(tp, "ours@proton-broker", *one), f.value(tp, "protonc@proton-broker", *one), None))
    rows.append(ratio_row("… peer to peer: ours (epoll, our senders → our direct listener) ÷ uamqp `send` → `amqp peer --direct` "
                          "(uamqp has no listener: its sender into our receiving end)",
                          f.value(tp, "ours-direct-epoll", *one), f.value(tp, "uamqp@amqp-direct", *one), 50))
    rows.append(ratio_row("… ours → `amqp peer` ÷ uamqp → `amqp peer` (through a broker)",
                          f.value(tp, "ours@amqp-peer", *one), f.value(tp, "uamqp@amqp-peer", *one), None))
    rows.append(ratio_row("… ours → Proton C broker ÷ uamqp → Proton C broker (through a broker)",
                          f.value(tp, "ours@proton-broker", *one), f.value(tp, "uamqp@proton-broker", *one), None))
    iperf = f.value("iperf3", "iperf3", 0, "-", 1, "mbps")
    # Peer to peer, each message byte crosses loopback once, as iperf3's do; through the
    # embedded peer's queue it crosses twice (shown for reference, not as the target).
    for impl, goal in (("ours-direct-epoll", 0.8), ("ours-epoll", None), ("ours-uring", None)):
        rows.append(ratio_row("64 KiB at-least-once, 1 connection: %s MB/s ÷ iperf3 loopback MB/s" % SHORT[impl],
                              f.value(tp, impl, 65536, "at-least-once", 1, "mbps"), iperf, goal, "%"))
    fan = f.meta.get("fan_in", 1000)
    rows.append(ratio_row("%s-connection fan-in, 100 B at-least-once: io_uring ÷ epoll" % grouped(fan),
                          f.value(tp, "ours-uring", 100, "at-least-once", fan), f.value(tp, "ours-epoll", 100, "at-least-once", fan), 1.2))
    rows.append(ratio_row("%s-connection fan-in, 100 B pre-settled: io_uring ÷ epoll" % grouped(fan),
                          f.value(tp, "ours-uring", 100, "pre-settled", fan), f.value(tp, "ours-epoll", 100, "pre-settled", fan), 1.2))
    rows.append(uring_noise_row(f))
    rows.extend(latency_rows(f))
    rows.extend(idle_rows(f))
    return rows


def latency_rows(f):
    """p99 at the fixed rate: ours against Proton C's send/receive through the same peer
    and the same broker (verdict: ours lower), then ours with the embedded peer."""
    rate = f.meta.get("latency_rate", 10000)
    lat = ("latency", 100, "at-least-once", 1)

    def figure(impl):
        p99 = f.value(lat[0], impl, *lat[1:], field="p99_us")
        if p99 is None:
            return None, "no figure (%s)" % (", ".join(r.get("error", "")[:120] for r in f.runs(lat[0], impl, *lat[1:])) or "not run")
        return p99, "p99 %s µs (p50 %s µs, %s msg/s)" % (
            grouped(p99), grouped(f.value(lat[0], impl, *lat[1:], field="p50_us")), grouped(f.value(lat[0], impl, *lat[1:])))

    rows = []
    for ours, theirs, where in (("ours@amqp-peer", "protonc@amqp-peer", "same peer: `amqp peer`"),
                                ("ours@proton-broker", "protonc@proton-broker", "same broker: Proton C broker")):
        a, a_text = figure(ours)
        b, b_text = figure(theirs)
        if a is None or b is None:
            verdict, ratio = "no figure", "—"
        else:
            verdict = "pass" if a < b else "**FAIL**"
            ratio = "%.2f×" % (a / b) if b else "—"
        rows.append("| latency p99 at %s msg/s, 1 connection, 100 B at-least-once, %s: ours (epoll) ÷ Proton C `send`/`receive` "
                    "(medians of the rounds) | %s ÷ %s | %s | < 1× (lower than Proton C's) | %s |"
                    % (grouped(rate), where, a_text, b_text, ratio, verdict))
    for impl in ("ours-epoll", "ours-uring"):
        _, text = figure(impl)
        rows.append("| latency at %s msg/s, 1 connection, %s (in process; no Proton C counterpart) | %s | — | — |  |"
                    % (grouped(rate), SHORT[impl], text))
    return rows


def idle_rows(f):
    """10,000 idle connections with heartbeats on one reactor: CPU of the client reactor's
    thread (< 1% of a core) and resident memory per connection (≤ 16 KiB). The first idle
    limit of the session carries the verdicts; the others (the stress configuration) are
    figures beside it."""
    n = f.meta.get("idle_connections", 10000)
    configurations = f.meta.get("idle_configurations") or [[10000, 30]]
    rows = []
    for index, (timeout_ms, _) in enumerate(configurations):
        judged = index == 0
        for impl, backend in (("ours-epoll", "epoll"), ("ours-uring", "io_uring")):
            key = "idle %d ms" % timeout_ms
            runs = [r for r in f.runs("idle", impl, 0, key, n) if r.get("ok")]
            name = "%s idle connections with heartbeats on one reactor (%s, idle limit %s s%s)" % (
                grouped(n), backend, grouped(timeout_ms // 1000), "" if judged else "; stress, no target")
            if not runs:
                errors = [r.get("error", "")[:160] for r in f.runs("idle", impl, 0, key, n)]
                rows.append("| %s | %s | — | — | no figure |" % (name, "; ".join(errors) or "not run"))
                continue
            r = runs[0]
            detail = ("idle-time-out %s ms announced by both ends, an empty frame every %.1f s each way (%s a second each way), "
                      "%.0f s quiet" % (grouped(r["announced_idle_timeout_ms"]), r["heartbeat_interval_ms"] / 1000,
                                         grouped(r["heartbeats_per_second"]), r["quiet_seconds"]))
            cpu = r["client_cpu_percent"]
            rows.append("| %s: CPU of the client reactor's thread, %% of a core (%s; %.2f µs per heartbeat sent or received) "
                        "| %.2f%% (embedded peer's thread, same process: %.2f%%; process %.2f%%) | — | %s | %s |"
                        % (name, detail, r["client_us_per_heartbeat"], cpu, r["peer_cpu_percent"], r["process_cpu_percent"],
                           "< 1%" if judged else "—", ("pass" if cpu < 1 else "**FAIL**") if judged else ""))
            # Client and peer share the process: its growth holds both ends of every connection.
            both = r["rss_per_connection_bytes"] / 1024
            rows.append("| %s: resident memory per connection end at the end of the quiet interval (the process's growth ÷ 2 × "
                        "connections: client and peer ends share the process) | %.1f KiB (both ends of a connection: %.1f KiB) "
                        "| — | %s | %s |" % (name, both / 2, both, "≤ 16 KiB" if judged else "—",
                                             ("pass" if both / 2 <= 16 else "**FAIL**") if judged else ""))
    return rows


def uring_noise_row(f):
    """io_uring never slower than epoll by more than noise: the worst configuration, where
    noise is the larger relative spread ((max - min) / median) of the two series."""
    worst = None
    for connections in (1, f.meta.get("fan_in", 1000)):
        for size, settle in ONE_CONNECTION_CONFIGS:
            u = f.value("throughput", "ours-uring", size, settle, connections)
            e = f.value("throughput", "ours-epoll", size, settle, connections)
            if u is None or not e:
                continue
            noise = max(f.spread("throughput", "ours-uring", size, settle, connections),
                        f.spread("throughput", "ours-epoll", size, settle, connections))
            margin = u / e - (1 - noise)
            if worst is None or margin < worst[0]:
                worst = (margin, u / e, noise, size, settle, connections)
    if worst is None:
        return "| io_uring never slower than epoll by more than noise | — | — | — | no figure |"
    _, r, noise, size, settle, connections = worst
    return ("| io_uring never slower than epoll by more than noise (worst configuration: %s %s, %s connection%s) "
            "| io_uring ÷ epoll, noise ±%.0f%% | %.2f× | ≥ %.2f× | %s |"
            % (SIZE_NAMES.get(size, size), settle, grouped(connections), "" if connections == 1 else "s",
               noise * 100, r, 1 - noise, "pass" if r >= 1 - noise else "**FAIL**"))


def section(results):
    f = Figures(results)
    m = f.meta
    fan = m.get("fan_in", 1000)
    lines = []
    lb, la = m.get("load_before", [0, 0, 0]), m.get("load_after", [0, 0, 0])
    lines.append("Written by `make bench-compare` (Tools/bench-compare, Docs/bench-compare.md); do not edit by hand.")
    lines.append("")
    lines.append("%s, commit `%s`, %s CPUs, Linux %s; Qpid Proton C %s, uamqp %s, %s. %d of %d rounds%s, "
                 "%.1f s per run, medians of the rounds; the whole run took %.0f s. Load average "
                 "(1/5/15 min) %s at the start and %s at the end: other work shared the machine, "
                 "so read ratios, not absolute rates. Raw runs: `.build/bench-compare/results.json`."
                 % (m.get("date"), m.get("commit"), m.get("cpus"), m.get("kernel"), m.get("proton"), m.get("uamqp"),
                    m.get("iperf3"), m.get("rounds_done", 0), m.get("rounds_planned", 0),
                    " (quick smoke run)" if m.get("quick") else "", m.get("seconds_per_run", 0),
                    m.get("elapsed_seconds", 0), "/".join("%.2f" % x for x in lb), "/".join("%.2f" % x for x in la)))
    for note in m.get("notes", []):
        lines.append("")
        lines.append("Note: " + note + ".")
    lines.append("")
    lines.append("![messages per second, side by side](%s)" % SVG_LINK)
    lines.append("")
    lines.append("### Targets (issue 7), from this run")
    lines.append("")
    lines.extend(targets(f))
    lines.append("")
    lines.append("### Messages per second, 1 connection (sender and receiver: one connection each; peer to peer: the sender's only)")
    lines.append("")
    header = "| implementation | " + " | ".join("%s %s" % (SIZE_NAMES[s], SETTLE_SHORT[t]) for s, t in ONE_CONNECTION_CONFIGS) + " |"
    lines.append(header)
    lines.append("|---|" + "---:|" * len(ONE_CONNECTION_CONFIGS))
    for impl in ORDER:
        lines.append("| %s | %s |" % (LABELS[impl], " | ".join(cell(f, impl, s, t, 1) for s, t in ONE_CONNECTION_CONFIGS)))
    lines.append("")
    lines.append("### Messages per second, %s connections (%s senders and %s receivers, all pairs together)" % (grouped(fan), grouped(fan), grouped(fan)))
    lines.append("")
    lines.append(header)
    lines.append("|---|" + "---:|" * len(ONE_CONNECTION_CONFIGS))
    for impl in ("ours-epoll", "ours-uring"):
        lines.append("| %s | %s |" % (LABELS[impl], " | ".join(cell(f, impl, s, t, fan) for s, t in ONE_CONNECTION_CONFIGS)))
    lines.append("| Proton C examples, uamqp | not run: each `send`, `receive` or uamqp client is one process with one "
                 "connection; %s of each (%s processes) would measure process scheduling on this machine, not the "
                 "AMQP stacks |%s" % (grouped(fan), grouped(2 * fan), " |" * (len(ONE_CONNECTION_CONFIGS) - 1)))
    lines.append("")
    iperf = f.value("iperf3", "iperf3", 0, "-", 1, "mbps")
    lines.append("### The physical limit: loopback TCP")
    lines.append("")
    lines.append("| what | MB/s (10⁶ bytes) |")
    lines.append("|---|---:|")
    lines.append("| iperf3, one TCP stream on 127.0.0.1 | %s |" % (grouped(iperf) if iperf else "failed"))
    for impl in ("ours-direct-epoll", "ours-epoll", "ours-uring"):
        hops = ("each crosses loopback once, as iperf3's" if impl == "ours-direct-epoll"
                else "each crosses loopback twice, to and from the peer")
        for settle in ("at-least-once", "pre-settled"):
            v = f.value("throughput", impl, 65536, settle, 1, "mbps")
            lines.append("| %s, 64 KiB %s (message bytes received; %s) | %s |"
                         % (SHORT[impl], settle, hops, grouped(v) if v else "—"))
    lines.append("")
    lines.append("### How to read this")
    lines.append("")
    lines.append("- Peer to peer is one hop: the sender connects to the receiver, which listens (Proton C `direct`, "
                 "`amqp bench --peer direct`), grants credit and accepts every delivery; every other row goes "
                 "through a queue (two hops, a sender and a receiver connection).")
    lines.append("- Rates are messages received per second: ours from the first send to the last receive "
                 "(`amqp bench --json`, set-up excluded); Proton C from starting `send` to both programs' exit "
                 "(process start, connection set-up and close included: a few ms of a run of about %g s); "
                 "uamqp from its first send to its last receive (CLOCK_MONOTONIC in both processes)."
                 % m.get("seconds_per_run", 0))
    lines.append("- Proton C: Debian's examples built with gcc -O2, with `Tools/bench-compare/proton-c-examples.patch`: "
                 "a data-section body of the given size, pre-settled sending, accepted deliveries settled, and "
                 "no printing of each message (still decoded). The Proton C broker gives each sender a credit "
                 "window of 5 (the example's `WINDOW`) and delivers to receivers pre-settled; our client faces "
                 "the same broker. `receive` and `direct` grant their whole count as credit at once.")
    lines.append("- uamqp's Python API only connects over TLS, so it reaches each peer through socat terminating "
                 "TLS on 127.0.0.1 (anonymous SASL); nobody else pays for TLS. It sends 1,000 messages at a time "
                 "and waits for them (see `Tools/bench-compare/uamqp_bench.py`).")
    lines.append("- The Proton C broker runs 4 threads; `amqp peer` and the embedded peer one reactor thread each.")
    lines.append("- Latency needs a send time in each message: `amqp bench --rate` stamps its own; Proton C `send` with a rate "
                 "(the patch) puts CLOCK_MONOTONIC ns in the body's first 8 bytes and `receive` computes each message's "
                 "latency (one host, one clock). Both send on a fixed schedule (message k at k ÷ rate s) with waits in "
                 "whole milliseconds (epoll's, Proton's proactor time-out), so a few messages leave together.")
    lines.append("- Idle connections: `amqp bench --mode idle` opens the connections (OPEN, BEGIN, ATTACH) to the embedded "
                 "peer in the same process (its own thread and descriptor table), waits 2 s, then measures CPU over the "
                 "quiet interval per thread (client reactor: RUSAGE_THREAD; peer: its thread's CPU clock) and resident "
                 "memory (/proc/self/statm, after minus before the connections, over the connections); every connection is "
                 "still open at the end, which, with the interval longer than the idle limit, proves the heartbeats flowed.")
    fails = f.failures()
    if fails:
        lines.append("")
        lines.append("Runs that failed (left out of the medians):")
        lines.append("")
        for (kind, impl, size, settle, connections), round_, error in fails:
            lines.append("- %s %s, %s %s, %s connection(s), round %s: %s"
                         % (kind, SHORT.get(impl, impl), SIZE_NAMES.get(size, size), settle, connections,
                            (round_ or 0) + 1, error.replace("\n", " ").replace("|", "/")[:200]))
    return "\n".join(lines)


def svg(results):
    """Horizontal bars, log scale: one group per configuration, one bar per implementation."""
    f = Figures(results)
    fan = f.meta.get("fan_in", 1000)
    groups = [("%s %s, 1 connection" % (SIZE_NAMES[s], t), s, t, 1, ORDER) for s, t in ONE_CONNECTION_CONFIGS]
    groups += [("%s %s, %s connections" % (SIZE_NAMES[s], t, grouped(fan)), s, t, fan, ["ours-epoll", "ours-uring"])
               for s, t in ONE_CONNECTION_CONFIGS]
    values = [f.value("throughput", impl, s, t, c) for _, s, t, c, impls in groups for impl in impls]
    values = [v for v in values if v]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 100
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 10 ** 7
    if hi <= lo:
        hi = lo * 10
    left, width, bar, gap, top = 230, 560, 11, 18, 86
    legend_rows = (len(ORDER) + 2) // 3
    top += legend_rows * 16
    height = top + sum(len(g[4]) * bar + gap + 14 for g in groups) + 40

    def x(v):
        return left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="11">' % (left + width + 90, height, left + width + 90, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">swift-amqp side by side: messages per second (log scale)</text>',
           '<text x="10" y="38">%s, commit %s; medians of %d rounds; load average %s at the start</text>'
           % (html.escape(str(f.meta.get("date"))), html.escape(str(f.meta.get("commit"))), f.meta.get("rounds_done", 0),
              "/".join("%.2f" % v for v in f.meta.get("load_before", [0, 0, 0]))),
           '<text x="10" y="54">make bench-compare; BENCHMARKS.md has the tables, what ran and how to read it</text>']
    for i, impl in enumerate(ORDER):
        lx, ly = 10 + (i % 3) * 280, 72 + (i // 3) * 16
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (lx, ly - 9, COLORS[impl]))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 14, ly, html.escape(SHORT[impl])))
    axis_top = top - 6
    decade = lo
    while decade <= hi:
        gx = x(decade)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (gx, axis_top, gx, height - 30))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>'
                   % (gx, height - 16, html.escape(decade_label(decade))))
        decade *= 10
    y = top
    for title, s, t, c, impls in groups:
        out.append('<text x="10" y="%d" font-weight="bold">%s</text>' % (y + 9, html.escape(title)))
        y += 14
        for impl in impls:
            v = f.value("throughput", impl, s, t, c)
            out.append('<text x="%d" y="%d" text-anchor="end" fill="#333">%s</text>' % (left - 6, y + 9, html.escape(SHORT[impl])))
            if v:
                out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, max(1.0, x(v) - left), bar - 2, COLORS[impl]))
                out.append('<text x="%.1f" y="%d" fill="#333">%s</text>' % (x(v) + 4, y + 9, grouped(v)))
            else:
                out.append('<text x="%d" y="%d" fill="#999">%s</text>'
                           % (left + 4, y + 9, "failed" if f.runs("throughput", impl, s, t, c) else "not run"))
            y += bar
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def decade_label(v):
    for unit, scale in (("M", 10 ** 6), ("k", 10 ** 3)):
        if v >= scale:
            return "%g%s" % (v / scale, unit)
    return "%g" % v


def replace_section(document, body):
    """`document` with the text between the markers replaced by `body`."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(document):
        raise ValueError("BENCHMARKS.md has no %s … %s section (add it by hand once)" % (BEGIN, END))
    return pattern.sub(lambda _: BEGIN + "\n" + body + "\n" + END, document, count=1)


def write(results, benchmarks_path, svg_path):
    with open(benchmarks_path) as f:
        document = f.read()
    updated = replace_section(document, section(results))
    with open(svg_path, "w") as f:
        f.write(svg(results))
    with open(benchmarks_path, "w") as f:
        f.write(updated)
