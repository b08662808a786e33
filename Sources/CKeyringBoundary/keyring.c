// CredentialVault's conversation with the Secret Service through libsecret (see
// credvault_keyring.h). Compiled against libsecret's and GLib's real headers; every libsecret
// and GLib function is called through a pointer of the real function's own type
// (__typeof__), filled by dlsym when libsecret is first needed, so the executable has no
// link-time reference to either library and never loads them on runs that do not use the
// keyring. GLib's convenience macros that hide a function call (G_DBUS_PROXY, SECRET_ERROR,
// G_VARIANT_TYPE, g_clear_error…) are not used for that reason; plain casts stand in.
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>

#include "credvault_keyring.h"
#include "library_loading.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Loading

#define CVK_FUNCTIONS(X) \
    X(secret_service_get_sync) X(secret_service_ensure_session_sync) X(secret_collection_for_alias_sync) \
    X(secret_collection_get_items) X(secret_service_unlock_sync) X(secret_service_unlock_dbus_paths_sync) \
    X(secret_service_search_for_dbus_paths_sync) X(secret_service_get_secret_for_dbus_path_sync) \
    X(secret_item_new_for_dbus_path_sync) X(secret_item_create_sync) X(secret_item_set_secret_sync) \
    X(secret_item_set_label_sync) X(secret_item_set_attributes_sync) X(secret_item_delete_sync) \
    X(secret_item_get_label) X(secret_item_get_attributes) X(secret_item_get_secret) X(secret_item_get_created) \
    X(secret_item_get_modified) X(secret_value_new) X(secret_value_get) X(secret_value_unref) X(secret_error_get_quark) \
    X(g_io_error_quark) X(g_dbus_error_quark) X(g_dbus_error_get_remote_error) X(g_error_free) \
    X(g_cancellable_new) X(g_cancellable_cancel) X(g_cancellable_connect) X(g_cancellable_disconnect) X(g_object_unref) X(g_free) X(g_strfreev) X(g_strdup) \
    X(g_list_free) X(g_list_free_full) X(g_list_append) X(g_hash_table_new_full) X(g_hash_table_replace) \
    X(g_hash_table_lookup) X(g_hash_table_get_keys) X(g_hash_table_unref) X(g_str_hash) X(g_str_equal) \
    X(g_dbus_proxy_get_connection) X(g_dbus_proxy_get_name) X(g_dbus_connection_call) X(g_dbus_connection_call_finish) \
    X(g_dbus_connection_call_sync) X(g_dbus_connection_flush_sync) X(g_variant_new) X(g_variant_get) \
    X(g_variant_is_of_type) X(g_variant_get_boolean) X(g_variant_unref) X(g_main_context_new) \
    X(g_main_context_push_thread_default) X(g_main_context_pop_thread_default) X(g_main_context_iteration) \
    X(g_main_context_unref) X(g_bus_get_sync) X(g_variant_lookup) X(secret_service_encode_dbus_secret) X(g_variant_get_child_value)

CVK_FUNCTIONS(CV_POINTER)

/// The library's soname (Debian's libsecret-1-0).
static const char *const library = "libsecret-1.so.0";
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char problem_text[512];

static int resolve(void) {
    char *problem = problem_text;
    size_t problem_size = sizeof problem_text;
    void *handle = cv_open_library(library, problem, problem_size);
    if (!handle) return 0;
    CVK_FUNCTIONS(CV_RESOLVE)
    return 1;
}

static void load(void) { loaded = resolve(); }

int cvk_load(const char **problem) {
    pthread_once(&once, load);
    if (!loaded && problem) *problem = problem_text;
    return loaded;
}

// MARK: - Calls and errors

struct cvk_call {
    GCancellable *cancellable;
    void (*answered)(void *context);
    void *context;
    cvk_error error;
    char message[512];
    char **locked;           // NULL-terminated, g_strfreev
    pthread_mutex_t mutex;   // guards prompt_service
    SecretService *prompt_service;
};

cvk_call *cvk_call_new(void (*answered)(void *context), void *context) {
    cvk_call *call = calloc(1, sizeof *call);
    if (!call) return NULL;
    call->cancellable = p_g_cancellable_new();
    call->answered = answered;
    call->context = context;
    pthread_mutex_init(&call->mutex, NULL);
    return call;
}

