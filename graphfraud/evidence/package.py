"""``graphfraud export``: one case (a ring or a lead of a detection run) as an evidence
package, recorded in the workspace's audit log."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.detect.settings import Settings
from graphfraud.evidence import audit
from graphfraud.evidence.formats import (
    edge_records,
    node_records,
    to_json,
    write_anx,
    write_csv,
    write_gexf,
    write_graphml,
    write_nodes_edges,
)
from graphfraud.evidence.integrity import MANIFEST, sha256_bytes, sha256_file
from graphfraud.evidence.page import layout, render
from graphfraud.evidence.signing import MANIFEST_SIG, ZIP_SIG_SUFFIX, load_signing_key, signature_document
from graphfraud.evidence.summary import build_summary
from graphfraud.ingest.pseudo import load_keyring, reveal
from graphfraud.store.workspace import Workspace
from graphfraud.views.casegraph import check_run, lead_graph, ring_graph
from graphfraud.views.render import case_html

#: every file of a package besides manifest.json, in the order they are written
PACKAGE_FILES = ("nodes.csv", "edges.csv", "case.graphml", "case.gexf", "case.anx", "claims.csv", "items.csv",
                 "summary.json", "case.html")
#: the interactive page of ``graphfraud case`` (pyvis, scripts inlined), when the viz extra is there
NETWORK_PAGE = "case_network.html"
FORMAT = "graphfraud-evidence/1"
#: no folding: a package holds every entity and tie of the case
NO_CAP = 10**9


@dataclass
class ExportResult:
    case_id: str
    case_type: str
    run_id: str
    out_dir: Path
    zip_path: Path | None
    files: list[Path]
    manifest_sha256: str
    summary: dict
    revealed: list[str] = field(default_factory=list)  # "patient:P1", "doctor:D1"
    audit_entry: dict = field(default_factory=dict)
    signer: str = ""  # fingerprint of the signing key
    zip_signature: Path | None = None


def export_case(workspace: str | Path, case_id: str, out_dir: str | Path, *, run_id: str | None = None,
                make_zip: bool = False, reveal: bool = False, key_file: str | Path | None = None,
                operator: str | None = None, signing_key: str | Path | None = None) -> ExportResult:
    """Write the evidence package of ring or lead ``case_id`` (of run ``run_id``, default the
    latest detection run) into ``out_dir`` (new or empty), and ``out_dir.zip`` beside it when
    ``make_zip``. With ``reveal`` the names, citizen IDs, phones and addresses of the case's
    people (its patients and doctors, nobody else) are restored from the workspace's vault
    with the key (``key_file``, else ``GRAPHFRAUD_KEY`` or the user's key file). The manifest,
    the zip and the audit entry are signed with the bureau's signing key (``signing_key``,
    else ``GRAPHFRAUD_SIGNING_KEY`` or the user's signing key file): without it nothing is
    exported. Every export is appended to the workspace's audit log."""

    signer = load_signing_key(signing_key)  # before anything is read or written
    ws = Workspace.open(workspace)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GraphfraudError("evidence.out_exists", path=str(out))
    zip_path = out.parent / f"{out.name}.zip" if make_zip else None
    zip_sig = zip_path.with_name(zip_path.name + ZIP_SIG_SUFFIX) if zip_path is not None else None
    for target in (zip_path, zip_sig):
        if target is not None and target.exists():
            raise GraphfraudError("evidence.out_exists", path=str(target))
    operator = operator or _operator()
    # written into a hidden folder beside the target and moved into place when complete, so a
    # failure never leaves half a package behind
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    lock = ws.lock("export")
    con = None
    try:
        con = ws.connect()
        # refuse before writing anything when the export could not be recorded
        report = audit.check_writable(ws.path, con, signer)
        run_id, run_settings, run_manifest = _run(con, run_id)
        case_type = _case_type(con, case_id, run_id)
        graph = (ring_graph if case_type == "ring" else lead_graph)(con, case_id, run_id=run_id, cap=NO_CAP)
        claims_cols, claims = _rows(con, """
            SELECT * FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY settled_at, claim_id""",
                                    [list(graph.claim_ids)])
        items_cols, items = _rows(con, """
            SELECT * FROM items WHERE claim_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY claim_id, item_no""",
                                  [list(graph.claim_ids)])
        identities: dict[str, dict] = {}
        revealed: list[str] = []
        if reveal:
            identities, revealed = _reveal(con, ws, graph, key_file)

        settings = Settings.from_dict(run_settings, "detect_runs") if run_settings else Settings()
        summary = build_summary(graph, claims, len(items), threshold=settings.transfer_threshold, run_id=run_id,
                                revealed=reveal)
        nodes = node_records(graph, identities)
        edges = edge_records(graph)
        positions = layout(graph, seed=settings.seed)
        exported_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

        stage.mkdir()
        write_nodes_edges(stage, nodes, edges)
        write_graphml(stage / "case.graphml", graph, nodes, edges)
        write_gexf(stage / "case.gexf", graph, nodes, edges, positions)
        write_anx(stage / "case.anx", graph, nodes, edges, positions)
        write_csv(stage / "claims.csv", claims_cols, claims)
        write_csv(stage / "items.csv", items_cols, items)
        (stage / "summary.json").write_text(to_json(summary) + "\n", encoding="utf-8")
        (stage / "case.html").write_text(render(graph, summary, nodes, claims, positions, exported_at=exported_at,
                                                operator=operator), encoding="utf-8")
        files = [stage / name for name in PACKAGE_FILES]
        network_page = _network_page(con, graph, stage / NETWORK_PAGE)
        if network_page is not None:
            files.append(network_page)
        manifest = {
            "format": FORMAT, "case_id": case_id, "case_type": case_type, "kind": graph.kind,
            "run_id": run_id, "exported_at": exported_at, "operator": operator,
            "software": {"name": "graphfraud", "version": __version__},
            "detect_run": {"run_id": run_id, "finished_at": run_manifest.get("finished_at"),
                           "software": run_manifest.get("software")},
            "inputs": run_manifest.get("inputs", []),
            "parameters": run_settings or Settings().to_dict(),
            "identities_revealed": reveal, "revealed_count": len(revealed),
            "interactive_page": NETWORK_PAGE if network_page else None,
            # the audit entry this export becomes (the workspace is locked until it is written)
            "audit_seq": report.entries + 1, "signing_key_fingerprint": signer.fingerprint,
            "totals": {"claims": len(claims), "items": len(items), "total_amount": summary["total_amount"],
                       "fund_amount": summary["fund_amount"]},
            "files": {p.name: {"sha256": sha256_file(p), "size": p.stat().st_size} for p in files},
        }
        manifest_bytes = (to_json(manifest) + "\n").encode("utf-8")
        (stage / MANIFEST).write_bytes(manifest_bytes)
        (stage / MANIFEST_SIG).write_bytes(signature_document(signer, manifest_bytes, MANIFEST, signed_at=exported_at))
        files += [stage / MANIFEST, stage / MANIFEST_SIG]
        if reveal:
            # real names, citizen IDs, phones and addresses: readable by the exporting user only
            stage.chmod(0o700)
            for f in files:
                f.chmod(0o600)
        zip_sha = None
        if zip_path is not None:
            _zip(zip_path, files, exported_at, private=reveal)
            zip_sha = sha256_file(zip_path)
            _write_private(zip_sig, signature_document(signer, zip_path.read_bytes(), zip_path.name,
                                                       signed_at=exported_at), private=reveal)
        if out.exists():
            out.rmdir()  # checked empty above
        stage.replace(out)
        files = [out / f.name for f in files]
        entry = audit.append(ws.path, con, {
            "action": "export", "operator": operator, "case_id": case_id, "case_type": case_type, "run_id": run_id,
            "revealed": reveal, "revealed_count": len(revealed), "revealed_identities": revealed,
            "package": str(out.resolve()), "manifest_sha256": sha256_bytes(manifest_bytes),
            "zip": str(zip_path.resolve()) if zip_path else None, "zip_sha256": zip_sha}, signer)
    finally:
        if con is not None:
            con.close()
        lock.release()
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return ExportResult(case_id, case_type, run_id, out, zip_path, files, sha256_bytes(manifest_bytes), summary,
                        revealed, entry, signer.fingerprint, zip_sig)


def _write_private(path: Path, data: bytes, *, private: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def _run(con, run_id: str | None) -> tuple[str, dict, dict]:
    """The detection run (latest when not given): its id, settings and manifest."""
    rid = check_run(con, run_id)
    settings, manifest = con.execute("SELECT settings, manifest FROM detect_runs WHERE run_id = ?",
                                     [rid]).fetchall()[0]
    return rid, json.loads(settings or "{}"), json.loads(manifest or "{}")


def _case_type(con, case_id: str, run_id: str) -> str:
    if con.execute("SELECT count(*) FROM rings WHERE run_id = ? AND ring_id = ?", [run_id, case_id]).fetchall()[0][0]:
        return "ring"
    if con.execute("SELECT count(*) FROM leads WHERE run_id = ? AND lead_id = ?", [run_id, case_id]).fetchall()[0][0]:
        return "lead"
    raise GraphfraudError("case_not_found", case=case_id, run=run_id)


def _rows(con, sql: str, params: list) -> tuple[list[str], list[dict]]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return cols, [dict(zip(cols, r)) for r in cur.fetchall()]


def _reveal(con, ws: Workspace, graph, key_file) -> tuple[dict[str, dict], list[str]]:
    """The originals of the case's people from the vault: node key -> restored values; phones
    and addresses of the graph restored from the people who hold them."""
    from cryptography.exceptions import InvalidTag


    keyring = load_keyring(key_file, create=False)
    rows = con.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchall()
    if rows and rows[0][0] != keyring.fingerprint:
        raise GraphfraudError("key_mismatch", workspace=str(ws.path), expected=rows[0][0], actual=keyring.fingerprint)
    patients = sorted(n.entity_id for n in graph.nodes if n.type == "patient")
    doctors = sorted(n.entity_id for n in graph.nodes if n.type == "doctor")
    try:
        people = reveal(con, keyring, "patient", patients) if patients else {}
        medics = reveal(con, keyring, "doctor", doctors) if doctors else {}
    except InvalidTag:
        raise GraphfraudError("evidence.wrong_key", workspace=str(ws.path)) from None
    identities: dict[str, dict] = {}
    for pid, values in people.items():
        identities[f"patient:{pid}"] = {k: values.get(k) for k in ("name", "id_number", "phone", "address")}
    for did, values in medics.items():
        identities[f"doctor:{did}"] = {"name": values.get("name")}
    # a phone or address node is the pseudonym of a value some of the case's people hold
    if people:
        held = con.execute("""SELECT patient_id, phone, address FROM patients
                              WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))""", [sorted(people)]).fetchall()
        keys = {n.key for n in graph.nodes}
        for pid, phone, address in held:
            for kind, pseudonym in (("phone", phone), ("address", address)):
                key = f"{kind}:{pseudonym}"
                if pseudonym and key in keys and people[pid].get(kind):
                    identities.setdefault(key, {kind: people[pid][kind]})
    revealed = sorted(k for k in identities if k.split(":", 1)[0] in ("patient", "doctor"))
    return identities, revealed


def _network_page(con, graph, path: Path) -> Path | None:
    """The interactive case page of the investigator views (pseudonyms only, like every page
    of the views), or nothing when pyvis is not installed: the printable case.html is the
    package's page either way."""

    try:
        text = case_html(con, graph, lang="zh")
    except GraphfraudError as exc:
        if exc.key == "viz_extra_missing":
            return None
        raise
    path.write_text(text, encoding="utf-8")
    return path


def _zip(path: Path, files: list[Path], exported_at: str, *, private: bool = False) -> None:
    """The package's files at the root of a zip, stamped with the export time; ``private``
    (a revealed package): the zip and its members readable by their owner only."""
    when = dt.datetime.fromisoformat(exported_at).timetuple()[:6]
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            info = zipfile.ZipInfo(p.name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o600 if private else 0o644) << 16
            zf.writestr(info, p.read_bytes())
    if private:
        tmp.chmod(0o600)
    tmp.replace(path)
