"""Turns JSON data into a Lua 5.1 table constructor, the way Argo CD hands `obj` to a health script.

JSON null becomes nil (Argo CD drops nulls the same way); arrays become 1-based sequences.
"""

from __future__ import annotations


def lua_string(s: str) -> str:
    out = ['"']
    for byte in s.encode("utf-8"):
        ch = chr(byte)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            # Decimal escapes keep the bytes exact whatever the encoding of the chunk.
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def to_lua(value) -> str:
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list):
        return "{" + ", ".join(to_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_string(k)}] = {to_lua(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"not JSON data: {value!r}")
