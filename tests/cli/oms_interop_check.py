"""citadel and the reference client of OpenSSF model signing (PyPI model-signing 1.1.1),
both ways: `python -m model_signing verify key` accepts citadel's bundles for a model file
and for a directory (P-256 and P-384); citadel accepts bundles made by `model_signing sign
key` and refuses them after a changed byte, an added or removed file, another key, a wrong
root digest or a wrong media type. Exits 77 (CTest: skipped) when model_signing is not
installed — scripts/setup_model_signing installs it in build/venv-model-signing.

    python oms_interop_check.py CITADEL PIMA_CSV SCRATCH_DIR
"""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from model_signing._signing import sign_sigstore_pb
except ImportError as missing:
    print(f"skipped: {missing}")
    sys.exit(77)

citadel, pima = (str(Path(a).resolve()) for a in sys.argv[1:3])
scratch = Path(sys.argv[3]).resolve()
shutil.rmtree(scratch, ignore_errors=True)
scratch.mkdir(parents=True)
failures = []


def run(*arguments, expect=0):
    """Runs a command, prints it and its output, and records it when its exit code is not `expect`."""
    shown = " ".join(str(a) for a in arguments)
    done = subprocess.run([str(a) for a in arguments], capture_output=True, text=True, timeout=120, cwd=scratch)
    output = (done.stdout + done.stderr).strip()
    print(f"$ {shown}\n{output}\n[exit {done.returncode}]")
    if (expect == 0) != (done.returncode == 0):
        failures.append(f"{shown}: exit {done.returncode}, wanted {'0' if expect == 0 else 'non-zero'}")
    elif expect not in (0, "non-zero") and done.returncode != expect:
        failures.append(f"{shown}: exit {done.returncode}, wanted {expect}")
    return output


def client(*arguments, expect=0):
    return run(sys.executable, "-m", "model_signing", *arguments, expect=expect)


def client_verify(model, signature, public_key, expect=0):
    output = client("verify", "key", model, "--signature", signature, "--public_key", public_key, expect=expect)
    if expect == 0 and "Verification succeeded" not in output:
        failures.append(f"the client did not say 'Verification succeeded' for {model}")


def root_digest(bundle):
    statement = json.loads(base64.b64decode(json.loads(Path(bundle).read_text())["dsseEnvelope"]["payload"]))
    return statement["subject"][0]["digest"]["sha256"]


def flip_byte(path, index):
    data = bytearray(path.read_bytes())
    data[index % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


# Keys and a trained model, made by citadel.
for curve in ("p256", "p384"):
    run(citadel, "keygen", "--type", curve, "--public", f"{curve}.pub", "--secret", f"{curve}.key")
run(citadel, "keygen", "--type", "p256", "--public", "other.pub", "--secret", "other.key")
run(citadel, "train", "--verbose", "0", "--epochs", "3", "--data", pima, "--save", "model.safetensors")
model = scratch / "model.safetensors"

print("== citadel signs, the client verifies: one model file")
for curve in ("p256", "p384"):
    run(citadel, "sign", model, "--format", "oms", "--key", f"{curve}.key", "--signature", f"model.{curve}.sig")
    client_verify(model, f"model.{curve}.sig", f"{curve}.pub")
changed = scratch / "changed.safetensors"
shutil.copy(model, changed)
flip_byte(changed, 100)
client_verify(changed, "model.p256.sig", "p256.pub", expect="non-zero")  # the client checks, too

print("== citadel signs, the client verifies: a directory")
directory = scratch / "model_dir"
(directory / "sub" / "a").mkdir(parents=True)
shutil.copy(model, directory / "model.safetensors")
(directory / "config.json").write_text('{"name": "pima"}\n')
(directory / "sub" / "a-c").write_text("sorts after sub/a/b by components, before it as a string\n")
(directory / "sub" / "a" / "b").write_text("b\n")
(directory / ".gitignore").write_text("*.tmp\n")
run(citadel, "sign", directory, "--format", "oms", "--key", "p256.key", "--signature", "citadel_dir.sig")
client_verify(directory, "citadel_dir.sig", "p256.pub")
# The same files signed by the client: the same root digest, so the same list in the same order.
client("sign", "key", directory, "--private_key", "p256.key", "--signature", "client_dir.sig")
if root_digest(scratch / "citadel_dir.sig") != root_digest(scratch / "client_dir.sig"):
    failures.append("citadel's and the client's root digests of one directory differ")
run(citadel, "sign", directory, "--key", "p384.key", "--signature", directory / "model.sig")  # inside: left out
client_verify(directory, directory / "model.sig", "p384.pub")
(directory / "model.sig").unlink()

print("== the client signs, citadel verifies and loads")
client("sign", "key", model, "--private_key", "p256.key", "--signature", "model.safetensors.sig")
run(citadel, "verify", model, "--pubkey", "p256.pub")
rows = scratch / "rows.csv"
rows.write_text("".join(open(pima).readlines()[:4]))
run(citadel, "predict", "--model", model, "--pubkey", "p256.pub", "--input", rows, "--output", "predictions.csv")
run(citadel, "verify", directory, "--pubkey", "p256.pub", "--signature", "client_dir.sig")

print("== ...and refuses them when wrong")
for index in (0, 4000, -1):
    shutil.copy(model, changed)
    flip_byte(changed, index)
    run(citadel, "verify", changed, "--pubkey", "p256.pub", "--signature", "model.safetensors.sig", expect=3)
(directory / "added.bin").write_text("added\n")
run(citadel, "verify", directory, "--pubkey", "p256.pub", "--signature", "client_dir.sig", expect=3)
(directory / "added.bin").unlink()
(directory / "config.json").unlink()
run(citadel, "verify", directory, "--pubkey", "p256.pub", "--signature", "client_dir.sig", expect=3)
(directory / "config.json").write_text('{"name": "pima"}\n')
run(citadel, "verify", directory, "--pubkey", "p256.pub", "--signature", "client_dir.sig")
run(citadel, "verify", model, "--pubkey", "other.pub", expect=3)

bundle = json.loads((scratch / "model.safetensors.sig").read_text())
statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
statement["subject"][0]["digest"]["sha256"] = "1" * 64
payload = json.dumps(statement, indent=2).encode()
key = serialization.load_pem_private_key((scratch / "p256.key").read_bytes(), None)
wrong_root = dict(bundle, dsseEnvelope=dict(
    bundle["dsseEnvelope"], payload=base64.b64encode(payload).decode(),
    signatures=[{"sig": base64.b64encode(key.sign(sign_sigstore_pb.pae(payload), ec.ECDSA(hashes.SHA256()))).decode(),
                 "keyid": ""}]))
(scratch / "wrong_root.sig").write_text(json.dumps(wrong_root))
run(citadel, "verify", model, "--pubkey", "p256.pub", "--signature", "wrong_root.sig", expect=3)
client_verify(model, "wrong_root.sig", "p256.pub", expect="non-zero")
wrong_media = dict(bundle, mediaType="application/vnd.dev.sigstore.bundle+json;version=0.2")
(scratch / "wrong_media.sig").write_text(json.dumps(wrong_media))
run(citadel, "verify", model, "--pubkey", "p256.pub", "--signature", "wrong_media.sig", expect=3)
client_verify(model, "wrong_media.sig", "p256.pub", expect="non-zero")

if failures:
    print("\n".join(["FAILED:"] + failures))
    sys.exit(1)
print("model_signing interop: all checks passed")
