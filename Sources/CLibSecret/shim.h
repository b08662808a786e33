// libsecret's and GLib's real headers (pkg-config libsecret-1). credvault itself does not
// link libsecret (Sources/CSecretServiceLoader loads it on first use); this system-library
// target gives the test target LibSecretABICheck the real declarations to check the
// loader's mirror of them against.
#ifndef CREDVAULT_LIBSECRET_SHIM_H
#define CREDVAULT_LIBSECRET_SHIM_H
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>
#endif
