// The Secret Service session's Diffie-Hellman agreement (see credvault_dh.h), with libgcrypt
// called through pointers of its functions' own types, filled by dlsym on first use.
#include <gcrypt.h>

#include "credvault_dh.h"
#include "library_loading.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CVD_FUNCTIONS(X) \
    X(gcry_check_version) X(gcry_control) X(gcry_mpi_new) X(gcry_mpi_snew) X(gcry_mpi_release) X(gcry_mpi_set_ui) \
    X(gcry_mpi_scan) X(gcry_mpi_print) X(gcry_mpi_randomize) X(gcry_mpi_powm) X(gcry_mpi_cmp) X(gcry_mpi_cmp_ui) X(gcry_mpi_sub_ui)

CVD_FUNCTIONS(CV_POINTER)

static const char *const library = "libgcrypt.so.20";
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_problem[512];
static gcry_mpi_t prime;

/// RFC 2409, section 6.2: the Second Oakley Group (generator 2).
static const char *const prime_hex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

static int resolve(void) {
    char *problem = load_problem;
    size_t problem_size = sizeof load_problem;
    void *handle = cv_open_library(library, problem, problem_size);
    if (!handle) return 0;
    CVD_FUNCTIONS(CV_RESOLVE)
    // libgcrypt's initialisation, as its manual asks of a program that uses it.
    if (!p_gcry_check_version(NULL)) {
        snprintf(problem, problem_size, "%s did not initialise", library);
        return 0;
    }
    p_gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    if (p_gcry_mpi_scan(&prime, GCRYMPI_FMT_HEX, prime_hex, 0, NULL) != 0) {
        snprintf(problem, problem_size, "the group's prime did not parse");
        return 0;
    }
    return 1;
}

static void load(void) { loaded = resolve(); }

/// Writes `value` big-endian into `out` (CVD_PRIME_BYTES), right-aligned; returns its length unpadded.
static size_t print_padded(gcry_mpi_t value, uint8_t out[CVD_PRIME_BYTES], int pad) {
    size_t written = 0;
    uint8_t buffer[CVD_PRIME_BYTES];
    if (p_gcry_mpi_print(GCRYMPI_FMT_USG, buffer, sizeof buffer, &written, value) != 0) written = 0;
    memset(out, 0, CVD_PRIME_BYTES);
    if (pad) memcpy(out + CVD_PRIME_BYTES - written, buffer, written);
    else memcpy(out, buffer, written);
    // The buffer may hold the shared value.
    volatile uint8_t *wipe = buffer;
    for (size_t i = 0; i < sizeof buffer; i++) wipe[i] = 0;
    return written;
}

cvd_result cvd_agree(const uint8_t *peer_bytes, size_t peer_length, uint8_t public_value[CVD_PRIME_BYTES], size_t *public_length,
                     uint8_t shared[CVD_PRIME_BYTES], const char **problem) {
    pthread_once(&once, load);
    if (!loaded) {
        *problem = load_problem;
        return CVD_UNAVAILABLE;
    }
    if (peer_length == 0 || peer_length > CVD_PRIME_BYTES) return CVD_BAD_PEER;
    gcry_mpi_t peer = NULL;
    if (p_gcry_mpi_scan(&peer, GCRYMPI_FMT_USG, peer_bytes, peer_length, NULL) != 0) return CVD_BAD_PEER;
    gcry_mpi_t limit = p_gcry_mpi_new(0);
    p_gcry_mpi_sub_ui(limit, prime, 1);
    // 2 <= peer <= p-2: 0, 1 and p-1 would fix the shared value.
    int in_range = p_gcry_mpi_cmp_ui(peer, 1) > 0 && p_gcry_mpi_cmp(peer, limit) < 0;
    p_gcry_mpi_release(limit);
    if (!in_range) {
        p_gcry_mpi_release(peer);
        return CVD_BAD_PEER;
    }
    gcry_mpi_t exponent = p_gcry_mpi_snew(1024);
    p_gcry_mpi_randomize(exponent, 1024, GCRY_STRONG_RANDOM);
    gcry_mpi_t generator = p_gcry_mpi_new(0);
    p_gcry_mpi_set_ui(generator, 2);
    gcry_mpi_t own = p_gcry_mpi_new(1024);
    p_gcry_mpi_powm(own, generator, exponent, prime);
    gcry_mpi_t secret = p_gcry_mpi_snew(1024);
    p_gcry_mpi_powm(secret, peer, exponent, prime);
    *public_length = print_padded(own, public_value, 0);
    print_padded(secret, shared, 1);
    p_gcry_mpi_release(secret);
    p_gcry_mpi_release(own);
    p_gcry_mpi_release(generator);
    p_gcry_mpi_release(exponent);
    p_gcry_mpi_release(peer);
    return CVD_AGREED;
}
