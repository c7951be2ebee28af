"""Protecting model files from Python: one call each, as the citadel tool's commands.

Signatures are Ed25519 over a statement naming the file's purpose and digest; encryption is
XChaCha20-Poly1305 with a key file or an Argon2id passphrase (docs/SECURITY.md).
"""
import os

from citadel import _citadel


def _path(value):
    return os.fspath(value) if value is not None else ""


def keygen(public_key, secret_key, overwrite=False):
    """Writes a new signing key pair (the secret key with mode 0600)."""
    _citadel.keygen(_path(public_key), _path(secret_key), overwrite)


def encryption_keygen(path, overwrite=False):
    """Writes a new 256-bit encryption key file (mode 0600)."""
    _citadel.encryption_keygen(_path(path), overwrite)


def sign(path, secret_key):
    """Signs the file as it is stored; returns the signature's path (path + '.sig')."""
    return _citadel.sign(_path(path), _path(secret_key))


def verify(path, public_key):
    """Checks the file's signature; returns what it vouches for, or raises SecurityError."""
    return _citadel.verify(_path(path), _path(public_key))


def encrypt(input, output, key_file=None, passphrase=None):
    _citadel.encrypt(_path(input), _path(output), _path(key_file), passphrase or "")


def decrypt(input, output, key_file=None, passphrase=None):
    """Decrypts to a file; raises SecurityError for a wrong key or a modified file."""
    _citadel.decrypt(_path(input), _path(output), _path(key_file), passphrase or "")


def is_encrypted(path):
    return _citadel.is_encrypted(_path(path))
