import AMQPCodec

/// The performatives AMQP 1.0 defines for frame bodies, with their field names in wire
/// order: part 2 §2.7 (transport) and part 5 §5.3.3 (SASL).
///
/// `amqp decode --frames` names a performative's fields from this table; the codec's
/// typed decoders are not used, so a capture with out-of-spec field values still prints.
public enum PerformativeFields {
    /// The short name (`open`) and the field names of a performative descriptor code;
    /// `nil` for codes that are not performatives.
    public static func lookup(_ code: UInt64) -> (name: String, fields: [String])? {
        switch code {
        case Descriptors.open:
            return ("open", [
                "container-id", "hostname", "max-frame-size", "channel-max", "idle-time-out",
                "outgoing-locales", "incoming-locales", "offered-capabilities",
                "desired-capabilities", "properties",
            ])
        case Descriptors.begin:
            return ("begin", [
                "remote-channel", "next-outgoing-id", "incoming-window", "outgoing-window",
                "handle-max", "offered-capabilities", "desired-capabilities", "properties",
            ])
        case Descriptors.attach:
            return ("attach", [
                "name", "handle", "role", "snd-settle-mode", "rcv-settle-mode", "source", "target",
                "unsettled", "incomplete-unsettled", "initial-delivery-count", "max-message-size",
                "offered-capabilities", "desired-capabilities", "properties",
            ])
        case Descriptors.flow:
            return ("flow", [
                "next-incoming-id", "incoming-window", "next-outgoing-id", "outgoing-window",
                "handle", "delivery-count", "link-credit", "available", "drain", "echo", "properties",
            ])
        case Descriptors.transfer:
            return ("transfer", [
                "handle", "delivery-id", "delivery-tag", "message-format", "settled", "more",
                "rcv-settle-mode", "state", "resume", "aborted", "batchable",
            ])
        case Descriptors.disposition:
            return ("disposition", ["role", "first", "last", "settled", "state", "batchable"])
        case Descriptors.detach:
            return ("detach", ["handle", "closed", "error"])
        case Descriptors.end:
            return ("end", ["error"])
        case Descriptors.close:
            return ("close", ["error"])
        case Descriptors.saslMechanisms:
            return ("sasl-mechanisms", ["sasl-server-mechanisms"])
        case Descriptors.saslInit:
            return ("sasl-init", ["mechanism", "initial-response", "hostname"])
        case Descriptors.saslChallenge:
            return ("sasl-challenge", ["challenge"])
        case Descriptors.saslResponse:
            return ("sasl-response", ["response"])
        case Descriptors.saslOutcome:
            return ("sasl-outcome", ["code", "additional-data"])
        default:
            return nil
        }
    }
}
