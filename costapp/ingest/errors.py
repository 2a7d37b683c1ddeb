"""Ingestion errors, split by what the caller should do about them."""

from __future__ import annotations

from dataclasses import dataclass


class IngestError(Exception):
    """A permanent fault: the input is wrong. Do not retry; tell the user why."""


class ParseError(IngestError):
    """A malformed input, located to file, line and column so the user can fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: str | int | None = None,
        expected: str = "",
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = "" if column is None else str(column)
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text


@dataclass(frozen=True)
class Where:
    """A document's place in a file, and what its format expects: for errors whose column is a
    path into the document (OTLP, Prometheus and Langfuse JSON)."""

    file: str
    line: int
    expected: str = ""

    def error(self, message: str, column: str, expected: str | None = None) -> ParseError:
        return ParseError(
            message,
            file=self.file,
            line=self.line,
            column=column,
            expected=self.expected if expected is None else expected,
        )


class TransientError(Exception):
    """A fault worth retrying with backoff: a 5xx, a timeout, a dropped connection."""
