#!/usr/bin/python3
"""A Qpid Proton AMQP 1.0 client that exercises a broker over a real socket.

swift-amqp's peer tests run this against the embedded peer (`EmbeddedPeer`), so our
listening role meets an independent client. It:

1. sends `--count` messages to `--address` (amqp-value string bodies "message N" with an
   application property `n`, plus every `--big-every`th one a binary body of `--big-size`
   bytes, so some transfers span many frames) and waits until all are accepted;
2. receives them back with a receiver of credit `--credit`, releases the first one once
   (it must come back exactly once more), checks the order and content of the rest and
   accepts everything.

A summary is printed to standard output as one JSON object; the exit status is 0 only
when everything matched. `--timeout` bounds the whole run. Run with Debian's
/usr/bin/python3 (python3-qpid-proton).
"""
import argparse
import json
import sys

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container
import signal

# Started from a Swift test (a libdispatch worker thread), this process inherits a
# mask that blocks SIGTERM: unblock it so that the test can always end us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def expected_body(args, n):
    if args.big_every and n % args.big_every == args.big_every - 1:
        return bytes((n + i) % 251 for i in range(args.big_size))
    return "message %d" % n


class Client(MessagingHandler):
    def __init__(self, args):
        super().__init__(prefetch=0, auto_accept=False, auto_settle=True)
        self.args = args
        self.sent = 0
        self.accepted = 0
        self.received = 0
        self.released_once = False
        self.redelivered = False
        self.next_in_order = 1
        self.errors = []
        self.done = False

    def on_start(self, event):
        kwargs = {}
        if self.args.user:
            kwargs = dict(user=self.args.user, password=self.args.password,
                          allowed_mechs="PLAIN", allow_insecure_mechs=True)
        # No reconnecting: a refused login must end the run, with its error.
        self.connection = event.container.connect(self.args.url, reconnect=False, **kwargs)
        self.sender = event.container.create_sender(self.connection, self.args.address)
        self.timer = event.container.schedule(self.args.timeout, self)

    def on_timer_task(self, event):
        self.errors.append("timed out: sent=%d accepted=%d received=%d" % (self.sent, self.accepted, self.received))
        self.finish(event)

    def on_sendable(self, event):
        while event.sender.credit > 0 and self.sent < self.args.count:
            n = self.sent
            event.sender.send(Message(body=expected_body(self.args, n), properties={"n": n}))
            self.sent += 1

    def on_accepted(self, event):
        self.accepted += 1
        if self.accepted == self.args.count:
            self.receiver = event.container.create_receiver(self.connection, self.args.address)
            self.receiver.flow(self.args.credit)

    def on_rejected(self, event):
        self.errors.append("rejected: %s" % event.delivery.remote.condition)
        self.finish(event)

    def on_message(self, event):
        n = event.message.properties.get("n") if event.message.properties else None
        if n == 0 and not self.released_once:
            # Give the first one back: the broker must hand it out again (after those
            # already in flight under our credit).
            self.released_once = True
            self.release(event.delivery, delivered=False)
            self.receiver.flow(1)
            return
        if n == 0:
            if self.redelivered:
                self.errors.append("message 0 delivered a third time")
            self.redelivered = True
        elif n != self.next_in_order:
            self.errors.append("out of order: expected %d, got %s" % (self.next_in_order, n))
        else:
            self.next_in_order += 1
        if n is not None and event.message.body != expected_body(self.args, n):
            self.errors.append("message %s has the wrong body" % n)
        self.accept(event.delivery)
        self.received += 1
        self.receiver.flow(1)
        if self.received == self.args.count or self.errors:
            self.finish(event)

    def on_transport_error(self, event):
        condition = event.transport.condition
        self.errors.append("transport error: %s" % (condition.name if condition else "unknown"))
        self.done = True
        self.timer.cancel()

    def on_connection_error(self, event):
        condition = event.connection.remote_condition
        self.errors.append("connection error: %s" % (condition.name if condition else "unknown"))
        self.finish(event)

    def finish(self, event):
        if self.done:
            return
        self.done = True
        self.timer.cancel()
        self.connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--address", default="q")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--credit", type=int, default=100)
    parser.add_argument("--big-every", type=int, default=0)
    parser.add_argument("--big-size", type=int, default=200_000)
    parser.add_argument("--user", default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    client = Client(args)
    Container(client).run()
    ok = not client.errors and client.accepted == args.count and client.received == args.count
    print(json.dumps({"ok": ok, "sent": client.sent, "accepted": client.accepted, "received": client.received,
                      "redelivered": client.redelivered, "errors": client.errors}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
