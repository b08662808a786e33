// libsecret for CredentialVault's Secret Service backend, loaded on first use.
//
// credvault does not link libsecret: linking it (and with it GLib, GIO, GObject, libgcrypt,
// libmount, libselinux, libpcre2…) costs every run about 2 ms of dynamic loading and a few
// MiB of memory, even runs that only read the 0600 file, and makes credvault fail to start
// on a server without those libraries. Instead cvs_load() dlopen()s libsecret-1.so.0 the
// first time the Secret Service backend is probed or used, and the cvs_* functions below
// call the real libsecret/GLib functions of the same name (without the prefix) through
// pointers from dlsym().
//
// The few GLib and libsecret types and constants needed are declared here with a cvs_/CVS_
// prefix, mirroring the stable ABI of libsecret 0.20 and GLib 2.x. The test target
// LibSecretABICheck compiles them against the real headers (static assertions on every
// constant and struct layout). No type from here appears in a public Swift API.
#ifndef CREDVAULT_LIBSECRET_H
#define CREDVAULT_LIBSECRET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef int cvs_gboolean;          // gboolean (gint)
typedef char cvs_gchar;            // gchar
typedef uint32_t cvs_GQuark;       // GQuark (guint32)

/// GError: domain, code, message (gerror.h).
typedef struct cvs_GError {
    cvs_GQuark domain;
    int code;
    cvs_gchar *message;
} cvs_GError;

/// GList: a doubly linked list node (glist.h).
typedef struct cvs_GList {
    void *data;
    struct cvs_GList *next;
    struct cvs_GList *prev;
} cvs_GList;

typedef struct cvs_GHashTable cvs_GHashTable;
typedef struct cvs_GCancellable cvs_GCancellable;
typedef struct cvs_SecretService cvs_SecretService;
typedef struct cvs_SecretCollection cvs_SecretCollection;
typedef struct cvs_SecretItem cvs_SecretItem;
typedef struct cvs_SecretValue cvs_SecretValue;

// SecretServiceFlags, SecretSearchFlags, SecretCollectionFlags, SecretItemFlags,
// SecretItemCreateFlags, SecretError, GIOErrorEnum and GDBusError values used here.
enum {
    CVS_SECRET_SERVICE_OPEN_SESSION = 1 << 1,
    CVS_SECRET_SEARCH_NONE = 0,
    CVS_SECRET_SEARCH_ALL = 1 << 1,
    CVS_SECRET_SEARCH_LOAD_SECRETS = 1 << 3,
    CVS_SECRET_COLLECTION_NONE = 0,
    CVS_SECRET_COLLECTION_LOAD_ITEMS = 1 << 1,
    CVS_SECRET_ITEM_NONE = 0,
    CVS_SECRET_ITEM_LOAD_SECRET = 1 << 1,
    CVS_SECRET_ITEM_CREATE_REPLACE = 1 << 1,
    CVS_SECRET_ERROR_IS_LOCKED = 2,
    CVS_SECRET_ERROR_NO_SUCH_OBJECT = 3,
    CVS_G_IO_ERROR_CANCELLED = 19,
    CVS_G_DBUS_ERROR_SERVICE_UNKNOWN = 2,
    CVS_G_DBUS_ERROR_NAME_HAS_NO_OWNER = 3,
};

enum {
    CVS_G_DBUS_CALL_FLAGS_NO_AUTO_START = 1 << 0,
};

/// Loads libsecret-1.so.0 once (dlopen, then dlsym of every function below); thread-safe.
/// Returns 1 when loaded; else 0, with `*problem` set to a static message (dlerror()'s text).
/// No other cvs_ function may be called before this returned 1.
int cvs_load(const char **problem);

