"""Sends or receives N messages with Python uamqp (1.6.11) and reports when it started and ended.

Run by Tools/bench-compare/bench_compare.py in the virtualenv it makes (uamqp from PyPI):

    python uamqp_bench.py receive --port P --address A --count N [--credit C] [--settled] --ca CA.pem
    python uamqp_bench.py send    --port P --address A --count N --size S [--credit C] [--settled] --ca CA.pem

uamqp's Python API builds every connection on its TLS I/O layer (there is no plain TCP
transport to choose), so it connects with TLS to 127.0.0.1:P, where the comparison puts
socat terminating TLS in front of the peer; --ca is the certificate to trust.

The receiver prints `ready` once its link is attached, then, like the sender, one JSON
line when done (the sender then keeps its connection working until its standard input
closes, which the runner does once the receiver is done): {"role", "messages", "first", "last"}, with time.monotonic() (the
system's CLOCK_MONOTONIC, which both processes share) at the first message sent or
received and at the last one sent and settled or received. The rate of a run is
messages / (receiver's last - sender's first).

At-least-once: the sender sends unsettled and waits for outcomes; the broker sends to the
receiver unsettled, and the receiver settles each message `accepted` as it takes it
(ReceiveAndDelete). Both links ask for receiver settle mode first, as `amqp bench`'s
do: uamqp's default (PeekLock, mode second) has the receiving end wait for the sender to
settle after the outcome, which uamqp never does, so against `amqp peer` (which honours
mode second) it stalls after the first credit's worth of messages; the Proton C broker
ignores the mode. Pre-settled (--settled): both links ask for settled sending. The sender hands uamqp --credit
messages at a time and waits for them to be sent (and, at-least-once, accepted) before
the next batch: uamqp re-filters its whole pending list on every pass, so queueing all N
at once would make the send loop quadratic.
"""

import argparse
import json
import os
import select
import sys
import time

import uamqp
from uamqp import authentication, constants


def auth(args):
    return authentication.SASLAnonymous(hostname=args.host, port=args.port, verify=args.ca)


def url(args):
    return "amqps://%s:%d/%s" % (args.host, args.port, args.address)


def report(role, count, first, last):
    print(json.dumps({"role": role, "messages": count, "first": first, "last": last}), flush=True)


def receive(args):
    settled = args.settled
    client = uamqp.ReceiveClient(
        url(args), auth=auth(args), prefetch=args.credit,
        receive_settle_mode=constants.ReceiverSettleMode.ReceiveAndDelete,
        send_settle_mode=(constants.SenderSettleMode.Settled if settled
                          else constants.SenderSettleMode.Unsettled),
        auto_complete=False, timeout=0)
    client.open()
    deadline = time.monotonic() + 30
    while not client.client_ready():
        if time.monotonic() > deadline:
            sys.exit("uamqp_bench receive: not attached after 30 s")
        client.do_work()
    print("ready", flush=True)
    got = 0
    first = last = None
    idle_since = time.monotonic()
    while got < args.count:
        batch = client.receive_message_batch(max_batch_size=args.credit, timeout=1000)
        now = time.monotonic()
        if not batch:
            if now - idle_since > args.idle:
                sys.exit("uamqp_bench receive: nothing for %d s after %d messages" % (args.idle, got))
            continue
        idle_since = now
        if first is None:
            first = now
        got += len(batch)
        last = now
    # Let the last dispositions out before closing.
    for _ in range(10):
        client.do_work()
    client.close()
    report("receive", got, first, last)


def send(args):
    settled = args.settled
    client = uamqp.SendClient(
        url(args), auth=auth(args), msg_timeout=0,
        receive_settle_mode=constants.ReceiverSettleMode.ReceiveAndDelete,
        send_settle_mode=(constants.SenderSettleMode.Settled if settled
                          else constants.SenderSettleMode.Unsettled))
    client.open()
    deadline = time.monotonic() + 30
    while not client.client_ready():
        if time.monotonic() > deadline:
            sys.exit("uamqp_bench send: not attached after 30 s")
        client.do_work()
    body = bytes(args.size)
    sent = 0
    first = time.monotonic()
    while sent < args.count:
        n = min(args.credit, args.count - sent)
        client.queue_message(*[uamqp.Message(body) for _ in range(n)])
        results = client.send_all_messages(close_on_done=False)
        bad = [r for r in results if r != constants.MessageState.SendComplete]
        if bad:
            sys.exit("uamqp_bench send: %d of %d messages not sent: %s" % (len(bad), n, bad[0]))
        sent += n
    last = time.monotonic()
    report("send", sent, first, last)
    # Stay connected, working, until told (standard input closes): uamqp counts a
    # pre-settled message sent once it is queued in its own buffers, and closing at once
    # would drop what it has not written yet.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sys.stdin], [], [], 0.005)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break
        client.do_work()
    client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=["send", "receive"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--credit", type=int, default=1000)
    parser.add_argument("--settled", action="store_true")
    parser.add_argument("--ca", required=True, help="PEM certificate to trust (the TLS terminator's)")
    parser.add_argument("--idle", type=int, default=30, help="give up after this many seconds without a message")
    args = parser.parse_args()
    (send if args.role == "send" else receive)(args)


if __name__ == "__main__":
    main()
