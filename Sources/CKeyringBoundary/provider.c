// The Secret Service provider's D-Bus plumbing (see credvault_provider.h). Compiled against
// GIO's real headers; every GIO and GLib function is called through a pointer of its own type
// (__typeof__), filled by dlsym from libgio-2.0.so.0 the first time the provider starts, as
// keyring.c does for libsecret. Macros that hide a function call (G_VARIANT_TYPE…) are not
// used; plain casts stand in.
//
// Method calls are taken in a connection filter (g_dbus_connection_add_filter), on GDBus's
// worker thread, before GDBus's own object dispatch: every call addressed to the provider is
// checked against the table of methods below and handed to the receiver, which answers it
// later from any thread. Nothing here knows items, sessions or the store.
#include <gio/gio.h>

#include "credvault_provider.h"
#include "library_loading.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Loading

#define CVP_FUNCTIONS(X) \
    X(g_dbus_address_get_for_bus_sync) X(g_dbus_connection_new_for_address_sync) X(g_dbus_connection_add_filter) \
    X(g_dbus_connection_call_sync) X(g_dbus_connection_send_message) X(g_dbus_connection_emit_signal) \
    X(g_dbus_connection_close_sync) X(g_dbus_connection_flush_sync) X(g_dbus_connection_is_closed) \
    X(g_dbus_message_get_message_type) X(g_dbus_message_get_path) X(g_dbus_message_get_interface) \
    X(g_dbus_message_get_member) X(g_dbus_message_get_sender) X(g_dbus_message_get_body) X(g_dbus_message_get_flags) \
    X(g_dbus_message_new_method_reply) X(g_dbus_message_new_method_error_literal) X(g_dbus_message_set_body) \
    X(g_object_ref) X(g_object_unref) X(g_signal_connect_data) X(g_error_free) X(g_free) \
    X(g_main_context_new) X(g_main_context_push_thread_default) X(g_main_context_pop_thread_default) \
    X(g_main_context_unref) X(g_main_loop_new) X(g_main_loop_run) X(g_main_loop_quit) X(g_main_loop_unref) \
    X(g_variant_get_child_value) X(g_variant_get_string) X(g_variant_get_fixed_array) X(g_variant_get_boolean) \
    X(g_variant_get_uint32) X(g_variant_n_children) X(g_variant_get_variant) X(g_variant_get_type_string) \
    X(g_variant_unref) X(g_variant_ref_sink) X(g_variant_new) X(g_variant_new_string) X(g_variant_new_object_path) X(g_variant_new_boolean) \
    X(g_variant_new_uint64) X(g_variant_new_fixed_array) X(g_variant_builder_new) X(g_variant_builder_add_value) \
    X(g_variant_builder_open) X(g_variant_builder_close) X(g_variant_builder_end) X(g_variant_builder_unref) \
    X(g_ptr_array_new_with_free_func) X(g_ptr_array_add) X(g_ptr_array_unref)

CVP_FUNCTIONS(CV_POINTER)

/// Debian's libglib2.0-0 (GIO, with GLib and GObject as its dependencies).
static const char *const library = "libgio-2.0.so.0";
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_problem[512];

static int resolve(void) {
    char *problem = load_problem;
    size_t problem_size = sizeof load_problem;
    void *handle = cv_open_library(library, problem, problem_size);
    if (!handle) return 0;
    CVP_FUNCTIONS(CV_RESOLVE)
    return 1;
}

static void load(void) { loaded = resolve(); }

// MARK: - The methods served

/// A method of the Secret Service API (or of the standard interfaces), with the signatures
/// the specification gives it. A call whose arguments have another signature is refused here.
typedef struct {
    const char *interface;
    const char *member;
    const char *in;
    const char *out;
} method;

