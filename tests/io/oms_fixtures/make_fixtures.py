"""Makes the OpenSSF model-signing test vectors in this folder with the reference client
(PyPI model-signing 1.1.1, in the venv scripts/setup_model_signing makes):

    build/venv-model-signing/bin/python tests/io/oms_fixtures/make_fixtures.py

Writes, beside this script:
  model.bin, model_dir/          the signed model: one file, and a directory of three files
                                 (plus a .gitignore the client leaves out by default)
  p256.pub, p384.pub             the public keys (the private keys are thrown away)
  model.bin.sig                  `model_signing sign key model.bin` with the P-256 key
  model.bin.p384.sig             the same with the P-384 key
  model_dir.sig                  `model_signing sign key model_dir` with the P-256 key
  wrong_root.sig                 model.bin.sig's statement with another root digest in its
                                 subject, signed again with the same P-256 key (what a broken
                                 or hostile signer would write; the client refuses it too)
  spec_name.sig                  model.bin.sig's statement with the resource named
                                 "model.bin" (the spec's naming) instead of ".", signed again
Run again, it makes new keys and signatures: the tests read them, they assert no bytes.
"""
import base64
import json
import pathlib
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing._signing import sign_sigstore_pb

here = pathlib.Path(__file__).resolve().parent


def write_key_pair(curve, name, scratch):
    key = ec.generate_private_key(curve)
    private = scratch / f"{name}.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    (here / f"{name}.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, private


def client_sign(model, private_key, signature):
    subprocess.run([sys.executable, "-m", "model_signing", "sign", "key", str(model), "--private_key",
                    str(private_key), "--signature", str(signature)], check=True, cwd=here)


def resign(source, target, key, change):
    """Changes the statement of bundle `source` and signs it again as the client signs."""
    bundle = json.loads((here / source).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    change(statement)
    payload = json.dumps(statement, indent=2).encode()
    signature = key.sign(sign_sigstore_pb.pae(payload), ec.ECDSA(hashes.SHA256()))
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(signature).decode()
    (here / target).write_text(json.dumps(bundle))


def main():
    (here / "model.bin").write_bytes(bytes(range(256)) * 3 + b"citadel OpenSSF model-signing fixture\n")
    directory = here / "model_dir"
    (directory / "weights").mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text('{"layers": 3}\n')
    (directory / "weights" / "part-1.bin").write_bytes(bytes(range(200)))
    (directory / "weights" / "part-2.bin").write_bytes(bytes(reversed(range(200))))
    (directory / ".gitignore").write_text("*.tmp\n")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = pathlib.Path(scratch_name)
        p256, p256_private = write_key_pair(ec.SECP256R1(), "p256", scratch)
        _, p384_private = write_key_pair(ec.SECP384R1(), "p384", scratch)
        client_sign("model.bin", p256_private, "model.bin.sig")
        client_sign("model.bin", p384_private, "model.bin.p384.sig")
        client_sign("model_dir", p256_private, "model_dir.sig")

        def wrong_root(statement):
            statement["subject"][0]["digest"]["sha256"] = "0" * 64

        def spec_name(statement):
            statement["predicate"]["resources"][0]["name"] = "model.bin"

        resign("model.bin.sig", "wrong_root.sig", p256, wrong_root)
        resign("model.bin.sig", "spec_name.sig", p256, spec_name)


if __name__ == "__main__":
    main()
