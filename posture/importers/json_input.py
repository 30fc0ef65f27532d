"""The one way importers read a JSON file: empty, undecodable and malformed input become one clear line."""

import json
from collections.abc import Callable
from typing import Any

from posture.errors import RejectedFile

Hint = Callable[[bytes, json.JSONDecodeError], str]


def parse_json(raw: bytes, *, hint: Hint | None = None) -> Any:
    """The decoded document; `hint` may add a format-specific explanation to a syntax error."""
    if not raw.strip():
        raise RejectedFile("the file is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        raise RejectedFile(f"the file is not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        extra = hint(raw, error) if hint else ""
        # Some messages end in "at" ("Unterminated string starting at"): the place follows once.
        message = error.msg.removesuffix(" at")
        raise RejectedFile(
            f"not valid JSON{extra}: {message} at line {error.lineno}, column {error.colno}"
        ) from None
