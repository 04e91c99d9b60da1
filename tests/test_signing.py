"""Signed evidence: the bureau's Ed25519 key signs every manifest, zip and audit entry, and a
recipient with only the public key proves origin and integrity without the workspace.

Tamper tests cover what hashes alone cannot: a file edited and its hash rewritten in the
manifest, a package re-signed with another key, a zip holding a member twice, an audit entry
edited and the whole chain and the workspace's head re-hashed. The zip fuzz flips bytes of
every class (local headers, member data, central directory, end record) and truncates: every
damaged zip is refused with a message and exit code, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from graphfraud.cli import main
from graphfraud.core.errors import GraphfraudError
from graphfraud.evidence import audit
from graphfraud.evidence.integrity import verify_package
from graphfraud.evidence.package import export_case
from graphfraud.evidence.signing import (
    TrustedKeys,
    init_key,
    load_public_key,
    load_signing_key,
    short_fingerprint,
    signature_document,
)


@pytest.fixture(scope="module")
def signed(detected_region, tmp_path_factory):
    """Three packages of the session's region exported into a private workspace copy: the
    first as folder and zip. Returns (workspace, [ExportResult], bureau public key file)."""
    _, ws_src, _, result = detected_region
    base = tmp_path_factory.mktemp("signed")
    ws = base / "ws"
    shutil.copytree(ws_src, ws)
    (ws / "audit.log").unlink(missing_ok=True)
    con = duckdb.connect(str(ws / "graphfraud.duckdb"))
    con.execute("DELETE FROM meta WHERE key = 'audit_head'")
    con.close()
    exports = [export_case(ws, ring.ring_id, base / "out" / ring.ring_id, make_zip=(i == 0), operator=f"op{i}")
               for i, ring in enumerate(result.rings[:3])]
    pub = base / "bureau.pub"
    r = CliRunner().invoke(main, ["keys", "export-public", "--out", str(pub)])
    assert r.exit_code == 0, r.output
    return ws, exports, pub


@pytest.fixture
def recipient(monkeypatch, tmp_path):
    """A police analyst's machine: no signing key of the bureau, no workspace."""
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_KEY", str(tmp_path / "no-key-here.pem"))


def _run(*args: str, lang: str = "zh"):
    return CliRunner().invoke(main, ["--lang", lang, *args])