// The functions credvault calls: `ret cvs_NAME(params)` calls libsecret's or GLib's NAME.
#define CVS_FUNCTIONS(X, XV) \
    X(cvs_SecretService *, secret_service_get_sync, (int flags, cvs_GCancellable *cancellable, cvs_GError **error), (flags, cancellable, error)) \
    X(cvs_SecretCollection *, secret_collection_for_alias_sync, (cvs_SecretService *service, const char *alias, int flags, cvs_GCancellable *cancellable, cvs_GError **error), (service, alias, flags, cancellable, error)) \
    X(int, secret_service_unlock_sync, (cvs_SecretService *service, cvs_GList *objects, cvs_GCancellable *cancellable, cvs_GList **unlocked, cvs_GError **error), (service, objects, cancellable, unlocked, error)) \
    X(cvs_SecretValue *, secret_value_new, (const char *secret, ssize_t length, const char *content_type), (secret, length, content_type)) \
    XV(secret_value_unref, (void *value), (value)) \
    X(const char *, secret_value_get, (cvs_SecretValue *value, size_t *length_out), (value, length_out)) \
    X(cvs_SecretItem *, secret_item_create_sync, (cvs_SecretCollection *collection, const void *schema, cvs_GHashTable *attributes, const char *label, cvs_SecretValue *value, int flags, cvs_GCancellable *cancellable, cvs_GError **error), (collection, schema, attributes, label, value, flags, cancellable, error)) \
    X(cvs_gboolean, secret_item_set_secret_sync, (cvs_SecretItem *item, cvs_SecretValue *value, cvs_GCancellable *cancellable, cvs_GError **error), (item, value, cancellable, error)) \
    X(cvs_gboolean, secret_item_set_label_sync, (cvs_SecretItem *item, const char *label, cvs_GCancellable *cancellable, cvs_GError **error), (item, label, cancellable, error)) \
    X(cvs_gboolean, secret_item_set_attributes_sync, (cvs_SecretItem *item, const void *schema, cvs_GHashTable *attributes, cvs_GCancellable *cancellable, cvs_GError **error), (item, schema, attributes, cancellable, error)) \
    X(cvs_GList *, secret_collection_get_items, (cvs_SecretCollection *collection), (collection)) \
    X(int, secret_service_unlock_dbus_paths_sync, (cvs_SecretService *service, const char **paths, cvs_GCancellable *cancellable, char ***unlocked_strings, cvs_GError **error), (service, paths, cancellable, unlocked_strings, error)) \
    X(cvs_gboolean, secret_item_delete_sync, (cvs_SecretItem *item, cvs_GCancellable *cancellable, cvs_GError **error), (item, cancellable, error)) \
    X(cvs_gboolean, secret_service_search_for_dbus_paths_sync, (cvs_SecretService *service, const void *schema, cvs_GHashTable *attributes, cvs_GCancellable *cancellable, char ***unlocked_paths, char ***locked_paths, cvs_GError **error), (service, schema, attributes, cancellable, unlocked_paths, locked_paths, error)) \
    X(cvs_SecretItem *, secret_item_new_for_dbus_path_sync, (cvs_SecretService *service, const char *path, int flags, cvs_GCancellable *cancellable, cvs_GError **error), (service, path, flags, cancellable, error)) \
    X(cvs_SecretValue *, secret_service_get_secret_for_dbus_path_sync, (cvs_SecretService *service, const char *path, cvs_GCancellable *cancellable, cvs_GError **error), (service, path, cancellable, error)) \
    X(cvs_GList *, secret_service_search_sync, (cvs_SecretService *service, const void *schema, cvs_GHashTable *attributes, int flags, cvs_GCancellable *cancellable, cvs_GError **error), (service, schema, attributes, flags, cancellable, error)) \
    X(char *, secret_item_get_label, (cvs_SecretItem *item), (item)) \
    X(cvs_GHashTable *, secret_item_get_attributes, (cvs_SecretItem *item), (item)) \
    X(cvs_SecretValue *, secret_item_get_secret, (cvs_SecretItem *item), (item)) \
    X(uint64_t, secret_item_get_created, (cvs_SecretItem *item), (item)) \
    X(uint64_t, secret_item_get_modified, (cvs_SecretItem *item), (item)) \
    X(char *, g_dbus_error_get_remote_error, (const cvs_GError *remote_error), (remote_error)) \
    X(cvs_GCancellable *, g_cancellable_new, (void), ()) \
    XV(g_cancellable_cancel, (cvs_GCancellable *cancellable), (cancellable)) \
    XV(g_strfreev, (char **vector), (vector)) \
    XV(g_free, (void *memory), (memory)) \
    XV(g_list_free, (cvs_GList *list), (list)) \
    XV(g_hash_table_unref, (cvs_GHashTable *table), (table)) \
    XV(g_object_unref, (void *object), (object)) \
    XV(g_error_free, (cvs_GError *error), (error))

