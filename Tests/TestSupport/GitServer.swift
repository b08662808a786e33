import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare repository served by real `git http-backend` behind basic auth
/// (Tests/support/git_http_server.py), plus an askpass script that answers git's prompts
/// and records each one, so a test can count how often git had to ask.
package final class GitServer: @unchecked Sendable {
    package let directory: TemporaryDirectory
    package let port: Int
    package let user: String
    package let password: String
    private let service: ServiceProcess

    package var url: String { "http://127.0.0.1:\(port)/repo.git" }
    package var askpass: String { directory.path + "/askpass" }
    package var promptLog: String { directory.path + "/asked" }
    package var requestLog: String { directory.path + "/requests" }

    package init(user: String = "alice", password: String = "correct horse \(UUID().uuidString.prefix(6))") throws {
        self.user = user
        self.password = password
        directory = try TemporaryDirectory()
        let root = directory.path
        let setup = try ProcessRunner.shell("""
            set -e
            cd '\(root)'
            git init -q src
            git -C src -c user.name=test -c user.email=test@example.invalid commit -q --allow-empty -m first
            git clone -q --bare src repo.git
            printf '%s\\n' '\(password)' > password && chmod 600 password
            cat > askpass <<'SCRIPT'
            #!/bin/sh
            printf '%s\\n' "$1" >> '\(root)/asked'
            case "$1" in
              Username*) printf '%s\\n' '\(user)' ;;
              *) cat '\(root)/password' ;;
            esac
            SCRIPT
            chmod 700 askpass
            """)
        guard setup.status == 0 else { throw HarnessError("git repository set-up failed: \(setup.stderr)") }
        service = try ServiceProcess("git_http_server", ["python3", Repository.support("git_http_server.py"), "--root", root, "--user", user,
                                                         "--password-file", root + "/password", "--log", root + "/requests"],
                                     environment: ProcessInfo.processInfo.environment, port: .announced(descriptor: 1, prefix: ""))
        guard let port = service.port else { throw HarnessError("git_http_server.py announced no port: \(service.announcement ?? "")") }
        self.port = port
    }

    /// The prompts git showed so far.
    package func prompts() -> [String] {
        ((try? String(contentsOfFile: promptLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Runs real git with only our helper configured (no system or global config), in a
    /// clean HOME, answering prompts with the askpass script.
    package func git(_ arguments: [String], helper: String, environment: [String: String], input: String = "") throws -> ProcessOutput {
        var env = environment
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["GIT_ASKPASS"] = askpass
        env["GIT_TERMINAL_PROMPT"] = "0"
        return try ProcessRunner.run("/usr/bin/git", ["-c", "credential.helper=", "-c", "credential.helper=\(helper)"] + arguments,
                                     environment: env, input: Array(input.utf8), timeout: 120)
    }

    package func stop() {
        service.stop(SIGKILL)
        directory.remove()
    }
}

/// Debian's git ships git-credential-libsecret as source only
/// (/usr/share/doc/git/contrib/credential/libsecret); this builds it once per test process.
package enum LibsecretGitHelper {
    package static let source = "/usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret.c"
    package static let binary: Result<String, HarnessError> = {
        let output = NSTemporaryDirectory() + "credvault-git-credential-libsecret-\(getpid())"
        do {
            let build = try ProcessRunner.shell("gcc -O1 -o '\(output)' '\(source)' $(pkg-config --cflags --libs libsecret-1 glib-2.0)")
            guard build.status == 0 else { return .failure(HarnessError("building git-credential-libsecret failed: \(build.stderr)")) }
            return .success(output)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()
}
