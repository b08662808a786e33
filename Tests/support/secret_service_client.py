#!/usr/bin/python3
"""Independent Secret Service clients for the provider's tests, with Debian's Python
(python3-keyring, python3-secretstorage, python3-jeepney): not credvault's code.

    secret_service_client.py keyring-roundtrip SERVICE USER SECRET
        Python keyring (its SecretService backend, SecretStorage, a dh-ietf1024 session):
        set, get (must equal), delete, get (must be None). Prints "ok".
    secret_service_client.py keyring-get SERVICE USER
        Prints the secret, or exits 3 with the exception's class and message on stderr.
    secret_service_client.py attributes NAME VALUE
        SecretStorage: prints, as one JSON array, the attributes of every item in the default
        collection whose attribute NAME is VALUE (sorted by label).
    secret_service_client.py secrets NAME VALUE
        SecretStorage: prints one JSON object, label to secret, of every item in the default
        collection whose attribute NAME is VALUE.
    secret_service_client.py api-checks
        jeepney, two connections: how the provider answers the rest of the API and hostile
        calls. Prints one line per check, "name: outcome"; exits 1 when one failed.
    secret_service_client.py watch COUNT
        Prints "ready", then the first COUNT signals of the default collection (member and
        item path, one per line), then exits.
    secret_service_client.py plain-roundtrip LABEL SECRET
        jeepney alone, with a `plain` session: OpenSession("plain"), CreateItem in the
        default alias, GetSecrets, Item.Delete. Prints "ok" and the algorithm the
        provider accepted.
"""
import sys


def keyring_roundtrip(service, user, secret):
    import keyring
    from keyring.backends import SecretService
    keyring.set_keyring(SecretService.Keyring())
    keyring.set_password(service, user, secret)
    got = keyring.get_password(service, user)
    if got != secret:
        sys.exit(f"keyring read back {got!r}")
    keyring.delete_password(service, user)
    if keyring.get_password(service, user) is not None:
        sys.exit("the item is still there after delete_password")
    print("ok")


def keyring_get(service, user):
    import keyring
    from keyring.backends import SecretService
    keyring.set_keyring(SecretService.Keyring())
    try:
        value = keyring.get_password(service, user)
    except Exception as error:  # the test reads which one
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(3)
    print("" if value is None else value, end="")


def attributes(name, value):
    import json
    import secretstorage
    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    items = sorted(collection.search_items({name: value}), key=lambda item: item.get_label())
    print(json.dumps([item.get_attributes() for item in items], sort_keys=True))


def secrets(name, value):
    import json
    import secretstorage
    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    print(json.dumps({item.get_label(): item.get_secret().decode() for item in collection.search_items({name: value})}, sort_keys=True))


def plain_roundtrip(label, secret):
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    connection = open_dbus_connection(bus="SESSION")
    service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")

    def call(address, method, signature=None, body=()):
        reply = connection.send_and_get_reply(new_method_call(address, method, signature, body))
        if reply.header.message_type.name == "error":
            sys.exit(f"{method}: {reply.header.fields} {reply.body}")
        return reply.body

    _, session = call(service, "OpenSession", "sv", ("plain", ("s", "")))
    (collection,) = call(service, "ReadAlias", "s", ("default",))
    properties = {"org.freedesktop.Secret.Item.Label": ("s", label),
                  "org.freedesktop.Secret.Item.Attributes": ("a{ss}", {"test": "plain-session", "label": label})}
    collection_address = DBusAddress(collection, bus_name="org.freedesktop.secrets", interface="org.freedesktop.Secret.Collection")
    item, _ = call(collection_address, "CreateItem", "a{sv}(oayays)b",
                   (properties, (session, b"", secret.encode(), "text/plain"), True))
    (secrets,) = call(service, "GetSecrets", "aoo", ([item], session))
    got = secrets[item][2].decode()
    if got != secret:
        sys.exit(f"GetSecrets gave {got!r}")
    call(DBusAddress(item, bus_name="org.freedesktop.secrets", interface="org.freedesktop.Secret.Item"), "Delete")
    print("ok plain")