void cvk_call_cancel(cvk_call *call) {
    pthread_mutex_lock(&call->mutex);
    SecretService *service = call->prompt_service;
    pthread_mutex_unlock(&call->mutex);
    // During a dialog, libsecret answers the cancellation by sending Prompt.Dismiss from this
    // thread; flushing the connection makes sure it left before the caller goes on (and
    // perhaps exits).
    p_g_cancellable_cancel(call->cancellable);
    if (service) p_g_dbus_connection_flush_sync(p_g_dbus_proxy_get_connection((GDBusProxy *)service), NULL, NULL);
}

void cvk_call_free(cvk_call *call) {
    if (!call) return;
    p_g_object_unref(call->cancellable);
    p_g_strfreev(call->locked);
    pthread_mutex_destroy(&call->mutex);
    free(call);
}

cvk_error cvk_call_error(const cvk_call *call) { return call->error; }
const char *cvk_call_message(const cvk_call *call) { return call->message; }

size_t cvk_call_locked_count(const cvk_call *call) {
    size_t count = 0;
    while (call->locked && call->locked[count]) count++;
    return count;
}

const char *cvk_call_locked_path(const cvk_call *call, size_t index) {
    return index < cvk_call_locked_count(call) ? call->locked[index] : NULL;
}

static void answered(cvk_call *call) {
    if (call->answered) call->answered(call->context);
}

static void fail(cvk_call *call, cvk_error error, const char *message) {
    call->error = error;
    snprintf(call->message, sizeof call->message, "%s", message);
}

/// Classifies and frees `error` into `call` (g_error_free). gnome-keyring answers a read of an
/// item deleted meanwhile with UnknownMethod "No such secret item", and libsecret sometimes
/// strips the remote error's name: the message is looked at too.
static void fail_with(cvk_call *call, GError *error) {
    if (!error) { fail(call, CVK_ERROR_OTHER, "libsecret reported a failure without a reason"); return; }
    const char *message = error->message ? error->message : "unknown error";
    cvk_error kind = CVK_ERROR_OTHER;
    if (error->domain == p_g_io_error_quark() && error->code == G_IO_ERROR_CANCELLED) {
        kind = CVK_ERROR_CANCELLED;
    } else if (error->domain == p_g_dbus_error_quark() &&
               (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN || error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER)) {
        kind = CVK_ERROR_SERVICE_UNKNOWN;
    } else if (error->domain == p_secret_error_get_quark() && error->code == SECRET_ERROR_IS_LOCKED) {
        kind = CVK_ERROR_LOCKED;
    } else if (error->domain == p_secret_error_get_quark() && error->code == SECRET_ERROR_NO_SUCH_OBJECT) {
        kind = CVK_ERROR_NO_SUCH_OBJECT;
    } else {
        gchar *remote = p_g_dbus_error_get_remote_error(error);
        if ((remote && (strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0 ||
                        strcmp(remote, "org.freedesktop.DBus.Error.UnknownObject") == 0)) ||
            strstr(message, "No such secret item") || strstr(message, "No such object")) {
            kind = CVK_ERROR_NO_SUCH_OBJECT;
        } else if (strstr(message, "not provided by any .service files")) {
            kind = CVK_ERROR_SERVICE_UNKNOWN;
        }
        p_g_free(remote);
    }
    fail(call, kind, message);
    p_g_error_free(error);
}

static void fail_locked(cvk_call *call, gchar **paths, const char *message) {
    p_g_strfreev(call->locked);
    call->locked = paths;
    fail(call, CVK_ERROR_LOCKED, message);
}

// MARK: - Helpers

/// libsecret's shared service with a transfer session open.
static SecretService *service_for(cvk_call *call) {
    GError *error = NULL;
    SecretService *service = p_secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, call->cancellable, &error);
    if (!service) { fail_with(call, error); return NULL; }
    answered(call);
    return service;
}

/// A GHashTable<gchar*, gchar*> holding copies of `attributes`.
static GHashTable *table_of(cvk_attributes attributes) {
    GHashTable *table = p_g_hash_table_new_full(p_g_str_hash, p_g_str_equal, p_g_free, p_g_free);
    for (size_t i = 0; i < attributes.count; i++) {
        p_g_hash_table_replace(table, p_g_strdup(attributes.keys[i]), p_g_strdup(attributes.values[i]));
    }
    return table;
}

