"""`make bench-compare`: swift-amqp side by side with Qpid Proton C, Python uamqp and iperf3.

Runs everything in one session on this machine, keeps every raw run in
.build/bench-compare/results.json, then writes the section of BENCHMARKS.md between
`<!-- bench-compare:begin -->` and `<!-- bench-compare:end -->` and Docs/bench-compare.svg
(render.py). Docs/bench-compare.md says what runs and how to read it.

    /usr/bin/python3 Tools/bench-compare/bench_compare.py [--quick] [--rounds N] [--render-only]

Standard library only; run with /usr/bin/python3. Every process it starts is stopped
when it ends, also on an error or a signal. Only 127.0.0.1 and ports the kernel picks.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import render  # noqa: E402  (next to this file)

UAMQP_VERSION = "1.6.11"
SIZES = [100, 1024, 65536]
SETTLE_MODES = ["at-least-once", "pre-settled"]
FAN_IN = 1000
LATENCY_RATE = 10000
# Latency at LATENCY_RATE, one connection, 100 B at-least-once: ours on both backends
# with the embedded peer, and ours against Proton C's send/receive through the same
# `amqp peer` and the same Proton C broker.
LATENCY_IMPLS = ["ours-epoll", "ours-uring", "ours@amqp-peer", "protonc@amqp-peer", "ours@proton-broker", "protonc@proton-broker"]
# Idle connections with heartbeats (`amqp bench --mode idle`), once per backend and idle
# limit per session: IDLE_CONNECTIONS on one client reactor to the embedded peer, each end
# with the idle limit (OPEN announces half; an empty frame every quarter), CPU over a quiet
# interval longer than the limit, so connections still open at the end prove that the
# heartbeats flowed. The target's figure is taken at IDLE_TIMEOUT_MS, Qpid JMS's default
# idle time-out (amqp.idleTimeout) and Azure Service Bus's minimum: 60 s. The stress
# configuration, a 10 s limit (4,000 empty frames a second each way), is shown beside it
# without a verdict. (Quick runs: the stress configuration only.)
IDLE_CONNECTIONS = 10000
IDLE_TIMEOUT_MS = 60000
IDLE_QUIET = 70
IDLE_STRESS_TIMEOUT_MS = 10000
IDLE_STRESS_QUIET = 30
IDLE_QUIET_QUICK = 12

# Implementations measured at one connection, in the order of a round (rotated each round
# so that no implementation always runs first or last).
ONE_CONNECTION = [
    "ours-epoll", "ours-uring", "ours-direct-epoll", "ours@amqp-peer", "ours@proton-broker",
    "protonc-direct", "protonc@amqp-direct", "protonc@amqp-peer", "protonc@proton-broker",
    "uamqp@amqp-peer", "uamqp@proton-broker", "uamqp@amqp-direct",
]
# uamqp's sender into `amqp peer --direct` is timed by the sender itself, which is exact
# only when it waits for outcomes: at-least-once only.
AT_LEAST_ONCE_ONLY = {"uamqp@amqp-direct"}
FAN_IN_IMPLS = ["ours-epoll", "ours-uring"]

# First guesses of messages per second for count-based runs (Proton C, uamqp); after each
# run the count is re-aimed at the run's own rate, so only the first round uses these.
GUESS = {
    ("protonc", 100): 80000, ("protonc", 1024): 60000, ("protonc", 65536): 5000,
    ("uamqp", 100): 1500, ("uamqp", 1024): 1500, ("uamqp", 65536): 400,
}


def log(message):
    print("bench-compare: " + message, file=sys.stderr, flush=True)


class Failure(Exception):
    """A run that did not complete; recorded, not fatal."""


class Processes:
    """Every process the comparison starts, so that all are stopped however it ends."""

    def __init__(self):
        self.live = []

    def start(self, argv, **kwargs):
        # A session of its own: a signal to the terminal's process group does not reach
        # it half-way, and stopping it stops what it started (socat's forks).
        p = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.live.append(p)
        return p

    def stop(self, p, grace=5):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p, grace=3)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_line(p, path, pattern, seconds=30):
    """Polls the output file of `p` until a line matches `pattern`; returns the match."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(path) as f:
                m = re.search(pattern, f.read(), re.M)
            if m:
                return m
        except FileNotFoundError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.05)
    with open(path) as f:
        raise Failure("no %r from %s: %s" % (pattern, p.args[0], f.read()[-500:]))


