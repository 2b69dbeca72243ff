"""Exceptions: Java-side errors arrive with the server's or the command line's one-line message."""
from __future__ import annotations

from typing import Optional


class LinlensError(Exception):
    """A refusal or failure reported by Linear Lens, with its one-line message.

    ``status`` is the HTTP status of an API answer (400 bad option, 404 unknown model, 409 busy...),
    ``None`` for a failed job or command.
    """

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.status = status


class JobFailed(LinlensError):
    """A job that ended ``failed``: its ``error`` line (an option out of the model's range, a prompt too long...)."""

    def __init__(self, message: str, job_id: str):
        super().__init__(message)
        self.job_id = job_id
