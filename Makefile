# Build, install and uninstall credvault, its helper links, shell completions and man page.
#
#   make install                      # release build, installed under /usr/local
#   make install PREFIX=$HOME/.local  # or anywhere else
#   make uninstall PREFIX=...         # removes exactly what install put there
#   make deb                          # a Debian package in .build-deb/ (dpkg-deb)
#
# DESTDIR is honoured for staged installs. BINARY=path installs an already built binary
# and GENERATE_MANUAL=path uses an already built generate-manual, without running swift
# (the tests do that, since SwiftPM holds its build lock while tests run).

PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
SWIFT ?= swift
# A static Swift runtime, and no exported symbols (see scripts/release-exports.map); make
# install strips the binary it installs.
SWIFT_BUILD_FLAGS ?= --static-swift-stdlib -Xlinker --version-script=$(CURDIR)/scripts/release-exports.map
MANUAL_DATE ?= $(shell date -u +%Y-%m-%d)

ROOT := $(DESTDIR)$(PREFIX)
BINDIR := $(ROOT)/bin
BASHDIR := $(ROOT)/share/bash-completion/completions
ZSHDIR := $(ROOT)/share/zsh/site-functions
FISHDIR := $(ROOT)/share/fish/vendor_completions.d
MANDIR := $(ROOT)/share/man/man1
DOCDIR := $(ROOT)/share/doc/credvault
# The Secret Service provider's D-Bus activation file and systemd user unit. For a PREFIX
# under your home, point SYSTEMD_USER_DIR at ~/.config/systemd/user.
DBUSDIR := $(ROOT)/share/dbus-1/services
SYSTEMD_USER_DIR ?= $(ROOT)/lib/systemd/user
# Directories install may create, deepest first, so uninstall can remove the empty ones.
CREATED_DIRS := $(BASHDIR) $(ROOT)/share/bash-completion $(ZSHDIR) $(ROOT)/share/zsh $(FISHDIR) $(ROOT)/share/fish \
	$(MANDIR) $(ROOT)/share/man $(DOCDIR) $(ROOT)/share/doc $(DBUSDIR) $(ROOT)/share/dbus-1 $(ROOT)/share \
	$(SYSTEMD_USER_DIR) $(ROOT)/lib/systemd $(ROOT)/lib $(BINDIR)

ifeq ($(origin BINARY), undefined)
BINARY = $(shell $(SWIFT) build -c $(CONFIGURATION) --show-bin-path)/credvault
BUILD_STEP = $(SWIFT) build -c $(CONFIGURATION) --product credvault $(SWIFT_BUILD_FLAGS) 2>&1 | grep -v 'prohibited flag'; test -x "$(BINARY)"
else
BUILD_STEP = test -x "$(BINARY)"
endif
ifeq ($(origin GENERATE_MANUAL), undefined)
GENERATE_MANUAL = $(shell $(SWIFT) build --show-bin-path)/generate-manual
MANUAL_TOOL_STEP = $(SWIFT) build --product generate-manual 2>&1 | grep -v 'prohibited flag' | tail -n 1
else
MANUAL_TOOL_STEP = test -x "$(GENERATE_MANUAL)"
endif
STAGE ?= .build-install

.PHONY: all build print-binary manual completions install uninstall deb

all: build

build:
	$(BUILD_STEP)

# The path of the release binary `build` makes (for bench/run and bench/compare).
print-binary:
	@echo "$(BINARY)"

# The man page and completions come from the argument definitions (swift-argument-parser's
# generate-manual tool and --generate-completion-script).
manual: build
	$(MANUAL_TOOL_STEP)
	mkdir -p $(STAGE)
	"$(GENERATE_MANUAL)" "$(BINARY)" --date $(MANUAL_DATE) --output-directory $(STAGE)

completions: build
	mkdir -p $(STAGE)
	"$(BINARY)" --generate-completion-script bash > $(STAGE)/credvault.bash
	"$(BINARY)" --generate-completion-script zsh > $(STAGE)/_credvault
	"$(BINARY)" --generate-completion-script fish > $(STAGE)/credvault.fish

install: build manual completions
	install -d "$(BINDIR)" "$(BASHDIR)" "$(ZSHDIR)" "$(FISHDIR)" "$(MANDIR)" "$(DOCDIR)"
	# Stripped: the symbol table and debug sections are not needed to run (Swift's
	# runtime metadata stays), and they are most of the file.
	install -m 0755 -s "$(BINARY)" "$(BINDIR)/credvault"
	ln -sf credvault "$(BINDIR)/git-credential-credvault"
	ln -sf credvault "$(BINDIR)/docker-credential-credvault"
	# A completion file is sourced, not run: no #! line.
	sed '1{/^#!/d}' $(STAGE)/credvault.bash > $(STAGE)/credvault.bash.sourced
	install -m 0644 $(STAGE)/credvault.bash.sourced "$(BASHDIR)/credvault"
	install -m 0644 $(STAGE)/_credvault "$(ZSHDIR)/_credvault"
	install -m 0644 $(STAGE)/credvault.fish "$(FISHDIR)/credvault.fish"
	install -m 0644 $(STAGE)/credvault.1 "$(MANDIR)/credvault.1"
	install -m 0644 README.md SECURITY.md docs/FORMAT.md "$(DOCDIR)/"
	# The provider's start-up files name the installed binary ($(PREFIX)/bin, without DESTDIR).
	install -d "$(DBUSDIR)" "$(SYSTEMD_USER_DIR)"
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/dbus/org.freedesktop.secrets.credvault.service.in > $(STAGE)/org.freedesktop.secrets.credvault.service
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/systemd/credvault-secret-service.service.in > $(STAGE)/credvault-secret-service.service
	install -m 0644 $(STAGE)/org.freedesktop.secrets.credvault.service "$(DBUSDIR)/org.freedesktop.secrets.credvault.service"
	install -m 0644 $(STAGE)/credvault-secret-service.service "$(SYSTEMD_USER_DIR)/credvault-secret-service.service"

