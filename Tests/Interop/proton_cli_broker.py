#!/usr/bin/python3
"""A small Qpid Proton AMQP 1.0 broker on a real socket, for `amqp send`/`amqp receive`.

swift-amqp's tool tests run the `amqp` commands (our client: Connection, Session,
MessageSender, MessageReceiver) against it, so the client meets an independent
listening side. Queues by address, made on first use; messages are accepted when
stored and handed to receivers as their credit allows (after Qpid Proton's example
broker). SASL ANONYMOUS. Prints `listening HOST:PORT` once ready; stops on SIGTERM or
after `--timeout` seconds. Run with Debian's /usr/bin/python3 (python3-qpid-proton).
"""
import argparse
import collections
import signal
import sys

from proton.handlers import MessagingHandler
from proton.reactor import Container


class Queue:
    def __init__(self):
        self.messages = collections.deque()
        self.consumers = []

    def publish(self, message):
        self.messages.append(message)
        self.dispatch()

    def dispatch(self, consumer=None):
        consumers = [consumer] if consumer else self.consumers
        progress = True
        while progress and self.messages:
            progress = False
            for c in consumers:
                if c.credit > 0 and self.messages:
                    c.send(self.messages.popleft())
                    progress = True


class Broker(MessagingHandler):
    def __init__(self, address):
        super().__init__()
        self.address = address
        self.queues = {}

    def queue(self, address):
        return self.queues.setdefault(address, Queue())

    def on_start(self, event):
        self.acceptor = event.container.listen(self.address)
        print("listening %s" % self.address, flush=True)

    def on_link_opening(self, event):
        link = event.link
        if link.is_sender and link.remote_source.address:
            link.source.address = link.remote_source.address
            self.queue(link.source.address).consumers.append(link)
        elif link.is_receiver and link.remote_target.address:
            link.target.address = link.remote_target.address

    def forget(self, link):
        if link.is_sender and link.source.address in self.queues:
            consumers = self.queues[link.source.address].consumers
            if link in consumers:
                consumers.remove(link)

    def on_link_closing(self, event):
        self.forget(event.link)

    def on_connection_closing(self, event):
        self.forget_connection(event.connection)

    def on_disconnected(self, event):
        self.forget_connection(event.connection)

    def forget_connection(self, connection):
        link = connection.link_head(0)
        while link:
            self.forget(link)
            link = link.next(0)

    def on_sendable(self, event):
        self.queue(event.link.source.address).dispatch(event.link)

    def on_message(self, event):
        self.queue(event.link.target.address).publish(event.message)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    # SIGTERM ends the process at once (its default action; a Python handler would run
    # only when Proton's loop returned to Python). Unblocked first: a child inherits its
    # parent thread's signal mask, and test runners' threads block nearly every signal.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    container = Container(Broker(args.listen))
    # A safety net for a test that never stops it.
    container.schedule(args.timeout, type("Stop", (), {"on_timer_task": lambda self, e: container.stop()})())
    container.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
