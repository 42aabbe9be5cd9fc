"""Domain errors, raised below the API and the CLI and mapped to HTTP or exit codes in one place."""

from __future__ import annotations


class GeotranquilError(Exception):
    """Base of every error a user can act on; the message is meant for a person."""


class NotFound(GeotranquilError):
    """A requested object does not exist."""


class InvalidInput(GeotranquilError):
    """An input (file, parameter, mapping) is malformed."""


class InvalidGeometry(InvalidInput):
    """A geometry cannot be used."""


class MappingError(InvalidInput):
    """A source mapping file is wrong."""


class Forbidden(GeotranquilError):
    """The caller's role may not see or do this."""


class NotReady(GeotranquilError):
    """A prerequisite step has not been run (e.g. areas not loaded before building the grid)."""


class Conflict(GeotranquilError):
    """The request clashes with the current state (e.g. the same job already waits)."""


class NotAuthenticated(Forbidden):
    """No key, or a key that is unknown or revoked, where a key is required."""


class TooLarge(InvalidInput):
    """An upload (a photo, a request body) exceeds the configured size."""


class UnsupportedMediaType(InvalidInput):
    """A request body of a media type the route does not take."""


class TooManyRequests(GeotranquilError):
    """A rate limit is exhausted; ``retry_after`` is the wait in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
