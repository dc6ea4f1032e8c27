"""The one exception a deploy raises, carrying what was reported before it failed."""

from __future__ import annotations

from localcloud.model import ReportLine


class DeployError(Exception):
    """A template that cannot be deployed as written, or an endpoint that cannot take it.

    `report` holds the lines (including every `unsupported` one) so callers can show the
    whole picture rather than the first problem only.
    """

    def __init__(self, message: str, report: list[ReportLine] | None = None) -> None:
        super().__init__(message)
        self.report = list(report or [])


class TemplateError(DeployError):
    """The template itself is refused (a resource, a property, a value): the CLI's exit code 2."""