def wait_port(port, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise Failure("nothing listens on 127.0.0.1:%d" % port)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return None if n == 0 else (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2)


class Comparison:
    def __init__(self, args):
        self.args = args
        self.state = os.path.join(ROOT, ".build", "bench-compare")
        self.amqp = os.path.join(ROOT, ".build", "release", "amqp")
        self.procs = Processes()
        self.seconds = 0.5 if args.quick else 2.0
        self.timeout = 30 if args.quick else 60
        self.runs = []
        self.counts = {}
        self.serial = 0
        self.notes = []

    # -- set-up ------------------------------------------------------------------------

    def prepare(self):
        os.makedirs(self.state, exist_ok=True)
        if not os.access(self.amqp, os.X_OK):
            sys.exit("bench-compare: %s not built (swift build -c release --product amqp)" % self.amqp)
        for tool in ("iperf3", "socat", "openssl", "gcc"):
            if not shutil.which(tool):
                sys.exit("bench-compare: %s not found: run Tools/install-deps.sh bench-compare" % tool)
        log("building the Proton C examples (gcc -O2)")
        subprocess.run(["bash", os.path.join(HERE, "proton-c.sh"), self.state], check=True, cwd=ROOT)
        self.proton = os.path.join(self.state, "proton-c")
        self.venv_python = self.make_venv()
        self.make_certificate()
        help_text = subprocess.run([self.amqp, "bench", "--help"], capture_output=True, text=True).stdout
        self.has_rate = "--rate" in help_text
        self.has_direct = "--peer" in help_text
        self.has_idle = "--idle-timeout" in help_text
        peer_help = subprocess.run([self.amqp, "peer", "--help"], capture_output=True, text=True).stdout
        self.has_peer_direct = "--direct" in peer_help

    def make_venv(self):
        venv = os.path.join(self.state, "venv")
        python = os.path.join(venv, "bin", "python")
        stamp = os.path.join(venv, "uamqp-" + UAMQP_VERSION)
        if not os.path.exists(stamp):
            log("making %s with uamqp %s from PyPI" % (venv, UAMQP_VERSION))
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True)
            subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "uamqp==" + UAMQP_VERSION], check=True)
            open(stamp, "w").close()
        return python

    def make_certificate(self):
        """A self-signed certificate for 127.0.0.1, for the TLS terminator uamqp needs."""
        self.cert = os.path.join(self.state, "tls-cert.pem")
        self.key = os.path.join(self.state, "tls-key.pem")
        self.certkey = os.path.join(self.state, "tls.pem")
        if os.path.exists(self.certkey):
            return
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "3650", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        with open(self.certkey, "w") as out:
            for path in (self.key, self.cert):
                with open(path) as f:
                    out.write(f.read())

    def start_services(self):
        """One `amqp peer` and one Proton C broker for the whole session, each with a
        socat TLS terminator in front for uamqp."""
        out = os.path.join(self.state, "amqp-peer.out")
        # Bounds far above what a run holds, so a queue never refuses a message.
        p = self.procs.start([self.amqp, "peer", "--listen", "127.0.0.1:0", "--credit", "1000",
                              "--queue-messages", "100000000", "--queue-bytes", str(4 << 30),
                              "--total-bytes", str(8 << 30)],
                             stdout=open(out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.peer_port = int(wait_for_line(p, out, r"listening on 127\.0\.0\.1:(\d+)").group(1))
        out = os.path.join(self.state, "proton-broker.out")
        p = self.procs.start(["./broker", "127.0.0.1", "0"], cwd=self.proton,
                             stdout=open(out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.broker_port = int(wait_for_line(p, out, r"^listening on (\d+)$").group(1))
        self.tls_ports = {}
        for name, port in (("amqp-peer", self.peer_port), ("proton-broker", self.broker_port)):
            tls = free_port()
            self.procs.start(["socat", "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,verify=0" % (tls, self.certkey),
                              "TCP:127.0.0.1:%d,nodelay" % port], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.state, "socat-%s.err" % name), "w"))
            wait_port(tls)
            self.tls_ports[name] = tls
        log("amqp peer on %d, Proton C broker on %d, TLS terminators on %s"
            % (self.peer_port, self.broker_port, self.tls_ports))

    # -- runs --------------------------------------------------------------------------

    def address(self):
        self.serial += 1
        return "bench-compare-%d-%d" % (os.getpid(), self.serial)

    def count_for(self, impl, size, settle):
        family = impl.split("@")[0].split("-")[0]
        key = (impl, size, settle)
        if key not in self.counts:
            self.counts[key] = int(GUESS[(family, size)] * self.seconds)
        return max(200, self.counts[key])

    def aim(self, impl, size, settle, rate):
        self.counts[(impl, size, settle)] = int(rate * self.seconds)

    def ours(self, size, settle, connections, backend, url=None, rate=None, peer=None):
        argv = [self.amqp, "bench", "--json", "--size", str(size), "--backend", backend,
                "--credit", "1000", "--connections", str(connections), "--duration", str(self.seconds)]
        if peer:
            if not self.has_direct:
                raise Failure("amqp bench has no --peer option")
            argv += ["--peer", peer]
        if settle == "pre-settled":
            argv.append("--settle")
        if url:
            argv.insert(2, url)
        if rate:
            argv += ["--rate", str(rate)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout + 60)
        if p.returncode != 0:
            raise Failure((p.stderr or p.stdout).strip()[-400:])
        r = json.loads(p.stdout)
        return {"rate": r["messages_per_second"], "mbps": r["megabytes_per_second"],
                "messages": r["received"], "seconds": r["seconds"], "p99_us": r.get("latency_p99_us"),
                "p50_us": r.get("latency_p50_us"), "backend": r["backend"], "message_bytes": r["message_bytes"]}

    def wait_all(self, ps, end):
        for p in ps:
            left = end - time.monotonic()
            try:
                p.wait(max(0.1, left))
            except subprocess.TimeoutExpired:
                for q in ps:
                    self.procs.stop(q, grace=1)
                raise Failure("%s still running after %d s" % (p.args[0], self.timeout))

    def start_peer_direct(self, count, log_name, started):
        """`amqp peer --direct` in its own process, exiting after `count` messages once
        the sender has closed; appended to `started` (for the caller to stop) before it
        is waited for. Returns the process and its port."""
        if not self.has_peer_direct:
            raise Failure("amqp peer has no --direct option")
        out = os.path.join(self.state, log_name)
        d = self.procs.start([self.amqp, "peer", "--direct", "--listen", "127.0.0.1:0", "--count", str(count),
                              "--backend", "epoll"],
                             stdout=open(out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started.append(d)
        return d, int(wait_for_line(d, out, r"listening on 127\.0\.0\.1:(\d+)").group(1))

    def protonc(self, where, size, settle, impl):
        n = self.count_for(impl, size, settle)
        address = self.address()
        settled = ["settled"] if settle == "pre-settled" else []
        send = os.path.join(self.proton, "send")
        logs = [open(os.path.join(self.state, "protonc-%s.out" % r), "w+") for r in ("receiver", "sender")]
        started = []
        try:
            if where == "direct":
                out = os.path.join(self.state, "protonc-direct.out")
                d = self.procs.start(["stdbuf", "-oL", os.path.join(self.proton, "direct"), "127.0.0.1", "0", address, str(n)],
                                     stdout=open(out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                started.append(d)
                port = int(wait_for_line(d, out, r"^listening on (\d+)$").group(1))
            elif where == "amqp-direct":
                # Proton C send → `amqp peer --direct`: our listener in Proton's `direct`
                # place (its own process; exits after the count, once send has closed).
                d, port = self.start_peer_direct(n, "amqp-direct.out", started)
            else:
                port = self.peer_port if where == "amqp-peer" else self.broker_port
                r = self.procs.start([os.path.join(self.proton, "receive"), "127.0.0.1", str(port), address, str(n)] + settled,
                                     stdout=logs[0], stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                started.append(r)
                # receive prints nothing until it is done: give it time to attach (a
                # message sent earlier waits in the queue; the clock starts at send).
                time.sleep(0.3)
            t0 = time.monotonic()
            s = self.procs.start([send, "127.0.0.1", str(port), address, str(n), str(size)] + settled,
                                 stdout=logs[1], stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            started.append(s)
            self.wait_all(started, t0 + self.timeout)
            t1 = time.monotonic()
            bad = [p for p in started if p.returncode != 0]
            if bad:
                logs[0].seek(0)
                logs[1].seek(0)
                raise Failure("exit %d: %s %s" % (bad[0].returncode, logs[0].read()[-200:], logs[1].read()[-200:]))
        finally:
            for p in started:
                self.procs.stop(p, grace=1)
            for f in logs:
                f.close()
        return self.counted(impl, size, settle, n, t1 - t0)

    def uamqp(self, where, size, settle, impl):
        n = self.count_for(impl, size, settle)
        address = self.address()
        common = ["--port", str(self.tls_ports[where]), "--address", address, "--count", str(n),
                  "--size", str(size), "--credit", "1000", "--ca", self.cert]
        if settle == "pre-settled":
            common.append("--settled")
        driver = os.path.join(HERE, "uamqp_bench.py")
        started = []
        try:
            rlog = open(os.path.join(self.state, "uamqp-receiver.out"), "w+")
            r = self.procs.start([self.venv_python, driver, "receive"] + common, stdout=rlog,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            started.append(r)
            wait_for_line(r, rlog.name, r"^ready$")
            slog = open(os.path.join(self.state, "uamqp-sender.out"), "w+")
            s = self.procs.start([self.venv_python, driver, "send"] + common, stdout=slog,
                                 stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
            started.append(s)
            end = time.monotonic() + self.timeout
            while r.poll() is None:
                # A sender that gives up is the end of the run: the receiver would only
                # wait for messages that never come.
                if s.poll() is not None and s.returncode != 0:
                    slog.seek(0)
                    lines = [line for line in slog.read().splitlines() if line.startswith("uamqp_bench")]
                    raise Failure("uamqp sender exit %s: %s" % (s.returncode, lines[-1] if lines else "no message"))
                if time.monotonic() > end:
                    raise Failure("uamqp receiver still running after %d s" % self.timeout)
                time.sleep(0.02)
            # The receiver is done: the sender may close its connection now.
            s.stdin.close()
            self.wait_all([s], time.monotonic() + 15)
            rlog.seek(0)
            slog.seek(0)
            rtext, stext = rlog.read(), slog.read()
            if r.returncode != 0 or s.returncode != 0:
                said = [line for line in (rtext + "\n" + stext).splitlines() if line.startswith("uamqp_bench")]
                raise Failure("uamqp receiver exit %s, sender exit %s: %s"
                              % (r.returncode, s.returncode, "; ".join(said) or rtext[-200:] + stext[-200:]))
            received = json.loads(rtext.strip().splitlines()[-1])
            sent = json.loads(stext.strip().splitlines()[-1])
        finally:
            for p in started:
                self.procs.stop(p, grace=1)
        return self.counted(impl, size, settle, received["messages"], received["last"] - sent["first"])

    def counted(self, impl, size, settle, messages, seconds):
        """A count-based run's result; aims the next run of `impl` at its rate."""
        rate = messages / seconds
        self.aim(impl, size, settle, rate)
        return {"rate": rate, "messages": messages, "seconds": seconds, "mbps": None}

    def uamqp_direct(self, size, settle, impl):
        """uamqp `send` → TLS (socat) → `amqp peer --direct`: uamqp has no listener, so
        its peer-to-peer place is a sender into our receiving end (as Proton C `send` →
        `amqp peer --direct`). Each batch waits for its outcomes, so the sender's own
        clock, first send to last outcome, times the run (at-least-once only)."""
        if settle != "at-least-once":
            raise Failure("uamqp → amqp peer --direct is timed at-least-once only")
        n = self.count_for(impl, size, settle)
        started = []
        try:
            d, port = self.start_peer_direct(n, "uamqp-direct-peer.out", started)
            tls = free_port()
            started.append(self.procs.start(
                ["socat", "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,verify=0" % (tls, self.certkey),
                 "TCP:127.0.0.1:%d,nodelay" % port], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.state, "socat-amqp-direct.err"), "w")))
            wait_port(tls)
            slog = open(os.path.join(self.state, "uamqp-direct-sender.out"), "w+")
            s = self.procs.start([self.venv_python, os.path.join(HERE, "uamqp_bench.py"), "send", "--port", str(tls),
                                  "--address", self.address(), "--count", str(n), "--size", str(size), "--credit", "1000",
                                  "--ca", self.cert], stdout=slog, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
            started.append(s)
            # The sender reports once every outcome is in, then stays until told to close.
            line = wait_for_line(s, slog.name, r'^(\{"role": "send".*\})$', seconds=self.timeout).group(1)
            s.stdin.close()
            self.wait_all([s, d], time.monotonic() + 15)
            if s.returncode != 0 or d.returncode != 0:
                raise Failure("uamqp sender exit %s, amqp peer --direct exit %s" % (s.returncode, d.returncode))
            sent = json.loads(line)
        finally:
            for p in started:
                self.procs.stop(p, grace=1)
        return self.counted(impl, size, settle, sent["messages"], sent["last"] - sent["first"])

    def run_one(self, impl, size, settle, connections):
        if impl.startswith("ours"):
            if impl in ("ours-epoll", "ours-uring"):
                return self.ours(size, settle, connections, impl.split("-")[1])
            if impl == "ours-direct-epoll":
                # Peer to peer, like Proton C send → direct: our senders straight into a
                # listener in the same process (no queue, no receiver connection).
                return self.ours(size, settle, connections, "epoll", peer="direct")
            where = impl.split("@")[1]
            port = self.peer_port if where == "amqp-peer" else self.broker_port
            return self.ours(size, settle, connections, "epoll", url="amqp://127.0.0.1:%d/%s" % (port, self.address()))
        if impl.startswith("protonc"):
            return self.protonc("direct" if impl == "protonc-direct" else impl.split("@")[1], size, settle, impl)
        if impl == "uamqp@amqp-direct":
            return self.uamqp_direct(size, settle, impl)
        return self.uamqp(impl.split("@")[1], size, settle, impl)

    def record(self, kind, impl, size, settle, connections, round_, fn):
        entry = {"kind": kind, "impl": impl, "size": size, "settle": settle, "connections": connections, "round": round_}
        try:
            entry.update(fn())
            entry["ok"] = True
        except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError, ValueError, KeyError, IndexError) as e:
            entry["ok"] = False
            entry["error"] = str(e)[-400:]
            log("%s %s %d B %s x%d: FAILED: %s" % (kind, impl, size, settle, connections, entry["error"]))
        else:
            self.log_run(entry)
        self.runs.append(entry)

    def log_run(self, entry):
        kind, impl, size, settle, connections = (entry[k] for k in ("kind", "impl", "size", "settle", "connections"))
        if kind == "idle":
            log("idle %s x%d: client reactor %.2f%% of a core, peer %.2f%%, %.1f KiB per connection"
                % (impl, connections, entry["client_cpu_percent"], entry["peer_cpu_percent"], entry["rss_per_connection_bytes"] / 1024))
        else:
            log("%s %s %d B %s x%d: %.0f msg/s%s" % (kind, impl, size, settle, connections, entry.get("rate") or 0,
                                                  ", p99 %.0f µs" % entry["p99_us"] if kind == "latency" and entry.get("p99_us") else ""))

    def iperf3(self):
        port = free_port()
        out = os.path.join(self.state, "iperf3-server.out")
        # One test, then it exits (-1); readiness from its own line, not a probe
        # connection, which it would take for the test.
        server = self.procs.start(["iperf3", "-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", str(port)],
                                  stdout=open(out, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for_line(server, out, r"Server listening on %d" % port)
            p = subprocess.run(["iperf3", "-c", "127.0.0.1", "-B", "127.0.0.1", "-p", str(port), "-J",
                                "-t", str(max(1, int(self.seconds)))], capture_output=True, text=True, timeout=self.timeout)
            if p.returncode != 0:
                raise Failure(p.stdout[-300:] + p.stderr[-300:])
            bits = json.loads(p.stdout)["end"]["sum_received"]["bits_per_second"]
        finally:
            self.procs.stop(server, grace=2)
        return {"rate": None, "mbps": bits / 8 / 1e6}

    def latency(self, impl):
        if impl.startswith("protonc"):
            return self.protonc_latency(impl.split("@")[1])
        if not self.has_rate:
            raise Failure("amqp bench has no --rate option")
        if impl in ("ours-epoll", "ours-uring"):
            return self.ours(100, "at-least-once", 1, impl.split("-")[1], rate=LATENCY_RATE)
        port = self.peer_port if impl.split("@")[1] == "amqp-peer" else self.broker_port
        return self.ours(100, "at-least-once", 1, "epoll", url="amqp://127.0.0.1:%d/%s" % (port, self.address()),
                         rate=LATENCY_RATE)

    def protonc_latency(self, where):
        """Proton C send at LATENCY_RATE (each message stamped with its send time) into
        `where`, Proton C receive computing every message's latency (the patch's "latency")."""
        n = int(LATENCY_RATE * self.seconds)
        address = self.address()
        port = self.peer_port if where == "amqp-peer" else self.broker_port
        rpath = os.path.join(self.state, "protonc-latency-receiver.out")
        started = []
        try:
            r = self.procs.start([os.path.join(self.proton, "receive"), "127.0.0.1", str(port), address, str(n), "unsettled", "latency"],
                                 stdout=open(rpath, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            started.append(r)
            # Messages sent before the link is attached would wait in the queue: start
            # the clock once the receiver says the broker attached it.
            wait_for_line(r, rpath, r"^attached$")
            slog = open(os.path.join(self.state, "protonc-latency-sender.out"), "w+")
            t0 = time.monotonic()
            s = self.procs.start([os.path.join(self.proton, "send"), "127.0.0.1", str(port), address, str(n), "100", "unsettled",
                                  str(LATENCY_RATE)], stdout=slog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            started.append(s)
            self.wait_all(started, t0 + self.timeout)
            t1 = time.monotonic()
            if r.returncode != 0 or s.returncode != 0:
                slog.seek(0)
                with open(rpath) as f:
                    raise Failure("exit %s/%s: %s %s" % (r.returncode, s.returncode, f.read()[-200:], slog.read()[-200:]))
        finally:
            for p in started:
                self.procs.stop(p, grace=1)
        with open(rpath) as f:
            m = re.search(r"^latency_us n (\d+) p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) p999 ([\d.]+) max ([\d.]+)$", f.read(), re.M)
        if not m or int(m.group(1)) != n:
            raise Failure("receive reported no latency for %d messages" % n)
        return {"rate": n / (t1 - t0), "messages": n, "seconds": t1 - t0, "mbps": None,
                "p50_us": float(m.group(2)), "p99_us": float(m.group(4)), "p999_us": float(m.group(5)),
                "max_us": float(m.group(6))}

    def idle_configurations(self):
        """(idle limit in ms, quiet seconds) of each idle run; the first carries the verdict."""
        if self.args.quick:
            return [(IDLE_STRESS_TIMEOUT_MS, IDLE_QUIET_QUICK)]
        return [(IDLE_TIMEOUT_MS, IDLE_QUIET), (IDLE_STRESS_TIMEOUT_MS, IDLE_STRESS_QUIET)]

    def idle(self, backend, timeout_ms, quiet):
        """`amqp bench --mode idle`: 10,000 idle connections with heartbeats on one reactor."""
        if not self.has_idle:
            raise Failure("amqp bench has no --mode idle")
        argv = [self.amqp, "bench", "--mode", "idle", "--json", "--backend", backend, "--connections", str(IDLE_CONNECTIONS),
                "--idle-timeout", str(timeout_ms), "--duration", str(quiet)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=quiet + 240)
        if p.returncode != 0:
            raise Failure((p.stderr or p.stdout).strip()[-400:])
        r = json.loads(p.stdout)
        keys = ("connections", "idle_timeout_ms", "announced_idle_timeout_ms", "heartbeat_interval_ms", "heartbeats_per_second",
                "setup_seconds", "quiet_seconds", "client_cpu_percent", "peer_cpu_percent", "process_cpu_percent",
                "client_us_per_heartbeat", "rss_per_connection_bytes", "rss_before_bytes", "rss_quiet_bytes", "backend")
        out = {k: r[k] for k in keys}
        out["rate"] = None
        return out

    # -- the session -------------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        budget = self.args.budget
        self.meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_before": os.getloadavg(), "quick": self.args.quick, "seconds_per_run": self.seconds,
            "rounds_planned": self.args.rounds, "cpus": os.cpu_count(), "kernel": platform.release(),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip(),
            "uamqp": UAMQP_VERSION, "fan_in": FAN_IN, "latency_rate": LATENCY_RATE,
            "idle_connections": IDLE_CONNECTIONS, "idle_configurations": self.idle_configurations(),
            "proton": subprocess.run(["pkg-config", "--modversion", "libqpid-proton"], capture_output=True, text=True).stdout.strip(),
            "iperf3": subprocess.run(["iperf3", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
        }
        self.start_services()
        sizes = [100, 65536] if self.args.quick else SIZES
        rounds_done = 0
        for round_ in range(self.args.rounds):
            elapsed = time.monotonic() - started
            if round_ > 0 and elapsed + elapsed / round_ > budget:
                # The next round would not end within the budget (rounds take about the same time).
                self.notes.append("stopped after %d of %d rounds to stay within %d s" % (round_, self.args.rounds, budget))
                log(self.notes[-1])
                break
            log("round %d of %d" % (round_ + 1, self.args.rounds))
            k = round_ % len(ONE_CONNECTION)
            order = ONE_CONNECTION[k:] + ONE_CONNECTION[:k]
            for size in sizes:
                for settle in SETTLE_MODES:
                    for impl in order:
                        if impl in AT_LEAST_ONCE_ONLY and settle != "at-least-once":
                            continue
                        self.record("throughput", impl, size, settle, 1, round_,
                                    lambda: self.run_one(impl, size, settle, 1))
                    fan = FAN_IN_IMPLS if round_ % 2 == 0 else list(reversed(FAN_IN_IMPLS))
                    for impl in fan:
                        self.record("throughput", impl, size, settle, FAN_IN, round_,
                                    lambda: self.run_one(impl, size, settle, FAN_IN))
            self.record("iperf3", "iperf3", 0, "-", 1, round_, self.iperf3)
            k = round_ % len(LATENCY_IMPLS)
            for impl in LATENCY_IMPLS[k:] + LATENCY_IMPLS[:k]:
                self.record("latency", impl, 100, "at-least-once", 1, round_, lambda: self.latency(impl))
            rounds_done += 1
        # Once per session (each takes set-up plus the quiet interval, one or two
        # minutes): 10,000 idle connections with heartbeats, on each backend, at each idle
        # limit (its key in the results: "idle N ms").
        for timeout_ms, quiet in self.idle_configurations():
            for backend in ("epoll", "uring"):
                self.record("idle", "ours-" + backend, 0, "idle %d ms" % timeout_ms, IDLE_CONNECTIONS, 0,
                            lambda: self.idle(backend, timeout_ms, quiet))
        self.meta["rounds_done"] = rounds_done
        self.meta["load_after"] = os.getloadavg()
        self.meta["elapsed_seconds"] = time.monotonic() - started
        self.meta["notes"] = self.notes


def main():
    parser = argparse.ArgumentParser(description="swift-amqp side by side (make bench-compare)")
    parser.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1",
                        help="a short smoke run: 0.5 s per run, 100 B and 64 KiB only (also QUICK=1)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "0")) or None)
    parser.add_argument("--budget", type=int, default=int(os.environ.get("BENCH_COMPARE_BUDGET", "840")),
                        help="seconds; no new round starts that would not finish in time (default 840)")
    parser.add_argument("--render-only", action="store_true", help="render results.json again, measure nothing")
    parser.add_argument("--no-write", action="store_true", help="measure and keep results.json, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    results_path = os.path.join(ROOT, ".build", "bench-compare", "results.json")
    if not args.render_only:
        comparison = Comparison(args)

        def on_signal(signum, frame):
            raise KeyboardInterrupt("signal %d" % signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGHUP, on_signal)
        try:
            comparison.prepare()
            comparison.run()
        finally:
            comparison.procs.stop_all()
        with open(results_path, "w") as f:
            json.dump({"meta": comparison.meta, "runs": comparison.runs}, f, indent=1)
        log("raw results in %s" % os.path.relpath(results_path, ROOT))
    with open(results_path) as f:
        results = json.load(f)
    if args.no_write:
        print(render.section(results))
        return
    render.write(results, os.path.join(ROOT, "BENCHMARKS.md"), os.path.join(ROOT, "Docs", "bench-compare.svg"))
    log("wrote BENCHMARKS.md (bench-compare section) and Docs/bench-compare.svg")


if __name__ == "__main__":
    main()
