// What the credvault executable does before Swift's runtime and main() start.
#ifndef CREDVAULT_STARTUP_H
#define CREDVAULT_STARTUP_H

/// Whether this run will certainly probe the Secret Service first, so that connecting to it
/// can start at once (1) or not (0). True only for `credvault [--app NAME] [-q] [-v] get
/// SERVICE ACCOUNT` when automatic selection is certain (no --backend or other option, no
/// <APP>_BACKEND, no `backend` line in the app's config file) and there is a session bus: then
/// the first probe would make exactly the same D-Bus calls, so starting them early changes
/// nothing but the time they take. Anything else (a config file that cannot be read
/// or that the real parser would reject included) answers 0 and leaves the decision to the
/// real parser and selector.
int cvs_startup_will_probe_keyring(int argc, char *const *argv, char *const *envp);

#endif
