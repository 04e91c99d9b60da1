"""The investigator workbench: a local web application (Flask) over a ``store.Source``.

Every page and API needs a session (a login); every state-changing request carries the
session's CSRF token in ``X-CSRF-Token`` and comes from the page's own origin. Every view of a
case, status change, note, saved view, attachment, export and reveal, and every login and
logout, is appended to the workspace's hash-chained, signed audit log with the user. The page
loads only its own scripts (vis-network vendored from npm into ``viz/vendor``), so it works
with the network cut; the Content-Security-Policy forbids anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, jsonify, make_response, redirect, request, send_file

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import MESSAGES, t
from graphfraud.core.resources import asset_path
from graphfraud.detect.settings import Settings
from graphfraud.evidence import audit
from graphfraud.evidence.package import export_case
from graphfraud.evidence.signing import SigningKey
from graphfraud.store.source import Source
from graphfraud.store.workspace import Workspace
from graphfraud.workbench import auth, data
from graphfraud.workbench.state import STATUSES, TRANSITIONS, State

SESSION_COOKIE = "gf_session"
LOGIN_COOKIE = "gf_login"
LANG_COOKIE = "gf_lang"
ASSETS = {"vis-network.min.js": ("vendor", "vis-network", "vis-network.min.js"),
          "workbench.js": ("workbench.js",), "workbench.css": ("workbench.css",)}
#: a ring or lead id as detection writes them (CC-1A2B3C4D5E, L-AD-1A2B3C4D5E): anything else
#: in a case URL is refused before it reaches a query or a file name
CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
#: failed logins of one user name allowed within LOCK_SECONDS before it is locked that long
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass
class Workbench:
    """What the application serves: the source it reads, the workspace that keeps the audit
    log (and, for exports, the data and key vault), the state (accounts, cases), the signing key."""

    source: Source
    workspace: Path
    state: State
    signer: SigningKey
    lang: str = "zh"
    #: one thing at a time touches the DuckDB files: a read-only view and the audit's writer
    #: cannot be open together in one process
    lock: threading.RLock = field(default_factory=threading.RLock)

    def record(self, user: str, action: str, **details: Any) -> dict:
        """Append one step to the audit log."""
        with self.lock:
            ws = Workspace.open(self.workspace)
            lock = ws.lock("workbench")
            con = ws.connect()
            try:
                return audit.append(ws.path, con, {"action": action, "operator": user, "via": "workbench",
                                                   **details}, self.signer)
            finally:
                con.close()
                lock.release()

    def read(self, fn: Callable, run_id: str | None = None):
        with self.lock, self.source.connect(run_id) as con:
            return fn(con)

    def settings(self, run_id: str | None) -> Settings:
        """The settings the run was made with (its transfer threshold, its expand window)."""
        def get(con):
            row = con.execute("SELECT settings FROM detect_runs WHERE run_id = ?",
                              [data.check_run(con, run_id)]).fetchone()
            return Settings.from_dict(json.loads(row[0]), "detect_runs") if row and row[0] else Settings()
        return self.read(get, run_id)


def create_app(bench: Workbench) -> Flask:
    app = Flask("graphfraud.workbench", static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=20 * 1024 * 1024)

    def lang() -> str:
        chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or bench.lang
        return chosen if chosen in ("zh", "en") else bench.lang

    def fail(status: int, key: str, **params) -> Response:
        return make_response(jsonify({"error": t(key, lang=lang(), **params), "code": key}), status)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    @app.errorhandler(GraphfraudError)
    def graphfraud_error(exc: GraphfraudError):
        return make_response(jsonify({"error": t(exc.key, lang=lang(), **exc.params), "code": exc.key}), 400)

    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def http_error(exc):
        return fail(exc.code, "workbench.not_found" if exc.code == 404 else "workbench.bad_request")

    failures: dict[str, list[float]] = {}

    def locked(username: str) -> bool:
        now = time.monotonic()
        recent = [x for x in failures.get(username, []) if now - x < LOCK_SECONDS]
        failures[username] = recent
        return len(recent) >= MAX_FAILURES

    @app.before_request
    def authenticate():
        case_id = (request.view_args or {}).get("case_id")
        if case_id is not None and not CASE_ID.match(case_id):
            return fail(400, "workbench.bad_case_id")
        g.session = bench.state.session(request.cookies.get(SESSION_COOKIE))
        if request.endpoint in ("login_page", "login"):
            return None
        if g.session is None:
            if request.path.startswith("/api/") or request.method != "GET":
                return fail(401, "workbench.login_required")
            return redirect("/login")
        if request.method not in ("GET", "HEAD"):
            if not auth.same(request.headers.get("X-CSRF-Token"), g.session.csrf) or not _same_origin():
                return fail(403, "workbench.csrf")
        return None

    def right(name: str):
        def deco(fn):
            @wraps(fn)
            def inner(*args, **kwargs):
                if not auth.may(g.session.user.role, name):
                    bench.record(g.session.user.username, "refused", right=name, path=request.path)
                    return fail(403, "workbench.forbidden", right=name)
                return fn(*args, **kwargs)
            return inner
        return deco

    # ------------------------------------------------------------ login
    @app.get("/login")
    def login_page():
        token = auth.new_token()
        resp = make_response(_login_html(lang(), token, request.args.get("failed") == "1"))
        resp.headers["Content-Type"] = "text/html; charset=utf-8"
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict")
        return resp

    @app.post("/login")
    def login():
        if not auth.same(request.form.get("csrf"), request.cookies.get(LOGIN_COOKIE)) or not _same_origin():
            return fail(403, "workbench.csrf")
        username = request.form.get("username", "")[:64]
        if locked(username):
            bench.record(username or "-", "login_locked")
            return redirect("/login?failed=1", code=303)
        done = bench.state.login(username, request.form.get("password", ""))
        if done is None:
            failures.setdefault(username, []).append(time.monotonic())
            bench.record(username or "-", "login_failed")
            return redirect("/login?failed=1", code=303)
        failures.pop(username, None)
        token, session = done
        bench.record(session.user.username, "login", role=session.user.role)
        resp = redirect("/", code=303)
        resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict")
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    @app.post("/logout")
    def logout():
        bench.record(g.session.user.username, "logout")
        bench.state.logout(request.cookies.get(SESSION_COOKIE))
        resp = jsonify({"ok": True})
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    # ------------------------------------------------------------ the page
    @app.get("/")
    def index():
        resp = make_response(_app_html(lang()))
        resp.headers["Content-Type"] = "text/html; charset=utf-8"
        if request.args.get("lang") in ("zh", "en"):
            resp.set_cookie(LANG_COOKIE, request.args["lang"], samesite="Strict")
        return resp

    @app.get("/assets/<name>")
    def assets(name: str):
        if name not in ASSETS:
            abort(404)
        mimetype = "text/css" if name.endswith(".css") else "text/javascript"
        return send_file(asset_path("viz", *ASSETS[name]), mimetype=mimetype, max_age=0)

    @app.get("/api/me")
    def me():
        s = g.session
        return jsonify({"user": s.user.username, "role": s.user.role, "csrf": s.csrf, "lang": lang(),
                        "rights": sorted(auth.RIGHTS[s.user.role]), "statuses": list(STATUSES),
                        "transitions": {k: list(v) for k, v in TRANSITIONS.items()},
                        "texts": _texts(lang()), "version": __version__,
                        "users": [u["username"] for u in bench.state.users() if not u["disabled"]]})

    @app.get("/api/runs")
    def runs():
        return jsonify(bench.read(data.runs))

    @app.get("/api/queue")
    def queue():
        run_id = request.args.get("run") or None
        threshold = bench.settings(run_id).transfer_threshold
        cases = bench.state.cases()
        out = bench.read(lambda con: data.queue(con, run_id, cases, lang(), threshold=threshold), run_id)
        out["threshold"] = str(threshold)
        return jsonify(out)

    @app.get("/api/case/<case_id>")
    def case(case_id: str):
        run_id = request.args.get("run") or None
        view = bench.read(lambda con: data.case_view(con, case_id, run_id, lang()), run_id)
        record = bench.state.open_case(case_id, view["case_type"], view["kind"], g.session.user)
        bench.record(g.session.user.username, "view", case_id=case_id, run_id=view["run_id"])
        view["case"] = record
        return jsonify(view)

    @app.post("/api/case/<case_id>/status")
    @right("case.update")
    def status(case_id: str):
        body = request.get_json(silent=True) or {}
        new = body.get("status")
        if new is not None and new not in STATUSES:
            return fail(400, "workbench.bad_status", status=str(new)[:40])
        if new == "transferred" and not auth.may(g.session.user.role, "case.transfer"):
            bench.record(g.session.user.username, "refused", right="case.transfer", case_id=case_id)
            return fail(403, "workbench.forbidden", right="case.transfer")
        members = None
        if new == "dismissed":
            members = bench.read(lambda con: con.execute(
                "SELECT max(n_members) FROM rings WHERE ring_id = ?", [case_id]).fetchone()[0]) or 1
        note = _text(body.get("note"))
        assignee = body.get("assignee")
        before = bench.state.case(case_id) or {}
        after = bench.state.change(case_id, g.session.user, status=new, note=note,
                                   assignee=None if assignee is None else str(assignee)[:64], members=members)
        bench.record(g.session.user.username, "status" if new and new != before.get("status") else "update",
                     case_id=case_id, status_from=before.get("status"), status_to=after["status"], note=note,
                     assignee=after.get("assignee"))
        return jsonify(after)

    @app.post("/api/case/<case_id>/note")
    @right("case.update")
    def note(case_id: str):
        text = _text((request.get_json(silent=True) or {}).get("note"))
        if not text:
            return fail(400, "workbench.empty_note")
        after = bench.state.change(case_id, g.session.user, note=text)
        bench.record(g.session.user.username, "note", case_id=case_id, note=text)
        return jsonify(after)

    @app.post("/api/case/<case_id>/view")
    @right("case.update")
    def save_view(case_id: str):
        view = (request.get_json(silent=True) or {}).get("view") or {}
        clean = {"pinned": [str(x)[:200] for x in view.get("pinned", [])][:2000],
                 "hidden": [str(x)[:200] for x in view.get("hidden", [])][:2000],
                 "expanded": [str(x)[:200] for x in view.get("expanded", [])][:200],
                 "positions": {str(k)[:200]: [float(v[0]), float(v[1])] for k, v in
                               list((view.get("positions") or {}).items())[:5000]},
                 "range": [str(x)[:10] for x in (view.get("range") or [])][:2]}
        bench.state.save_view(case_id, clean, g.session.user)
        bench.record(g.session.user.username, "save_view", case_id=case_id)
        return jsonify({"ok": True})

    @app.post("/api/case/<case_id>/attachment")
    @right("case.update")
    def attachment(case_id: str):
        f = request.files.get("file")
        if f is None:
            return fail(400, "workbench.no_file")
        body = f.read()
        digest = hashlib.sha256(body).hexdigest()
        name = Path(f.filename or "file").name[:200]
        bench.state.attach(case_id, name, digest, len(body), g.session.user)
        bench.record(g.session.user.username, "attachment", case_id=case_id, name=name, sha256=digest, size=len(body))
        return jsonify(bench.state.case(case_id))

    @app.post("/api/case/<case_id>/extend")
    @right("case.extend")
    def extend(case_id: str):
        after = bench.state.extend(case_id, g.session.user)
        bench.record(g.session.user.username, "extend", case_id=case_id)
        return jsonify(after)

    @app.post("/api/case/<case_id>/export")
    @right("case.export")
    def export(case_id: str):
        body = request.get_json(silent=True) or {}
        reveal = bool(body.get("reveal"))
        if reveal and not auth.may(g.session.user.role, "case.reveal"):
            bench.record(g.session.user.username, "refused", right="case.reveal", case_id=case_id)
            return fail(403, "workbench.forbidden", right="case.reveal")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        out = bench.workspace / "exports" / f"{case_id}-{stamp}-{auth.new_token()[:6]}"
        with bench.lock:
            result = export_case(bench.workspace, case_id, out, run_id=body.get("run") or None, make_zip=True,
                                 reveal=reveal, operator=g.session.user.username)
        bench.state.attach(case_id, result.zip_path.name, hashlib.sha256(result.zip_path.read_bytes()).hexdigest(),
                           result.zip_path.stat().st_size, g.session.user)
        return jsonify({"package": str(result.out_dir), "zip": result.zip_path.name,
                        "manifest_sha256": result.manifest_sha256, "audit_seq": result.audit_entry["seq"],
                        "revealed": len(result.revealed)})

    @app.get("/api/confirmed-expand")
    def confirmed_expand():
        run_id = request.args.get("run") or None
        confirmed = sorted(k for k, v in bench.state.cases().items() if v["status"] in ("confirmed", "transferred"))
        settings = bench.settings(run_id)
        out = bench.read(lambda con: data.expand_confirmed(con, run_id, confirmed, lang(), settings=settings), run_id)
        bench.record(g.session.user.username, "expand_confirmed", cases=confirmed, seeds=len(out["seeds"]),
                     found=len(out["candidates"]))
        return jsonify(out)

    @app.get("/api/expand")
    def expand():
        node = request.args.get("node", "")
        out = bench.read(lambda con: data.expand_node(con, node, lang()))
        bench.record(g.session.user.username, "expand", node=node[:200], case_id=request.args.get("case", "")[:80])
        return jsonify(out)

    @app.post("/api/path")
    def path():
        body = request.get_json(silent=True) or {}
        nodes = [str(n)[:200] for n in body.get("nodes", [])][:5000]
        edges = [(str(e[0])[:200], str(e[1])[:200]) for e in body.get("edges", [])[:20000] if len(e) == 2]
        a, b = str(body.get("from", ""))[:200], str(body.get("to", ""))[:200]
        out = bench.read(lambda con: data.paths(con, nodes, edges, a, b, lang()))
        bench.record(g.session.user.username, "path", case_id=str(body.get("case", ""))[:80], node_from=a, node_to=b,
                     found=len(out["paths"]))
        return jsonify(out)

    return app


def _same_origin() -> bool:
    """A state-changing request from another site's page is refused (besides the token)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/") == request.host_url.rstrip("/")
    return True  # not a browser (the token is still required), or one that hides the origin


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:4000] or None


