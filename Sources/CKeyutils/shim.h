// libkeyutils (Debian libkeyutils-dev): the Linux kernel key retention service, used for the
// unlock cache of the password-protected store. Swift calls these functions directly; the
// special keyring ids are macros of negative numbers, re-exported here as constants.
#include <keyutils.h>

static const key_serial_t credvault_session_keyring = KEY_SPEC_SESSION_KEYRING;
static const key_serial_t credvault_user_session_keyring = KEY_SPEC_USER_SESSION_KEYRING;
