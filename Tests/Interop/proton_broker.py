#!/usr/bin/python3
"""A small AMQP 1.0 broker on Qpid Proton's Python reactor, listening on TCP.

swift-amqp's interop suite (Tests/AMQPInteropTests) runs its cases against this, so the
public Connection API meets Qpid Proton over a real socket. It:

- listens on `--host`/`--port` (port 0: the kernel picks one) and prints
  `listening on PORT` once it accepts connections; SASL ANONYMOUS only;
- keeps queues by address, made on first use; addresses starting with `--refuse-prefix`
  (default `missing/`) are refused: the link is attached with a null terminus and
  detached at once with `amqp:not-found`, as brokers do for unknown nodes;
- receiving links get `--credit` credit, topped up as messages arrive; a message is
  stored as its encoded bytes (multi-frame transfers are joined), then accepted;
- sending links deliver their queue as far as credit goes, unsettled unless the
  client asked for pre-settled delivery (snd-settle-mode settled); a message the client
  releases or modifies, or leaves unsettled when its link or connection ends, goes back
  to the front of its queue (at least once);
- answers a drain request: when a drained link's queue is empty, the credit left is
  given back (`Sender.drained()`);
- with `--idle-timeout S`, announces an idle time-out of S seconds and closes a
  connection that sends nothing for that long (Proton does both).

Runs until killed (SIGTERM or SIGINT end it at once; nothing is persisted). Run with Debian's /usr/bin/python3 (python3-qpid-proton).
"""
import argparse
import sys
from collections import defaultdict, deque

from proton import Condition, Delivery, Link, Terminus
from proton import Handler
from proton.reactor import Container
import signal

# Started from a Swift test (a libdispatch worker thread), this process inherits a
# mask that blocks SIGTERM: unblock it so that the test can always end us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


class Broker(Handler):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.queues = defaultdict(deque)     # address -> deque of encoded messages
        self.consumers = defaultdict(list)   # address -> sender links
        self.partial = {}                    # receiving link -> bytearray of the delivery so far
        self.unsettled = {}                  # delivery we sent -> (address, bytes)
        self.tag = 0

    def on_reactor_init(self, event):
        acceptor = event.container.listen("%s:%d" % (self.args.host, self.args.port))
        # The reactor's acceptor does not expose its port; its socket does.
        port = acceptor._selectable._delegate.getsockname()[1]
        print("listening on %d" % port, flush=True)

    def on_connection_bound(self, event):
        event.transport.sasl().allowed_mechs("ANONYMOUS")
        if self.args.idle_timeout > 0:
            event.transport.idle_timeout = self.args.idle_timeout

    def on_connection_remote_open(self, event):
        if event.connection.state & Link.LOCAL_UNINIT:
            event.connection.container = "proton-python-broker"
            event.connection.open()

    def on_session_remote_open(self, event):
        if event.session.state & Link.LOCAL_UNINIT:
            event.session.open()

    def on_link_remote_open(self, event):
        link = event.link
        if not link.state & Link.LOCAL_UNINIT:
            return
        terminus = link.remote_source if link.is_sender else link.remote_target
        address = terminus.address or ""
        if address.startswith(self.args.refuse_prefix):
            # Refusal, as the spec describes it: attach with a null terminus, then
            # detach with the reason.
            if link.is_sender:
                link.source.type = Terminus.UNSPECIFIED
                link.target.copy(link.remote_target)
            else:
                link.source.copy(link.remote_source)
                link.target.type = Terminus.UNSPECIFIED
            link.open()
            link.condition = Condition("amqp:not-found", "no node at address %r" % address)
            link.close()
            return
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        if link.is_sender:
            # Honour a receiver that asks for pre-settled delivery.
            link.snd_settle_mode = link.remote_snd_settle_mode
            self.consumers[address].append(link)
        link.open()
        if link.is_receiver:
            link.flow(self.args.credit)
        else:
            self.dispatch(address)

    def on_link_flow(self, event):
        link = event.link
        if link.is_sender and link.state & Link.LOCAL_ACTIVE:
            self.dispatch(self.address_of(link))

    def address_of(self, link):
        return (link.source.address if link.is_sender else link.target.address) or ""

    def dispatch(self, address):
        queue = self.queues[address]
        for link in list(self.consumers[address]):
            while queue and link.credit > 0:
                body = queue.popleft()
                self.tag += 1
                delivery = link.delivery(str(self.tag))
                link.send(body)
                link.advance()
                if link.snd_settle_mode == Link.SND_SETTLED:
                    delivery.settle()
                else:
                    self.unsettled[delivery] = (address, body)
            if link.drain_mode and link.credit > 0 and not queue:
                link.drained()

    def on_delivery(self, event):
        delivery = event.delivery
        link = delivery.link
        if link.is_receiver:
            if not delivery.readable:
                return
            buffer = self.partial.setdefault(link, bytearray())
            chunk = link.recv(delivery.pending)
            while chunk:
                buffer.extend(chunk)
                chunk = link.recv(delivery.pending) if delivery.pending else None
            if delivery.partial:
                return
            body = bytes(buffer)
            del self.partial[link]
            address = self.address_of(link)
            if delivery.aborted:
                delivery.settle()
            else:
                self.queues[address].append(body)
                delivery.update(Delivery.ACCEPTED)
                delivery.settle()
            link.flow(max(0, self.args.credit - link.credit))
            self.dispatch(address)
        elif delivery.updated or delivery.settled:
            entry = self.unsettled.pop(delivery, None)
            if entry is not None and delivery.remote_state in (Delivery.RELEASED, Delivery.MODIFIED):
                self.queues[entry[0]].appendleft(entry[1])
            delivery.settle()
            if entry is not None:
                self.dispatch(entry[0])

    def forget(self, link):
        """Returns what `link` had unsettled to the front of its queue."""
        if link.is_sender:
            address = self.address_of(link)
            if link in self.consumers[address]:
                self.consumers[address].remove(link)
            back = [(d, e) for d, e in self.unsettled.items() if d.link == link]
            for delivery, entry in reversed(back):
                del self.unsettled[delivery]
                self.queues[entry[0]].appendleft(entry[1])
            for other in self.consumers[address]:
                if other.state & Link.LOCAL_ACTIVE:
                    self.dispatch(address)
                    break
        else:
            self.partial.pop(link, None)

    def on_link_remote_close(self, event):
        self.forget(event.link)
        if event.link.state & Link.LOCAL_ACTIVE:
            event.link.close()

    def on_session_remote_close(self, event):
        if event.session.state & Link.LOCAL_ACTIVE:
            event.session.close()

    def on_connection_remote_close(self, event):
        if event.connection.state & Link.LOCAL_ACTIVE:
            event.connection.close()

    def on_transport_closed(self, event):
        connection = event.connection
        if connection is None:
            return
        link = connection.link_head(0)
        while link:
            self.forget(link)
            link = link.next(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--credit", type=int, default=500)
    parser.add_argument("--idle-timeout", type=float, default=0.0, help="seconds; 0 = none")
    parser.add_argument("--refuse-prefix", default="missing/")
    args = parser.parse_args()
    container = Container(Broker(args))
    container.container_id = "proton-python-broker"
    container.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
