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


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"keyring-roundtrip": keyring_roundtrip, "keyring-get": keyring_get, "attributes": attributes, "secrets": secrets,
     "plain-roundtrip": plain_roundtrip}[command](*arguments)