/// Unlocked and locked item paths matching `attributes` (any schema). 0 or -1.
static int search_paths(cvk_call *call, SecretService *service, cvk_attributes attributes, gchar ***unlocked, gchar ***locked) {
    GHashTable *table = table_of(attributes);
    GError *error = NULL;
    gboolean ok = p_secret_service_search_for_dbus_paths_sync(service, NULL, table, call->cancellable, unlocked, locked, &error);
    p_g_hash_table_unref(table);
    if (!ok) { fail_with(call, error); return -1; }
    answered(call);
    return 0;
}

/// The item at `path`; NULL with the failure in `call` (CVK_ERROR_NO_SUCH_OBJECT when deleted meanwhile).
static SecretItem *item_at(cvk_call *call, SecretService *service, const char *path, SecretItemFlags flags) {
    GError *error = NULL;
    SecretItem *item = p_secret_item_new_for_dbus_path_sync(service, path, flags, call->cancellable, &error);
    if (!item) { fail_with(call, error); return NULL; }
    answered(call);
    return item;
}

static size_t count_of(gchar **vector) {
    size_t count = 0;
    while (vector && vector[count]) count++;
    return count;
}

static void wipe(void *memory, size_t length) {
    volatile unsigned char *bytes = memory;
    while (length--) *bytes++ = 0;
}

/// Copies one item's label, attributes, timestamps and (if loaded) secret into `out`.
static void read_item(SecretItem *item, cvk_item *out) {
    memset(out, 0, sizeof *out);
    gchar *label = p_secret_item_get_label(item);
    out->label = strdup(label ? label : "");
    p_g_free(label);
    GHashTable *attributes = p_secret_item_get_attributes(item);
    if (attributes) {
        GList *keys = p_g_hash_table_get_keys(attributes);
        size_t count = 0;
        for (GList *node = keys; node; node = node->next) count++;
        out->keys = calloc(count ? count : 1, sizeof(char *));
        out->values = calloc(count ? count : 1, sizeof(char *));
        for (GList *node = keys; node && out->keys && out->values; node = node->next) {
            const char *value = p_g_hash_table_lookup(attributes, node->data);
            out->keys[out->attribute_count] = strdup(node->data);
            out->values[out->attribute_count] = strdup(value ? value : "");
            out->attribute_count++;
        }
        p_g_list_free(keys);
        p_g_hash_table_unref(attributes);
    }
    SecretValue *value = p_secret_item_get_secret(item);
    if (value) {
        gsize length = 0;
        const gchar *bytes = p_secret_value_get(value, &length);
        out->secret = malloc(length ? length : 1);
        if (out->secret) {
            if (length) memcpy(out->secret, bytes, length);
            out->secret_length = length;
        }
        p_secret_value_unref(value);
    }
    out->created = p_secret_item_get_created(item);
    out->modified = p_secret_item_get_modified(item);
}

static int newer_first(const void *a, const void *b) {
    uint64_t left = ((const cvk_item *)a)->modified, right = ((const cvk_item *)b)->modified;
    return left < right ? 1 : left > right ? -1 : 0;
}

// MARK: - The collection's state, and dialogs

typedef struct {
    int done;
    GVariant *reply;
    GError *error;
} pending_state;

static void state_ready(GObject *source, GAsyncResult *result, gpointer user_data) {
    pending_state *pending = user_data;
    pending->reply = p_g_dbus_connection_call_finish((GDBusConnection *)source, result, &pending->error);
    pending->done = 1;
}

