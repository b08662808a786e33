#!/usr/bin/env python3
"""An independent reader of credvault bundle format v1, written from docs/FORMAT.md with PyNaCl.

Usage: read_bundle.py BUNDLE PASSPHRASE_FILE
Prints the payload JSON on stdout; exits 65 when the bundle is refused or does not open.
"""
import struct
import sys

import nacl.exceptions
import nacl.hash
import nacl.pwhash
import nacl.secret
import nacl.encoding


def main():
    data = open(sys.argv[1], "rb").read()
    passphrase = open(sys.argv[2], "rb").read()
    if passphrase.endswith(b"\n"):
        passphrase = passphrase[:-1]
    if len(data) < 80 or data[:8] != b"CVBUNDLE":
        sys.exit(65)
    version, kdf, reserved, ops, mem, created = struct.unpack(">HBBIQQ", data[8:32])
    salt, nonce = data[32:48], data[48:72]
    (length,) = struct.unpack(">Q", data[72:80])
    if version != 1 or kdf != 1 or reserved != 0 or not 1 <= ops <= 16 or not 8192 <= mem <= 1 << 30:
        sys.exit(65)
    if length != len(data) - 80 or length < 16:
        sys.exit(65)
    master = nacl.pwhash.argon2id.kdf(32, passphrase, salt, opslimit=ops, memlimit=mem)
    key = nacl.hash.blake2b(data[:80], digest_size=32, key=master, encoder=nacl.encoding.RawEncoder)
    try:
        payload = nacl.secret.SecretBox(key).decrypt(data[80:], nonce)
    except nacl.exceptions.CryptoError:
        sys.exit(65)
    sys.stdout.write(payload.decode("utf-8"))


if __name__ == "__main__":
    main()