static const method methods[] = {
    {"org.freedesktop.Secret.Service", "OpenSession", "(sv)", "(vo)"},
    {"org.freedesktop.Secret.Service", "CreateCollection", "(a{sv}s)", "(oo)"},
    {"org.freedesktop.Secret.Service", "SearchItems", "(a{ss})", "(aoao)"},
    {"org.freedesktop.Secret.Service", "Unlock", "(ao)", "(aoo)"},
    {"org.freedesktop.Secret.Service", "Lock", "(ao)", "(aoo)"},
    {"org.freedesktop.Secret.Service", "GetSecrets", "(aoo)", "(a{o(oayays)})"},
    {"org.freedesktop.Secret.Service", "ReadAlias", "(s)", "(o)"},
    {"org.freedesktop.Secret.Service", "SetAlias", "(so)", "()"},
    {"org.freedesktop.Secret.Collection", "Delete", "()", "(o)"},
    {"org.freedesktop.Secret.Collection", "SearchItems", "(a{ss})", "(ao)"},
    {"org.freedesktop.Secret.Collection", "CreateItem", "(a{sv}(oayays)b)", "(oo)"},
    {"org.freedesktop.Secret.Item", "Delete", "()", "(o)"},
    {"org.freedesktop.Secret.Item", "GetSecret", "(o)", "((oayays))"},
    {"org.freedesktop.Secret.Item", "SetSecret", "((oayays))", "()"},
    {"org.freedesktop.Secret.Session", "Close", "()", "()"},
    {"org.freedesktop.Secret.Prompt", "Prompt", "(s)", "()"},
    {"org.freedesktop.Secret.Prompt", "Dismiss", "()", "()"},
    {"org.freedesktop.DBus.Properties", "Get", "(ss)", "(v)"},
    {"org.freedesktop.DBus.Properties", "GetAll", "(s)", "(a{sv})"},
    {"org.freedesktop.DBus.Properties", "Set", "(ssv)", "()"},
    {"org.freedesktop.DBus.Introspectable", "Introspect", "()", "(s)"},
    {"org.credvault.SecretService1", "Describe", "()", "(a{sv})"},
    {"org.credvault.SecretService1", "Lock", "()", "()"},
    {"org.credvault.SecretService1", "Unlock", "((oayays))", "()"},
};

static const method *find_method(const char *interface, const char *member) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(methods[i].member, member) != 0) continue;
        if (!interface || strcmp(methods[i].interface, interface) == 0) return &methods[i];
    }
    return NULL;
}

// MARK: - The provider

struct cvp_provider {
    GDBusConnection *connection;
    GMainContext *context;
    GMainLoop *loop;
    pthread_t loop_thread;
    char *name;
    cvp_receiver receiver;
    void *receiver_context;
    pthread_mutex_t mutex;
    int stop_reason;
    int stopped_told;
};

struct cvp_call {
    cvp_provider *provider;
    GDBusMessage *message;
    const method *method;
    GVariant *arguments;
    /// Values handed out by cvp_call_argument and cvp_value_child/unwrap, released with the call.
    GPtrArray *borrowed;
    cvp_body *reply;
};

struct cvp_body {
    GVariantBuilder *builder;
};

/// Tells the receiver, once, that the provider stopped.
static void tell_stopped(cvp_provider *provider, int reason) {
    pthread_mutex_lock(&provider->mutex);
    int first = !provider->stopped_told;
    provider->stopped_told = 1;
    if (!provider->stop_reason) provider->stop_reason = reason;
    pthread_mutex_unlock(&provider->mutex);
    if (first) provider->receiver(provider->receiver_context, NULL);
}

