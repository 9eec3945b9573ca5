"""Errors that carry an HTTP status and a message that is safe to show to anyone.

The internal detail (a stack, a remote body, a SQL error) goes to the log, never into the
message. One handler in `app.py` renders these as JSON for API and ActivityPub clients and as an
HTML page for browsers.
"""

from __future__ import annotations


class FediverseError(Exception):
    """Raise for any failure a caller can be told about; `status` picks the HTTP answer.

    `retry_after` (seconds), when given, becomes the answer's `Retry-After` header.
    """

    status: int = 500
    default_message: str = "Something went wrong on this server; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers every rendering of this error must carry."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, self.retry_after))}


class BadRequest(FediverseError):
    status = 400
    default_message = "The request is malformed."


class Unauthorized(FediverseError):
    status = 401
    default_message = "This request needs a valid signature or token."


class Forbidden(FediverseError):
    status = 403
    default_message = "You are not allowed to do that."


class NotFound(FediverseError):
    status = 404
    default_message = "Nothing is here."


class Conflict(FediverseError):
    status = 409
    default_message = "That conflicts with something that already exists."


class Gone(FediverseError):
    status = 410
    default_message = "This was deleted."


class PayloadTooLarge(FediverseError):
    status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(FediverseError):
    status = 415
    default_message = "The request body has an unsupported content type."


class Unprocessable(FediverseError):
    status = 422
    default_message = "The request is well-formed but its content is not acceptable."


class TooManyRequests(FediverseError):
    status = 429
    default_message = "Too many requests; wait a little and try again."


class ServiceUnavailable(FediverseError):
    status = 503
    default_message = "The server is busy; try again shortly."