uninstall:
	rm -f "$(BINDIR)/credvault" "$(BINDIR)/git-credential-credvault" "$(BINDIR)/docker-credential-credvault" \
		"$(BASHDIR)/credvault" "$(ZSHDIR)/_credvault" "$(FISHDIR)/credvault.fish" "$(MANDIR)/credvault.1" \
		"$(DOCDIR)/README.md" "$(DOCDIR)/SECURITY.md" "$(DOCDIR)/FORMAT.md" \
		"$(DBUSDIR)/org.freedesktop.secrets.credvault.service" "$(SYSTEMD_USER_DIR)/credvault-secret-service.service"
	for dir in $(CREATED_DIRS); do if [ -d "$$dir" ]; then rmdir "$$dir" 2>/dev/null || true; fi; done

# A Debian package of the release build under /usr: .build-deb/credvault_<version>_<arch>.deb.
DEB_VERSION = $(shell "$(BINARY)" --version)
DEB_ARCH = $(shell dpkg --print-architecture)
deb: build
	$(MANUAL_TOOL_STEP)
	rm -rf .build-deb/root
	$(MAKE) install PREFIX=/usr DESTDIR=$(CURDIR)/.build-deb/root BINARY="$(BINARY)" GENERATE_MANUAL="$(GENERATE_MANUAL)"
	# Debian's rules for what a package carries (checked by lintian in the tests): the man page
	# compressed, the copyright file, the changelog of this version, compressed.
	test "$$(sed -n '1s/^credvault (\([^)]*\)).*/\1/p' packaging/debian/changelog)" = "$(DEB_VERSION)" || \
		{ echo "packaging/debian/changelog does not start with version $(DEB_VERSION); add its entry first" >&2; exit 1; }
	gzip -9n .build-deb/root/usr/share/man/man1/credvault.1
	ln -s credvault.1.gz .build-deb/root/usr/share/man/man1/git-credential-credvault.1.gz
	ln -s credvault.1.gz .build-deb/root/usr/share/man/man1/docker-credential-credvault.1.gz
	install -d .build-deb/root/usr/share/lintian/overrides
	install -m 0644 packaging/debian/lintian-overrides .build-deb/root/usr/share/lintian/overrides/credvault
	install -m 0644 packaging/debian/copyright .build-deb/root/usr/share/doc/credvault/copyright
	gzip -9n -c packaging/debian/changelog > .build-deb/root/usr/share/doc/credvault/changelog.gz
	chmod 0644 .build-deb/root/usr/share/doc/credvault/changelog.gz
	mkdir -p .build-deb/root/DEBIAN .build-deb/shlibs/debian
	# Depends as dpkg-shlibdeps computes it from the binary's NEEDED libraries and their
	# shlibs/symbols files (it needs a debian/control to run in).
	printf 'Source: credvault\n\nPackage: credvault\nArchitecture: any\n' > .build-deb/shlibs/debian/control
	cd .build-deb/shlibs && dpkg-shlibdeps -O -e../root/usr/bin/credvault | sed -n 's/^shlibs:Depends=//p' > ../depends
	test -s .build-deb/depends
	printf '%s\n' \
		'Package: credvault' \
		'Version: $(DEB_VERSION)' \
		'Architecture: $(DEB_ARCH)' \
		'Maintainer: CredentialVault developers <credvault@users.noreply.github.com>' \
		"Depends: $$(cat .build-deb/depends)" \
		'Recommends: libsecret-1-0, gnome-keyring' \
		'Section: utils' \
		'Priority: optional' \
		'Description: credential store for Linux: Secret Service keyring, hardened file fallback' \
		' credvault keeps credentials in the freedesktop Secret Service keyring, falls' \
		' back to a 0600 file (optionally password-protected) and serves the git and' \
		' docker credential-helper protocols. On a machine without a desktop keyring,' \
		' `credvault secret-service` serves the Secret Service API itself (a systemd' \
		' user unit and a D-Bus activation file are included).' > .build-deb/root/DEBIAN/control
	cd .build-deb/root && find usr -type f | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums
	dpkg-deb -Zgzip --root-owner-group --build .build-deb/root .build-deb/credvault_$(DEB_VERSION)_$(DEB_ARCH).deb
