#if canImport(Glibc)
import Glibc
#endif

extension Array<UInt8> {
    /// Overwrites every byte with zero (explicit_bzero, which the compiler may not drop), for
    /// arrays that held a secret on their way somewhere else.
    public mutating func wipe() {
        withUnsafeMutableBytes { bytes in
            if let base = bytes.baseAddress { explicit_bzero(base, bytes.count) }
        }
    }
}
