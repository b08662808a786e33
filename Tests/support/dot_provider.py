#!/usr/bin/env python3
"""dot_provider: a throwaway django-oauth-toolkit OAuth 2.0 server on 127.0.0.1, the second
real provider of the login-flow tests (Glewlwyd is the first). Not a mock: the real
library (pinned by hash in Tests/support/dot-requirements.txt, installed into
.build-oauth-dot by scripts/install-system-packages test), its own views and database.

    dot_provider.py serve WORKDIR
        migrate a fresh SQLite database, create the person (user1) and the public client
        credvault-cli (device-code grant), serve on a free port, print PORT=<port>
    dot_provider.py approve BASE USER_CODE [accept|deny]
        play the person with a browser: log in, enter the code, press the button

The server is a plain OAuth 2.0 authorization server, unlike Glewlwyd: no OpenID Connect,
no ID token, opaque access tokens, RFC 8414 metadata only (at the origin's
/.well-known/oauth-authorization-server, issuer = the origin) which names the token and
revocation endpoints but not the device authorization endpoint, so a client must be told
that one. Device code 60 s, poll interval 1 s, access token ACCESS_SECONDS (default 60),
rotating refresh tokens, RFC 7009 revocation.
"""
import http.cookiejar
import os
import re
import socketserver
import sys
import urllib.parse
import urllib.request
import wsgiref.simple_server

USER, PASSWORD = "user1", "password-of-user1"
CLIENT_ID = "credvault-cli"


def configure(work, base):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        # Server errors go to stderr (the harness keeps it in the test's log).
        LOGGING={"version": 1, "handlers": {"stderr": {"class": "logging.StreamHandler"}},
                 "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}}},
        SECRET_KEY="test-only-django-key-not-a-secret-0001",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "oauth2_provider"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.middleware.csrf.CsrfViewMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                    "DIRS": [os.path.join(work, "templates")],
                    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                       "django.contrib.auth.context_processors.auth"]}}],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(work, "db.sqlite3")}},
        USE_TZ=True,
        LOGIN_URL="/accounts/login/",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        OAUTH2_PROVIDER={
            "SCOPES": {"openid": "OpenID", "cli": "The command line"},
            "DEFAULT_SCOPES": ["cli"],
            "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESS_SECONDS", "60")),
            "DEVICE_FLOW_INTERVAL": 1,
            "OAUTH_DEVICE_VERIFICATION_URI": base + "/o/device/",
            "ROTATE_REFRESH_TOKEN": True,
                    },
    )
    django.setup()


def urls():
    from django.contrib.auth import views as auth_views
    from django.urls import include, path
    from oauth2_provider import urls as oauth_urls

    return [
        path("", include(oauth_urls.metadata_urlpatterns)),
        path("o/", include((oauth_urls.base_urlpatterns, "oauth2_provider"))),
        path("accounts/login/", auth_views.LoginView.as_view(template_name="login.html")),
    ]


def provision(work):
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user(USER, password=PASSWORD)
    Application = get_application_model()
    Application.objects.create(client_id=CLIENT_ID, name="credvault", client_type=Application.CLIENT_PUBLIC,
                               authorization_grant_type=Application.GRANT_DEVICE_CODE, client_secret="")


class ThreadingServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve(work):
    os.makedirs(os.path.join(work, "templates"), exist_ok=True)
    # The login page (django-oauth-toolkit ships the device pages, not a login page).
    with open(os.path.join(work, "templates", "login.html"), "w") as page:
        page.write('<form method="post">{% csrf_token %}{{ form.as_p }}'
                   '<input type="hidden" name="next" value="{{ next }}"><button>Log in</button></form>')
    application = []
    # Bound first: the verification URI the server hands out names its own port.
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, lambda environ, start: application[0](environ, start),
                                              ThreadingServer, QuietHandler)
    port = server.server_address[1]
    configure(work, f"http://127.0.0.1:{port}")
    globals()["urlpatterns"] = urls()  # ROOT_URLCONF is this module
    provision(work)
    from django.core.wsgi import get_wsgi_application

    application.append(get_wsgi_application())
    print(f"PORT={port}", flush=True)
    server.serve_forever()


class Browser:
    """A person's browser: cookies, forms with their CSRF token, redirects followed."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.geturl(), response.read().decode()

    def submit(self, path, fields):
        _, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise SystemExit(f"no form at {path}: {page[:300]}")
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=10) as response:
            return response.geturl(), response.read().decode()


def approve(base, code, action):
    browser = Browser(base)
    browser.submit("/accounts/login/", {"username": USER, "password": PASSWORD, "next": "/o/device/"})
    url, page = browser.submit("/o/device/", {"user_code": code})
    if "/o/device-confirm/" not in url:
        raise SystemExit(f"the code was not taken: {url} {page[:300]}")
    url, _ = browser.submit(urllib.parse.urlparse(url).path, {"action": action})
    print(f"DONE={url}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "approve":
        approve(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else "accept")
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
