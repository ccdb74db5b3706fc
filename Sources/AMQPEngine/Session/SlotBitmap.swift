// Which slots of a table (channels, handles) are taken, one bit each. Finding the lowest
// free slot scans 64 slots per word, starting at the first word known to have a free bit,
// instead of walking the table's entries: a peer filling channel-max or handle-max no
// longer makes every BEGIN or ATTACH cost a walk over all the others.

struct SlotBitmap {
    private var words: [UInt64] = []
    /// Every word before this one is full.
    private var firstOpenWord = 0

    /// The lowest slot not taken.
    var lowestFree: Int {
        var w = firstOpenWord
        while w < words.count && words[w] == .max { w &+= 1 }
        guard w < words.count else { return words.count << 6 }
        return w << 6 | (~words[w]).trailingZeroBitCount
    }

    /// Marks slot `i` taken.
    mutating func insert(_ i: Int) {
        let w = i >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w + 1 - words.count)) }
        words[w] |= 1 << UInt64(i & 63)
        while firstOpenWord < words.count && words[firstOpenWord] == .max { firstOpenWord &+= 1 }
    }

    /// Marks slot `i` free.
    mutating func remove(_ i: Int) {
        let w = i >> 6
        guard w < words.count else { return }
        words[w] &= ~(1 << UInt64(i & 63))
        if w < firstOpenWord { firstOpenWord = w }
    }

    /// Marks every slot free.
    mutating func removeAll() {
        words.removeAll()
        firstOpenWord = 0
    }
}
