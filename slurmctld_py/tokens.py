"""Signed, expiring user tokens in Slurm's SLURM_JWT convention (HS256 JWT, claim `sun` = user).

The controller holds the key (AuthAltParameters=jwt_key=PATH, else StateSaveLocation/jwt_hs256.key,
created on first start with mode 0600); `scontrol token` asks the controller to mint one; remote
clients present it with every request instead of a uid field.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from slurmctld_py.errors import RequestError

DEFAULT_LIFESPAN = 1800   # seconds, as `scontrol token`


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(config) -> bytes:
    path = ""
    for item in (config.raw.get("AuthAltParameters") or "").split(","):
        name, _, value = item.partition("=")
        if name.strip() == "jwt_key":
            path = value.strip()
    path = path or os.path.join(config.state_save_location, "jwt_hs256.key")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        key = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


def mint(key: bytes, user: str, now: float, lifespan: int = DEFAULT_LIFESPAN) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = _b64(json.dumps({"exp": int(now) + lifespan, "iat": int(now), "sun": user},
                             separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


def verify(key: bytes, token: str, now: float) -> str:
    """The user name a valid token speaks for; RequestError(ACCESS_DENIED) otherwise."""
    try:
        header, claims, signature = token.split(".")
        expected = hmac.new(key, f"{header}.{claims}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise ValueError("bad signature")
        if json.loads(_unb64(header)).get("alg") != "HS256":
            raise ValueError("bad algorithm")
        body = json.loads(_unb64(claims))
        user, exp = body["sun"], body["exp"]
        if not isinstance(user, str) or not isinstance(exp, int) or exp < now:
            raise ValueError("expired or malformed")
        return user
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RequestError("ACCESS_DENIED", message="Invalid authentication credential") from None