def _texts(lang: str) -> dict[str, str]:
    return {k[len("wb."):]: v[lang] for k, v in MESSAGES.items() if k.startswith("wb.")}


def _login_html(lang: str, token: str, failed: bool) -> str:
    e = html.escape
    err = f'<p class="error" role="alert">{e(t("wb.login_failed", lang=lang))}</p>' if failed else ""
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{e(t("wb.title", lang=lang))}</title>
<style>body{{font-family:"Noto Sans CJK SC","Noto Sans SC",sans-serif;background:#f4f5f7;display:flex;
justify-content:center;padding-top:12vh}}form{{background:#fff;padding:2em 2.5em;border-radius:8px;
box-shadow:0 2px 8px #0002;min-width:320px}}label{{display:block;margin:.8em 0 .2em}}input{{width:100%;
padding:.5em;box-sizing:border-box}}button{{margin-top:1.2em;padding:.5em 1.5em}}.error{{color:#b00020}}</style>
</head><body><form method="post" action="/login"><h1>{e(t("wb.title", lang=lang))}</h1>{err}
<input type="hidden" name="csrf" value="{e(token)}">
<label for="username">{e(t("wb.username", lang=lang))}</label><input id="username" name="username" autocomplete="username" required>
<label for="password">{e(t("wb.password", lang=lang))}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">{e(t("wb.login", lang=lang))}</button>
<p><a href="/login?lang={'en' if lang == 'zh' else 'zh'}">{'English' if lang == 'zh' else '中文'}</a></p></form></body></html>"""


def _app_html(lang: str) -> str:
    e = html.escape
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{e(t("wb.title", lang=lang))}</title><link rel="stylesheet" href="/assets/workbench.css"></head>
<body><div id="app"></div><script src="/assets/vis-network.min.js"></script>
<script src="/assets/workbench.js"></script></body></html>"""


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless told to."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not allow_remote:
        raise GraphfraudError("workbench.not_loopback", host=host)
