"""Values read from a page's form, refused with words the user reads."""

from datetime import date

from posture.errors import UserError


def form_date(raw: str, what: str) -> date | None:
    """A YYYY-MM-DD field (blank: none); `what` names it in the refusal ("the ETA")."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UserError(f"{what} must be a date (YYYY-MM-DD), not {raw!r}") from None