def _rehash(folder: Path, name: str, data: bytes) -> None:
    """What a careful forger does: replace a file and rewrite its hash and size in the manifest."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")


# ------------------------------------------------------------------ keys
def test_keys_init_export_and_fingerprint(tmp_path, monkeypatch):
    key = tmp_path / "k" / "bureau.pem"
    r = _run("keys", "init", "--signing-key", str(key))
    assert r.exit_code == 0 and "已生成签名密钥" in r.output, r.output
    assert key.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in key.read_bytes() and b"ENCRYPTED" not in key.read_bytes()
    fp = load_signing_key(key).fingerprint
    assert short_fingerprint(fp) in r.output
    # a second init would orphan every package signed so far: refused unless --force
    r = _run("keys", "init", "--signing-key", str(key), lang="en")
    assert r.exit_code == 2 and "--force" in r.output, r.output
    assert load_signing_key(key).fingerprint == fp
    r = _run("keys", "export-public", "--signing-key", str(key))
    assert r.exit_code == 0 and r.output.startswith("-----BEGIN PUBLIC KEY-----"), r.output
    pub = tmp_path / "bureau.pub"
    pub.write_text(r.output, encoding="ascii")
    assert load_public_key(pub).fingerprint == fp
    r = _run("keys", "fingerprint", str(pub), lang="en")
    assert r.exit_code == 0 and fp in r.output and short_fingerprint(fp) in r.output
    # handing out the private key as if it were the public one is refused
    r = _run("keys", "fingerprint", str(key))
    assert r.exit_code == 2 and "是私钥" in r.output, r.output
    r = _run("keys", "init", "--signing-key", str(key), "--force")
    assert r.exit_code == 0 and load_signing_key(key).fingerprint != fp


def test_signing_key_problems_each_get_a_message(tmp_path, monkeypatch):
    missing = tmp_path / "none.pem"
    with pytest.raises(GraphfraudError) as e:
        load_signing_key(missing)
    assert "graphfraud keys init" in str(e.value) and str(missing) in str(e.value)
    loose = tmp_path / "loose.pem"
    init_key(loose)
    loose.chmod(0o644)
    with pytest.raises(GraphfraudError, match="chmod 600"):
        load_signing_key(loose)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key\n")
    junk.chmod(0o600)
    with pytest.raises(GraphfraudError, match="Ed25519"):
        load_signing_key(junk)
    # a key encrypted with a passphrase: needs it, and only the right one
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_PASSPHRASE", "correct horse battery staple")
    locked = tmp_path / "locked.pem"
    init_key(locked)
    assert b"ENCRYPTED" in locked.read_bytes()
    fp = load_signing_key(locked).fingerprint
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_PASSPHRASE", "wrong")
    with pytest.raises(GraphfraudError, match="GRAPHFRAUD_SIGNING_PASSPHRASE"):
        load_signing_key(locked)
    monkeypatch.delenv("GRAPHFRAUD_SIGNING_PASSPHRASE")
    with pytest.raises(GraphfraudError, match="GRAPHFRAUD_SIGNING_PASSPHRASE"):
        load_signing_key(locked)
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_PASSPHRASE", "correct horse battery staple")
    assert load_signing_key(locked).fingerprint == fp


def test_export_without_a_signing_key_writes_nothing(signed, tmp_path, monkeypatch):
    ws, exports, _ = signed
    before = (ws / "audit.log").read_bytes()
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_KEY", str(tmp_path / "absent.pem"))
    r = _run("export", exports[0].case_id, "-w", str(ws), "--out", str(tmp_path / "pkg"), lang="en")
    assert r.exit_code == 2 and "keys init" in r.output, r.output
    assert not (tmp_path / "pkg").exists() and (ws / "audit.log").read_bytes() == before


# ------------------------------------------------------------------ the recipient's check
def test_recipient_proves_origin_with_the_public_key_alone(signed, recipient, tmp_path):
    ws, exports, pub = signed
    first = exports[0]
    # the police receive the zip, its detached signature and the public key; no workspace
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(first.zip_path, inbox)
    shutil.copy(first.zip_signature, inbox)
    got = inbox / first.zip_path.name
    r = _run("verify", str(got), "--public-key", str(pub))
    assert r.exit_code == 0 and "签名有效" in r.output and "证据包完好" in r.output, r.output
    assert short_fingerprint(first.signer) in r.output
    r = _run("verify", str(got), "--fingerprint", short_fingerprint(first.signer), lang="en")
    assert r.exit_code == 0 and "trusted key" in r.output, r.output
    # without a key the signature is still checked, but the output says origin is not
    r = _run("verify", str(got), lang="en")
    assert r.exit_code == 0 and "origin was not checked" in r.output, r.output
    # another bureau's key (or a forger's) is not this one
    other = tmp_path / "other.pem"
    init_key(other)
    other_pub = tmp_path / "other.pub"
    other_pub.write_bytes(load_signing_key(other).public.pem())
    r = _run("verify", str(got), "--public-key", str(other_pub), lang="en")
    assert r.exit_code == 1 and "wrong origin" in r.output, r.output
    r = _run("verify", str(got), "--fingerprint", "0" * 32, lang="en")
    assert r.exit_code == 1 and "wrong origin" in r.output, r.output
    # after a key change a recipient trusts both: either one will do
    r = _run("verify", str(got), "--public-key", str(other_pub), "--public-key", str(pub))
    assert r.exit_code == 0, r.output
    r = _run("verify", str(got), "--fingerprint", "xyz")
    assert r.exit_code == 2 and "32" in r.output
    # the folder form verifies the same way
    r = _run("verify", str(first.out_dir), "--public-key", str(pub))
    assert r.exit_code == 0 and "签名有效" in r.output, r.output


def test_any_edit_of_a_signed_package_fails(signed, recipient, tmp_path):
    ws, exports, pub = signed
    pkg = exports[1].out_dir
    trusted = TrustedKeys.from_options([pub])

    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(pkg, dst)
        return dst

    # one byte of any file, the manifest and its signature included
    for f in sorted(p.name for p in pkg.iterdir()):
        c = copy(f"flip-{f}")
        data = bytearray((c / f).read_bytes())
        data[len(data) // 2] ^= 0x20
        (c / f).write_bytes(bytes(data))
        r = _run("verify", str(c), "--public-key", str(pub), lang="en")
        assert r.exit_code in (1, 2) and "intact" not in r.output and "Traceback" not in r.output, (f, r.output)
    # an edited claim with its hash rewritten: the hashes agree, the signature does not
    c = copy("rehashed")
    claims = (c / "claims.csv").read_bytes().replace(b",", b";", 1)
    _rehash(c, "claims.csv", claims)
    report = verify_package(c, trusted)
    assert report.altered == [] and report.signature.status == "invalid" and not report.ok
    r = _run("verify", str(c), "--public-key", str(pub), lang="en")
    assert r.exit_code == 1 and "invalid signature" in r.output, r.output
    # ...and re-signed with the forger's own key: a valid signature, by the wrong key
    forger = init_key(tmp_path / "forger.pem")
    raw = (c / "manifest.json").read_bytes()
    (c / "manifest.sig").write_bytes(signature_document(forger, raw, "manifest.json"))
    report = verify_package(c, trusted)
    assert report.signature.status == "valid" and report.signature.trusted is False and not report.ok
    r = _run("verify", str(c), "--public-key", str(pub), lang="en")
    assert r.exit_code == 1 and "wrong origin" in r.output, r.output
    # the signature removed: unsigned packages are not trusted
    c = copy("unsigned")
    (c / "manifest.sig").unlink()
    r = _run("verify", str(c), "--public-key", str(pub), lang="en")
    assert r.exit_code == 1 and "unsigned" in r.output, r.output
    r = _run("verify", str(c))
    assert r.exit_code == 1 and "未签名" in r.output, r.output


def _members(zip_path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(zip_path) as zf:
        return [(i, zf.read(i.filename)) for i in zf.infolist()]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_unexpected_and_escaping_zip_members_fail(signed, recipient, tmp_path):
    _, exports, pub = signed
    members = _members(exports[0].zip_path)
    trusted = TrustedKeys.from_options([pub])
    cases = {
        # claims.csv twice, the tampered copy first: a reader taking the first sees the forgery
        "duplicate": ([(zipfile.ZipInfo("claims.csv"), b"claim_id\nforged\n")] + members, "duplicates"),
        "unexpected": (members + [(zipfile.ZipInfo("readme.txt"), b"hello")], "extra"),
        "folder": (members + [(zipfile.ZipInfo("extra/"), b"")], "extra"),
        "escaping": (members + [(zipfile.ZipInfo("../../etc/cron.d/x"), b"* * * * * true")], "unsafe"),
    }
    for name, (entries, field) in cases.items():
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for info, data in entries:
                zf.writestr(info, data)
        report = verify_package(path, trusted)
        assert getattr(report, field) and not report.ok, (name, report)
        r = _run("verify", str(path), "--public-key", str(pub), lang="en")
        assert r.exit_code == 1 and "failed verification" in r.output, (name, r.output)
    r = _run("verify", str(tmp_path / "duplicate.zip"), lang="en")
    assert "duplicate: claims.csv" in r.output


def _zip_regions(path: Path) -> dict[str, list[int]]:
    """Byte offsets of a zip by class: local headers, member data, central directory, end."""
    data = path.read_bytes()
    eocd = data.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12:eocd + 20])
    regions: dict[str, list[int]] = {"local_header": [], "data": [], "central_directory": [],
                                     "end_record": list(range(eocd, len(data)))}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            start = info.header_offset
            name_len, extra_len = struct.unpack("<HH", data[start + 26:start + 30])
            header_end = start + 30 + name_len + extra_len
            regions["local_header"] += range(start, header_end)
            regions["data"] += range(header_end, header_end + info.compress_size)
    regions["central_directory"] = list(range(cd_offset, cd_offset + cd_size))
    return regions


def _refused(path: Path, trusted: TrustedKeys) -> bool:
    """Verification refuses the file: a one-line error, or a report that is not ok."""
    try:
        return not verify_package(path, trusted).ok
    except GraphfraudError:
        return True


@pytest.mark.slow
def test_every_class_of_zip_damage_is_a_message_and_an_exit_code(signed, recipient, tmp_path):
    _, exports, pub = signed
    first = exports[0]
    good = first.zip_path.read_bytes()
    sig = first.zip_signature.read_bytes()
    trusted = TrustedKeys.from_options([pub])
    regions = _zip_regions(first.zip_path)
    # every byte of the headers, the directory and the end record; every 997th byte of data
    offsets = {cls: (offs if cls != "data" else offs[::997]) for cls, offs in regions.items()}
    bad = tmp_path / "bad.zip"
    bad_sig = tmp_path / "bad.zip.sig"
    lone = tmp_path / "lone" / "bad.zip"  # the same zip without its detached signature
    lone.parent.mkdir()
    tried = 0
    for cls, offs in offsets.items():
        for n, off in enumerate(offs):
            # every byte inverted; every third byte also zeroed (or set to 1 when it was 0)
            for mutate in ((lambda b: b ^ 0xFF), (lambda b: 0 if b else 1))[: 2 if n % 3 == 0 else 1]:
                data = bytearray(good)
                data[off] = mutate(data[off])
                bad.write_bytes(bytes(data))
                bad_sig.write_bytes(sig)
                tried += 1
                assert _refused(bad, trusted), (cls, off)  # the detached signature sees every byte
                if cls == "data":  # without it, the member's CRC or hash does
                    lone.write_bytes(bytes(data))
                    assert _refused(lone, trusted), (cls, off)
                elif n % 3 == 0:  # a header's time stamp may leave the contents intact...
                    lone.write_bytes(bytes(data))
                    _refused(lone, trusted)  # ...but no damage may raise a traceback
    assert tried > 1000, tried
    # truncated anywhere, or with bytes appended: refused
    for cut in [1, 10, 22, 100, len(good) // 3, len(good) // 2, len(good) - 22, len(good) - 1]:
        bad.write_bytes(good[:cut])
        assert _refused(bad, trusted), cut
    bad.write_bytes(good + b"trailing garbage")
    assert _refused(bad, trusted)  # the detached signature no longer matches
    # through the CLI: a clear message and an exit code, in both languages
    for data, code in [(good[: len(good) // 2], 2), (b"PK\x03\x04" + os.urandom(200), 2), (b"", 2)]:
        bad.write_bytes(data)
        for lang in ("zh", "en"):
            r = _run("verify", str(bad), "--public-key", str(pub), lang=lang)
            assert r.exit_code == code and isinstance(r.exception, SystemExit), r.output
            assert str(bad) in r.output and "Traceback" not in r.output, r.output
    data = bytearray(good)
    data[regions["data"][len(regions["data"]) // 2]] ^= 0xFF
    lone.write_bytes(bytes(data))
    r = _run("verify", str(lone), "--public-key", str(pub), lang="en")
    assert r.exit_code == 1 and "altered" in r.output, r.output


# ------------------------------------------------------------------ the audit log
def _rewrite_chain(entries: list[dict]) -> list[dict]:
    """Recompute every hash and link, as someone who can write the workspace would."""
    prev = audit.GENESIS
    out = []
    for e in entries:
        e = dict(e, prev_hash=prev)
        e["hash"] = audit.entry_hash(e)
        prev = e["hash"]
        out.append(e)
    return out


def _write_log(ws: Path, entries: list[dict]) -> None:
    (ws / "audit.log").write_text(
        "".join(json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for e in entries),
        encoding="utf-8")
    con = duckdb.connect(str(ws / "graphfraud.duckdb"))
    con.execute("INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)", [f"{len(entries)}:{entries[-1]['hash']}"])
    con.close()


def test_audit_entries_are_signed_and_a_rehashed_edit_fails(signed, tmp_path):
    ws_src, exports, pub = signed
    ws = tmp_path / "ws"
    shutil.copytree(ws_src, ws)
    entries = audit.entries(ws)
    assert len(entries) == 3 and all(e["signer"] == exports[0].signer and e["signature"] for e in entries)
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(pub))
    assert r.exit_code == 0 and "局方签名" in r.output, r.output
    # the operator of entry 2 changed, every hash after it recomputed, the head in meta moved:
    # the hash chain is consistent again, the signature of entry 2 is not
    forged = _rewrite_chain([entries[0], dict(entries[1], operator="someone else"), entries[2]])
    _write_log(ws, forged)
    assert not audit.verify(ws, None).problems  # hashes alone are fooled
    r = _run("audit", "verify", "-w", str(ws), lang="en")
    assert r.exit_code == 1 and "line 2 has an invalid signature" in r.output, r.output
    assert "line 3 has an invalid signature" in r.output  # its hash changed with the chain
    # signatures stripped
    _write_log(ws, _rewrite_chain([{k: v for k, v in e.items() if k not in ("signer", "signature")}
                                   for e in entries]))
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(pub))
    assert r.exit_code == 1 and "第 1 行没有签名" in r.output, r.output
    # an entry signed by another key
    other = init_key(tmp_path / "other.pem")
    fake = dict(entries[2], operator="forger")
    fake["hash"] = audit.entry_hash(dict(fake, prev_hash=entries[1]["hash"]))
    from graphfraud.evidence.signing import sign_entry

    fake = dict(fake, prev_hash=entries[1]["hash"], **sign_entry(other, fake["hash"]))
    _write_log(ws, entries[:2] + [fake])
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(pub), lang="en")
    assert r.exit_code == 1 and "line 3 is signed by another key" in r.output, r.output
    # and a broken log refuses further exports (nothing written)
    with pytest.raises(GraphfraudError, match="audit"):
        export_case(ws, exports[0].case_id, tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_audit_verify_needs_a_key(signed, recipient, tmp_path):
    ws, _, pub = signed
    r = _run("audit", "verify", "-w", str(ws), lang="en")
    assert r.exit_code == 2 and "--public-key" in r.output, r.output
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(pub))
    assert r.exit_code == 0, r.output


def test_a_log_cut_back_before_an_export_is_caught_by_that_package(signed, tmp_path):
    ws_src, exports, pub = signed
    ws = tmp_path / "ws"
    shutil.copytree(ws_src, ws)
    entries = audit.entries(ws)
    # the last entry removed and the head moved back: every remaining entry is genuine
    _write_log(ws, entries[:2])
    assert _run("audit", "verify", "-w", str(ws), "--public-key", str(pub)).exit_code == 0
    # but the third package says it is entry 3, signed: the cut shows
    r = _run("verify", str(exports[2].out_dir), "--public-key", str(pub), "-w", str(ws), lang="en")
    assert r.exit_code == 1 and "the log was cut" in r.output, r.output
    r = _run("verify", str(exports[1].out_dir), "--public-key", str(pub), "-w", str(ws))
    assert r.exit_code == 0 and "第 2 条" in r.output, r.output


def test_a_replaced_key_keeps_the_entries_it_signed_verifiable(signed, tmp_path, monkeypatch):
    ws_src, exports, pub = signed
    ws = tmp_path / "ws"
    shutil.copytree(ws_src, ws)
    key = tmp_path / "bureau.pem"
    shutil.copy(os.environ["GRAPHFRAUD_SIGNING_KEY"], key)
    key.chmod(0o600)
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_KEY", str(key))
    r = _run("keys", "init", "--force")
    assert r.exit_code == 0, r.output
    assert list((tmp_path / "bureau.pem.retired").glob("*.pub"))  # the old public half is kept
    new = export_case(ws, exports[0].case_id, tmp_path / "after", operator="op9")
    assert new.signer != exports[0].signer and new.audit_entry["seq"] == 4
    r = _run("audit", "verify", "-w", str(ws))
    assert r.exit_code == 0 and "共 4 条" in r.output, r.output
    new_pub = tmp_path / "new.pub"
    assert _run("keys", "export-public", "--out", str(new_pub)).exit_code == 0
    # a recipient who trusts only the new key sees which entries the old one signed
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(new_pub), lang="en")
    assert r.exit_code == 1 and "line 1 is signed by another key" in r.output and "line 4" not in r.output
    r = _run("audit", "verify", "-w", str(ws), "--public-key", str(new_pub), "--public-key", str(pub))
    assert r.exit_code == 0, r.output
    # old packages still verify against the old public key
    assert _run("verify", str(exports[0].zip_path), "--public-key", str(pub)).exit_code == 0
