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