static cvk_state query_state(cvk_call *call) {
    GError *error = NULL;
    SecretService *service = p_secret_service_get_sync(SECRET_SERVICE_NONE, call->cancellable, &error);
    if (!service) { fail_with(call, error); return CVK_STATE_FAILED; }
    // The Locked property of the alias path the specification defines is asked for while the
    // transfer session is negotiated, so its round trip overlaps the Diffie-Hellman
    // computation; its reply goes to a main context of our own, which no other loop runs.
    GMainContext *context = p_g_main_context_new();
    pending_state pending = { 0, NULL, NULL };
    p_g_main_context_push_thread_default(context);
    p_g_dbus_connection_call(p_g_dbus_proxy_get_connection((GDBusProxy *)service), p_g_dbus_proxy_get_name((GDBusProxy *)service),
                             "/org/freedesktop/secrets/aliases/default", "org.freedesktop.DBus.Properties", "Get",
                             p_g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"),
                             (const GVariantType *)"(v)", G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, call->cancellable, state_ready, &pending);
    p_g_main_context_pop_thread_default(context);
    GError *session_error = NULL;
    gboolean session = p_secret_service_ensure_session_sync(service, call->cancellable, &session_error);
    while (!pending.done) p_g_main_context_iteration(context, TRUE);
    p_g_main_context_unref(context);
    p_g_object_unref(service);
    if (!session) {
        if (pending.reply) p_g_variant_unref(pending.reply);
        if (pending.error) p_g_error_free(pending.error);
        fail_with(call, session_error);
        return CVK_STATE_FAILED;
    }
    answered(call);
    if (!pending.reply) {
        gchar *remote = p_g_dbus_error_get_remote_error(pending.error);
        int missing = remote && (strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0);
        p_g_free(remote);
        if (missing) { p_g_error_free(pending.error); return CVK_STATE_NO_DEFAULT_COLLECTION; }
        fail_with(call, pending.error);
        return CVK_STATE_FAILED;
    }
    GVariant *value = NULL;
    p_g_variant_get(pending.reply, "(v)", &value);
    int locked = p_g_variant_is_of_type(value, (const GVariantType *)"b") && p_g_variant_get_boolean(value);
    p_g_variant_unref(value);
    p_g_variant_unref(pending.reply);
    return locked ? CVK_STATE_LOCKED : CVK_STATE_UNLOCKED;
}

// MARK: - Prefetch

// The first state query done early on a thread of its own (cvk_prefetch); the first
// cvk_collection_state takes its answer instead of starting over. One per process.
static pthread_mutex_t prefetch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prefetch_finished = PTHREAD_COND_INITIALIZER;
static int prefetch_started, prefetch_running, prefetch_cancelled, prefetch_taken;
static cvk_call *prefetch_call; // lives as long as the process
static cvk_state prefetch_state = CVK_STATE_FAILED;

static void *prefetch_main(void *unused) {
    (void)unused;
    cvk_state state = CVK_STATE_FAILED;
    if (cvk_load(NULL)) { // dlopen here too, not on the caller's thread
        cvk_call *call = cvk_call_new(NULL, NULL);
        pthread_mutex_lock(&prefetch_mutex);
        prefetch_call = call;
        int cancelled = prefetch_cancelled;
        pthread_mutex_unlock(&prefetch_mutex);
        if (call && !cancelled) state = query_state(call); // a failure is left for the real call to meet and report
    }
    pthread_mutex_lock(&prefetch_mutex);
    prefetch_state = state;
    prefetch_running = 0;
    pthread_cond_broadcast(&prefetch_finished);
    pthread_mutex_unlock(&prefetch_mutex);
    return NULL;
}

void cvk_prefetch(void) {
    pthread_mutex_lock(&prefetch_mutex);
    if (prefetch_started) { pthread_mutex_unlock(&prefetch_mutex); return; }
    prefetch_started = 1;
    prefetch_running = 1;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, prefetch_main, NULL) != 0) prefetch_running = 0;
    pthread_attr_destroy(&attributes);
    pthread_mutex_unlock(&prefetch_mutex);
}

/// The waiting caller's GCancellable::cancelled handler: cancels the prefetch too.
static void cancel_prefetch(GCancellable *cancellable, gpointer data) {
    (void)cancellable; (void)data;
    pthread_mutex_lock(&prefetch_mutex);
    prefetch_cancelled = 1;
    cvk_call *call = prefetch_call;
    pthread_mutex_unlock(&prefetch_mutex);
    if (call) p_g_cancellable_cancel(call->cancellable);
}

cvk_state cvk_collection_state(cvk_call *call) {
    pthread_mutex_lock(&prefetch_mutex);
    int waiting = prefetch_started && !prefetch_taken;
    prefetch_taken = prefetch_started;
    pthread_mutex_unlock(&prefetch_mutex);
    if (waiting) {
        gulong handler = p_g_cancellable_connect(call->cancellable, (GCallback)cancel_prefetch, NULL, NULL);
        pthread_mutex_lock(&prefetch_mutex);
        while (prefetch_running) pthread_cond_wait(&prefetch_finished, &prefetch_mutex);
        cvk_state state = prefetch_state;
        pthread_mutex_unlock(&prefetch_mutex);
        if (handler) p_g_cancellable_disconnect(call->cancellable, handler);
        if (state != CVK_STATE_FAILED) { answered(call); return state; }
    }
    return query_state(call);
}

