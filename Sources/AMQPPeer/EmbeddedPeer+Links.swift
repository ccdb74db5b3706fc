import AMQPCodec
import AMQPEngine
import AMQPReactor

// Links: what a client may attach, and what happens when a link goes.

extension EmbeddedPeer {
    func linkRequested(_ connection: PeerConnection, _ link: LinkID, _ attach: Attach) {
        let clientSends = attach.role == .sender
        guard connection.links.count < configuration.limits.maxLinksPerConnection else {
            return refuse(connection, link, .resourceLimitExceeded, "a connection may attach \(configuration.limits.maxLinksPerConnection) links")
        }
        var c = LinkConfiguration.accepting(attach)
        let address: String?
        var isDynamic = false
        if clientSends {
            guard case .target(let target)? = attach.target else {
                return refuse(connection, link, .notImplemented, "the peer has no transaction coordinator")
            }
            if target.dynamic {
                isDynamic = true
                let name = dynamicAddress()
                var t = target
                t.address = name
                c.target = .target(t)
                address = name
            } else {
                address = target.address
            }
            c.credit = .prefetch(configuration.credit)
            c.maxMessageSize = configuration.limits.maxMessageSize
        } else {
            guard let source = attach.source else {
                return refuse(connection, link, .invalidField, "a receiver needs a source")
            }
            if source.dynamic {
                isDynamic = true
                let name = dynamicAddress()
                var s = source
                s.address = name
                c.source = s
                address = name
            } else {
                guard let a = source.address else { return refuse(connection, link, .invalidField, "the source has no address") }
                address = a
            }
            c.manualDrain = true
        }
        if let address, let redirect = configuration.faults.linkRedirects[address] {
            let error = AMQPError(condition: .linkRedirect, description: "\(address) is at \(redirect)", info: redirect.info)
            reactor.withInner(connection.id) { $0.detachLink(link, error: error) }
            return
        }
        let kind: PeerLink.Kind
        if address == CBSNode.address {
            kind = clientSends ? .cbsRequests : .cbsReplies(presettled: attach.sndSettleMode == .settled)
        } else {
            if let address {
                if configuration.cbs.protects(address) && !connection.isAuthorized(for: address) {
                    return refuse(connection, link, .unauthorizedAccess, "\(address) needs a token: put one to $cbs first")
                }
                // Dynamic addresses were made for this link a moment ago.
                guard isDynamic || knows(address) else {
                    return refuse(connection, link, .notFound, "no queue \(address): this peer makes no queues on demand")
                }
                guard store.ensureSlot(address) != nil else {
                    return refuse(connection, link, .resourceLimitExceeded, "the peer holds \(configuration.limits.maxQueues) queues already")
                }
            } else if !clientSends {
                return refuse(connection, link, .invalidField, "the source has no address")
            }
            kind = clientSends ? .inbound(address: address) : .outbound(address: address!, presettled: attach.sndSettleMode == .settled)
        }
        let fault = address.flatMap { configuration.faults.linkErrors[$0] }
        connection.links[link] = PeerLink(kind: kind, queue: kind.queueAddress.flatMap { store.ref($0) }, fault: fault)
        let accepted: Bool = reactor.withInner(connection.id) { engine in
            do {
                try engine.acceptLink(link, configuration: c)
                return true
            } catch {
                return false
            }
        } ?? false
        guard accepted else {
            connection.links[link] = nil
            return
        }
        if case .outbound(let address, _) = kind {
            store.addReceiver(Consumer(connection: connection.id, link: link), to: address)
        }
        if let fault, fault.afterMessages == 0 { playLinkFault(connection, link) }
        switch kind {
        case .outbound(let address, _): pump(address)
        case .cbsReplies: pumpReplies(connection)
        default: break
        }
    }

    func refuse(_ connection: PeerConnection, _ link: LinkID, _ condition: ErrorCondition, _ why: String) {
        let error = AMQPError(condition: condition, description: why)
        reactor.withInner(connection.id) { $0.detachLink(link, error: error) }
    }

    func dynamicAddress() -> String {
        dynamicCounter += 1
        return "dynamic-\(dynamicCounter)"
    }

    /// Detaches the link with its fault's error.
    func playLinkFault(_ connection: PeerConnection, _ link: LinkID) {
        guard var l = connection.links[link], let fault = l.fault, !l.faulted else { return }
        l.faulted = true
        connection.links[link] = l
        reactor.withInner(connection.id) { $0.detachLink(link, error: fault.error) }
    }

    /// Counts a message on a link and plays its fault when the count is reached.
    func countMessage(_ connection: PeerConnection, link: LinkID) {
        guard hasLinkFaults, var l = connection.links[link] else { return }
        l.messages += 1
        connection.links[link] = l
        if let fault = l.fault, l.messages >= fault.afterMessages { playLinkFault(connection, link) }
    }

    func linkGone(_ connection: PeerConnection, _ link: LinkID) {
        guard let l = connection.links.removeValue(forKey: link) else { return }
        if case .outbound(let address, _) = l.kind {
            store.removeReceiver(Consumer(connection: connection.id, link: link), from: address)
            // Deliveries it had unsettled came back (`lost`, before this): others may
            // take them now.
            pump(address)
        }
        if let address = l.kind.queueAddress { forgetIfUnused(address) }
    }

    /// Forgets an empty queue no link of any connection uses.
    func forgetIfUnused(_ address: String) {
        guard !store.hasReceivers(address), store.depth(address) == 0 else { return }
        for connection in connections.values {
            for l in connection.links.values where l.kind.queueAddress == address { return }
        }
        store.forgetIfEmpty(address)
    }
}
