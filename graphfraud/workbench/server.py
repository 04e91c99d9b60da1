"""Starting the workbench: the application over a source, served on this machine."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from graphfraud.core.errors import GraphfraudError
from graphfraud.evidence import audit
from graphfraud.evidence.signing import load_signing_key
from graphfraud.store.source import Source
from graphfraud.store.workspace import Workspace
from graphfraud.workbench.app import Workbench, check_bind, create_app
from graphfraud.workbench.calendar import WorkCalendar
from graphfraud.workbench.state import State


def open_workbench(source: Source, workspace: str | Path, *, lang: str = "zh", holidays: str | Path | None = None,
                   signing_key: str | Path | None = None) -> Workbench:
    """The workbench over ``source``; ``workspace`` keeps its accounts, cases and audit log
    (the one ``source`` reads, or, for Neo4j, the workspace that loaded the graph). Refuses
    to start without an administrator, a signing key or an audit log that verifies."""
    ws = Workspace.open(workspace)
    signer = load_signing_key(signing_key)
    state = State(ws.path, WorkCalendar.load(holidays))
    if not state.has_admin():
        raise GraphfraudError("workbench.no_admin", workspace=str(ws.path))
    con = ws.connect(read_only=True)
    try:
        audit.check_writable(ws.path, con, signer)
    finally:
        con.close()
    return Workbench(source=source, workspace=ws.path, state=state, signer=signer, lang=lang)


class _QuietHandler(WSGIRequestHandler):
    """Requests are not logged to the terminal: the audit log records what matters, and a
    URL can hold a case id the terminal's scroll-back need not keep."""

    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class Running:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def start(bench: Workbench, host: str = "127.0.0.1", port: int = 8765, *, allow_remote: bool = False) -> Running:
    """Serve ``bench`` in a background thread (port 0: any free port)."""
    check_bind(host, allow_remote)
    server = make_server(host, port, create_app(bench), threaded=True, request_handler=_QuietHandler)
    # stopping waits for the requests under way: each may be writing the audit log
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, name="graphfraud-workbench", daemon=True)
    thread.start()
    return Running(server, thread)
