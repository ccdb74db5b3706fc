#!/usr/bin/python3
"""A Qpid Proton AMQP 1.0 peer that speaks over standard input and output.

swift-amqp's engine tests run this as a subprocess and move bytes between it and a
`ConnectionEngine` through the pipes, so our engine meets an independent AMQP
implementation with no sockets, no ports and no timing. It plays a tiny broker:

- answers the client's OPEN, BEGINs and ATTACHes;
- receiving links get `--credit` credit, refilled as messages arrive; each message is
  stored, whole, in a queue named by the link's target address, then accepted and
  settled (or, with `--reject-address A`, rejected when sent to A);
- sending links deliver the queue named by their source address, as far as credit
  goes, and settle each delivery once the client has settled or accepted it;
- closes what the client closes, and exits when the transport is done.

Run with Debian's /usr/bin/python3 (python3-qpid-proton). A summary is written to
standard error as `proton_peer: received=N sent=M bytes_in=…`.
"""
import argparse
import os
import select
import sys
from collections import defaultdict, deque

from proton import Collector, Connection, Delivery, Event, Transport
import signal

# Started from a Swift test (a libdispatch worker thread), this process inherits a
# mask that blocks SIGTERM: unblock it so that the test can always end us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sasl", choices=["none", "anonymous"], default="anonymous")
    parser.add_argument("--max-frame-size", type=int, default=65536)
    parser.add_argument("--credit", type=int, default=1000)
    parser.add_argument("--idle-timeout", type=float, default=0.0, help="seconds; 0 = none")
    parser.add_argument("--reject-address", default=None)
    parser.add_argument("--container-id", default="proton-peer")
    args = parser.parse_args()

    transport = Transport(Transport.SERVER)
    transport.max_frame_size = args.max_frame_size
    if args.idle_timeout > 0:
        transport.idle_timeout = args.idle_timeout
    if args.sasl == "anonymous":
        sasl = transport.sasl()
        sasl.allowed_mechs("ANONYMOUS")
    connection = Connection()
    connection.container = args.container_id
    collector = Collector()
    connection.collect(collector)
    transport.bind(connection)

    queues = defaultdict(deque)        # address -> deque of message bytes
    partial = {}                       # delivery -> bytearray being received
    stats = {"received": 0, "sent": 0, "bytes_in": 0}
    tag_counter = [0]
    stdin_open = True

    def address_of(terminus):
        return terminus.address if terminus is not None and terminus.address else ""

    def pump_senders():
        link = connection.link_head(0)
        while link:
            if link.is_sender and link.state & link.LOCAL_ACTIVE and link.credit > 0:
                q = queues[address_of(link.source)]
                while link.credit > 0 and q:
                    body = q.popleft()
                    tag_counter[0] += 1
                    d = link.delivery(str(tag_counter[0]))
                    link.send(body)
                    link.advance()
                    stats["sent"] += 1
            link = link.next(0)

    def handle(event):
        t = event.type
        if t == Event.CONNECTION_REMOTE_OPEN:
            event.connection.open()
        elif t == Event.SESSION_REMOTE_OPEN:
            event.session.open()
        elif t == Event.LINK_REMOTE_OPEN:
            link = event.link
            link.source.copy(link.remote_source)
            link.target.copy(link.remote_target)
            link.open()
            if link.is_receiver:
                link.flow(args.credit)
        elif t == Event.LINK_FLOW:
            pass  # pump_senders runs after every batch of events
        elif t == Event.DELIVERY:
            d = event.delivery
            link = d.link
            if link.is_receiver:
                # Only the link's current delivery can be read, and one event may
                # stand for several arrivals: drain deliveries in order from current.
                while True:
                    d = link.current
                    if d is None or not (d.readable or d.aborted):
                        return
                    buf = partial.setdefault(d, bytearray())
                    while True:
                        chunk = link.recv(1 << 16)
                        if not chunk:
                            break
                        buf.extend(chunk)
                    if d.partial and not d.aborted:
                        return
                    body = bytes(partial.pop(d))
                    # Advance before settling: settling the current delivery also
                    # advances the link, and doing both would skip the next one.
                    if d.aborted:
                        link.advance()
                        d.settle()
                        continue
                    address = address_of(link.target)
                    stats["received"] += 1
                    stats["bytes_in"] += len(body)
                    if args.reject_address is not None and address == args.reject_address:
                        d.update(Delivery.REJECTED)
                    else:
                        queues[address].append(body)
                        d.update(Delivery.ACCEPTED)
                    link.advance()
                    d.settle()
                    if link.credit < args.credit // 2:
                        link.flow(args.credit - link.credit)
            else:
                if d.remote_state or d.remote_settled:
                    d.settle()
        elif t == Event.LINK_REMOTE_CLOSE or t == Event.LINK_REMOTE_DETACH:
            event.link.close()
        elif t == Event.SESSION_REMOTE_CLOSE:
            event.session.close()
        elif t == Event.CONNECTION_REMOTE_CLOSE:
            event.connection.close()

    while True:
        while True:
            event = collector.peek()
            if event is None:
                break
            handle(event)
            collector.pop()
        pump_senders()
        while collector.peek() is not None:
            handle(collector.peek())
            collector.pop()

        pending = transport.pending()
        if pending > 0:
            out = transport.peek(pending)
            os.write(1, out)
            transport.pop(len(out))
            continue
        if pending < 0:  # head closed: everything written
            break
        if not stdin_open:
            break
        readable, _, _ = select.select([0], [], [], 5.0)
        if not readable:
            # The other side went quiet for 5 s with nothing in flight: give up so a
            # broken test fails instead of hanging.
            print("proton_peer: no input for 5 s; exiting", file=sys.stderr)
            return 3
        data = os.read(0, 1 << 16)
        if not data:
            stdin_open = False
            transport.close_tail()
            continue
        offset = 0
        while offset < len(data):
            capacity = transport.capacity()
            if capacity < 0:
                break
            n = transport.push(data[offset:offset + max(capacity, 1)]) if capacity > 0 else 0
            offset += capacity if capacity > 0 else 0
            if capacity == 0:
                # Let the engine process what it has before taking more.
                while collector.peek() is not None:
                    handle(collector.peek())
                    collector.pop()
                if transport.pending() > 0:
                    out = transport.peek(transport.pending())
                    os.write(1, out)
                    transport.pop(len(out))
        # Events from what was pushed are handled at the top of the loop.

    cond = transport.condition
    if cond is not None and cond.name not in (None, ""):
        print(f"proton_peer: transport condition {cond.name}: {cond.description}", file=sys.stderr)
    print("proton_peer: received={received} sent={sent} bytes_in={bytes_in}".format(**stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
