"""Errors users see: a message key rendered in the current language, with its parameters."""

from __future__ import annotations

from graphfraud.core.i18n import t


class GraphfraudError(Exception):
    """A problem the user can fix; ``str()`` gives the message in the current language."""

    #: what the CLI exits with
    exit_code = 2

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def __str__(self) -> str:

        return t(self.key, **self.params)


class WorkspaceBusy(GraphfraudError):
    """Another process is writing the workspace (an ingest, a detection, an export): try again
    when it has finished. The CLI exits with 75 (EX_TEMPFAIL) for it, so a scheduler can tell
    "try later" from "fix something"."""

    exit_code = 75
