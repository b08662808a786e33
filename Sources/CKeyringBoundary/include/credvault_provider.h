// The Secret Service provider's D-Bus plumbing: `credvault secret-service` owns
// org.freedesktop.secrets on the session bus through GDBus (GIO), and this header is all the
// Swift side sees of it. provider.c connects, owns the name, receives every method call
// addressed to the provider, checks its arguments against the signature the Secret Service
// specification gives the method, and hands it over as a cvp_call; the Swift side reads the
// arguments (cvp_value), builds the answer (cvp_body) and returns it.
//
// Like keyring.c, provider.c calls GIO only through pointers filled by dlsym on first use
// (libgio-2.0.so.0), so nothing links GLib. No GLib type crosses this header.
#ifndef CREDVAULT_PROVIDER_H
#define CREDVAULT_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

/// The provider's connection to the bus (opaque).
typedef struct cvp_provider cvp_provider;
/// One method call received, with its reply being built (opaque).
typedef struct cvp_call cvp_call;
/// A value inside a call's arguments, borrowed from the call: valid until the call is
/// returned or failed (opaque).
typedef struct cvp_value cvp_value;
/// A message body being built: a reply's out arguments or a signal's (opaque).
typedef struct cvp_body cvp_body;

/// Receives each method call, on GDBus's own thread, in the order they arrived; `call` is
/// NULL once, when the provider stopped (its name was taken over, or the bus went away).
/// The receiver must not block: it queues the call and returns.
typedef void (*cvp_receiver)(void *context, cvp_call *call);

/// What cvp_start found.
typedef enum {
    CVP_STARTED = 0,
    /// GIO could not be loaded, or the bus could not be reached; the problem says why.
    CVP_FAILED = 1,
    /// Another program owns the name and `replace` was 0; `owner_pid` names it (0 if unknown).
    CVP_NAME_TAKEN = 2,
} cvp_start_result;

/// Connects to the session bus (g_dbus_address_get_for_bus_sync,
/// g_dbus_connection_new_for_address_sync), installs the filter that receives method calls
/// (g_dbus_connection_add_filter) and asks for `name` (org.freedesktop.DBus.RequestName,
/// allowing replacement, replacing the current owner if `replace`). Calls go to `receiver`.
cvp_start_result cvp_start(const char *name, int replace, cvp_receiver receiver, void *context,
                           cvp_provider **provider, uint32_t *owner_pid, char *problem, size_t problem_size);

/// Why the provider stopped: 1 when its name was taken over by another program
/// (--replace), 2 when the bus connection closed, 0 while it runs.
int cvp_stop_reason(const cvp_provider *provider);

/// Releases the name, flushes what is queued and closes the connection.
void cvp_stop(cvp_provider *provider);

/// The uid of the process behind the unique bus name `sender`
/// (org.freedesktop.DBus.GetConnectionUnixUser), or -1 when the bus does not say.
int64_t cvp_sender_uid(cvp_provider *provider, const char *sender);

// MARK: - A call

const char *cvp_call_sender(const cvp_call *call);
const char *cvp_call_path(const cvp_call *call);
/// The interface, as the table of known methods names it (a call without one is matched by member).
const char *cvp_call_interface(const cvp_call *call);
const char *cvp_call_member(const cvp_call *call);
/// The call's `index`-th argument (its type is the one the method's signature gives).
const cvp_value *cvp_call_argument(cvp_call *call, size_t index);

/// The body the reply is built into: append the method's out arguments in order.
cvp_body *cvp_call_reply(cvp_call *call);
/// Sends the reply built (g_dbus_connection_send_message) and frees the call. When the body
/// does not have the method's out signature, an org.freedesktop.DBus.Error.Failed is sent
/// instead and 0 returned.
int cvp_call_return(cvp_call *call);
/// Sends the D-Bus error `name` with `message` and frees the call.
void cvp_call_fail(cvp_call *call, const char *name, const char *message);

// MARK: - Reading values

/// The value's D-Bus type string ("s", "ao", "a{ss}", "v"…).
const char *cvp_value_type(const cvp_value *value);
/// A string or an object path.
const char *cvp_value_string(const cvp_value *value);
int cvp_value_bool(const cvp_value *value);
/// The bytes of an `ay`, and their count.
const uint8_t *cvp_value_bytes(const cvp_value *value, size_t *count);
/// The number of children of an array, a tuple or a dict entry.
size_t cvp_value_count(const cvp_value *value);
/// A child of an array, a tuple or a dict entry (a dict entry's children are key, value).
const cvp_value *cvp_value_child(cvp_call *call, const cvp_value *value, size_t index);
/// What a variant holds.
const cvp_value *cvp_value_unwrap(cvp_call *call, const cvp_value *value);

// MARK: - Building bodies

/// An empty body for a signal.
cvp_body *cvp_body_new(void);
/// Opens a container: "a{sv}", "a{ss}", "ao", "{sv}", "{ss}", "v", "(oayays)", "a{o(oayays)}"…
void cvp_body_open(cvp_body *body, const char *type);
void cvp_body_close(cvp_body *body);
void cvp_body_string(cvp_body *body, const char *text);
void cvp_body_path(cvp_body *body, const char *path);
void cvp_body_bool(cvp_body *body, int value);
void cvp_body_uint64(cvp_body *body, uint64_t value);
void cvp_body_bytes(cvp_body *body, const uint8_t *bytes, size_t count);

/// Emits the signal `interface`.`member` from `path` with `body` (consumed)
/// (g_dbus_connection_emit_signal).
void cvp_emit(cvp_provider *provider, const char *path, const char *interface, const char *member, cvp_body *body);

#endif
