// Loads libsecret on first use and forwards the cvs_* functions to it (see credvault_libsecret.h).
#include "credvault_libsecret.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/// The library's soname (Debian's libsecret-1-0).
static const char *const library = "libsecret-1.so.0";

typedef struct cvs_GVariant cvs_GVariant;
typedef struct cvs_GDBusConnection cvs_GDBusConnection;
typedef struct cvs_GMainContext cvs_GMainContext;
typedef void (*cvs_ready_function)(void *source, void *result, void *user_data);
typedef unsigned int (*cvs_hash_function)(const void *);
typedef cvs_gboolean (*cvs_equal_function)(const void *, const void *);
typedef void (*cvs_destroy_function)(void *);

// Pointers to the forwarded functions, then to the ones only this file calls.
#define CVS_POINTER(ret, name, params, args) static ret (*p_##name) params;
#define CVS_POINTER_VOID(name, params, args) static void (*p_##name) params;
CVS_FUNCTIONS(CVS_POINTER, CVS_POINTER_VOID)
#define CVS_INTERNAL(X, XV) \
    X(cvs_GHashTable *, g_hash_table_new_full, (cvs_hash_function hash, cvs_equal_function equal, cvs_destroy_function free_key, cvs_destroy_function free_value), ()) \
    X(unsigned int, g_str_hash, (const void *key), ()) \
    X(cvs_gboolean, g_str_equal, (const void *a, const void *b), ()) \
    X(char *, g_strdup, (const char *text), ()) \
    X(cvs_gboolean, g_hash_table_replace, (cvs_GHashTable *table, void *key, void *value), ()) \
    X(void *, g_hash_table_lookup, (cvs_GHashTable *table, const void *key), ()) \
    X(cvs_GList *, g_hash_table_get_keys, (cvs_GHashTable *table), ()) \
    X(cvs_GQuark, secret_error_get_quark, (void), ()) \
    X(cvs_GQuark, g_io_error_quark, (void), ()) \
    X(cvs_GQuark, g_dbus_error_quark, (void), ()) \
    XV(g_list_free_full, (cvs_GList *list, cvs_destroy_function free_item), ()) \
    X(cvs_GList *, g_list_append, (cvs_GList *list, void *data), ()) \
    X(cvs_GVariant *, g_dbus_connection_call_sync, (cvs_GDBusConnection *connection, const char *bus_name, const char *object_path, const char *interface_name, const char *method_name, cvs_GVariant *parameters, const void *reply_type, int flags, int timeout_msec, cvs_GCancellable *cancellable, cvs_GError **error), ()) \
    X(cvs_GDBusConnection *, g_dbus_proxy_get_connection, (void *proxy), ()) \
    X(cvs_gboolean, g_dbus_connection_flush_sync, (cvs_GDBusConnection *connection, cvs_GCancellable *cancellable, cvs_GError **error), ()) \
    X(const char *, g_dbus_proxy_get_name, (void *proxy), ()) \
    X(cvs_GVariant *, g_variant_new, (const char *format, ...), ()) \
    XV(g_variant_get, (cvs_GVariant *value, const char *format, ...), ()) \
    X(cvs_gboolean, g_variant_is_of_type, (cvs_GVariant *value, const void *type), ()) \
    X(cvs_gboolean, g_variant_get_boolean, (cvs_GVariant *value), ()) \
    XV(g_variant_unref, (cvs_GVariant *value), ()) \
    XV(g_propagate_error, (cvs_GError **destination, cvs_GError *source), ()) \
    XV(g_dbus_connection_call, (cvs_GDBusConnection *connection, const char *bus_name, const char *object_path, const char *interface_name, const char *method_name, cvs_GVariant *parameters, const void *reply_type, int flags, int timeout_msec, cvs_GCancellable *cancellable, cvs_ready_function callback, void *user_data), ()) \
    X(cvs_GVariant *, g_dbus_connection_call_finish, (cvs_GDBusConnection *connection, void *result, cvs_GError **error), ()) \
    X(cvs_gboolean, secret_service_ensure_session_sync, (cvs_SecretService *service, cvs_GCancellable *cancellable, cvs_GError **error), ()) \
    X(cvs_GMainContext *, g_main_context_new, (void), ()) \
    XV(g_main_context_push_thread_default, (cvs_GMainContext *context), ()) \
    XV(g_main_context_pop_thread_default, (cvs_GMainContext *context), ()) \
    X(cvs_gboolean, g_main_context_iteration, (cvs_GMainContext *context, cvs_gboolean may_block), ()) \
    XV(g_main_context_unref, (cvs_GMainContext *context), ()) \
    X(unsigned long, g_cancellable_connect, (cvs_GCancellable *cancellable, void (*callback)(void), void *data, cvs_destroy_function free_data), ()) \
    XV(g_cancellable_disconnect, (cvs_GCancellable *cancellable, unsigned long handler), ())
CVS_INTERNAL(CVS_POINTER, CVS_POINTER_VOID)
#undef CVS_POINTER
#undef CVS_POINTER_VOID

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char problem_text[512];

