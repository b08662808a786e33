// Starts connecting to the Secret Service while the rest of credvault starts (see
// credvault_startup.h). A `get` on the keyring spends about 5 ms in dynamic loading and
// Swift start-up before it reaches the probe, and the probe then spends about 2 ms loading
// libsecret and several more connecting and negotiating the transfer session
// (Diffie-Hellman); with this constructor the two run side by side.
#include "credvault_startup.h"
#include "credvault_libsecret.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/// The value of `name` in `envp`, or NULL.
static const char *variable(char *const *envp, const char *name) {
    size_t length = strlen(name);
    for (; envp && *envp; envp++) {
        if (strncmp(*envp, name, length) == 0 && (*envp)[length] == '=') return *envp + length + 1;
    }
    return NULL;
}

/// Whether the config file at `path` may choose a backend: a `backend = …` line, a line
/// VaultConfiguration.parse would reject, or a file that cannot be read. No file: 0.
static int config_may_choose_backend(const char *path) {
    FILE *file = fopen(path, "re");
    if (!file) return access(path, F_OK) == 0; // there but unreadable: let the selector say so
    char line[4096];
    int result = 0;
    while (!result && fgets(line, sizeof line, file)) {
        size_t length = strlen(line);
        if (length == sizeof line - 1 && line[length - 1] != '\n') { result = 1; break; } // longer than we look at
        char *start = line, *end = line + length;
        while (end > start && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
        while (start < end && (*start == ' ' || *start == '\t')) start++;
        if (start == end || *start == '#') continue;
        char *equals = memchr(start, '=', (size_t)(end - start));
        if (!equals) { result = 1; break; }
        char *keyEnd = equals;
        while (keyEnd > start && (keyEnd[-1] == ' ' || keyEnd[-1] == '\t')) keyEnd--;
        if ((size_t)(keyEnd - start) == 7 && memcmp(start, "backend", 7) == 0) result = 1;
    }
    if (ferror(file)) result = 1;
    fclose(file);
    return result;
}

int cvs_startup_will_probe_keyring(int argc, char *const *argv, char *const *envp) {
    if (argc < 1 || !argv[0]) return 0;
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (strcmp(name, "credvault") != 0) return 0; // the helpers' names speak other protocols
    const char *app = "credvault";
    const char *words[3];
    int count = 0, resolveOptions = 0;
    for (int index = 1; index < argc; index++) {
        const char *argument = argv[index];
        if (strcmp(argument, "--app") == 0 && index + 1 < argc) { app = argv[++index]; continue; }
        if (strncmp(argument, "--app=", 6) == 0) { app = argument + 6; continue; }
        if (strcmp(argument, "-q") == 0 || strcmp(argument, "--quiet") == 0 ||
            strcmp(argument, "-v") == 0 || strcmp(argument, "--verbose") == 0) continue;
        // `auth resolve` options that change its output, not whether it opens the vault.
        if (strcmp(argument, "--raw") == 0 || strncmp(argument, "--workspace=", 12) == 0) { resolveOptions = 1; continue; }
        if (strcmp(argument, "--workspace") == 0 && index + 1 < argc) { resolveOptions = 1; index++; continue; }
        if (argument[0] == '-' || argument[0] == '\0' || count == 3) return 0;
        words[count++] = argument;
    }
    int get = count == 3 && strcmp(words[0], "get") == 0 && !resolveOptions;
    // `auth resolve` opens the vault before it looks at any source (AuthSession).
    int resolve = count == 2 && strcmp(words[0], "auth") == 0 && strcmp(words[1], "resolve") == 0;
    if (!get && !resolve) return 0;

    // <APP>: the app name (lower-case letters, digits, '-', '_', starting with a letter) in
    // upper case with '-' as '_' (AppProfile.environmentPrefix).
    size_t length = strlen(app);
    if (length == 0 || length > 64 || app[0] < 'a' || app[0] > 'z') return 0;
    char prefix[80];
    for (size_t i = 0; i < length; i++) {
        char c = app[i];
        if (c >= 'a' && c <= 'z') prefix[i] = (char)(c - 32);
        else if ((c >= '0' && c <= '9') || c == '_') prefix[i] = c;
        else if (c == '-') prefix[i] = '_';
        else return 0;
    }
    prefix[length] = '\0';
    char name_buffer[128];
    snprintf(name_buffer, sizeof name_buffer, "%s_BACKEND", prefix);
    const char *backend = variable(envp, name_buffer);
    if (backend && *backend) return 0;

    // A session bus (SecretServiceBackend.busProblem).
    const char *bus = variable(envp, "DBUS_SESSION_BUS_ADDRESS");
    if (!bus || !*bus) {
        const char *runtime = variable(envp, "XDG_RUNTIME_DIR");
        char path[4096];
        if (!runtime || !*runtime || snprintf(path, sizeof path, "%s/bus", runtime) >= (int)sizeof path || access(path, F_OK) != 0) return 0;
    }

    // No `backend` line in the app's config file (BackendContext.directory(for:environment:)).
    char config[4096];
    snprintf(name_buffer, sizeof name_buffer, "%s_HOME", prefix);
    const char *home = variable(envp, name_buffer);
    const char *xdg = variable(envp, "XDG_CONFIG_HOME");
    const char *user = variable(envp, "HOME");
    int written;
    if (home && *home) written = snprintf(config, sizeof config, "%s/config", home);
    else if (xdg && xdg[0] == '/') written = snprintf(config, sizeof config, "%s/%s/config", xdg, app);
    else if (user && *user) written = snprintf(config, sizeof config, "%s/.config/%s/config", user, app);
    else return 0;
    if (written < 0 || written >= (int)sizeof config || config_may_choose_backend(config)) return 0;
    return 1;
}

/// Runs before main(): glibc passes constructors the program's argc, argv and environment.
__attribute__((constructor)) static void credvault_startup(int argc, char **argv, char **envp) {
    if (cvs_startup_will_probe_keyring(argc, argv, envp)) cvs_prefetch_service();
}