static void prompting(cvk_call *call, SecretService *service) {
    pthread_mutex_lock(&call->mutex);
    call->prompt_service = service; // libsecret's shared service: it lives as long as the process
    pthread_mutex_unlock(&call->mutex);
}

int cvk_unlock_collection(cvk_call *call) {
    SecretService *service = service_for(call);
    if (!service) return -1;
    GError *error = NULL;
    SecretCollection *collection = p_secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_NONE, call->cancellable, &error);
    if (!collection) {
        p_g_object_unref(service);
        if (error) fail_with(call, error); else fail(call, CVK_ERROR_NO_SUCH_OBJECT, "the keyring has no default collection");
        return -1;
    }
    GList *objects = p_g_list_append(NULL, collection);
    GList *unlocked = NULL;
    prompting(call, service);
    // Calls Prompt.Prompt and waits for Prompt.Completed; a cancellation sends Prompt.Dismiss.
    gint count = p_secret_service_unlock_sync(service, objects, call->cancellable, &unlocked, &error);
    p_g_list_free_full(unlocked, p_g_object_unref);
    p_g_list_free(objects);
    p_g_object_unref(collection);
    p_g_object_unref(service);
    if (error) { fail_with(call, error); return -1; }
    return count > 0 ? 1 : 0;
}

int cvk_unlock_items(cvk_call *call, const char *const *paths, size_t wanted) {
    if (wanted == 0) return 1;
    SecretService *service = service_for(call);
    if (!service) return -1;
    const gchar **vector = calloc(wanted + 1, sizeof(gchar *));
    if (!vector) { p_g_object_unref(service); fail(call, CVK_ERROR_OTHER, "out of memory"); return -1; }
    for (size_t i = 0; i < wanted; i++) vector[i] = paths[i];
    GError *error = NULL;
    gchar **unlocked = NULL;
    prompting(call, service);
    gint count = p_secret_service_unlock_dbus_paths_sync(service, vector, call->cancellable, &unlocked, &error);
    free(vector);
    p_g_strfreev(unlocked);
    p_g_object_unref(service);
    if (error) { fail_with(call, error); return -1; }
    return (size_t)count >= wanted ? 1 : 0;
}

// MARK: - Items

int cvk_newest_secret(cvk_call *call, cvk_attributes attributes, unsigned char **secret, size_t *length, size_t *matches) {
    *secret = NULL; *length = 0; *matches = 0;
    SecretService *service = service_for(call);
    if (!service) return -1;
    gchar **unlocked = NULL, **locked = NULL;
    if (search_paths(call, service, attributes, &unlocked, &locked) != 0) { p_g_object_unref(service); return -1; }
    int result = 0;
    size_t count = count_of(unlocked);
    *matches = count;
    if (count == 0) {
        if (count_of(locked) > 0) { fail_locked(call, locked, "the matching keyring item is locked"); locked = NULL; result = -1; }
        goto done;
    }
    const gchar *chosen = unlocked[0];
    if (count > 1) {
        // Another program stored its own item under the same service and username: the newest wins.
        guint64 newest = 0;
        for (size_t i = 0; i < count; i++) {
            SecretItem *item = item_at(call, service, unlocked[i], SECRET_ITEM_NONE);
            if (!item) {
                if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue; // deleted meanwhile
                result = -1;
                goto done;
            }
            guint64 modified = p_secret_item_get_modified(item);
            p_g_object_unref(item);
            if (modified >= newest) { newest = modified; chosen = unlocked[i]; }
        }
    }
    GError *error = NULL;
    SecretValue *value = p_secret_service_get_secret_for_dbus_path_sync(service, chosen, call->cancellable, &error);
    if (!value) {
        if (!error) goto done;
        fail_with(call, error);
        result = call->error == CVK_ERROR_NO_SUCH_OBJECT ? 0 : -1; // deleted by another client meanwhile
        *matches = result == 0 ? 0 : *matches;
        goto done;
    }
    answered(call);
    gsize size = 0;
    const gchar *bytes = p_secret_value_get(value, &size);
    *secret = malloc(size ? size : 1);
    if (*secret) {
        if (size) memcpy(*secret, bytes, size);
        *length = size;
        result = 1;
    } else {
        fail(call, CVK_ERROR_OTHER, "out of memory");
        result = -1;
    }
    p_secret_value_unref(value);
done:
    p_g_strfreev(unlocked);
    p_g_strfreev(locked);
    p_g_object_unref(service);
    return result;
}

