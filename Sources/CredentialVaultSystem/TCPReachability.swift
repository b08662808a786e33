#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connect to a server's host and port (getaddrinfo, then connect(2) with a 2 s
/// send timeout on each address): AsyncHTTPClient keeps retrying a refused connection until its
/// deadline, and "connection refused" at once is the more useful answer.
package enum TCPReachability {
    /// nil when a connection to the host and port of `address` (a URL) was made, else why not
    /// (`connection refused`, `no such host`).
    package static func failure(address: String) -> String? {
        guard let url = URL(string: address), let host = url.host else { return "the address is not a URL" }
        let port = url.port ?? (url.scheme == "https" ? 443 : 80)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else { return "no such host \(host)" }
        defer { freeaddrinfo(results) }
        var lastError = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                var timeout = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let result = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
                lastError = errno
                close(fd)
                if result == 0 { return nil }
            }
            entry = info.pointee.ai_next
        }
        return String(cString: strerror(lastError)).lowercased()
    }
}