#define CVS_DECLARE(ret, name, params, args) ret cvs_##name params;
#define CVS_DECLARE_VOID(name, params, args) void cvs_##name params;
CVS_FUNCTIONS(CVS_DECLARE, CVS_DECLARE_VOID)
#undef CVS_DECLARE
#undef CVS_DECLARE_VOID

/// A GHashTable<gchar*, gchar*> owning copies of its keys and values (g_hash_table_new_full).
cvs_GHashTable *cvs_attributes_new(void);
/// Inserts copies of `key` and `value` (g_hash_table_replace with g_strdup).
void cvs_attributes_set(cvs_GHashTable *table, const char *key, const char *value);
/// The value for `key`, or NULL (g_hash_table_lookup).
const char *cvs_attributes_get(cvs_GHashTable *table, const char *key);
/// The keys of `table` as a GList the caller frees with g_list_free (g_hash_table_get_keys).
cvs_GList *cvs_attributes_keys(cvs_GHashTable *table);

/// The GError domains (secret_error_get_quark, g_io_error_quark, g_dbus_error_quark).
cvs_GQuark cvs_secret_error_domain(void);
cvs_GQuark cvs_io_error_domain(void);
cvs_GQuark cvs_dbus_error_domain(void);

/// Frees a list of GObjects (g_list_free_full with g_object_unref).
void cvs_object_list_free(cvs_GList *list);
/// The process id of the Secret Service provider (the owner of org.freedesktop.secrets) on
/// `proxy`'s bus (org.freedesktop.DBus.GetConnectionUnixProcessID through
/// g_dbus_connection_call_sync); -1 with `error` set on failure.
int cvs_provider_pid(void *proxy, cvs_GCancellable *cancellable, cvs_GError **error);
/// Writes out every message queued on `proxy`'s bus connection before returning
/// (g_dbus_proxy_get_connection, g_dbus_connection_flush_sync); errors are ignored.
void cvs_flush_connection(void *proxy);
/// A one-element GList holding `object` (g_list_append); free with g_list_free.
cvs_GList *cvs_list_of(void *object);

/// Starts, on a thread of its own, what the first use of the Secret Service needs: loading
/// libsecret, connecting to the session bus and negotiating the transfer session
/// (secret_service_get_sync with SECRET_SERVICE_OPEN_SESSION, whose Diffie-Hellman is most of
/// a lookup's CPU time). A program that knows early that it will probe the keyring calls this
/// first, so that the work (the dlopen included) overlaps its own start-up. Does nothing
/// when called again; a failure is left for the real call to meet and report.
void cvs_prefetch_service(void);

/// Connects to the Secret Service with a transfer session open, and finds whether the
/// default collection exists and is locked, in one step: the Properties.Get(Collection.Locked)
/// call on the alias object path /org/freedesktop/secrets/aliases/default (which the Secret
/// Service specification defines) is sent asynchronously before the session is negotiated,
/// so its round trip overlaps the Diffie-Hellman computation instead of following it
/// (secret_service_get_sync, g_dbus_connection_call, secret_service_ensure_session_sync, and
/// g_main_context_iteration on a private context until the reply is in).
///
/// A prefetch still under way (cvs_prefetch_service) is waited for first; cancelling
/// `cancellable` cancels it too.
///
/// Returns -1 when there is no default collection, 0 when it is unlocked, 1 when it is
/// locked, with `*service` set to a reference the caller releases (g_object_unref); -2 with
/// `error` set (and no service) on any other failure.
int cvs_open_service_with_default_collection_state(cvs_SecretService **service, cvs_GCancellable *cancellable, cvs_GError **error);

#endif
