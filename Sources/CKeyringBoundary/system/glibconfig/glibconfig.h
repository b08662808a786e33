// GLib's glibconfig.h lives in an architecture's own directory (Debian multiarch); this picks
// the one for the architecture being compiled for.
#if defined(__x86_64__)
#include "/usr/lib/x86_64-linux-gnu/glib-2.0/include/glibconfig.h"
#elif defined(__aarch64__)
#include "/usr/lib/aarch64-linux-gnu/glib-2.0/include/glibconfig.h"
#else
#error "add this architecture's glibconfig.h (pkg-config --cflags glib-2.0 names its directory)"
#endif
