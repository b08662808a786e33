internal import CQRencode
import CredentialVaultCore

/// A QR symbol (libqrencode), to show an otpauth URI in a terminal.
public struct QRCode: Sendable {
    /// Modules per side, without the quiet zone.
    public let width: Int
    /// Row-major, true = dark.
    public let modules: [Bool]

    /// Encodes `text` at error-correction level M (QRcode_encodeString, 8-bit mode).
    public init(_ text: String) throws {
        guard let symbol = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw CredentialVaultError(.internal, "libqrencode could not encode the text (\(text.utf8.count) bytes)")
        }
        defer { QRcode_free(symbol) }
        width = Int(symbol.pointee.width)
        modules = (0..<(width * width)).map { symbol.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(_ x: Int, _ y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < width && modules[y * width + x]
    }

    /// Unicode half blocks, two module rows per line, with a 2-module quiet zone; dark
    /// modules are drawn as spaces on a light background (reads on dark and light terminals).
    public func terminalText(quietZone: Int = 2) -> String {
        var lines: [String] = []
        for y in stride(from: -quietZone, to: width + quietZone, by: 2) {
            var line = ""
            for x in -quietZone..<(width + quietZone) {
                switch (isDark(x, y), isDark(x, y + 1)) {
                case (false, false): line += "█"
                case (true, false): line += "▄"
                case (false, true): line += "▀"
                case (true, true): line += " "
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A plain PBM image (P1), `scale` pixels per module, with a 4-module quiet zone: for
    /// independent decoders such as zbarimg.
    public func pbm(scale: Int = 4) -> String {
        let side = (width + 8) * scale
        var output = "P1\n\(side) \(side)\n"
        for py in 0..<side {
            let y = py / scale - 4
            var row: [String] = []
            row.reserveCapacity(side)
            for px in 0..<side { row.append(isDark(px / scale - 4, y) ? "1" : "0") }
            output += row.joined(separator: " ") + "\n"
        }
        return output
    }
}
