"""The one way importers read a JSON file: empty, undecodable and malformed input become one clear line."""

import json
import re
from collections.abc import Callable
from typing import Any

from posture.errors import RejectedFile

Hint = Callable[[bytes, json.JSONDecodeError], str]
# Escapes that decode to text no database stores: NUL, and UTF-16 surrogates (paired ones are one
# character after decoding; a lone one stays a lone surrogate). Only when the text holds one of these
# is the decoded document checked, so well-formed exports pay nothing.
SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def parse_json(raw: bytes, *, hint: Hint | None = None) -> Any:
    """The decoded document; `hint` may add a format-specific explanation to a syntax error."""
    if not raw.strip():
        raise RejectedFile("the file is empty")
    encoding = json.detect_encoding(raw)
    try:
        # Decoded here, strictly: json.loads(bytes) lets UTF-8-encoded surrogates through.
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        named = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
        raise RejectedFile(f"the file is not {named} text (byte {error.start})") from None
    strict = _StrictJson()
    try:
        document = json.loads(text, parse_constant=strict.constant, object_pairs_hook=strict.object)
    except _NotStandard:
        try:
            message = _not_standard(text)
        except IndexError:  # the text after the problem is malformed too: the problem is still so
            message = "not valid JSON: a NaN, an Infinity or a repeated key"
        raise RejectedFile(message) from None
    except json.JSONDecodeError as error:
        extra = hint(raw, error) if hint else ""
        # Some messages end in "at" ("Unterminated string starting at"): the place follows once.
        message = error.msg.removesuffix(" at")
        raise RejectedFile(
            f"not valid JSON{extra}: {message} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise RejectedFile("not valid JSON for Posture: arrays or objects nested too deeply") from None
    except ValueError:
        # Python refuses integers of more than 4,300 digits (a guard against slow conversions).
        raise RejectedFile("not valid JSON for Posture: a number too long to read") from None
    if SUSPECT_ESCAPE.search(text):
        _refuse_unstorable_text(document)
    return document


class _NotStandard(Exception):
    """A NaN or Infinity, or a key twice in one object: Python's json reads both, the JSON standard
    (RFC 8259) has no such numbers and leaves the meaning of a repeated key open."""


class _StrictJson:
    def constant(self, name: str) -> Any:
        raise _NotStandard(name)

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) != len(pairs):
            raise _NotStandard("duplicate key")
        return found


def _not_standard(text: str) -> str:
    """Where the first NaN / Infinity or repeated key is, found by walking the text's tokens (only after
    the parser met one, so well-formed files pay nothing)."""
    line, column = 1, 1
    keys: list[set[str] | None] = []  # per open container: the object's keys so far, None in an array
    expecting_key = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if expecting_key and keys and keys[-1] is not None:
                key = json.loads(text[index : end + 1])
                if key in keys[-1]:
                    return (
                        f"not valid JSON: the key {key!r} appears twice in one object "
                        f"at line {line}, column {column}"
                    )
                keys[-1].add(key)
            column += end + 1 - index
            index = end + 1
            expecting_key = False
            continue
        if char in "{[":
            keys.append(set() if char == "{" else None)
            expecting_key = char == "{"
        elif char in "}]":
            keys.pop()
        elif char == ",":
            expecting_key = bool(keys) and keys[-1] is not None
        elif text.startswith(("NaN", "Infinity", "-Infinity"), index):
            word = next(w for w in ("NaN", "Infinity", "-Infinity") if text.startswith(w, index))
            return f"not valid JSON: {word} is not a JSON number at line {line}, column {column}"
        if char == "\n":
            line, column = line + 1, 1
        else:
            column += 1
        index += 1
    return "not valid JSON: a NaN, an Infinity or a repeated key"


def _refuse_unstorable_text(document: Any) -> None:
    """Walks the document (without recursion: it may be deep) for a NUL or a lone surrogate."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and (found := UNSTORABLE.search(value)):
            if found.group() == "\x00":
                raise RejectedFile("the JSON holds a NUL character (\\u0000), which no export has in text")
            raise RejectedFile("the JSON holds a lone UTF-16 surrogate escape (\\ud800 to \\udfff): not text")


def json_type(value: Any) -> str:
    """What JSON calls a decoded value's type, for messages ("found null", not "found NoneType")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
