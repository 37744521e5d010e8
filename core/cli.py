"""Shared plumbing for manage.py commands: sub-commands, --json output, clear errors."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .errors import DomainError


class SubcommandCommand(BaseCommand):
    """A command whose first argument picks a handler method `handle_<action>`."""

    def add_subcommands(self, parser: CommandParser) -> Any:
        return parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"handle_{action}")(**options)
        except DomainError as exc:  # a service refused: its message says why
            raise CommandError(str(exc)) from exc

    def emit(self, options: dict[str, Any], data: Any, text: str) -> None:
        """Print JSON for scripts (--json) or text for people."""
        if options.get("json"):
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(text)


def add_json_flag(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")


def format_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def require(value: Any, message: str) -> Any:
    if value is None:
        raise CommandError(message)
    return value


class ProgressBar:
    """A one-line progress bar on stderr for long operator commands."""

    def __init__(self, stream, total: int, label: str, width: int = 30) -> None:
        self.stream, self.total, self.label, self.width, self.done = stream, total, label, width, 0

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}", ending="")
        if self.done >= self.total:
            self.stream.write("")


def add_overlap_flag(parser: Any, what: str) -> None:
    """--overlap-hours of a rotate-secret command (core.rotation): how long `what` keeps
    working beside the new secret; its default is the kind's setting."""
    parser.add_argument(
        "--overlap-hours", type=float, default=None,
        help=f"How long {what} (default: the setting, 24 h; 0 switches at once).",
    )  # fmt: skip
