// libFuzzer entry point for the bundle reader. Built only by fuzz/run with
// `-sanitize=fuzzer -parse-as-library`; a plain `swift build` makes an executable that does nothing.
import CredentialVault

/// The passphrase every seed bundle uses.
let fuzzPassphrase = SecureBuffer(SecretBytes(utf8: "correct horse battery staple"))

@_cdecl("LLVMFuzzerTestOneInput")
public func bundleFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A 64 KiB memory cap keeps every key derivation cheap; everything above it is refused
    // by the header check, which is part of what is being fuzzed.
    _ = try? BundleHeader(file: bytes, memLimitCap: 64 * 1024)
    _ = try? CredentialBundle.open(bytes, passphrase: fuzzPassphrase, memLimitCap: 64 * 1024)
    _ = try? JSONParser.parse(bytes)
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

/// SwiftPM links executables with `main` renamed to `<Target>_main`; under
/// `-parse-as-library` there is none, so this one hands control to libFuzzer's driver.
@_cdecl("BundleFuzzer_main")
func bundleFuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in bundleFuzzerTestOneInput(data, size) }
}
#endif
