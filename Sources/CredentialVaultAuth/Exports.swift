// The HTTP transport is part of the login API (`AuthSession.http`).
@_exported import CredentialVaultHTTP
