import SystemPackage

/// Path text as the project's modules take it apart (swift-system's `FilePath`).
package enum FilePaths {
    /// The directory part of `path`: `/a/b` → `/a`, `/a` → `/`, `b` → `.`.
    package static func directory(of path: String) -> String {
        let parent = FilePath(path).removingLastComponent().string
        return parent.isEmpty ? "." : parent
    }

    /// The last component of `path`: `/a/b` → `b`.
    package static func lastComponent(of path: String) -> String {
        FilePath(path).lastComponent?.string ?? path
    }
}
