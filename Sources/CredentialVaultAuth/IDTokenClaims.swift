import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The identity claims of an ID token, read without verifying its signature: good enough to
/// say who is logged in, never to make a security decision. Shown as "unverified".
public struct IDTokenClaims: Sendable, Equatable {
    public var subject: String?
    public var email: String?
    public var preferredUsername: String?
    public var issuer: String?

    /// The best name for people: email, then preferred_username, then sub.
    public var displayName: String? { email ?? preferredUsername ?? subject }
    /// Which claim `displayName` came from.
    public var displayClaim: String? { email != nil ? "email" : preferredUsername != nil ? "preferred_username" : subject != nil ? "sub" : nil }

    /// Decodes the payload of `token`; nil when it is not a JWT.
    public init?(_ token: SecretBytes) {
        guard let text = token.utf8String() else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = String(parts[1].replacing("-", with: "+").replacing("_", with: "/"))
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Base64.decode(base64), let json = try? JSONParser.parse(data) else { return nil }
        subject = json["sub"]?.stringValue
        email = json["email"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        preferredUsername = json["preferred_username"]?.stringValue
        issuer = json["iss"]?.stringValue
    }
}