def api_checks():
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    first, second = open_dbus_connection(bus="SESSION"), open_dbus_connection(bus="SESSION")
    name = "org.freedesktop.secrets"
    service = DBusAddress("/org/freedesktop/secrets", bus_name=name, interface="org.freedesktop.Secret.Service")
    failures = []

    def call(connection, address, method, signature=None, body=()):
        reply = connection.send_and_get_reply(new_method_call(address, method, signature, body))
        if reply.header.message_type.name == "error":
            return ("error", reply.header.fields.get(4), reply.body)
        return ("ok", reply.body)

    def check(label, outcome, wanted):
        good = outcome[0] == wanted[0] and (wanted[0] == "ok" or outcome[1] == wanted[1])
        print(f"{label}: {outcome[0]} {outcome[1] if outcome[0] == 'error' else ''}".rstrip())
        if not good:
            failures.append(f"{label}: wanted {wanted}, got {outcome}")

    login = "/org/freedesktop/secrets/collection/login"
    created = call(first, service, "CreateCollection", "a{sv}s", ({}, "default"))
    check("CreateCollection default", created, ("ok",))
    if created[0] == "ok" and created[1][0] != login:
        failures.append(f"CreateCollection default gave {created[1]}")
    check("CreateCollection other", call(first, service, "CreateCollection", "a{sv}s", ({}, "other")),
          ("error", "org.freedesktop.DBus.Error.NotSupported"))
    check("SetAlias default", call(first, service, "SetAlias", "so", ("default", login)), ("ok",))
    unknown = call(first, service, "ReadAlias", "s", ("nothing",))
    check("ReadAlias unknown", unknown, ("ok",))
    if unknown[0] == "ok" and unknown[1][0] != "/":
        failures.append(f"ReadAlias of an unknown alias gave {unknown[1]}")
    check("wrong signature", call(first, service, "SearchItems", "s", ("x",)), ("error", "org.freedesktop.DBus.Error.InvalidArgs"))
    check("unknown method", call(first, service, "Explode", None, ()), ("error", "org.freedesktop.DBus.Error.UnknownMethod"))
    check("unknown algorithm", call(first, service, "OpenSession", "sv", ("rot13", ("s", ""))), ("error", "org.freedesktop.DBus.Error.NotSupported"))
    check("DH public value 1", call(first, service, "OpenSession", "sv", ("dh-ietf1024-sha256-aes128-cbc-pkcs7", ("ay", b"\x01"))),
          ("error", "org.freedesktop.DBus.Error.InvalidArgs"))
    _, (_, session) = call(first, service, "OpenSession", "sv", ("plain", ("s", "")))
    collection = DBusAddress(login, bus_name=name, interface="org.freedesktop.Secret.Collection")
    properties = {"org.freedesktop.Secret.Item.Label": ("s", "api"), "org.freedesktop.Secret.Item.Attributes": ("a{ss}", {"test": "api"})}
    made = call(first, collection, "CreateItem", "a{sv}(oayays)b", (properties, (session, b"", b"api-secret", "text/plain"), True))
    check("CreateItem", made, ("ok",))
    item = made[1][0] if made[0] == "ok" else "/"
    check("another client's session", call(second, service, "GetSecrets", "aoo", ([item], session)), ("error", "org.freedesktop.Secret.Error.NoSession"))
    check("secret over 16 MiB", call(first, collection, "CreateItem", "a{sv}(oayays)b",
                                     (properties, (session, b"", b"x" * (16 * 1024 * 1024 + 1), "text/plain"), True)),
          ("error", "org.freedesktop.DBus.Error.InvalidArgs"))
    check("label of wrong type", call(first, collection, "CreateItem", "a{sv}(oayays)b",
                                      ({"org.freedesktop.Secret.Item.Label": ("u", 7)}, (session, b"", b"x", "text/plain"), True)),
          ("error", "org.freedesktop.DBus.Error.InvalidArgs"))
    check("Collection.Delete", call(first, collection, "Delete"), ("error", "org.freedesktop.DBus.Error.NotSupported"))
    check("Session.Close", call(first, DBusAddress(session, bus_name=name, interface="org.freedesktop.Secret.Session"), "Close"), ("ok",))
    check("closed session", call(first, service, "GetSecrets", "aoo", ([item], session)), ("error", "org.freedesktop.Secret.Error.NoSession"))
    check("no such item", call(first, DBusAddress(login + "/0123456789abcdef", bus_name=name, interface="org.freedesktop.Secret.Item"), "Delete"),
          ("error", "org.freedesktop.Secret.Error.NoSuchObject"))
    check("Introspect", call(first, DBusAddress("/org/freedesktop/secrets", bus_name=name, interface="org.freedesktop.DBus.Introspectable"), "Introspect"), ("ok",))
    check("Item.Delete", call(first, DBusAddress(item, bus_name=name, interface="org.freedesktop.Secret.Item"), "Delete"), ("ok",))
    if failures:
        sys.exit("\n".join(failures))


def watch(count):
    from jeepney import DBusAddress, MatchRule, message_bus, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    connection = open_dbus_connection(bus="SESSION")
    rule = MatchRule(type="signal", interface="org.freedesktop.Secret.Collection", path="/org/freedesktop/secrets/collection/login")
    connection.send_and_get_reply(message_bus.AddMatch(rule))
    print("ready", flush=True)
    seen = 0
    while seen < int(count):
        message = connection.receive()
        if message.header.message_type.name == "signal" and rule.matches(message):
            print(message.header.fields.get(3), message.body[0], flush=True)
            seen += 1


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"keyring-roundtrip": keyring_roundtrip, "keyring-get": keyring_get, "attributes": attributes, "secrets": secrets, "api-checks": api_checks, "watch": watch,
     "plain-roundtrip": plain_roundtrip}[command](*arguments)
