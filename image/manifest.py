"""The signed manifest of a device image or update bundle: what it is, for which board, and the hash of every byte.

A manifest is a JSON document and a detached Ed25519 signature over its exact bytes
(`manifest.json` + `manifest.sig`, the signature as hex). Everything that writes a disk or
a slot (appliance-flash, `appliance update install`) checks the signature against the
public keys it trusts *before* reading anything else the manifest points to, then checks
each payload's size and SHA-256 as it reads it, and refuses on the first mismatch. The
private key never lives in the repository: builds take it from a file outside it, and
tests make a throwaway key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import ApplianceError, ConfigError

FORMAT = 1  # bumped when a reader would misread a newer manifest
KINDS = ("image", "bundle")  # a whole disk for appliance-flash, or a root slot for `appliance update`
BOARDS = ("amd64", "rpi-arm64")
CHUNK = 1024 * 1024


class ManifestError(ApplianceError, ValueError):
    """The manifest is unsigned, tampered, for another board, or a payload does not match it."""

    code = "manifest"


@dataclass(frozen=True)
class Payload:
    """One file the manifest covers: its name beside the manifest, size in bytes, SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    kind: str  # "image" | "bundle"
    version: str  # the appliance version inside
    board: str
    built_at: str  # UTC ISO time (SOURCE_DATE_EPOCH when set)
    payloads: tuple[Payload, ...]
    extra: dict[str, Any]  # partition table, compressed sizes... informational, covered by the signature

    def to_bytes(self) -> bytes:
        doc = {"format": FORMAT, "kind": self.kind, "version": self.version, "board": self.board,
               "built_at": self.built_at, "payloads": [vars(p) for p in self.payloads], "extra": self.extra}  # fmt: skip
        return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8") + b"\n"

    def payload(self, name: str) -> Payload:
        for p in self.payloads:
            if p.name == name:
                return p
        raise ManifestError(f"the manifest lists no payload {name!r}", where="manifest.json")


def sha256_file(path: Path, progress: Any = None) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks; `progress(n)` after each chunk."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def payload_of(path: Path) -> Payload:
    return Payload(path.name, path.stat().st_size, sha256_file(path))


# -- keys ------------------------------------------------------------------------------


def new_key(private_path: Path, public_path: Path) -> None:
    """A fresh signing key (PEM, mode 0600) and its public half (raw, hex): for tests and a new chain."""
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
    private_path.chmod(0o600)
    public_path.write_text(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw).hex() + "\n")  # fmt: skip


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the signing key: {exc}", where=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("the signing key is not an Ed25519 key", where=str(path))
    return key


def load_public(text: str, where: str) -> Ed25519PublicKey:
    """A trusted public key: 64 hex digits (the raw 32-byte key), as `new_key` writes it."""
    try:
        raw = bytes.fromhex(text.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConfigError("a trusted key must be 64 hex digits (a raw Ed25519 public key)", where=where) from None


def trusted_keys(paths: Iterable[Path]) -> list[Ed25519PublicKey]:
    keys = []
    for path in paths:
        try:
            keys.append(load_public(path.read_text(encoding="ascii"), str(path)))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the trusted key: {exc}", where=str(path)) from None
    return keys


# -- writing and checking --------------------------------------------------------------


def write(manifest: Manifest, folder: Path, key: Ed25519PrivateKey) -> None:
    """manifest.json and manifest.sig into `folder` (beside the payloads)."""
    body = manifest.to_bytes()
    (folder / "manifest.json").write_bytes(body)
    (folder / "manifest.sig").write_text(key.sign(body).hex() + "\n", encoding="ascii")


def _parse(body: bytes) -> Manifest:
    try:
        doc = json.loads(body)
        if doc["format"] != FORMAT:
            raise ManifestError(f"manifest format {doc['format']} is not {FORMAT}: update this tool",
                                where="manifest.json")  # fmt: skip
        payloads = tuple(Payload(str(p["name"]), int(p["size"]), str(p["sha256"])) for p in doc["payloads"])
        manifest = Manifest(str(doc["kind"]), str(doc["version"]), str(doc["board"]), str(doc["built_at"]), payloads,
                            dict(doc.get("extra", {})))  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"the manifest cannot be read ({exc})", where="manifest.json") from None
    if manifest.kind not in KINDS:
        raise ManifestError(f"unknown kind {manifest.kind!r}", where="manifest.json")
    for p in payloads:
        if "/" in p.name or p.name.startswith(".") or p.size < 0 or len(p.sha256) != 64:
            raise ManifestError(f"payload {p.name!r} is not a plain file name with a size and a SHA-256",
                                where="manifest.json")  # fmt: skip
    return manifest


def verify(folder: Path, keys: list[Ed25519PublicKey], *, kind: str, board: str | None = None) -> Manifest:
    """The manifest in `folder` once its signature is good under one of `keys`, for `kind` and `board`.

    Only the signature is checked here; payload hashes are checked as they are read
    (`check_payload`, or while writing), so nothing unverified is trusted and nothing
    is read twice when it need not be.
    """
    try:
        body = (folder / "manifest.json").read_bytes()
        signature = bytes.fromhex((folder / "manifest.sig").read_text(encoding="ascii").strip())
    except FileNotFoundError as exc:
        raise ManifestError(f"{Path(exc.filename).name} is missing: this is not a signed image", where=str(folder)) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"the signature cannot be read ({exc})", where=str(folder / "manifest.sig")) from None
    if not keys:
        raise ConfigError("no trusted signing key is configured", where="trusted keys")
    for key in keys:
        try:
            key.verify(signature, body)
            break
        except InvalidSignature:
            continue
    else:
        raise ManifestError("the signature does not match the manifest under any trusted key: the image was altered "
                            "or signed by someone else", where=str(folder / "manifest.sig"))  # fmt: skip
    manifest = _parse(body)
    if manifest.kind != kind:
        raise ManifestError(f"this is an {manifest.kind}, not an {kind}", where=str(folder))
    if board is not None and manifest.board != board:
        raise ManifestError(f"this {kind} is for board {manifest.board!r}, this one is {board!r}", where=str(folder))
    return manifest


def check_payload(folder: Path, payload: Payload) -> None:
    """Refuse a payload whose size or SHA-256 differs from the signed manifest."""
    path = folder / payload.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ManifestError(f"{payload.name} is missing", where=str(folder)) from None
    if size != payload.size:
        raise ManifestError(f"{payload.name} is {size} bytes, the manifest says {payload.size}", where=str(path))
    if sha256_file(path) != payload.sha256:
        raise ManifestError(f"{payload.name} does not match its SHA-256 in the manifest: it was altered or damaged",
                            where=str(path))  # fmt: skip


def copy_verified(source: BinaryIO, target: BinaryIO, payload: Payload, progress: Any = None) -> None:
    """Copy a payload while hashing it; raise (after the copy) when it does not match the manifest.

    The caller must treat the target as garbage on error (an inactive slot stays
    unbootable; a flashed disk is reported bad).
    """
    digest, copied = hashlib.sha256(), 0
    for chunk in iter(lambda: source.read(CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
        copied += len(chunk)
        if progress:
            progress(copied)
    if copied != payload.size or digest.hexdigest() != payload.sha256:
        raise ManifestError(f"{payload.name} does not match the manifest (size {copied}, expected {payload.size})",
                            where=payload.name)  # fmt: skip
