"""The refusal of a command that cannot be carried out now."""

from __future__ import annotations

from app.protocol import Error


class CommandRefused(Exception):
    """A command that is valid JSON but cannot be carried out now; becomes an Error frame."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def frame(self, command_id: int | None = None) -> Error:
        """The typed error frame for this refusal."""
        return Error.model_validate(
            {
                "code": self.code,
                "field": self.field,
                "message": self.message,
                "command_id": command_id,
            }
        )
