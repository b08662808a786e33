extension Double {
    /// This number rounded up and clamped into `range`, or nil when it is not finite. For
    /// numbers from outside (a server's `interval`, a version, a TTL): `Int(_:)` of a huge,
    /// infinite or NaN `Double` traps, this never does.
    package func roundedUp(clampedTo range: ClosedRange<Int>) -> Int? {
        guard isFinite else { return nil }
        let rounded = self.rounded(.up)
        if rounded <= Double(range.lowerBound) { return range.lowerBound }
        if rounded >= Double(range.upperBound) { return range.upperBound }
        return Int(rounded)
    }
}
