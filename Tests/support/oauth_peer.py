#!/usr/bin/env python3
"""oauth_peer.py: the login-flow tests' helper HTTP server, in two roles.

proxy  Forwards every request to a real OAuth server (Glewlwyd) and logs it, so tests can
       count refresh requests and see poll timing. Two options play a second client:
         --double-first-poll   the first device_code poll is sent upstream twice in a row and
                               the second answer is returned (the server sees polling faster
                               than the interval and answers slow_down);
         --steal-token         when a device_code poll succeeds, the proxy keeps the tokens
                               and sends the same poll again, returning the server's answer to
                               a used code (Glewlwyd: access_denied).
fault  Answers from a script, for what a real server does not do on demand: HTTP 500,
       malformed JSON, form-encoded bodies, a missing interval, slow_down with an interval,
       authorization_pending with HTTP 401, dropped connections, unknown error codes,
       redirects ("location"), a body trickled one byte at a time ("trickle": seconds a byte).
       With --redirect-all URL it answers every request with 307 to URL + the request's path
       (a hostile server sending a client elsewhere).

Prints "PORT=<n>" once listening. Every request is logged as one JSON line:
{"t": seconds, "path": ..., "grant_type": ..., "status": ...}.
"""
import argparse, json, sys, threading, time, urllib.parse, urllib.request, urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
state = {"first_poll_done": False, "token": 0, "refresh": 0}


def log(entry):
    with lock:
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, body=b"", content_type="application/json", headers=(), trickle=0):
        self.send_response(status)
        if body or status != 204:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-type"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not trickle:
            self.wfile.write(body)
            return
        try:
            for index in range(len(body)):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(trickle)
        except OSError:
            pass  # the client gave up

    def do_GET(self):
        self.handle_request("GET", b"")

    def do_POST(self):
        self.handle_request("POST", self.body())

    def do_PUT(self):
        self.handle_request("PUT", self.body())

    def do_LIST(self):
        self.handle_request("LIST", b"")

    def handle_request(self, method, body):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [None])[0]
        entry = {"t": time.time(), "method": method, "path": self.path.split("?")[0], "grant_type": grant,
                 # Only the fault server's own fake refresh tokens are logged; never a proxied one.
                 "refresh_token": (form.get("refresh_token") or [None])[0] if args.role == "fault" else None,
                 "authorization": "bearer" if (self.headers.get("Authorization") or "").startswith("Bearer ") else None}
        if args.redirect_all:
            status = 307
            self.send(status, b"", "text/plain", [("Location", args.redirect_all + self.path)])
        elif args.role == "proxy":
            status = self.proxy(method, body, grant)
        else:
            status = self.fault(method, body, grant, form)
        entry["status"] = status
        log(entry)

    # --- proxy -------------------------------------------------------------------------
    def upstream(self, method, body):
        request = urllib.request.Request(args.upstream + self.path, data=body if method == "POST" else None, method=method)
        for name in ("Content-Type", "Accept", "Authorization", "Cookie"):
            if self.headers.get(name):
                request.add_header(name, self.headers.get(name))
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def proxy(self, method, body, grant):
        status, data, headers = self.upstream(method, body)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with lock:
                first = not state["first_poll_done"]
                state["first_poll_done"] = True
            if args.double_first_poll and first:
                status, data, headers = self.upstream(method, body)
            if args.steal_token and status == 200:
                log({"t": time.time(), "path": self.path, "grant_type": grant, "status": status, "stolen": True})
                status, data, headers = self.upstream(method, body)
        self.send(status, data, headers.get("Content-Type") or "application/json", headers.items())
        return status

    # --- fault ---------------------------------------------------------------------------
    def fault(self, method, body, grant, form):
        with open(args.script) as f:
            script = json.load(f)
        base = "http://127.0.0.1:%d" % self.server.server_address[1]
        path = self.path.split("?")[0]
        if path.endswith("/.well-known/openid-configuration"):
            document = {"issuer": base, "device_authorization_endpoint": base + "/device",
                        "token_endpoint": base + "/token", "revocation_endpoint": base + "/revoke"}
            # A script may change the document's fields (a hostile or misconfigured server).
            document.update(script.get("discovery", {}))
            return self.answer({"status": 200, "json": document}, base)
        if path == "/device":
            return self.answer(script["device"], base)
        if path == "/token":
            which = "refresh" if grant == "refresh_token" and "refresh" in script else "token"
            responses = script[which]
            with lock:
                index = min(state[which], len(responses) - 1)
                state[which] += 1
            return self.answer(responses[index], base)
        if path == "/revoke":
            return self.answer({"status": 200, "body": ""})
        # Any other path the script names (a hostile OpenBao server, for one).
        if path in script.get("paths", {}):
            return self.answer(script["paths"][path], base)
        return self.answer({"status": 404, "json": {"error": "not_found"}})

    def answer(self, spec, base=""):
        if spec.get("drop"):
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return 0
        status = spec.get("status", 200)
        port = str(self.server.server_address[1])
        extra = [("Location", spec["location"].replace("$BASE", base).replace("$PORT", port))] if "location" in spec else []
        trickle = spec.get("trickle", 0)
        if "json" in spec:
            text = json.dumps(spec["json"]).replace("$BASE", base)
            self.send(status, text.encode(), "application/json", extra, trickle)
        elif "form" in spec:
            self.send(status, spec["form"].replace("$BASE", urllib.parse.quote(base, safe="")).encode(), "application/x-www-form-urlencoded")
        else:
            self.send(status, spec.get("body", "").encode(), spec.get("content_type", "text/plain"), extra, trickle)
        return status


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["proxy", "fault"])
    parser.add_argument("--log", required=True)
    parser.add_argument("--upstream")
    parser.add_argument("--script")
    parser.add_argument("--double-first-poll", action="store_true")
    parser.add_argument("--steal-token", action="store_true")
    parser.add_argument("--redirect-all")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT=%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
