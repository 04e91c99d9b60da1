"""The investigator workbench (``graphfraud serve``).

Unit layer (Flask's test client on a copy of a detected workspace): working days, passwords,
sessions, rights, CSRF, the workflow and the queue's memory of dismissed rings. Integration
layer: the whole walk of an investigation in real headless Chromium with the network refused,
against the workspace and against Neo4j, then the audit log holds every step with its user and
``audit verify`` passes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3

import duckdb
import pytest
from browser import chromium
from click.testing import CliRunner
from conftest import neo4j_with_run

from graphfraud.cli import main
from graphfraud.evidence import audit
from graphfraud.store.source import WorkspaceSource
from graphfraud.workbench import auth
from graphfraud.workbench.app import check_bind, create_app
from graphfraud.workbench.calendar import WorkCalendar
from graphfraud.workbench.server import open_workbench, start
from graphfraud.workbench.state import STATE_FILE, State

PASSWORDS = {"admin": "admin-password-1", "inv": "investigator-pw-1", "liaison": "liaison-password-1"}
HOSTILE = '<img src=x onerror="window.__pwned=1">"\'&<script>window.__pwned=2</script>'


def _accounts(ws) -> None:
    state = State(ws)
    for user, role in (("admin", "admin"), ("inv", "investigator"), ("liaison", "liaison")):
        state.add_user(user, role, PASSWORDS[user])


@pytest.fixture(scope="module")
def bench_ws(detected_region, tmp_path_factory):
    _, ws, _, result = detected_region
    copy = tmp_path_factory.mktemp("workbench") / "ws"
    shutil.copytree(ws, copy)
    _accounts(copy)
    return copy, result


@pytest.fixture
def client(bench_ws):
    ws, _ = bench_ws
    bench = open_workbench(WorkspaceSource(ws), ws)
    app = create_app(bench)
    return app.test_client(), bench


def _login(c, user: str) -> str:
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"csrf": token, "username": user, "password": PASSWORDS[user]})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    return c.get("/api/me").get_json()["csrf"]


# ------------------------------------------------------------------ unit layer
def test_working_days_skip_weekends_and_holidays_and_count_declared_workdays(tmp_path):
    f = tmp_path / "holidays.txt"
    f.write_text("# 国庆\n2026-10-01\n2026-10-02\n2026-10-05\n2026-10-06\n2026-10-07\n2026-10-10 workday\n",
                 encoding="utf-8")
    cal = WorkCalendar.load(f)
    assert not cal.is_working(dt.date(2026, 10, 1)) and cal.is_working(dt.date(2026, 10, 10))
    assert not cal.is_working(dt.date(2026, 10, 11))  # an ordinary Sunday
    # received on Wednesday 30 September: 1 Oct-7 Oct off (3-4 Oct a weekend), Sat 10 Oct worked
    assert cal.add(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    assert cal.add(dt.date(2026, 9, 30), 3) == dt.date(2026, 10, 10)
    assert cal.add(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)
    assert WorkCalendar().add(dt.date(2026, 12, 4), 15) == dt.date(2026, 12, 25)  # three weeks of weekdays
    assert cal.between(dt.date(2026, 9, 30), dt.date(2026, 10, 13)) == 5
    f.write_text("2026-10-01\n2026-13-01\n", encoding="utf-8")
    with pytest.raises(Exception) as err:
        WorkCalendar.load(f)
    assert "line" in str(err.value) or "行" in str(err.value)
    assert err.value.params["line"] == 2 and err.value.params["column"] == 1


def test_passwords_are_scrypt_hashes_with_their_own_salt():
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a != b and a.startswith("scrypt$32768$8$1$")
    assert auth.check_password("correct horse", a) and not auth.check_password("correct horsf", a)
    assert not auth.check_password("x", "md5$abc") and not auth.check_password("x", "garbage")


def test_no_page_or_api_answers_without_a_session(client):
    c, bench = client
    app = c.application
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("login_page", "login", "static"):
            continue
        path = re.sub(r"<[^>]+>", "CC-0000000000", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = c.open(path, method=method)
            assert r.status_code in (302, 401), (method, path, r.status_code)
            if r.status_code == 302:
                assert r.headers["Location"].endswith("/login")
            body = r.get_data(as_text=True)
            assert "CC-" not in body and "card:" not in body
    # a made-up session token is no session
    c.set_cookie("gf_session", "forged-token")
    assert c.get("/api/queue").status_code == 401


def test_posts_need_the_sessions_csrf_token_and_the_pages_origin(client):
    c, bench = client
    page = c.get("/login").get_data(as_text=True)
    r = c.post("/login", data={"username": "inv", "password": PASSWORDS["inv"]})
    assert r.status_code == 403  # no login token either
    csrf = _login(c, "inv")
    case_id = c.get("/api/queue").get_json()["rows"][0]["id"]
    c.get(f"/api/case/{case_id}")
    body = {"note": "x"}
    assert c.post(f"/api/case/{case_id}/note", json=body).status_code == 403
    assert c.post(f"/api/case/{case_id}/note", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert c.post(f"/api/case/{case_id}/note", json=body,
                  headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}).status_code == 403
    ok = c.post(f"/api/case/{case_id}/note", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.get_json()["history"][-1]["note"] == "x"
    assert "csrf" in page


def test_repeated_failed_logins_lock_the_user_name(client):
    c, bench = client

    def attempt(password: str) -> str:
        page = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        return c.post("/login", data={"csrf": token, "username": "liaison", "password": password}).headers["Location"]

    for _ in range(5):
        assert attempt("wrong-password-x").endswith("failed=1")
    # locked now, even with the right password
    assert attempt(PASSWORDS["liaison"]).endswith("failed=1")
    actions = [e["action"] for e in audit.entries(bench.workspace) if e.get("operator") == "liaison"]
    assert actions[-6:] == ["login_failed"] * 5 + ["login_locked"]


def test_liaison_only_actions_are_refused_to_an_investigator_and_audited(client):
    c, bench = client
    csrf = _login(c, "inv")
    rows = c.get("/api/queue").get_json()["rows"]
    case_id = rows[0]["id"]
    c.get(f"/api/case/{case_id}")
    before = len(audit.entries(bench.workspace))
    r = c.post(f"/api/case/{case_id}/export", json={"reveal": True}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "case.reveal" in r.get_json()["error"]
    for status in ("under_review", "confirmed"):
        assert c.post(f"/api/case/{case_id}/status", json={"status": status},
                      headers={"X-CSRF-Token": csrf}).status_code == 200
    r = c.post(f"/api/case/{case_id}/status", json={"status": "transferred"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = c.post(f"/api/case/{case_id}/extend", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    refused = [e for e in audit.entries(bench.workspace)[before:] if e["action"] == "refused"]
    assert [e["right"] for e in refused] == ["case.reveal", "case.transfer", "case.extend"]
    assert all(e["operator"] == "inv" for e in refused)


def test_the_workflow_follows_the_lifecycle_and_counts_working_days(client):
    c, bench = client
    csrf = _login(c, "admin")
    rows = c.get("/api/queue").get_json()["rows"]
    case_id = rows[1]["id"]
    case = c.get(f"/api/case/{case_id}").get_json()["case"]
    assert case["status"] == "new" and set(case["deadlines"]) == {"verify_by", "close_by"}
    opened = dt.datetime.fromisoformat(case["opened_at"]).date()
    assert case["deadlines"]["verify_by"]["date"] == WorkCalendar().add(opened, 15).isoformat()
    r = c.post(f"/api/case/{case_id}/status", json={"status": "feedback"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "feedback" in r.get_json()["error"]
    for status in ("under_review", "dispatched", "feedback", "confirmed"):
        r = c.post(f"/api/case/{case_id}/status", json={"status": status, "assignee": "inv"},
                   headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["assignee"] == "inv" and set(case["deadlines"]) == {"transfer_by", "close_by"}
    assert case["deadlines"]["transfer_by"]["date"] == WorkCalendar().add(dt.date.today(), 5).isoformat()
    extended = c.post(f"/api/case/{case_id}/extend", headers={"X-CSRF-Token": csrf}).get_json()
    assert extended["deadlines"]["close_by"]["date"] == WorkCalendar().add(opened, 90).isoformat()
    queue = {r["id"]: r for r in c.get("/api/queue").get_json()["rows"]}
    assert queue[case_id]["status"] == "confirmed" and queue[case_id]["assignee"] == "inv"
    assert queue[case_id]["deadline"] == case["deadlines"]["transfer_by"]["date"]


def test_a_dismissed_ring_keeps_its_status_and_is_flagged_when_it_grows(client):
    """The status is kept by the ring's stable id, so next month's run finds it; a ring that
    has more members than when it was dismissed is flagged."""
    c, bench = client
    csrf = _login(c, "inv")
    rows = [r for r in c.get("/api/queue").get_json()["rows"] if r["case_type"] == "ring"]
    ring = rows[-1]
    c.get(f"/api/case/{ring['id']}")
    for status in ("under_review", "dismissed"):
        c.post(f"/api/case/{ring['id']}/status", json={"status": status, "note": "家庭成员共同购药"},
               headers={"X-CSRF-Token": csrf})
    row = {r["id"]: r for r in c.get("/api/queue").get_json()["rows"]}[ring["id"]]
    assert row["status"] == "dismissed" and not row["grew_after_dismissal"]
    # as if it had been dismissed when it was smaller (a later run found more members)
    with sqlite3.connect(bench.workspace / STATE_FILE) as db:
        db.execute("UPDATE cases SET members_at_dismissal = ? WHERE case_id = ?", [ring["members"] - 1, ring["id"]])
    row = {r["id"]: r for r in c.get("/api/queue").get_json()["rows"]}[ring["id"]]
    assert row["grew_after_dismissal"]


def test_next_months_detection_keeps_each_cases_status_by_the_rings_stable_id(detected_region, tmp_path):
    """The monthly batch: a new ``detect`` on the workspace updates the queue (its latest run)
    while the cases keep their statuses, because the rings keep their ids."""
    from graphfraud.detect.run import detect

    _, ws, _, result = detected_region
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    _accounts(copy)
    c = create_app(open_workbench(WorkspaceSource(copy), copy)).test_client()
    csrf = _login(c, "inv")
    first = c.get("/api/queue").get_json()
    ring = next(r for r in first["rows"] if r["case_type"] == "ring")
    c.get(f"/api/case/{ring['id']}")
    for status in ("under_review", "dismissed"):
        assert c.post(f"/api/case/{ring['id']}/status", json={"status": status, "note": "同住家庭"},
                      headers={"X-CSRF-Token": csrf}).status_code == 200
    again = detect(copy, tmp_path / "next")
    second = c.get("/api/queue").get_json()
    assert second["run_id"] == again.run_id != first["run_id"]
    row = {r["id"]: r for r in second["rows"]}[ring["id"]]
    assert row["status"] == "dismissed" and row["run_status"] == "same" and not row["grew_after_dismissal"]
    # the earlier run stays in the queue's run list
    assert {r["run_id"] for r in c.get("/api/runs").get_json()} >= {first["run_id"], second["run_id"]}


def test_confirmed_cards_feed_seed_and_expand(client, bench_ws):
    c, _ = client
    _, result = bench_ws
    csrf = _login(c, "inv")
    ring = max((r for r in result.rings if r.kind == "card_collection"), key=lambda r: r.n_members)
    c.get(f"/api/case/{ring.ring_id}")
    for status in ("under_review", "confirmed"):
        assert c.post(f"/api/case/{ring.ring_id}/status", json={"status": status},
                      headers={"X-CSRF-Token": csrf}).status_code == 200
    out = c.get("/api/confirmed-expand").get_json()
    cards = {m.entity_id for m in ring.members if m.entity_type == "card"}
    assert cards <= set(out["seeds"])
    assert out["places"] and not {x["card_id"] for x in out["candidates"]} & set(out["seeds"])
    # the same ranking as `graphfraud expand` from those seeds
    from graphfraud.views.expand import expand
    con = duckdb.connect(str(bench_ws[0] / "graphfraud.duckdb"), read_only=True)
    try:
        direct = expand(con, out["seeds"], graph=False)
    finally:
        con.close()
    assert [x["card_id"] for x in out["candidates"]] == [c.card_id for c in direct.candidates]


def test_queue_rows_carry_the_money_an_investigator_needs(client, bench_ws):
    c, _ = client
    _, result = bench_ws
    _login(c, "inv")
    q = c.get("/api/queue").get_json()
    rings = {r.ring_id: r for r in result.rings}
    ring_rows = [r for r in q["rows"] if r["case_type"] == "ring"]
    assert {r["id"] for r in ring_rows} == set(rings)
    for row in ring_rows:
        ring = rings[row["id"]]
        assert row["total"] == str(ring.total_amount) and row["members"] == ring.n_members
        from decimal import Decimal
        assert Decimal(row["fund"]) + Decimal(row["account"]) + Decimal(row["self"]) <= Decimal(row["total"]) + 1
    assert any(r["case_type"] == "lead" for r in q["rows"])


def test_hostile_strings_come_back_as_data(client):
    c, _ = client
    csrf = _login(c, "inv")
    r = c.get("/api/case/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json")
    assert r.get_json()["code"] == "workbench.bad_case_id" and "<img" not in r.get_data(as_text=True)
    for bad in ("..", "CC-1%3B%20DROP", "a" * 81):
        assert c.get(f"/api/case/{bad}").status_code in (400, 404)
    r = c.get("/api/case/CC-0000000000")  # well formed, unknown: the store's own message
    assert r.status_code == 400 and r.get_json()["code"] == "case_not_found"
    r = c.get("/api/case/a%2F%3Cb%3E")  # an id with a slash is no route: JSON too, no page echoing it
    assert r.status_code == 404 and r.get_json()["code"] == "workbench.not_found"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    case_id = c.get("/api/queue").get_json()["rows"][0]["id"]
    c.get(f"/api/case/{case_id}")
    r = c.post(f"/api/case/{case_id}/note", json={"note": HOSTILE}, headers={"X-CSRF-Token": csrf})
    assert r.get_json()["history"][-1]["note"] == HOSTILE


def test_the_server_binds_loopback_unless_told_otherwise():
    check_bind("127.0.0.1", False)
    check_bind("::1", False)
    check_bind("localhost", False)
    for host in ("0.0.0.0", "192.168.1.20", "example.org"):
        with pytest.raises(Exception) as err:
            check_bind(host, False)
        assert err.value.key == "workbench.not_loopback"
    check_bind("0.0.0.0", True)


def test_serve_needs_an_administrator_and_refuses_a_public_address(detected_region, tmp_path):
    _, ws, _, _ = detected_region
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    r = CliRunner().invoke(main, ["--lang", "en", "serve", "-w", str(copy), "--port", "0"])
    assert r.exit_code == 2 and "users add" in r.output
    r = CliRunner().invoke(main, ["users", "add", "boss", "--role", "admin", "-w", str(copy)],
                           input="a-long-password\na-long-password\n")
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["--lang", "en", "serve", "-w", str(copy), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "--allow-remote" in r.output
    r = CliRunner().invoke(main, ["users", "list", "-w", str(copy)])
    assert "boss\tadmin" in r.output


# ------------------------------------------------------------------ integration layer
def _walk(url: str) -> dict:
    """An investigation in the browser; returns what it saw."""
    seen = {}
    with chromium(allow=(url,)) as s:
        page = s.open(url + "/")
        page.wait_for_selector("#username")  # no session: the login page
        page.fill("#username", "liaison")
        page.fill("#password", PASSWORDS["liaison"])
        page.click("#login")
        page.wait_for_selector("#queue tbody tr")
        all_rows = page.locator("#queue tbody tr").count()
        page.select_option("#f-kind", "card_collection")
        kinds = page.locator("#queue tbody tr td:nth-child(2)").all_inner_texts()
        assert kinds and set(kinds) == {"聚敛盗刷"} and len(kinds) < all_rows
        page.fill("#f-score", "40")
        scores = [float(x) for x in page.locator("#queue tbody tr td:nth-child(3)").all_inner_texts()]
        assert scores and min(scores) >= 40
        page.click("#queue th[data-key=members]")  # sort by members, most first
        members = [int(x) for x in page.locator("#queue tbody tr td:nth-child(4)").all_inner_texts()]
        assert members == sorted(members, reverse=True)
        case_id = page.locator("#queue tbody tr").first.get_attribute("data-id")
        page.locator("#queue tbody tr").first.click()
        page.wait_for_function("() => window.gfWorkbench.case && window.gfWorkbench.case.ready")
        seen["case_id"] = case_id
        # double-click the pharmacy: its other cards come in from the store
        facility = page.evaluate("""() => [...window.gfWorkbench.case.nodes.values()]
                                     .find(n => n.type === 'facility' && n.member).id""")
        before = page.evaluate("() => window.gfWorkbench.case.nodes.size")
        x, y = page.evaluate("""id => { const net = window.gfWorkbench.case.network;
            const p = net.canvasToDOM(net.getPositions([id])[id]);
            const r = document.querySelector('#graph canvas').getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""", facility)
        page.mouse.dblclick(x, y)
        page.wait_for_function(f"() => window.gfWorkbench.case.nodes.size > {before}")
        seen["expanded"] = page.evaluate("() => window.gfWorkbench.case.nodes.size") - before
        # the time bar: a later start hides the ties and claims before it
        edges0, claims0 = page.evaluate("() => [window.gfWorkbench.case.visibleEdges, window.gfWorkbench.case.visibleClaims]")
        rows0 = page.locator("#claims tbody tr").count()
        assert rows0 == claims0
        page.focus("#time-from")
        days = page.evaluate("() => window.gfWorkbench.case.days.length")
        for _ in range(max(days // 2, 1)):
            page.keyboard.press("ArrowRight")
        edges1, claims1 = page.evaluate("() => [window.gfWorkbench.case.visibleEdges, window.gfWorkbench.case.visibleClaims]")
        assert claims1 < claims0 and edges1 <= edges0
        assert page.locator("#claims tbody tr").count() == claims1
        lo = page.evaluate("() => window.gfWorkbench.case.range[0]")
        assert all(d >= lo for d in page.locator("#claims tbody tr td:nth-child(2)").all_inner_texts())
        seen["timebar"] = (edges0, claims0, edges1, claims1)
        page.focus("#time-from")
        page.keyboard.press("Home")
        # two members, Ctrl-clicked, and their shortest paths
        cards = page.evaluate("""() => [...window.gfWorkbench.case.nodes.values()]
                                  .filter(n => n.type === 'card' && n.member).map(n => n.id).slice(0, 2)""")
        page.mouse.click(5, 5)
        for i, card in enumerate(cards):
            cx, cy = page.evaluate("""id => { const net = window.gfWorkbench.case.network;
                const p = net.canvasToDOM(net.getPositions([id])[id]);
                const r = document.querySelector('#graph canvas').getBoundingClientRect();
                return [p.x + r.left, p.y + r.top]; }""", card)
            if i:
                page.keyboard.down("Control")
            page.mouse.click(cx, cy)
            if i:
                page.keyboard.up("Control")
        assert sorted(page.evaluate("() => window.gfWorkbench.case.network.getSelectedNodes()")) == sorted(cards)
        page.click("#find-path")
        page.wait_for_selector("#paths li.path")
        paths = page.evaluate("() => window.gfWorkbench.case.paths")
        assert paths and all({p[0], p[-1]} == set(cards) for p in paths)
        seen["paths"] = paths
        # hide a node, save the view: it stays hidden when the case is opened again
        hidden = cards[1]
        page.evaluate("id => window.gfWorkbench.case.network.selectNodes([id])", hidden)
        page.click("#hide")
        assert page.evaluate("id => window.gfWorkbench.case.dsNodes.get(id)", hidden) is None
        page.evaluate("id => window.gfWorkbench.case.network.selectNodes([id])", cards[0])
        page.click("#pin")
        page.click("#save-view")
        page.wait_for_function("() => document.querySelector('#flash').textContent === '已保存'")
        seen["hidden"] = hidden
        # the workflow: under review, with a hostile note shown as text
        page.select_option("#status", "under_review")
        page.fill("#note", HOSTILE)
        page.click("#apply")
        page.wait_for_function("() => document.querySelector('#case-status').textContent === '审核中'")
        assert HOSTILE in page.inner_text("#history")
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("#history img").count() == 0
        # a hostile id opened in the page is shown as text too
        page.evaluate("() => window.gfWorkbench.open('<img src=x onerror=window.__pwned=3>', null).catch(() => 0)")
        page.wait_for_selector("#app p.flash.bad")
        assert "案件编号格式不对" in page.inner_text("#app")  # refused before any query, shown as text
        assert page.evaluate("() => window.__pwned") is None and page.locator("#app img").count() == 0
        assert [e for e in s.errors if "400" in e] and all("400" in e for e in s.errors)  # the refused id only
        s.errors.clear()
        page.goto(url + "/")
        page.wait_for_selector("#queue tbody tr")
        page.evaluate(f"() => window.gfWorkbench.open({json.dumps(case_id)}, null)")
        page.wait_for_function("() => window.gfWorkbench.case && window.gfWorkbench.case.ready")
        assert page.evaluate("id => window.gfWorkbench.case.dsNodes.get(id)", seen["hidden"]) is None
        assert page.evaluate(f"() => window.gfWorkbench.case.pinned.has({json.dumps(cards[0])})")
        page.click("#export")
        page.wait_for_function("() => document.querySelector('#export-result').textContent.includes('SHA-256')")
        seen["export"] = page.inner_text("#export-result")
        assert s.external == [], s.external
        assert s.errors == [], s.errors
    return seen


def _check_audit(ws, seen) -> None:
    entries = audit.entries(ws)
    mine = [e for e in entries if e.get("operator") == "liaison"]
    actions = [e["action"] for e in mine]
    for step in ("login", "view", "expand", "path", "status", "export"):
        assert step in actions, (step, actions)
    status = next(e for e in mine if e["action"] == "status")
    assert status["case_id"] == seen["case_id"] and status["status_to"] == "under_review" and status["note"] == HOSTILE
    export = next(e for e in mine if e["action"] == "export")
    assert export["case_id"] == seen["case_id"] and export["manifest_sha256"] in seen["export"]
    r = CliRunner().invoke(main, ["--lang", "en", "audit", "verify", "-w", str(ws)])
    assert r.exit_code == 0, r.output


def _investigate(source, ws) -> None:
    """The browser walk on a workbench over ``source``, then its audit trail."""
    running = start(open_workbench(source, ws), "127.0.0.1", 0)
    try:
        seen = _walk(running.url)
    finally:
        running.stop()
    assert seen["expanded"] > 0
    _check_audit(ws, seen)


@pytest.mark.integration
def test_an_investigation_in_the_browser_against_the_workspace(bench_ws):
    ws, _ = bench_ws
    _investigate(WorkspaceSource(ws), ws)


@pytest.fixture(scope="module")
def neo4j_bench(neo4j_server, neo4j_region, tmp_path_factory):
    """The region in an empty graph with a detection run written into it; the workspace copy
    that ran it keeps the workbench's accounts, cases and audit log."""
    _, ws = neo4j_region
    copy, _ = neo4j_with_run(neo4j_server, ws, tmp_path_factory.mktemp("workbench-neo4j"))
    _accounts(copy)
    return neo4j_server, copy


def test_an_investigation_in_the_browser_against_neo4j(neo4j_bench):
    from graphfraud.neo4j.views import Neo4jSource

    target, ws = neo4j_bench
    _investigate(Neo4jSource(target), ws)
