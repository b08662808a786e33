#!/usr/bin/env python3
# Writes a minimal OCI image layout (one layer holding hello.txt) to the directory given, for
# the registry tests: skopeo copies it to a real registry.
import hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{digest}", "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w") as tar:
    payload = b"credvault registry test\n"
    info = tarfile.TarInfo("hello.txt"); info.size = len(payload); info.mtime = 0
    tar.addfile(info, io.BytesIO(payload))
layer = blob(buffer.getvalue())
diff_id = layer["digest"]
config = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "config": {}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
    "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")]}).encode())
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
    annotations={"org.opencontainers.image.ref.name": "latest"})]}, open(out + "/index.json", "w"))
