// CSecretServiceLoader declares the libsecret and GLib types, constants and functions it
// uses itself, so that credvault need not link libsecret. Here they meet the real headers:
// every constant, every struct layout, and every forwarded function's signature must match,
// or this target (and so the test build) does not compile.
#include "libsecret_abi_check.h"
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>
#include <stddef.h>
#include "../../Sources/CSecretServiceLoader/include/credvault_libsecret.h"

#define SAME(a, b) _Static_assert((long)(a) == (long)(b), #a " must equal " #b);

SAME(CVS_SECRET_SERVICE_OPEN_SESSION, SECRET_SERVICE_OPEN_SESSION)
SAME(CVS_SECRET_SEARCH_NONE, SECRET_SEARCH_NONE)
SAME(CVS_SECRET_SEARCH_ALL, SECRET_SEARCH_ALL)
SAME(CVS_SECRET_SEARCH_LOAD_SECRETS, SECRET_SEARCH_LOAD_SECRETS)
SAME(CVS_SECRET_COLLECTION_NONE, SECRET_COLLECTION_NONE)
SAME(CVS_SECRET_COLLECTION_LOAD_ITEMS, SECRET_COLLECTION_LOAD_ITEMS)
SAME(CVS_SECRET_ITEM_NONE, SECRET_ITEM_NONE)
SAME(CVS_SECRET_ITEM_LOAD_SECRET, SECRET_ITEM_LOAD_SECRET)
SAME(CVS_SECRET_ITEM_CREATE_REPLACE, SECRET_ITEM_CREATE_REPLACE)
SAME(CVS_SECRET_ERROR_IS_LOCKED, SECRET_ERROR_IS_LOCKED)
SAME(CVS_SECRET_ERROR_NO_SUCH_OBJECT, SECRET_ERROR_NO_SUCH_OBJECT)
SAME(CVS_G_IO_ERROR_CANCELLED, G_IO_ERROR_CANCELLED)
SAME(CVS_G_DBUS_ERROR_SERVICE_UNKNOWN, G_DBUS_ERROR_SERVICE_UNKNOWN)
SAME(CVS_G_DBUS_ERROR_NAME_HAS_NO_OWNER, G_DBUS_ERROR_NAME_HAS_NO_OWNER)
SAME(CVS_G_DBUS_CALL_FLAGS_NO_AUTO_START, G_DBUS_CALL_FLAGS_NO_AUTO_START)

SAME(sizeof(cvs_gboolean), sizeof(gboolean))
SAME(sizeof(cvs_GQuark), sizeof(GQuark))
SAME(sizeof(cvs_GError), sizeof(GError))
SAME(offsetof(cvs_GError, domain), offsetof(GError, domain))
SAME(offsetof(cvs_GError, code), offsetof(GError, code))
SAME(offsetof(cvs_GError, message), offsetof(GError, message))
SAME(sizeof(cvs_GList), sizeof(GList))
SAME(offsetof(cvs_GList, data), offsetof(GList, data))
SAME(offsetof(cvs_GList, next), offsetof(GList, next))
SAME(offsetof(cvs_GList, prev), offsetof(GList, prev))

// Each forwarded function: the real one's return type and parameter count and sizes must
// match the mirror's. A call with the mirror's argument list, cast to the real types, is
// type-checked against the real prototype; __typeof__ of the real function's result must
// have the mirror's size.
#define CHECK_FUNCTION(ret, name, params, args) SAME(sizeof(ret), sizeof(__typeof__(name args)))
#define CHECK_FUNCTION_VOID(name, params, args)
// Argument names used by the mirror's argument lists, as the real types (never evaluated).
#define flags 0
static SecretService *service; static GCancellable *cancellable; static GError **error; static const gchar *alias;
static GList *objects; static GList **unlocked; static const gchar *secret; static gssize length; static const gchar *content_type;
static SecretCollection *collection; static const SecretSchema *schema; static GHashTable *attributes; static const gchar *label;
static SecretValue *value; static gpointer proxy; static SecretItem *item; static gchar ***unlocked_paths, ***locked_paths;
static const gchar *path; static gsize *length_out; static const GError *remote_error;
static const gchar **paths; static gchar ***unlocked_strings;
CVS_FUNCTIONS(CHECK_FUNCTION, CHECK_FUNCTION_VOID)
#undef flags

int cvs_abi_checks(void) { return 25 + 27; }
