import AMQPCodec
import AMQPEngine
import AMQPReactor
import Glibc

// The `$cbs` node: put-token requests in, responses out on the same connection's `$cbs`
// receiver, and access to the audience's address for the rest of the connection.

extension EmbeddedPeer {
    /// Answers a put-token request; the outcome for the request's delivery.
    func putToken(_ connection: PeerConnection, _ payload: [UInt8]) -> DeliveryState {
        let bound = configuration.limits.maxTokensPerConnection
        guard connection.cbsReplies.count < bound else {
            // The client does not read its responses: refuse rather than pile them up.
            statistics.tokensRefused += 1
            return .rejected(AMQPError(condition: .resourceLimitExceeded, description: "\(bound) $cbs responses are waiting for a $cbs receiver"))
        }
        let message: Message
        do {
            message = try Message(decoding: payload)
        } catch {
            statistics.tokensRefused += 1
            return .rejected(AMQPError(condition: .decodeError, description: "the put-token request is not a message: \(error)"))
        }
        let response: Message
        do {
            let request = try CBSRequest(message)
            if let expiry = request.expiration, expiry < Self.wallClock() {
                statistics.tokensRefused += 1
                response = request.response(statusCode: 401, description: "the token expired at \(expiry) ms")
            } else if !connection.authorized.contains(request.address) && connection.authorized.count >= bound {
                statistics.tokensRefused += 1
                response = request.response(statusCode: 403, description: "tokens for \(bound) addresses are in force on this connection")
            } else if configuration.cbs.accepts(request) {
                statistics.tokensAccepted += 1
                if !connection.authorized.contains(request.address) { connection.authorized.append(request.address) }
                response = request.response(statusCode: 200, description: "OK")
            } else {
                statistics.tokensRefused += 1
                response = request.response(statusCode: 401, description: "the token for \(request.audience) is not valid")
            }
        } catch {
            statistics.tokensRefused += 1
            response = CBSRequest.response(
                statusCode: error.statusCode, description: error.description, correlationID: message.properties?.messageID)
        }
        if let bytes = try? response.encoded() {
            connection.cbsReplies.append(StoredMessage(payload: bytes, messageFormat: 0, sequence: 0))
            pumpReplies(connection)
        }
        return .accepted
    }

    /// Sends waiting `$cbs` responses, in order, to the connection's `$cbs` receiver
    /// (clients have one; with several, the first attached that has credit).
    func pumpReplies(_ connection: PeerConnection) {
        guard !connection.cbsReplies.isEmpty else { return }
        let receivers = connection.links.compactMap { (link, l) -> (LinkID, Bool)? in
            if case .cbsReplies(let presettled) = l.kind { return (link, presettled) }
            return nil
        }.sorted { $0.0.handle < $1.0.handle }
        for (link, presettled) in receivers where !connection.cbsReplies.isEmpty {
            reactor.withInner(connection.id) { engine in
                var room = engine.sendable(on: link)
                while room > 0, let m = connection.cbsReplies.popFirst() {
                    // Responses are not kept for redelivery: a client that loses one
                    // asks again.
                    guard (try? engine.send(on: link, payload: m.payload, settled: presettled)) != nil else { break }
                    room -= 1
                }
            }
        }
    }

    /// Now, as the wall clock says (token expiry is wall-clock time).
    static func wallClock() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}
