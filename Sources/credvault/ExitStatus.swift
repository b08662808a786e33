import CredentialVault

extension CredentialVaultError.Code {
    /// The exit status `credvault` reports for this code (README, "Exit codes"; sysexits.h
    /// where one fits).
    var exitStatus: Int32 {
        switch self {
        case .notFound: 1
        case .usage: 64
        case .dataError: 65
        case .unavailable, .locked: 69
        case .internal: 70
        case .cannotWrite: 73
        case .timedOut: 75
        case .permissionDenied: 77
        case .configuration: 78
        case .cancelled: 79
        case .authenticationRequired: 80
        case .interrupted: 130
        default: 70
        }
    }
}