int cvk_store(cvk_call *call, cvk_attributes key, cvk_attributes attributes, const char *label,
              const unsigned char *secret, size_t length, const char *content_type) {
    SecretService *service = service_for(call);
    if (!service) return -1;
    gchar **unlocked = NULL, **locked = NULL;
    if (search_paths(call, service, key, &unlocked, &locked) != 0) { p_g_object_unref(service); return -1; }
    int result = -1;
    SecretValue *value = p_secret_value_new((const gchar *)secret, (gssize)length, content_type); // copies the bytes
    GHashTable *table = table_of(attributes);
    GError *error = NULL;
    if (count_of(unlocked) == 0 && count_of(locked) > 0) {
        fail_locked(call, locked, "the keyring item to replace is locked");
        locked = NULL;
        goto done;
    }
    if (count_of(unlocked) > 0) {
        // In place: KeePassXC opens its access dialog for a CreateItem that replaces an item, not for these.
        SecretItem *item = item_at(call, service, unlocked[0], SECRET_ITEM_NONE);
        if (!item) goto done;
        int ok = p_secret_item_set_secret_sync(item, value, call->cancellable, &error) && (answered(call), 1) &&
                 p_secret_item_set_label_sync(item, label, call->cancellable, &error) && (answered(call), 1) &&
                 p_secret_item_set_attributes_sync(item, NULL, table, call->cancellable, &error);
        p_g_object_unref(item);
        if (!ok) { fail_with(call, error); goto done; }
        answered(call);
    } else {
        SecretCollection *collection = p_secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_NONE, call->cancellable, &error);
        if (!collection) {
            if (error) fail_with(call, error); else fail(call, CVK_ERROR_NO_SUCH_OBJECT, "the keyring has no default collection");
            goto done;
        }
        answered(call);
        // REPLACE: a writer that raced this one to create the same item is replaced, not doubled.
        SecretItem *item = p_secret_item_create_sync(collection, NULL, table, label, value, SECRET_ITEM_CREATE_REPLACE, call->cancellable, &error);
        p_g_object_unref(collection);
        if (!item) { fail_with(call, error); goto done; }
        p_g_object_unref(item);
        answered(call);
    }
    // One key, one item: the others matching go.
    for (size_t i = 1; i < count_of(unlocked); i++) {
        SecretItem *item = item_at(call, service, unlocked[i], SECRET_ITEM_NONE);
        if (!item) {
            if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue;
            goto done;
        }
        gboolean ok = p_secret_item_delete_sync(item, call->cancellable, &error);
        p_g_object_unref(item);
        if (!ok) {
            fail_with(call, error);
            if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue;
            goto done;
        }
        answered(call);
    }
    result = 0;
done:
    p_g_hash_table_unref(table);
    p_secret_value_unref(value);
    p_g_strfreev(unlocked);
    p_g_strfreev(locked);
    p_g_object_unref(service);
    return result;
}

/// Every item of the default collection, from its Items property: KeePassXC answers a search
/// with no attribute with nothing.
static int collection_items(cvk_call *call, SecretService *service, int load_secrets, cvk_items *out) {
    GError *error = NULL;
    SecretCollection *collection = p_secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_LOAD_ITEMS, call->cancellable, &error);
    if (!collection) {
        if (error) { fail_with(call, error); return -1; }
        return 0;
    }
    answered(call);
    GList *items = p_secret_collection_get_items(collection);
    size_t count = 0;
    for (GList *node = items; node; node = node->next) count++;
    out->items = calloc(count ? count : 1, sizeof(cvk_item));
    for (GList *node = items; node && out->items; node = node->next) {
        read_item(node->data, &out->items[out->count]);
        if (!load_secrets && out->items[out->count].secret) {
            wipe(out->items[out->count].secret, out->items[out->count].secret_length);
            free(out->items[out->count].secret);
            out->items[out->count].secret = NULL;
        }
        out->count++;
    }
    p_g_list_free_full(items, p_g_object_unref);
    p_g_object_unref(collection);
    return 0;
}

