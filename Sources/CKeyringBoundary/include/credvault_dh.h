// The Diffie-Hellman agreement of the Secret Service's dh-ietf1024-sha256-aes128-cbc-pkcs7
// session algorithm, with libgcrypt (the library libsecret and gnome-keyring do it with),
// loaded with dlopen on first use (libgcrypt.so.20). dh.c holds the only calls.
#ifndef CREDVAULT_DH_H
#define CREDVAULT_DH_H

#include <stddef.h>
#include <stdint.h>

/// The size in bytes of the 1024-bit MODP group's prime (RFC 2409, section 6.2).
#define CVD_PRIME_BYTES 128

/// What cvd_agree found.
typedef enum {
    CVD_AGREED = 0,
    /// libgcrypt could not be loaded.
    CVD_UNAVAILABLE = 1,
    /// The peer's public value is not in 2…p−2.
    CVD_BAD_PEER = 2,
} cvd_result;

/// Picks a private exponent (gcry_mpi_randomize, GCRY_STRONG_RANDOM, in libgcrypt's secure
/// memory), writes the own public value 2^x mod p (big-endian, without leading zeros) to
/// `public_value` with its length in `*public_length`, and the shared value peer^x mod p,
/// left-padded with zeros to CVD_PRIME_BYTES, to `shared` (gcry_mpi_powm). The exponent and
/// the shared value are released with gcry_mpi_release, which wipes secure memory.
cvd_result cvd_agree(const uint8_t *peer, size_t peer_length, uint8_t public_value[CVD_PRIME_BYTES], size_t *public_length,
                     uint8_t shared[CVD_PRIME_BYTES], const char **problem);

#endif
