// libsodium for CredentialVault's crypto layer. Nothing from here appears in a public API.
#ifndef CREDVAULT_SODIUM_SHIM_H
#define CREDVAULT_SODIUM_SHIM_H
#include <sodium.h>
#endif