static void load(void) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(problem_text, sizeof problem_text, "%s", dlerror());
        return;
    }
    // dlsym finds GLib's functions too: they are in libsecret's dependency scope.
#define CVS_RESOLVE(ret, name, params, args) \
    if (!(*(void **)&p_##name = dlsym(handle, #name))) { \
        snprintf(problem_text, sizeof problem_text, "%s has no function %s", library, #name); \
        return; \
    }
#define CVS_RESOLVE_VOID(name, params, args) CVS_RESOLVE(void, name, params, args)
    CVS_FUNCTIONS(CVS_RESOLVE, CVS_RESOLVE_VOID)
    CVS_INTERNAL(CVS_RESOLVE, CVS_RESOLVE_VOID)
#undef CVS_RESOLVE
#undef CVS_RESOLVE_VOID
    loaded = 1;
}

int cvs_load(const char **problem) {
    pthread_once(&once, load);
    if (!loaded && problem) *problem = problem_text;
    return loaded;
}

#define CVS_FORWARD(ret, name, params, args) ret cvs_##name params { return p_##name args; }
#define CVS_FORWARD_VOID(name, params, args) void cvs_##name params { p_##name args; }
CVS_FUNCTIONS(CVS_FORWARD, CVS_FORWARD_VOID)
#undef CVS_FORWARD
#undef CVS_FORWARD_VOID


cvs_GHashTable *cvs_attributes_new(void) {
    return p_g_hash_table_new_full(p_g_str_hash, p_g_str_equal, p_g_free, p_g_free);
}

void cvs_attributes_set(cvs_GHashTable *table, const char *key, const char *value) {
    p_g_hash_table_replace(table, p_g_strdup(key), p_g_strdup(value));
}

const char *cvs_attributes_get(cvs_GHashTable *table, const char *key) {
    return (const char *)p_g_hash_table_lookup(table, key);
}

cvs_GList *cvs_attributes_keys(cvs_GHashTable *table) { return p_g_hash_table_get_keys(table); }

cvs_GQuark cvs_secret_error_domain(void) { return p_secret_error_get_quark(); }
cvs_GQuark cvs_io_error_domain(void) { return p_g_io_error_quark(); }
cvs_GQuark cvs_dbus_error_domain(void) { return p_g_dbus_error_quark(); }

void cvs_object_list_free(cvs_GList *list) { p_g_list_free_full(list, p_g_object_unref); }

cvs_GList *cvs_list_of(void *object) { return p_g_list_append(NULL, object); }

int cvs_provider_pid(void *proxy, cvs_GCancellable *cancellable, cvs_GError **error) {
    // G_VARIANT_TYPE("(u)") is the type string "(u)".
    cvs_GVariant *reply = p_g_dbus_connection_call_sync(p_g_dbus_proxy_get_connection(proxy), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                        "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                        p_g_variant_new("(s)", "org.freedesktop.secrets"), "(u)", 0, -1, cancellable, error);
    if (!reply) return -1;
    unsigned int pid = 0;
    p_g_variant_get(reply, "(u)", &pid);
    p_g_variant_unref(reply);
    return (int)pid;
}

void cvs_flush_connection(void *proxy) {
    cvs_GError *error = NULL;
    if (!p_g_dbus_connection_flush_sync(p_g_dbus_proxy_get_connection(proxy), NULL, &error) && error) p_g_error_free(error);
}

/// The Locked property's reply, filled in by collection_state_ready.
typedef struct {
    int done;
    cvs_GVariant *reply;
    cvs_GError *error;
} pending_state;

static void collection_state_ready(void *source, void *result, void *user_data) {
    pending_state *pending = user_data;
    pending->reply = p_g_dbus_connection_call_finish(source, result, &pending->error);
    pending->done = 1;
}

/// -1 no default collection, 0 unlocked, 1 locked, -2 with `error` set; consumes both inputs.
static int collection_state(cvs_GVariant *reply, cvs_GError *failure, cvs_GError **error) {
    if (reply == NULL) {
        char *remote = failure ? p_g_dbus_error_get_remote_error(failure) : NULL;
        int missing = remote && (strcmp(remote, "org.freedesktop.Secret.Error.NoSuchObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
                                 strcmp(remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0);
        p_g_free(remote);
        if (missing) { p_g_error_free(failure); return -1; }
        p_g_propagate_error(error, failure);
        return -2;
    }
    cvs_GVariant *value = NULL;
    p_g_variant_get(reply, "(v)", &value);
    // G_VARIANT_TYPE_BOOLEAN is the type string "b".
    int locked = p_g_variant_is_of_type(value, "b") && p_g_variant_get_boolean(value) ? 1 : 0;
    p_g_variant_unref(value);
    p_g_variant_unref(reply);
    return locked;
}

// The prefetch: the first probe's work (connection, session, Locked state) done early on a
// thread of its own; the first real call takes its result instead of starting over.
static pthread_mutex_t prefetch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prefetch_finished = PTHREAD_COND_INITIALIZER;
static int prefetch_started, prefetch_running;
static cvs_GCancellable *prefetch_cancellable;
static cvs_SecretService *prefetched; // handed to the first caller, with its Locked state

static int prefetch_cancelled;
static int prefetched_state;
static int open_and_query(cvs_SecretService **service, cvs_GCancellable *cancellable, cvs_GError **error);

static void *prefetch_main(void *unused) {
    (void)unused;
    cvs_SecretService *service = NULL;
    int state = -2;
    if (cvs_load(NULL)) { // dlopen here too, not on the caller's thread
        pthread_mutex_lock(&prefetch_mutex);
        if (!prefetch_cancelled) prefetch_cancellable = p_g_cancellable_new();
        pthread_mutex_unlock(&prefetch_mutex);
        if (prefetch_cancellable) {
            cvs_GError *error = NULL;
            state = open_and_query(&service, prefetch_cancellable, &error);
            if (error) p_g_error_free(error); // the real call meets the same failure and reports it
        }
    }
    pthread_mutex_lock(&prefetch_mutex);
    prefetched = service;
    prefetched_state = state;
    prefetch_running = 0;
    pthread_cond_broadcast(&prefetch_finished);
    pthread_mutex_unlock(&prefetch_mutex);
    return NULL;
}

void cvs_prefetch_service(void) {
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

/// The caller's GCancellable::cancelled handler (connected with g_cancellable_connect).
static void cancel_prefetch(void *cancellable, void *data) {
    (void)cancellable; (void)data;
    pthread_mutex_lock(&prefetch_mutex);
    prefetch_cancelled = 1;
    cvs_GCancellable *target = prefetch_cancellable;
    pthread_mutex_unlock(&prefetch_mutex);
    if (target) p_g_cancellable_cancel(target);
}

/// Waits until no prefetch is running; the caller's cancellation cancels the prefetch.
static void wait_for_prefetch(cvs_GCancellable *cancellable) {
    pthread_mutex_lock(&prefetch_mutex);
    int running = prefetch_running;
    pthread_mutex_unlock(&prefetch_mutex);
    if (!running) return;
    unsigned long handler = cancellable ? p_g_cancellable_connect(cancellable, (void (*)(void))cancel_prefetch, NULL, NULL) : 0;
    pthread_mutex_lock(&prefetch_mutex);
    while (prefetch_running) pthread_cond_wait(&prefetch_finished, &prefetch_mutex);
    pthread_mutex_unlock(&prefetch_mutex);
    if (handler) p_g_cancellable_disconnect(cancellable, handler);
}

/// Connects (or takes libsecret's cached connection), asks for the Locked state while the
/// session is negotiated, and returns the state (see the header).
static int open_and_query(cvs_SecretService **service, cvs_GCancellable *cancellable, cvs_GError **error) {
    *service = NULL;
    cvs_SecretService *connected = p_secret_service_get_sync(0, cancellable, error); // SECRET_SERVICE_NONE
    if (!connected) return -2;
    // The call's reply is dispatched to a context of our own, so no other loop runs it.
    cvs_GMainContext *context = p_g_main_context_new();
    pending_state pending = { 0, NULL, NULL };
    p_g_main_context_push_thread_default(context);
    // G_DBUS_PROXY(service) is a checked cast of the same pointer; G_VARIANT_TYPE(s) is `s`.
    p_g_dbus_connection_call(p_g_dbus_proxy_get_connection(connected), p_g_dbus_proxy_get_name(connected),
                             "/org/freedesktop/secrets/aliases/default", "org.freedesktop.DBus.Properties", "Get",
                             p_g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"),
                             "(v)", CVS_G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, cancellable, collection_state_ready, &pending);
    p_g_main_context_pop_thread_default(context);
    cvs_GError *session_error = NULL;
    cvs_gboolean session = p_secret_service_ensure_session_sync(connected, cancellable, &session_error);
    while (!pending.done) p_g_main_context_iteration(context, 1);
    p_g_main_context_unref(context);
    if (!session) {
        if (pending.reply) p_g_variant_unref(pending.reply);
        if (pending.error) p_g_error_free(pending.error);
        p_g_object_unref(connected);
        p_g_propagate_error(error, session_error);
        return -2;
    }
    int state = collection_state(pending.reply, pending.error, error);
    if (state == -2) { p_g_object_unref(connected); return -2; }
    *service = connected;
    return state;
}

int cvs_open_service_with_default_collection_state(cvs_SecretService **service, cvs_GCancellable *cancellable, cvs_GError **error) {
    wait_for_prefetch(cancellable);
    // The prefetch's answer serves the first caller only; later ones ask the daemon again.
    pthread_mutex_lock(&prefetch_mutex);
    cvs_SecretService *ready = prefetched;
    int state = prefetched_state;
    prefetched = NULL;
    pthread_mutex_unlock(&prefetch_mutex);
    if (ready) { *service = ready; return state; }
    return open_and_query(service, cancellable, error);
}
