// The Secret Service, as CredentialVault's keyring backend uses it: a small API of the
// project's own over libsecret. The conversation with libsecret lives in keyring.c, compiled
// against libsecret's and GLib's real headers; no libsecret or GLib type crosses this header.
//
// credvault does not link libsecret: keyring.c loads libsecret-1.so.0 with dlopen the first
// time a function here needs it (cvk_load), so runs that never touch the keyring never map
// GLib. Every call takes a cvk_call: one operation's cancellation, its progress callback, and
// after a failure its error (a code and a message).
#ifndef CREDVAULT_KEYRING_H
#define CREDVAULT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

/// What went wrong in the last failed call of a cvk_call.
typedef enum {
    CVK_ERROR_NONE = 0,
    /// The call was cancelled (cvk_call_cancel).
    CVK_ERROR_CANCELLED,
    /// No Secret Service provider on the session bus, and none can be activated.
    CVK_ERROR_SERVICE_UNKNOWN,
    /// The collection or the items are locked; cvk_call_locked_count names the items, if any.
    CVK_ERROR_LOCKED,
    /// An object vanished meanwhile (another client deleted it).
    CVK_ERROR_NO_SUCH_OBJECT,
    /// Anything else; the message says what.
    CVK_ERROR_OTHER,
} cvk_error;

/// The default collection's state (cvk_collection_state).
typedef enum {
    CVK_STATE_FAILED = -2,
    CVK_STATE_NO_DEFAULT_COLLECTION = -1,
    CVK_STATE_UNLOCKED = 0,
    CVK_STATE_LOCKED = 1,
} cvk_state;

/// One operation against the Secret Service (opaque).
typedef struct cvk_call cvk_call;

/// Attributes as two parallel arrays of UTF-8 strings.
typedef struct {
    const char *const *keys;
    const char *const *values;
    size_t count;
} cvk_attributes;

/// An item as read: label, attributes, timestamps and, when loaded and released, the secret.
typedef struct {
    char *label;
    char **keys;
    char **values;
    size_t attribute_count;
    unsigned char *secret;       ///< NULL when not loaded or locked
    size_t secret_length;
    uint64_t created;
    uint64_t modified;
} cvk_item;

/// Items, newest first; free with cvk_items_free (which wipes the secrets).
typedef struct {
    cvk_item *items;
    size_t count;
} cvk_items;

/// Loads libsecret once (dlopen and dlsym); thread-safe. 1 when loaded; else 0 with
/// `*problem` set to a static message. No other cvk_ function may be called before this returned 1.
int cvk_load(const char **problem);

/// A new operation. `answered`, when not NULL, is called (on the calling thread) after each
/// answer from the service, so the caller can renew its deadline.
cvk_call *cvk_call_new(void (*answered)(void *context), void *context);
/// Cancels the operation, from any thread: a D-Bus call under way fails with
/// CVK_ERROR_CANCELLED, and a dialog under way is dismissed (Prompt.Dismiss, flushed to the
/// bus before this returns).
void cvk_call_cancel(cvk_call *call);
void cvk_call_free(cvk_call *call);
/// The last failure's code and message (valid until the next call on `call`).
cvk_error cvk_call_error(const cvk_call *call);
const char *cvk_call_message(const cvk_call *call);
/// After CVK_ERROR_LOCKED: how many items must be unlocked first (cvk_unlock_items), and their object paths.
size_t cvk_call_locked_count(const cvk_call *call);
const char *cvk_call_locked_path(const cvk_call *call, size_t index);

/// Connects (with an encrypted transfer session where the service offers one) and reads
/// whether the default collection exists and is locked. Never shows a dialog. The first call
/// takes a prefetch's answer (cvk_prefetch), waiting for it; cancelling the call cancels it.
cvk_state cvk_collection_state(cvk_call *call);
/// Starts, on a thread of its own, what the first cvk_collection_state does (loading
/// libsecret, connecting, the transfer session's Diffie-Hellman, the Locked query), so that it
/// overlaps the caller's own start-up. Returns at once; does nothing when called again; a
/// failure is left for the real call to meet and report.
void cvk_prefetch(void);
/// Unlocks the default collection through the service's dialog and waits for the person.
/// 1 unlocked, 0 dismissed (by the person, or by cvk_call_cancel), -1 failed.
int cvk_unlock_collection(cvk_call *call);
/// Unlocks the items at `paths` (as a CVK_ERROR_LOCKED named them) through the service's
/// dialog (KeePassXC's access request). 1 unlocked, 0 dismissed, -1 failed.
int cvk_unlock_items(cvk_call *call, const char *const *paths, size_t count);

/// The secret of the newest item matching `attributes` (any schema). 1 found (`*secret`,
/// `*length`: free with cvk_secret_free), 0 none, -1 failed. `*matches` counts the items that matched.
int cvk_newest_secret(cvk_call *call, cvk_attributes attributes, unsigned char **secret, size_t *length, size_t *matches);
/// Stores a secret under exactly `attributes`: the first item matching `key` (its service and
/// username) is updated in place (secret, label, attributes) and any other is deleted; with
/// none, an item is created in the default collection. 0 stored, -1 failed.
int cvk_store(cvk_call *call, cvk_attributes key, cvk_attributes attributes, const char *label,
              const unsigned char *secret, size_t length, const char *content_type);
/// The items matching `attributes` (any schema), newest first; with no attribute, every item
/// of the default collection. With `all` 0 only the first unlocked match. 0 or -1.
int cvk_list(cvk_call *call, cvk_attributes attributes, int all, int load_secrets, cvk_items *out);
void cvk_items_free(cvk_items *items);
/// Deletes every item matching `attributes`; the number deleted, or -1.
long cvk_delete(cvk_call *call, cvk_attributes attributes);
/// The process id of the provider that owns org.freedesktop.secrets, or -1.
int cvk_provider_pid(cvk_call *call);
/// Wipes and frees a secret from cvk_newest_secret.
void cvk_secret_free(unsigned char *secret, size_t length);

/// Whether the owner of org.freedesktop.secrets is credvault's own provider
/// (org.credvault.SecretService1.Describe, never starting one): 1 with the store it serves
/// (`*store`, free with free()) and whether it is locked; 0 when there is no owner or it is
/// another program; -1 on failure.
int cvk_credvault_provider(cvk_call *call, char **store, int *locked);

/// Locks credvault's provider (org.credvault.SecretService1.Lock): 1 when locked, 0 when the
/// owner of org.freedesktop.secrets is not credvault's, -1 on failure.
int cvk_credvault_provider_lock(cvk_call *call);

/// Hands the store's data key to credvault's provider (org.credvault.SecretService1.Unlock),
/// encrypted under libsecret's transfer session: 1 when it took it, -1 on failure.
int cvk_credvault_provider_unlock(cvk_call *call, const unsigned char *key, size_t length);

#endif
