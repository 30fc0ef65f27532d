"""Errors a user can cause: their message is meant for that user and is shown as it is."""


class UserError(Exception):
    """A problem with what the user asked for or supplied (bad file, unknown name, bad filter)."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class RejectedFile(UserError):
    """An input file that cannot be imported; nothing of it is stored."""


class UnknownSubscription(UserError):
    pass


class EmptyGroup(UserError):
    """A group of subscriptions that holds none: there is nothing to score in it."""


def shown(value: object, limit: int = 80) -> str:
    """A value from the user's file as a message quotes it: its repr, cut to `limit` characters (a
    100,000-character cell quoted whole would bury the message)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def listed(values: list[str], most: int = 5) -> str:
    """Values a message names, quoted: the first `most` of them and how many more there are."""
    named = ", ".join(shown(value, 40) for value in values[:most])
    return named if len(values) <= most else f"{named} and {len(values) - most} more"
