// Thin shim over libsecret for CredentialVault's Secret Service backend.
//
// Swift cannot call libsecret's variadic API, cannot spell a SecretSchema literal (its
// attribute array imports as a 32-element tuple), and cannot pass GLib's C hash/equal
// function pointers conveniently. Everything here is `static` so this header-only shim
// needs no compiled C target of its own. No type from here appears in a public Swift API.
#ifndef CREDVAULT_LIBSECRET_SHIM_H
#define CREDVAULT_LIBSECRET_SHIM_H

// secret_service_search_for_dbus_paths_sync and secret_item_new_for_dbus_path_sync live in
// libsecret's "subject to change" API (unchanged since libsecret 0.7).
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>
#include <string.h>

/// The schema CredentialVault uses for lookups: the same attribute names as Python keyring
/// and `secret-tool store service S username A`. SECRET_SCHEMA_DONT_MATCH_NAME makes
/// lookups match on the attributes only, so items stored by other tools (which carry
/// another or no `xdg:schema`) are found too.
static const SecretSchema credvault_schema = {
    "org.freedesktop.Secret.Generic",
    SECRET_SCHEMA_DONT_MATCH_NAME,
    {
        { "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "application", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    }
};

static inline const SecretSchema *credvault_shim_schema(void) { return &credvault_schema; }

/// A GHashTable<gchar*, gchar*> that owns copies of its keys and values (g_hash_table_new_full).
static inline GHashTable *credvault_shim_attributes_new(void) {
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/// Inserts copies of `key` and `value` (g_hash_table_replace with g_strdup).
static inline void credvault_shim_attributes_set(GHashTable *table, const char *key, const char *value) {
    g_hash_table_replace(table, g_strdup(key), g_strdup(value));
}

/// The value for `key`, or NULL (g_hash_table_lookup).
static inline const char *credvault_shim_attributes_get(GHashTable *table, const char *key) {
    return (const char *)g_hash_table_lookup(table, key);
}

/// The keys of `table` as a GList the caller frees with g_list_free (g_hash_table_get_keys).
static inline GList *credvault_shim_attributes_keys(GHashTable *table) {
    return g_hash_table_get_keys(table);
}

static inline GQuark credvault_shim_secret_error_domain(void) { return secret_error_get_quark(); }
static inline GQuark credvault_shim_io_error_domain(void) { return g_io_error_quark(); }
static inline GQuark credvault_shim_dbus_error_domain(void) { return g_dbus_error_quark(); }

/// Releases a GObject (g_object_unref); a NULL pointer is ignored.
static inline void credvault_shim_unref(gpointer object) { if (object) g_object_unref(object); }

/// Frees a list of GObjects (g_list_free_full with g_object_unref).
static inline void credvault_shim_object_list_free(GList *list) { g_list_free_full(list, g_object_unref); }

/// A one-element GList holding `object` (g_list_append); free with g_list_free.
static inline GList *credvault_shim_list_of(gpointer object) { return g_list_append(NULL, object); }

/// Wipes and releases a buffer returned by GLib (memset + g_free).
static inline void credvault_shim_wipe_free(char *buffer, size_t length) {
    if (buffer) { memset(buffer, 0, length); g_free(buffer); }
}

/// The state of the default collection in one D-Bus round trip, without building a
/// SecretCollection proxy: Properties.Get(Collection.Locked) on the alias object path
/// /org/freedesktop/secrets/aliases/default that the Secret Service specification defines
/// (g_dbus_connection_call_sync; g_variant_new is variadic, so it lives here). Returns -1
/// when there is no default collection, 0 when it is unlocked, 1 when it is locked, and -2
/// with `error` set on any other failure.
static inline int credvault_shim_default_collection_state(SecretService *service, GCancellable *cancellable, GError **error) {
    GError *local = NULL;
    GVariant *reply = g_dbus_connection_call_sync(g_dbus_proxy_get_connection(G_DBUS_PROXY(service)),
                                                  g_dbus_proxy_get_name(G_DBUS_PROXY(service)),
                                                  "/org/freedesktop/secrets/aliases/default",
                                                  "org.freedesktop.DBus.Properties", "Get",
                                                  g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"),
                                                  G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, cancellable, &local);
    if (reply == NULL) {
        gchar *remote = local ? g_dbus_error_get_remote_error(local) : NULL;
        int missing = remote && (strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0);
        g_free(remote);
        if (missing) { g_error_free(local); return -1; }
        g_propagate_error(error, local);
        return -2;
    }
    GVariant *value = NULL;
    g_variant_get(reply, "(v)", &value);
    int locked = g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean(value) ? 1 : 0;
    g_variant_unref(value);
    g_variant_unref(reply);
    return locked;
}

#endif
