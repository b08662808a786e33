import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Counts copies of a byte string in this process's writable memory: every `rw` mapping of
/// /proc/self/maps, read through /proc/self/mem. The needle is held masked (XOR 0x5A) so the
/// scanner never puts a plain copy of its own into memory, and the read buffer is an mmap'd
/// region the scan skips.
struct MemoryScan {
    private let masked: [UInt8]
    static let mask: UInt8 = 0x5A

    /// Takes the needle already masked, so the caller never holds it in plain either.
    init(masked: [UInt8]) { self.masked = masked }

    /// Masks `bytes` (for a caller that has them only in a buffer it will wipe).
    static func mask(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { bytes.map { $0 ^ mask } }

    /// A /proc file read to its end (Foundation trusts st_size, which is 0 there, and may
    /// return only the first page).
    static func readProcFile(_ path: String) throws -> String {
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

    func count() throws -> Int {
        let maps = try Self.readProcFile("/proc/self/maps")
        let chunkSize = 1 << 20
        let overlap = masked.count - 1
        guard let buffer = mmap(nil, chunkSize + overlap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              buffer != MAP_FAILED else { throw HarnessError("mmap failed") }
        defer { memset(buffer, 0, chunkSize + overlap); munmap(buffer, chunkSize + overlap) }
        let own = UInt(bitPattern: buffer)
        let fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open /proc/self/mem") }
        defer { close(fd) }
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        let first = masked[0] ^ Self.mask
        var found = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("rw") else { continue }
            if fields.count >= 6, ["[vvar]", "[vsyscall]", "[vdso]"].contains(String(fields[5])) { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else { continue }
            if start <= own && own < end { continue }
            var offset = start
            while offset < end {
                let length = Int(min(UInt(chunkSize + overlap), end - offset))
                let read = pread(fd, bytes, length, off_t(truncatingIfNeeded: offset))
                if read > 0 {
                    let limit = read - masked.count
                    if limit >= 0 {
                        var index = 0
                        while index <= limit {
                            if bytes[index] == first {
                                var match = true
                                for position in 1..<masked.count where bytes[index + position] != masked[position] ^ Self.mask {
                                    match = false; break
                                }
                                // Count a match starting in the overlap only once (the next chunk sees it).
                                if match && index < chunkSize { found += 1 }
                            }
                            index += 1
                        }
                    }
                }
                offset += UInt(chunkSize)
            }
        }
        return found
    }
}
