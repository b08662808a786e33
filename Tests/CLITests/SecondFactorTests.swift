import CredentialVault
import CredentialVaultOTP
import Foundation
import Testing
import CredentialVaultTestSupport

/// TOTP against RFC 6238's vectors and Debian's oathtool, QR symbols against zbarimg, and the
/// store's second step through the CLI.
@Suite("TOTP second step")
struct SecondFactorTests {
    static let times: [Double] = [59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000]

    @Test("RFC 6238 appendix B vectors for SHA1, SHA256 and SHA512", arguments: [
        (TOTP.Algorithm.sha1, "12345678901234567890", ["94287082", "07081804", "14050471", "89005924", "69279037", "65353130"]),
        (.sha256, "12345678901234567890123456789012", ["46119246", "68084774", "67062674", "91819424", "90698825", "77737706"]),
        (.sha512, "1234567890123456789012345678901234567890123456789012345678901234",
         ["90693936", "25091201", "99943326", "93441116", "38618901", "47863826"]),
    ])
    func rfcVectors(algorithm: TOTP.Algorithm, seed: String, expected: [String]) {
        let totp = TOTP(secret: Array(seed.utf8), algorithm: algorithm, digits: 8)
        #expect(Self.times.map { totp.code(at: Date(timeIntervalSince1970: $0)) } == expected)
    }

    @Test("codes agree with Debian's oathtool for random secrets and times", .enabled(if: Components.present("oathtool")))
    func oathtool() throws {
        for algorithm in TOTP.Algorithm.allCases {
            let totp = TOTP(secret: TOTP.generateSecret(count: algorithm == .sha512 ? 64 : 20), algorithm: algorithm)
            for time in [0.0, 1_000_000_000, Date().timeIntervalSince1970, 4_102_444_800] {
                let mode = algorithm == .sha1 ? "--totp" : "--totp=\(algorithm.rawValue.lowercased())"
                let output = try ProcessRunner.run("oathtool", [mode, "-b", Base32.encode(totp.secret), "-N", "@\(Int(time))"],
                                                   environment: ProcessInfo.processInfo.environment, input: [], timeout: 10)
                #expect(output.stdoutText == totp.code(at: Date(timeIntervalSince1970: time)) + "\n", "\(algorithm) at \(time)")
            }
        }
    }

    @Test("base32 round trips; the window is ±1 step; a code outside it fails")
    func window() {
        for count in [0, 1, 5, 10, 20, 33] {
            let bytes = TOTP.generateSecret(count: count)
            #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        let now = Date(timeIntervalSince1970: 1_111_111_109)
        let step = totp.step(at: now)
        #expect(totp.match(totp.code(step: step - 1), at: now) == step - 1)
        #expect(totp.match(totp.code(step: step + 1), at: now) == step + 1)
        #expect(totp.match(totp.code(step: step), at: now) == step)
        // For this secret and time the codes two steps away differ from the three in the window.
        let window = Set((step - 1...step + 1).map { totp.code(step: $0) })
        for far in [step - 2, step + 2, step - 10] {
            #expect(!window.contains(totp.code(step: far)))
            #expect(totp.match(totp.code(step: far), at: now) == nil)
        }
    }

    @Test("the QR symbol decodes back to the otpauth URI (zbarimg)", .enabled(if: Components.present("zbarimg")))
    func qrDecodes() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let uri = TOTP(secret: TOTP.generateSecret()).uri(issuer: "credvault", account: "ci@example")
        let path = root.path + "/code.pbm"
        try QRCode(uri).pbm().write(toFile: path, atomically: true, encoding: .ascii)
        let output = try ProcessRunner.run("zbarimg", ["-q", "--raw", path], environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdoutText == uri + "\n")
        #expect(uri.hasPrefix("otpauth://totp/credvault:ci%40example?secret=") && uri.contains("&algorithm=SHA1&digits=6&period=30"))
    }

    @Test("enrol through the CLI; then unlocking needs a code: TOTP once per step, backup codes once; --disable needs a code",
          .enabled(if: Components.present("oathtool")))
    func storeSecondStep() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let password = root.path + "/pw"
        FileManager.default.createFile(atPath: password, contents: Data("second step passphrase".utf8), attributes: [.posixPermissions: 0o600])
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_PASSPHRASE_FILE": password])
        #expect(try cli.run("password", "set").status == 0)
        #expect(try cli.run("set", "svc", "a", input: "guarded").status == 0)

