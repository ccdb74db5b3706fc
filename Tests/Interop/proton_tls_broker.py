#!/usr/bin/python3
"""A tiny Qpid Proton broker with a TLS listener, for swift-amqp's TLS client tests.

Listens on amqps://127.0.0.1:PORT (a free port it picks) with the given certificate
and key, writes PORT to --port-file once listening, keeps one queue per address (FIFO,
messages accepted on arrival) and hands messages to receivers as their credit allows.
Stops after --timeout seconds at the latest. Run with Debian's /usr/bin/python3
(python3-qpid-proton).
"""
import argparse
import collections
import os
import socket
import sys

from proton.handlers import MessagingHandler
from proton.reactor import Container


class Broker(MessagingHandler):
    def __init__(self, args, port):
        super().__init__(auto_accept=True)
        self.args = args
        self.port = port
        self.queues = collections.defaultdict(collections.deque)
        self.consumers = collections.defaultdict(list)

    def on_start(self, event):
        if self.args.plain:
            self.acceptor = event.container.listen("amqp://127.0.0.1:%d" % self.port)
        else:
            event.container.ssl.server.set_credentials(self.args.cert, self.args.key, None)
            self.acceptor = event.container.listen("amqps://127.0.0.1:%d" % self.port)
        event.container.schedule(self.args.timeout, self)
        # Written whole, then renamed: the reader never sees half a number.
        with open(self.args.port_file + ".tmp", "w") as f:
            f.write(str(self.port))
        os.rename(self.args.port_file + ".tmp", self.args.port_file)

    def on_timer_task(self, event):
        self.acceptor.close()
        event.container.stop()

    def on_link_opening(self, event):
        if event.link.is_sender:
            address = event.link.remote_source.address
            event.link.source.address = address
            self.consumers[address].append(event.link)
        else:
            event.link.target.address = event.link.remote_target.address

    def on_link_closing(self, event):
        for links in self.consumers.values():
            if event.link in links:
                links.remove(event.link)

    def on_sendable(self, event):
        self.pump(event.link.source.address)

    def on_message(self, event):
        address = event.link.target.address
        self.queues[address].append(event.message)
        self.pump(address)

    def pump(self, address):
        queue = self.queues[address]
        for link in self.consumers[address]:
            while link.credit > 0 and queue:
                link.send(queue.popleft())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--plain", action="store_true", help="listen without TLS (amqp://), for comparison")
    args = parser.parse_args()
    # A free port: bound by the kernel, released, then listened on by Proton.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    Container(Broker(args, port)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
