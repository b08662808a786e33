#!/usr/bin/env python3
"""Makes a KeePassXC database whose group "Secrets" is exposed to the Secret Service.

Usage: keepassxc_database.py DATABASE   (the password is read from stdin, one line)

keepassxc-cli cannot set the exposed group, which KeePassXC keeps in the database's
Meta/CustomData under FDO_SECRETS_EXPOSED_GROUP as the group's UUID in braces; so the database
is made with keepassxc-cli, exported to XML, given that entry, and imported again.
"""
import base64
import os
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ElementTree


def cli(arguments, password, answers=1):
    """Runs keepassxc-cli, answering its password prompts."""
    result = subprocess.run(["keepassxc-cli"] + arguments, input=(password + "\n") * answers,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"keepassxc-cli {arguments[0]} failed: {result.stderr.strip()}")
    return result.stdout


def main():
    database = sys.argv[1]
    password = sys.stdin.readline().rstrip("\n")
    with tempfile.TemporaryDirectory() as work:
        draft = os.path.join(work, "draft.kdbx")
        cli(["db-create", "-p", draft], password, answers=2)
        cli(["mkdir", draft, "Secrets"], password)
        tree = ElementTree.ElementTree(ElementTree.fromstring(cli(["export", "-f", "xml", draft], password)))
        group = next(g for g in tree.iter("Group") if g.findtext("Name") == "Secrets")
        exposed = "{" + str(uuid.UUID(bytes=base64.b64decode(group.findtext("UUID")))) + "}"
        meta = tree.getroot().find("Meta")
        custom = meta.find("CustomData")
        if custom is None:
            custom = ElementTree.SubElement(meta, "CustomData")
        item = ElementTree.SubElement(custom, "Item")
        ElementTree.SubElement(item, "Key").text = "FDO_SECRETS_EXPOSED_GROUP"
        ElementTree.SubElement(item, "Value").text = exposed
        xml = os.path.join(work, "exposed.xml")
        tree.write(xml, encoding="UTF-8", xml_declaration=True)
        cli(["import", "-p", xml, database], password, answers=2)


if __name__ == "__main__":
    main()