        // Enrolment prints the URI, then reads the confirming code from stdin.
        let (child, input) = try ChildProcess.spawnWithInput([CLI.executable, "password", "mfa", "--json"], environment: cli.environment)
        close(input)
        #expect(child.wait(timeout: 30) == 64, "no code on stdin: nothing is enrolled")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/vault/credentials.mfa"))

        let enrol = try BackgroundEnrolment(cli: cli, directory: root.path)
        let secret = try enrol.secret()
        let now = Int(Date().timeIntervalSince1970)
        func code(_ time: Int) throws -> String {
            try ProcessRunner.run("oathtool", ["--totp", "-b", secret, "-N", "@\(time)"], environment: ProcessInfo.processInfo.environment,
                                  input: [], timeout: 10).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // Issue 17 item 6: a mistyped code gets another try, the scanned secret is kept. Then
        // confirm with the previous step's code (inside the ±1 window), keeping the current one for below.
        let result = try enrol.finish(code: "000000\n" + (try code(now - 30)))
        #expect(result.stderr.contains("does not match the secret; check the device's clock and try again"), "\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        let backup = try #require(try JSONParser.parse(Array(result.stdout.utf8))["backup_codes"]?.arrayValue?.compactMap(\.stringValue))
        #expect(backup.count == 10)

        let status = try JSONParser.parse(try cli.run("password", "status", "--json").stdout)
        #expect(status["mfa_enrolled"] == .bool(true))
        let missing = try cli.run("get", "svc", "a")
        #expect(missing.status == 77)
        #expect(missing.stderr.contains("authentication code"))
        #expect(try cli.run("--code", "000000", "get", "svc", "a").status == 77)
        let current = try code(Int(Date().timeIntervalSince1970))
        let withCode = try cli.run("--code", current, "get", "svc", "a")
        if withCode.status == 0 {
            #expect(withCode.stdoutText == "guarded")
            let replay = try cli.run("--code", current, "get", "svc", "a").stderr
            #expect(replay.contains("already used"), "no code twice")
            #expect(replay.contains("unlock --code"), "a used code suggests unlocking once: \(replay)")
        } else {
            // The enrolment code and this one fell into the same step at a boundary: replay refusal.
            #expect(withCode.stderr.contains("already used"))
        }
        #expect(try cli.run("--code", backup[0], "get", "svc", "a").stdoutText == "guarded")
        #expect(try cli.run("--code", backup[0], "get", "svc", "a").status == 77, "a backup code works once")
        // Issue 16 item 5: deleting credentials.mfa does not turn the step off (the header,
        // bound to the password, still requires it); the store stays locked until it is back.
        let mfa = root.path + "/vault/credentials.mfa", aside = root.path + "/mfa-aside"
        try #require(rename(mfa, aside) == 0)
        let withoutFile = try cli.run("get", "svc", "a")
        #expect(withoutFile.status == 77, "the password alone must not open it: \(withoutFile.stderr)")
        #expect(withoutFile.stderr.contains("credentials.mfa is missing"), "\(withoutFile.stderr)")
        #expect(withoutFile.stdoutText.isEmpty)
        #expect(try JSONParser.parse(try cli.run("password", "status", "--json").stdout)["mfa_enrolled"] == .bool(true))
        try #require(rename(aside, mfa) == 0)
        #expect(try cli.run(["password", "mfa", "--disable"]).status == 77, "disabling needs a code")
        #expect(try cli.run(["--code", backup[1], "password", "mfa", "--disable"]).status == 0)
        #expect(try cli.run("get", "svc", "a").stdoutText == "guarded", "the password alone suffices again")
    }
}

/// `credvault password mfa --json` waiting for its confirming code on stdin.
struct BackgroundEnrolment {
    let process: BackgroundCLI
    let input: Int32

    init(cli: CLI, directory: String) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        process = try BackgroundCLI(cli, ["password", "mfa", "--json"], directory: directory, stdin: fds[0])
        close(fds[0])
        input = fds[1]
    }

    func secret(timeout: TimeInterval = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // With --json the secret is shown on stderr: stdout carries only the document.
            if let line = process.stderr.split(separator: "\n").first(where: { $0.hasPrefix("Secret: ") }) { return String(line.dropFirst(8)) }
            usleep(50_000)
        }
        throw HarnessError("no secret shown: \(process.stderr)")
    }

    func finish(code: String) throws -> (status: Int32?, stdout: String, stderr: String) {
        _ = (code + "\n").withCString { write(input, $0, strlen($0)) }
        close(input)
        let status = process.wait(timeout: 30)
        return (status, process.stdout, process.stderr)
    }
}