static void send_error(GDBusConnection *connection, GDBusMessage *message, const char *name, const char *text) {
    if (p_g_dbus_message_get_flags(message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) return;
    GDBusMessage *reply = p_g_dbus_message_new_method_error_literal(message, name, text);
    p_g_dbus_connection_send_message(connection, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
    p_g_object_unref(reply);
}

static void send_empty_reply(GDBusConnection *connection, GDBusMessage *message) {
    if (p_g_dbus_message_get_flags(message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) return;
    GDBusMessage *reply = p_g_dbus_message_new_method_reply(message);
    p_g_dbus_connection_send_message(connection, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
    p_g_object_unref(reply);
}

/// Every incoming message passes here, on GDBus's worker thread. Method calls are taken (the
/// filter returns NULL); everything else goes on to GDBus.
static GDBusMessage *filter(GDBusConnection *connection, GDBusMessage *message, gboolean incoming, gpointer data) {
    cvp_provider *provider = data;
    if (!incoming) return message;
    GDBusMessageType type = p_g_dbus_message_get_message_type(message);
    if (type == G_DBUS_MESSAGE_TYPE_SIGNAL) {
        const char *member = p_g_dbus_message_get_member(message);
        const char *sender = p_g_dbus_message_get_sender(message);
        GVariant *body = p_g_dbus_message_get_body(message);
        if (member && sender && body && strcmp(sender, "org.freedesktop.DBus") == 0 && strcmp(member, "NameLost") == 0
            && strcmp(p_g_variant_get_type_string(body), "(s)") == 0) {
            GVariant *lost = p_g_variant_get_child_value(body, 0);
            int ours = strcmp(p_g_variant_get_string(lost, NULL), provider->name) == 0;
            p_g_variant_unref(lost);
            if (ours) tell_stopped(provider, 1);
        }
        return message;
    }
    if (type != G_DBUS_MESSAGE_TYPE_METHOD_CALL) return message;

    const char *interface = p_g_dbus_message_get_interface(message);
    const char *member = p_g_dbus_message_get_member(message);
    if (interface && strcmp(interface, "org.freedesktop.DBus.Peer") == 0) {
        if (strcmp(member, "Ping") == 0) send_empty_reply(connection, message);
        else send_error(connection, message, "org.freedesktop.DBus.Error.UnknownMethod", "only Ping is answered on org.freedesktop.DBus.Peer");
        p_g_object_unref(message);
        return NULL;
    }
    const method *known = find_method(interface, member);
    if (!known) {
        char text[512];
        snprintf(text, sizeof text, "no method %s.%s here", interface ? interface : "(no interface)", member);
        send_error(connection, message, "org.freedesktop.DBus.Error.UnknownMethod", text);
        p_g_object_unref(message);
        return NULL;
    }
    GVariant *body = p_g_dbus_message_get_body(message);
    const char *signature = body ? p_g_variant_get_type_string(body) : "()";
    if (strcmp(signature, known->in) != 0) {
        char text[512];
        snprintf(text, sizeof text, "%s.%s takes %s, not %s", known->interface, member, known->in, signature);
        send_error(connection, message, "org.freedesktop.DBus.Error.InvalidArgs", text);
        p_g_object_unref(message);
        return NULL;
    }
    cvp_call *call = calloc(1, sizeof *call);
    if (!call) {
        send_error(connection, message, "org.freedesktop.DBus.Error.NoMemory", "out of memory");
        p_g_object_unref(message);
        return NULL;
    }
    call->provider = provider;
    call->message = message;   // the filter's reference, released with the call
    call->method = known;
    call->arguments = body;
    call->borrowed = p_g_ptr_array_new_with_free_func((GDestroyNotify)p_g_variant_unref);
    provider->receiver(provider->receiver_context, call);
    return NULL;
}

static void on_closed(GDBusConnection *connection, gboolean remote, GError *error, gpointer data) {
    tell_stopped(data, 2);
}

static void *run_loop(void *data) {
    cvp_provider *provider = data;
    p_g_main_context_push_thread_default(provider->context);
    p_g_main_loop_run(provider->loop);
    p_g_main_context_pop_thread_default(provider->context);
    return NULL;
}

static void set_problem(char *problem, size_t size, const char *what, GError *error) {
    snprintf(problem, size, "%s: %s", what, error ? error->message : "unknown error");
    if (error) p_g_error_free(error);
}

/// The process id of the name's current owner, or 0.
static uint32_t owner_of(GDBusConnection *connection, const char *name) {
    GVariant *reply = p_g_dbus_connection_call_sync(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "GetConnectionUnixProcessID", p_g_variant_new("(s)", name), (const GVariantType *)"(u)", G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    if (!reply) return 0;
    GVariant *pid = p_g_variant_get_child_value(reply, 0);
    uint32_t value = p_g_variant_get_uint32(pid);
    p_g_variant_unref(pid);
    p_g_variant_unref(reply);
    return value;
}

cvp_start_result cvp_start(const char *name, int replace, cvp_receiver receiver, void *context,
                           cvp_provider **out, uint32_t *owner_pid, char *problem, size_t problem_size) {
    pthread_once(&once, load);
    if (!loaded) {
        snprintf(problem, problem_size, "GIO could not be loaded: %s", load_problem);
        return CVP_FAILED;
    }
    GError *error = NULL;
    gchar *address = p_g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SESSION, NULL, &error);
    if (!address) {
        set_problem(problem, problem_size, "no session bus", error);
        return CVP_FAILED;
    }
    cvp_provider *provider = calloc(1, sizeof *provider);
    provider->name = strdup(name);
    provider->receiver = receiver;
    provider->receiver_context = context;
    pthread_mutex_init(&provider->mutex, NULL);
    // The connection's signals ("closed") are dispatched in this context, by the loop thread.
    provider->context = p_g_main_context_new();
    provider->loop = p_g_main_loop_new(provider->context, FALSE);
    p_g_main_context_push_thread_default(provider->context);
    provider->connection = p_g_dbus_connection_new_for_address_sync(address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
    p_g_main_context_pop_thread_default(provider->context);
    p_g_free(address);
    if (!provider->connection) {
        set_problem(problem, problem_size, "cannot connect to the session bus", error);
        cvp_stop(provider);
        return CVP_FAILED;
    }
    p_g_signal_connect_data(provider->connection, "closed", (GCallback)on_closed, provider, NULL, 0);
    p_g_dbus_connection_add_filter(provider->connection, filter, provider, NULL);
    pthread_create(&provider->loop_thread, NULL, run_loop, provider);

    // DBUS_NAME_FLAG_ALLOW_REPLACEMENT (1), DBUS_NAME_FLAG_REPLACE_EXISTING (2), DBUS_NAME_FLAG_DO_NOT_QUEUE (4).
    guint32 flags = 1 | 4 | (replace ? 2 : 0);
    GVariant *reply = p_g_dbus_connection_call_sync(provider->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
        "org.freedesktop.DBus", "RequestName", p_g_variant_new("(su)", name, flags), (const GVariantType *)"(u)",
        G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
    if (!reply) {
        set_problem(problem, problem_size, "the bus refused the name", error);
        cvp_stop(provider);
        return CVP_FAILED;
    }
    GVariant *answer = p_g_variant_get_child_value(reply, 0);
    guint32 result = p_g_variant_get_uint32(answer);
    p_g_variant_unref(answer);
    p_g_variant_unref(reply);
    // DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER (1), _ALREADY_OWNER (4); _EXISTS (3) with DO_NOT_QUEUE.
    if (result != 1 && result != 4) {
        *owner_pid = owner_of(provider->connection, name);
        snprintf(problem, problem_size, "%s is owned by another program", name);
        cvp_stop(provider);
        return CVP_NAME_TAKEN;
    }
    *out = provider;
    return CVP_STARTED;
}

int cvp_stop_reason(const cvp_provider *provider) {
    pthread_mutex_lock((pthread_mutex_t *)&provider->mutex);
    int reason = provider->stop_reason;
    pthread_mutex_unlock((pthread_mutex_t *)&provider->mutex);
    return reason;
}

void cvp_stop(cvp_provider *provider) {
    if (!provider) return;
    if (provider->connection) {
        // Told first, so the "closed" signal that follows is not taken for the bus going away.
        pthread_mutex_lock(&provider->mutex);
        provider->stopped_told = 1;
        pthread_mutex_unlock(&provider->mutex);
        if (!p_g_dbus_connection_is_closed(provider->connection)) {
            GVariant *reply = p_g_dbus_connection_call_sync(provider->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus", "ReleaseName", p_g_variant_new("(s)", provider->name), NULL, G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
            if (reply) p_g_variant_unref(reply);
            p_g_dbus_connection_flush_sync(provider->connection, NULL, NULL);
            p_g_dbus_connection_close_sync(provider->connection, NULL, NULL);
        }
    }
    if (provider->loop_thread) {
        p_g_main_loop_quit(provider->loop);
        pthread_join(provider->loop_thread, NULL);
    }
    // The connection and the provider stay allocated: GDBus's worker may still hold the
    // filter's pointer to the provider until the process ends, which follows.
}

int64_t cvp_sender_uid(cvp_provider *provider, const char *sender) {
    GVariant *reply = p_g_dbus_connection_call_sync(provider->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "GetConnectionUnixUser", p_g_variant_new("(s)", sender), (const GVariantType *)"(u)", G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    if (!reply) return -1;
    GVariant *uid = p_g_variant_get_child_value(reply, 0);
    int64_t value = p_g_variant_get_uint32(uid);
    p_g_variant_unref(uid);
    p_g_variant_unref(reply);
    return value;
}

// MARK: - A call

const char *cvp_call_sender(const cvp_call *call) { return p_g_dbus_message_get_sender(call->message); }
const char *cvp_call_path(const cvp_call *call) { return p_g_dbus_message_get_path(call->message); }
const char *cvp_call_interface(const cvp_call *call) { return call->method->interface; }
const char *cvp_call_member(const cvp_call *call) { return call->method->member; }

static const cvp_value *borrow(cvp_call *call, GVariant *value) {
    p_g_ptr_array_add(call->borrowed, value);
    return (const cvp_value *)value;
}

const cvp_value *cvp_call_argument(cvp_call *call, size_t index) {
    if (!call->arguments || index >= p_g_variant_n_children(call->arguments)) return NULL;
    return borrow(call, p_g_variant_get_child_value(call->arguments, index));
}

cvp_body *cvp_call_reply(cvp_call *call) {
    if (!call->reply) {
        call->reply = calloc(1, sizeof *call->reply);
        call->reply->builder = p_g_variant_builder_new((const GVariantType *)"r");
    }
    return call->reply;
}

static void free_call(cvp_call *call) {
    if (call->reply) {
        p_g_variant_builder_unref(call->reply->builder);
        free(call->reply);
    }
    p_g_ptr_array_unref(call->borrowed);
    p_g_object_unref(call->message);
    free(call);
}

int cvp_call_return(cvp_call *call) {
    GVariant *body = p_g_variant_builder_end(cvp_call_reply(call)->builder);
    const char *built = p_g_variant_get_type_string(body);
    if (strcmp(built, call->method->out) != 0) {
        char text[512];
        snprintf(text, sizeof text, "the provider built %s for %s.%s, which returns %s", built, call->method->interface, call->method->member, call->method->out);
        p_g_variant_unref(p_g_variant_ref_sink(body));
        send_error(call->provider->connection, call->message, "org.freedesktop.DBus.Error.Failed", text);
        free_call(call);
        return 0;
    }
    if (!(p_g_dbus_message_get_flags(call->message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED)) {
        GDBusMessage *reply = p_g_dbus_message_new_method_reply(call->message);
        p_g_dbus_message_set_body(reply, body);
        p_g_dbus_connection_send_message(call->provider->connection, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
        p_g_object_unref(reply);
    } else {
        p_g_variant_unref(p_g_variant_ref_sink(body));
    }
    free_call(call);
    return 1;
}

void cvp_call_fail(cvp_call *call, const char *name, const char *message) {
    send_error(call->provider->connection, call->message, name, message);
    free_call(call);
}

// MARK: - Reading values

const char *cvp_value_type(const cvp_value *value) { return p_g_variant_get_type_string((GVariant *)value); }

const char *cvp_value_string(const cvp_value *value) { return p_g_variant_get_string((GVariant *)value, NULL); }

int cvp_value_bool(const cvp_value *value) { return p_g_variant_get_boolean((GVariant *)value) ? 1 : 0; }

const uint8_t *cvp_value_bytes(const cvp_value *value, size_t *count) {
    gsize n = 0;
    const uint8_t *bytes = p_g_variant_get_fixed_array((GVariant *)value, &n, 1);
    *count = n;
    return bytes;
}

size_t cvp_value_count(const cvp_value *value) { return p_g_variant_n_children((GVariant *)value); }

const cvp_value *cvp_value_child(cvp_call *call, const cvp_value *value, size_t index) {
    if (index >= p_g_variant_n_children((GVariant *)value)) return NULL;
    return borrow(call, p_g_variant_get_child_value((GVariant *)value, index));
}

const cvp_value *cvp_value_unwrap(cvp_call *call, const cvp_value *value) {
    return borrow(call, p_g_variant_get_variant((GVariant *)value));
}

// MARK: - Building bodies

cvp_body *cvp_body_new(void) {
    pthread_once(&once, load);
    cvp_body *body = calloc(1, sizeof *body);
    body->builder = p_g_variant_builder_new((const GVariantType *)"r");
    return body;
}

void cvp_body_open(cvp_body *body, const char *type) { p_g_variant_builder_open(body->builder, (const GVariantType *)type); }
void cvp_body_close(cvp_body *body) { p_g_variant_builder_close(body->builder); }
void cvp_body_string(cvp_body *body, const char *text) { p_g_variant_builder_add_value(body->builder, p_g_variant_new_string(text)); }
void cvp_body_path(cvp_body *body, const char *path) { p_g_variant_builder_add_value(body->builder, p_g_variant_new_object_path(path)); }
void cvp_body_bool(cvp_body *body, int value) { p_g_variant_builder_add_value(body->builder, p_g_variant_new_boolean(value != 0)); }
void cvp_body_uint64(cvp_body *body, uint64_t value) { p_g_variant_builder_add_value(body->builder, p_g_variant_new_uint64(value)); }

void cvp_body_bytes(cvp_body *body, const uint8_t *bytes, size_t count) {
    p_g_variant_builder_add_value(body->builder, p_g_variant_new_fixed_array((const GVariantType *)"y", bytes, count, 1));
}

void cvp_emit(cvp_provider *provider, const char *path, const char *interface, const char *member, cvp_body *body) {
    GVariant *parameters = p_g_variant_builder_end(body->builder);
    p_g_variant_builder_unref(body->builder);
    free(body);
    // Takes the floating reference of the parameters.
    p_g_dbus_connection_emit_signal(provider->connection, NULL, path, interface, member, parameters, NULL);
}