int cvk_list(cvk_call *call, cvk_attributes attributes, int all, int load_secrets, cvk_items *out) {
    out->items = NULL; out->count = 0;
    SecretService *service = service_for(call);
    if (!service) return -1;
    int result = 0;
    if (attributes.count == 0) {
        result = collection_items(call, service, load_secrets, out);
        goto sort;
    }
    // Paths first, then each item on its own: each answer renews the caller's deadline, so a
    // long list on a busy daemon is not mistaken for a wedged one, and an item another client
    // deletes in between is skipped.
    gchar **unlocked = NULL, **locked = NULL;
    if (search_paths(call, service, attributes, &unlocked, &locked) != 0) { p_g_object_unref(service); return -1; }
    size_t unlocked_count = count_of(unlocked), locked_count = count_of(locked);
    size_t total = unlocked_count + ((all || unlocked_count == 0) ? locked_count : 0);
    out->items = calloc(total ? total : 1, sizeof(cvk_item));
    for (size_t i = 0; i < total && out->items; i++) {
        int is_unlocked = i < unlocked_count;
        const gchar *path = is_unlocked ? unlocked[i] : locked[i - unlocked_count];
        SecretItem *item = item_at(call, service, path, load_secrets && is_unlocked ? SECRET_ITEM_LOAD_SECRET : SECRET_ITEM_NONE);
        if (!item) {
            if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue; // deleted since the search
            result = -1;
            break;
        }
        read_item(item, &out->items[out->count++]);
        p_g_object_unref(item);
        if (!all && is_unlocked) break;
    }
    p_g_strfreev(unlocked);
    p_g_strfreev(locked);
sort:
    p_g_object_unref(service);
    if (result != 0) { cvk_items_free(out); return -1; }
    if (out->count > 1) qsort(out->items, out->count, sizeof(cvk_item), newer_first);
    return 0;
}

void cvk_items_free(cvk_items *items) {
    for (size_t i = 0; items->items && i < items->count; i++) {
        cvk_item *item = &items->items[i];
        free(item->label);
        for (size_t j = 0; j < item->attribute_count; j++) { free(item->keys[j]); free(item->values[j]); }
        free(item->keys);
        free(item->values);
        if (item->secret) { wipe(item->secret, item->secret_length); free(item->secret); }
    }
    free(items->items);
    items->items = NULL;
    items->count = 0;
}

long cvk_delete(cvk_call *call, cvk_attributes attributes) {
    SecretService *service = service_for(call);
    if (!service) return -1;
    gchar **unlocked = NULL, **locked = NULL;
    if (search_paths(call, service, attributes, &unlocked, &locked) != 0) { p_g_object_unref(service); return -1; }
    long deleted = 0;
    if (count_of(unlocked) == 0 && count_of(locked) > 0) {
        // Matches this client may not touch yet are not "none".
        fail_locked(call, locked, "the keyring item to delete is locked");
        locked = NULL;
        deleted = -1;
    }
    for (size_t i = 0; deleted >= 0 && i < count_of(unlocked); i++) {
        SecretItem *item = item_at(call, service, unlocked[i], SECRET_ITEM_NONE);
        if (!item) {
            if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue; // another client deleted it meanwhile
            deleted = -1;
            break;
        }
        GError *error = NULL;
        gboolean ok = p_secret_item_delete_sync(item, call->cancellable, &error);
        p_g_object_unref(item);
        if (!ok) {
            fail_with(call, error);
            if (call->error == CVK_ERROR_NO_SUCH_OBJECT) continue;
            deleted = -1;
            break;
        }
        answered(call);
        deleted++;
    }
    p_g_strfreev(unlocked);
    p_g_strfreev(locked);
    p_g_object_unref(service);
    return deleted;
}

