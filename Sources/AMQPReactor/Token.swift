/// What the kernel hands back with a readiness event (epoll's `data`) or a completion
/// (io_uring's `user_data`): a packed value naming a slot, never a pointer.
///
/// Layout (64 bits): kind (4) | operation (4) | slot (24) | generation (32). The
/// generation is the slot's generation when the token was made: once the slot is reused,
/// tokens for its previous owner no longer match and are dropped, so a late event or
/// completion can never reach the wrong connection.
struct Token: Hashable {
    enum Kind: UInt8 {
        /// A connection socket (slot in the connection table).
        case connection = 0
        /// A listening socket (slot in the listener table).
        case listener = 1
        /// The reactor's eventfd: work from other threads, or a stop request.
        case wake = 2
        /// A reactor-wide timer (io_uring's timeout), not tied to a slot.
        case timer = 3
    }

    /// The largest slot a token can name.
    static let maxSlot = (1 << 24) - 1

    var kind: Kind
    /// Backend-specific: which io_uring operation completed (0 for epoll).
    var operation: UInt8
    var slot: Int
    var generation: UInt32

    init(kind: Kind, operation: UInt8 = 0, slot: Int = 0, generation: UInt32 = 0) {
        precondition(slot >= 0 && slot <= Token.maxSlot && operation < 16)
        self.kind = kind
        self.operation = operation
        self.slot = slot
        self.generation = generation
    }

    init?(packed: UInt64) {
        guard let kind = Kind(rawValue: UInt8(truncatingIfNeeded: packed >> 60)) else { return nil }
        self.kind = kind
        operation = UInt8(truncatingIfNeeded: packed >> 56) & 0xF
        slot = Int(truncatingIfNeeded: (packed >> 32) & 0xFF_FFFF)
        generation = UInt32(truncatingIfNeeded: packed)
    }

    var packed: UInt64 {
        UInt64(kind.rawValue) << 60 | UInt64(operation) << 56 | UInt64(slot) << 32 | UInt64(generation)
    }
}
