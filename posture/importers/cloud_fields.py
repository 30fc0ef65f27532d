"""Reading the values AWS's and Google's command-line tools print: text, times, tags, one shared way."""

from datetime import UTC, datetime
from typing import Any

from posture.errors import RejectedFile, shown


def text(value: Any) -> str:
    """A string value stripped, '' for anything else (a missing key, null)."""
    return value.strip() if isinstance(value, str) else ""


def moment(where: str, name: str, value: Any) -> str:
    """A time as ISO 8601 in UTC ('' when absent): the AWS CLI v2 prints ISO 8601, v1 and the SDK's
    JSON print seconds since the epoch (`1550501835.178`)."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    try:
        parsed = datetime.fromisoformat(text(value))
    except ValueError:
        raise RejectedFile(f"{where}: {name} {shown(value)} is not a time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def aws_tags(where: str, value: Any) -> dict[str, str]:
    """EC2's `Tags`, a list of {"Key", "Value"}, as a dict."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise RejectedFile(f"{where}: 'Tags' is not a list")
    tags: dict[str, str] = {}
    for tag in value:
        if not isinstance(tag, dict) or not text(tag.get("Key")):
            raise RejectedFile(f"{where}: a tag without a 'Key'")
        tags[text(tag["Key"])] = text(tag.get("Value"))
    return tags
