import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Counts copies of a byte string in this process's writable memory: every `rw` mapping of
/// /proc/self/maps, read through /proc/self/mem. The needle is held masked (XOR 0x5A) so the
/// scanner never puts a plain copy of its own into memory.
///
/// Make the scanner *before* the work under test and call ``count()`` after it: `count()`
/// allocates nothing (its buffers come from one mmap'd region made here, which the scan
/// skips), so it cannot hand a freed buffer that held the secret to an allocation of its own
/// and overwrite the copy it is looking for.
package final class MemoryScan {
    private let masked: [UInt8]
    package static let mask: UInt8 = 0x5A
    private static let maskWord: UInt64 = 0x5A5A_5A5A_5A5A_5A5A

    /// The width of the windows searched for: glibc's allocator overwrites the first 16 bytes
    /// of a freed small buffer (its free-list links), so a freed copy keeps only the rest.
    package static let window = 16

    /// Each 16-byte window of the needle as two masked words, and its offset in the needle.
    private let firsts: [UInt64], seconds: [UInt64], offsets: [Int]
    /// 65,536 bits, by the low 16 bits of a window's (plain) first word: a quick no.
    private let filter: [UInt64]
    private let region: UnsafeMutableRawPointer
    private let chunkSize = 1 << 20, mapsSize = 4 << 20, copiesCapacity = 4096
    private var regionSize: Int { chunkSize + Self.window + mapsSize + copiesCapacity * 8 }
    private let mem: Int32, maps: Int32
    private let stride: Int

    /// Takes the needle already masked, so the caller never holds it in plain either.
    package init(masked: [UInt8]) throws {
        precondition(masked.count >= 2 * Self.window, "the needle must keep a whole window after a 16-byte overwrite")
        self.masked = masked
        // A copy that lost its first 16 bytes keeps count - 31 windows in a row: checking every
        // `stride`-th address meets one of them.
        stride = max(1, min(8, masked.count - 2 * Self.window + 1))
        var firsts: [UInt64] = [], seconds: [UInt64] = [], offsets: [Int] = []
        var filter = [UInt64](repeating: 0, count: 1024)
        masked.withUnsafeBytes { bytes in
            for offset in 0...(masked.count - Self.window) {
                // Loaded as words, the masked bytes are the plain words XOR maskWord.
                let first = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                firsts.append(first)
                seconds.append(bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
                offsets.append(offset)
                let bit = Int((first ^ Self.maskWord) & 0xffff)
                filter[bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }
        (self.firsts, self.seconds, self.offsets, self.filter) = (firsts, seconds, offsets, filter)
        let size = chunkSize + Self.window + mapsSize + copiesCapacity * 8
        guard let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), region != MAP_FAILED else {
            throw HarnessError("mmap failed")
        }
        self.region = region
        mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)
        maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard mem >= 0, maps >= 0 else { throw HarnessError("cannot open /proc/self/mem or maps") }
    }

    deinit {
        memset(region, 0, regionSize)
        munmap(region, regionSize)
        close(mem)
        close(maps)
    }

    /// Masks `bytes` (for a caller that has them only in a buffer it will wipe).
    package static func mask(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { bytes.map { $0 ^ mask } }

    /// A /proc file read to its end (Foundation trusts st_size, which is 0 there, and may
    /// return only the first page).
    package static func readProcFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open \(path)") }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data += chunk[0..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The number of copies of the needle in writable memory, whole or in part: every place
    /// where any 16-byte window of the needle occurs counts, and windows that line up as one
    /// copy (same start) count once. A copy whose first 16 bytes were overwritten on `free`
    /// still has `count - 16` bytes, so `count - 31` of its windows survive in a row, and
    /// checking every `stride`-th address (8 for a 40-byte marker, 1 for a 32-byte key) finds
    /// one. Allocates nothing.
    package func count() -> Int {
        let chunk = region
        let mapsText = region + chunkSize + Self.window
        let copies = (mapsText + mapsSize).assumingMemoryBound(to: UInt.self)
        var found = 0
        // /proc/self/maps, read whole into the region.
        var mapsLength = 0
        _ = lseek(maps, 0, SEEK_SET)
        while mapsLength < mapsSize {
            let got = read(maps, mapsText + mapsLength, mapsSize - mapsLength)
            if got <= 0 { break }
            mapsLength += got
        }
        let text = UnsafeRawBufferPointer(start: mapsText, count: mapsLength)
        let own = UInt(bitPattern: region), ownEnd = own + UInt(regionSize)
        var lineStart = 0
        while lineStart < mapsLength {
            var lineEnd = lineStart
            while lineEnd < mapsLength && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            // "start-end perms offset dev inode [path]"
            var position = lineStart
            func hex() -> UInt {
                var value: UInt = 0
                while position < lineEnd {
                    let byte = text[position]
                    let digit: UInt
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt(byte - UInt8(ascii: "0"))
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt(byte - UInt8(ascii: "a") + 10)
                    default: return value
                    }
                    value = value << 4 | digit
                    position += 1
                }
                return value
            }
            let start = hex(); position += 1
            let end = hex(); position += 1
            guard position + 1 < lineEnd, text[position] == UInt8(ascii: "r"), text[position + 1] == UInt8(ascii: "w") else { continue }
            // [vvar], [vsyscall] and [vdso] cannot be read.
            var special = false
            var scan = position
            while scan + 1 < lineEnd { if text[scan] == UInt8(ascii: "["), text[scan + 1] == UInt8(ascii: "v") { special = true }; scan += 1 }
            if special || (start < ownEnd && own < end) { continue }
            var offset = start
            while offset < end {
                let length = Int(min(UInt(chunkSize + Self.window - 1), end - offset))
                let got = pread(mem, chunk, length, off_t(truncatingIfNeeded: offset))
                if got >= Self.window {
                    let bytes = UnsafeRawBufferPointer(start: chunk, count: got)
                    // Mappings start on page boundaries: `index` is aligned in the address space too.
                    var index = 0
                    while index + Self.window <= got && index < chunkSize {
                        let first = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        let bit = Int(first & 0xffff)
                        if filter[bit >> 6] & (1 << UInt64(bit & 63)) != 0 {
                            let second = bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                            for candidate in 0..<firsts.count where firsts[candidate] == first ^ Self.maskWord && seconds[candidate] == second ^ Self.maskWord {
                                let copyStart = offset + UInt(index) &- UInt(offsets[candidate])
                                var known = false
                                for earlier in 0..<found where copies[earlier] == copyStart { known = true; break }
                                if !known && found < copiesCapacity { copies[found] = copyStart; found += 1 }
                            }
                        }
                        index += stride
                    }
                }
                offset += UInt(chunkSize)
            }
        }
        return found
    }
}
