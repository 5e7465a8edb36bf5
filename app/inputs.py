"""User-supplied files: the error that says what is wrong and where, and strict UTF-8 decoding."""

from __future__ import annotations


class InputError(ValueError):
    """What is wrong with an input, where: the field, and for a text file its line and column.

    `field` names the input ("text", "csv", "csv.target", "weights.rnn.weight_hh_l0", ...);
    `line` and `column` count from 1 and are None where they do not apply. `str()` gives
    one readable sentence with the place in front.
    """

    def __init__(
        self, field: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.field = field
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{self.place()}{message}")

    def place(self) -> str:
        """The prefix "line 3, column 2: ", or "" for an error without a position."""
        if self.line is None:
            return ""
        if self.column is None:
            return f"line {self.line}: "
        return f"line {self.line}, column {self.column}: "

    def as_dict(self) -> dict[str, str | int | None]:
        """The error as JSON-ready fields, for an HTTP reply."""
        return {
            "field": self.field,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


def decode_utf8(data: bytes, field: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or InputError at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        start = before.rfind(b"\n") + 1
        column = len(before[start:].decode("utf-8", errors="replace")) + 1
        message = f"is not UTF-8 text: byte {exc.start} (0x{data[exc.start]:02x}) {exc.reason}"
        raise InputError(field, message, line=line, column=column) from exc