int cvk_provider_pid(cvk_call *call) {
    SecretService *service = service_for(call);
    if (!service) return -1;
    GError *error = NULL;
    GVariant *reply = p_g_dbus_connection_call_sync(p_g_dbus_proxy_get_connection((GDBusProxy *)service), "org.freedesktop.DBus",
                                                    "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                    p_g_variant_new("(s)", "org.freedesktop.secrets"), (const GVariantType *)"(u)",
                                                    G_DBUS_CALL_FLAGS_NONE, -1, call->cancellable, &error);
    p_g_object_unref(service);
    if (!reply) { fail_with(call, error); return -1; }
    answered(call);
    guint32 pid = 0;
    p_g_variant_get(reply, "(u)", &pid);
    p_g_variant_unref(reply);
    return (int)pid;
}

/// Calls org.credvault.SecretService1.`member` on the owner of org.freedesktop.secrets without
/// starting one (G_DBUS_CALL_FLAGS_NO_AUTO_START). The reply, or NULL with `*absent` set when
/// there is no owner or the owner is not credvault's provider.
static GVariant *call_credvault_provider(cvk_call *call, const char *member, const char *reply_type, int *absent) {
    *absent = 0;
    GError *error = NULL;
    GDBusConnection *bus = p_g_bus_get_sync(G_BUS_TYPE_SESSION, call->cancellable, &error);
    if (!bus) { fail_with(call, error); return NULL; }
    GVariant *reply = p_g_dbus_connection_call_sync(bus, "org.freedesktop.secrets", "/org/freedesktop/secrets", "org.credvault.SecretService1",
                                                    member, NULL, (const GVariantType *)reply_type, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
                                                    call->cancellable, &error);
    p_g_object_unref(bus);
    if (!reply) {
        char *remote = error ? p_g_dbus_error_get_remote_error(error) : NULL;
        if (remote && (strcmp(remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 || strcmp(remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0
                       || strcmp(remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0 || strcmp(remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0
                       || strcmp(remote, "org.freedesktop.DBus.Error.UnknownObject") == 0)) {
            *absent = 1;
            p_g_error_free(error);
        } else {
            fail_with(call, error);
        }
        p_g_free(remote);
        return NULL;
    }
    answered(call);
    return reply;
}

int cvk_credvault_provider(cvk_call *call, char **store, int *locked) {
    int absent = 0;
    GVariant *reply = call_credvault_provider(call, "Describe", "(a{sv})", &absent);
    if (!reply) return absent ? 0 : -1;
    GVariant *properties = p_g_variant_get_child_value(reply, 0);
    const char *path = NULL;
    gboolean is_locked = FALSE;
    p_g_variant_lookup(properties, "Store", "&s", &path);
    p_g_variant_lookup(properties, "Locked", "b", &is_locked);
    *store = strdup(path ? path : "");
    *locked = is_locked ? 1 : 0;
    p_g_variant_unref(properties);
    p_g_variant_unref(reply);
    return 1;
}

int cvk_credvault_provider_lock(cvk_call *call) {
    int absent = 0;
    GVariant *reply = call_credvault_provider(call, "Lock", "()", &absent);
    if (!reply) return absent ? 0 : -1;
    p_g_variant_unref(reply);
    return 1;
}

int cvk_credvault_provider_unlock(cvk_call *call, const unsigned char *key, size_t length) {
    SecretService *service = service_for(call);
    if (!service) return -1;
    SecretValue *value = p_secret_value_new((const gchar *)key, (gssize)length, "application/octet-stream");
    // Encrypted under libsecret's transfer session with the provider (dh-ietf1024…), opened
    // on this connection, which is the one the provider ties the session to.
    GVariant *secret = p_secret_service_encode_dbus_secret(service, value);
    p_secret_value_unref(value);
    GError *error = NULL;
    GVariant *reply = p_g_dbus_connection_call_sync(p_g_dbus_proxy_get_connection((GDBusProxy *)service), "org.freedesktop.secrets",
                                                    "/org/freedesktop/secrets", "org.credvault.SecretService1", "Unlock",
                                                    p_g_variant_new("(@(oayays))", secret), (const GVariantType *)"()",
                                                    G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, call->cancellable, &error);
    p_g_object_unref(service);
    if (!reply) { fail_with(call, error); return -1; }
    answered(call);
    p_g_variant_unref(reply);
    return 1;
}

void cvk_secret_free(unsigned char *secret, size_t length) {
    if (!secret) return;
    wipe(secret, length);
    free(secret);
}
