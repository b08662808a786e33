// Compile-time checks of CSecretServiceLoader's libsecret/GLib declarations (see check.c).
#ifndef CREDVAULT_LIBSECRET_ABI_CHECK_H
#define CREDVAULT_LIBSECRET_ABI_CHECK_H
/// The number of checks check.c makes (each a static assertion, so a build that has this
/// function passed them all).
int cvs_abi_checks(void);
#endif
