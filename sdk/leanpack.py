"""A small pure-Python msgpack subset for the commands' hot path.

`import msgpack` costs ~9 ms (it loads datetime for its Timestamp type), more than a whole sbatch
round trip to the controller. Requests and small replies only ever hold maps, arrays, strings,
bytes, integers, floats, booleans and nil, so this module packs and unpacks those; large replies
(squeue over thousands of jobs) still go through msgpack's C unpacker. Output is standard msgpack.
"""
from __future__ import annotations

import struct

_F64 = struct.Struct(">d")


def packb(obj) -> bytes:
    out = bytearray()
    _pack(obj, out)
    return bytes(out)


def _pack(obj, out: bytearray) -> None:
    if obj is None:
        out.append(0xC0)
    elif obj is True:
        out.append(0xC3)
    elif obj is False:
        out.append(0xC2)
    elif isinstance(obj, int):
        if 0 <= obj < 0x80:
            out.append(obj)
        elif -32 <= obj < 0:
            out.append(obj & 0xFF)
        elif 0 <= obj < 1 << 64:
            out.append(0xCF)
            out += obj.to_bytes(8, "big")
        elif -(1 << 63) <= obj < 0:
            out.append(0xD3)
            out += obj.to_bytes(8, "big", signed=True)
        else:
            raise OverflowError("integer out of msgpack range")
    elif isinstance(obj, float):
        out.append(0xCB)
        out += _F64.pack(obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 1 << 8:
            out += bytes((0xD9, n))
        elif n < 1 << 16:
            out.append(0xDA)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xDB)
            out += n.to_bytes(4, "big")
        out += data
    elif isinstance(obj, (bytes, bytearray)):
        n = len(obj)
        if n < 1 << 8:
            out += bytes((0xC4, n))
        elif n < 1 << 16:
            out.append(0xC5)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xC6)
            out += n.to_bytes(4, "big")
        out += obj
    elif isinstance(obj, (list, tuple)):
        n = len(obj)
        if n < 16:
            out.append(0x90 | n)
        elif n < 1 << 16:
            out.append(0xDC)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xDD)
            out += n.to_bytes(4, "big")
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        n = len(obj)
        if n < 16:
            out.append(0x80 | n)
        elif n < 1 << 16:
            out.append(0xDE)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xDF)
            out += n.to_bytes(4, "big")
        for key, value in obj.items():
            _pack(key, out)
            _pack(value, out)
    else:
        raise TypeError(f"cannot pack {type(obj).__name__}")


class UnpackError(ValueError):
    pass


def unpackb(data: bytes):
    value, pos = _unpack(memoryview(data), 0)
    if pos != len(data):
        raise UnpackError("extra data after the value")
    return value


def _unpack(buf: memoryview, pos: int):
    try:
        b = buf[pos]
    except IndexError:
        raise UnpackError("truncated data") from None
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0xA0 <= b <= 0xBF:
        return _str(buf, pos, b & 0x1F)
    if 0x90 <= b <= 0x9F:
        return _array(buf, pos, b & 0x0F)
    if 0x80 <= b <= 0x8F:
        return _map(buf, pos, b & 0x0F)
    if b == 0xC0:
        return None, pos
    if b == 0xC2:
        return False, pos
    if b == 0xC3:
        return True, pos
    if b in _UINTS:
        n = _UINTS[b]
        return int.from_bytes(_take(buf, pos, n), "big"), pos + n
    if b in _SINTS:
        n = _SINTS[b]
        return int.from_bytes(_take(buf, pos, n), "big", signed=True), pos + n
    if b == 0xCB:
        return _F64.unpack(_take(buf, pos, 8))[0], pos + 8
    if b == 0xCA:
        return struct.unpack(">f", _take(buf, pos, 4))[0], pos + 4
    if b in (0xD9, 0xDA, 0xDB):
        w = {0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        return _str(buf, pos + w, int.from_bytes(_take(buf, pos, w), "big"))
    if b in (0xC4, 0xC5, 0xC6):
        w = {0xC4: 1, 0xC5: 2, 0xC6: 4}[b]
        n = int.from_bytes(_take(buf, pos, w), "big")
        return bytes(_take(buf, pos + w, n)), pos + w + n
    if b in (0xDC, 0xDD):
        w = 2 if b == 0xDC else 4
        return _array(buf, pos + w, int.from_bytes(_take(buf, pos, w), "big"))
    if b in (0xDE, 0xDF):
        w = 2 if b == 0xDE else 4
        return _map(buf, pos + w, int.from_bytes(_take(buf, pos, w), "big"))
    raise UnpackError(f"unsupported msgpack type 0x{b:02x}")


_UINTS = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
_SINTS = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}


def _take(buf: memoryview, pos: int, n: int) -> memoryview:
    if pos + n > len(buf):
        raise UnpackError("truncated data")
    return buf[pos:pos + n]


def _str(buf: memoryview, pos: int, n: int):
    try:
        return str(_take(buf, pos, n), "utf-8"), pos + n
    except UnicodeDecodeError:
        raise UnpackError("invalid UTF-8 string") from None


def _array(buf: memoryview, pos: int, n: int):
    items = []
    for _ in range(n):
        item, pos = _unpack(buf, pos)
        items.append(item)
    return items, pos


def _map(buf: memoryview, pos: int, n: int):
    out = {}
    for _ in range(n):
        key, pos = _unpack(buf, pos)
        value, pos = _unpack(buf, pos)
        try:
            out[key] = value
        except TypeError:
            raise UnpackError("unhashable map key") from None
    return out, pos
