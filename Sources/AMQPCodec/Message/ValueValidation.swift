// Message views are checked in full when they are made, so that a malformed payload is
// refused at once, with the section named, rather than when an application happens to
// walk the broken part. The walk decodes every nested element once and allocates nothing;
// recursion is bounded by `DecodeLimits.maxDepth`, which the decoder enforces.

extension AMQPValueView {
    /// Decodes everything inside the value, throwing on the first malformed element.
    func validateDeep() throws(DecodeError) {
        switch self {
        case .list(let list):
            var c = list.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .map(let map):
            var c = map.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .array(let array):
            if case .other(let d) = array.descriptor { try d.decode().validateDeep() }
            var c = array.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .described(let d):
            if case .other(let inner) = d.descriptor { try inner.decode().validateDeep() }
            try d.value().validateDeep()
        default:
            // Scalars, strings, symbols and binaries were checked when they were decoded.
            return
        }
    }

    /// True unless the value is a list, map or array, or a described value whose
    /// underlying value is one: the "simple types" application-properties allows.
    func isSimple() throws(DecodeError) -> Bool {
        switch self {
        case .list, .map, .array: return false
        case .described(let d): return try d.value().isSimple()
        default: return true
        }
    }
}

extension AMQPValue {
    /// True unless the value is a list, map or array, or a described value whose
    /// underlying value is one.
    var isSimple: Bool {
        switch self {
        case .list, .map, .array: return false
        case .described(_, let value): return value.isSimple
        default: return true
        }
    }
}
