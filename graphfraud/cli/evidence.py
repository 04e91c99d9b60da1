"""Evidence for the police: export a package, verify it, the audit log, the signing key."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from graphfraud.cli.base import (
    friendly_errors,
    main,
    public_key_option,
    say,
    signing_key_option,
    workspace_option,
)
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, t
from graphfraud.core.money import fmt_money
from graphfraud.evidence.audit import entries, find_manifest, verify
from graphfraud.evidence.integrity import verify_package
from graphfraud.evidence.package import export_case
from graphfraud.evidence.signing import (
    TrustedKeys,
    init_key,
    load_public_key,
    load_signing_key,
    local_trusted,
    short_fingerprint,
)
from graphfraud.store.workspace import Workspace


@main.command(name="export")
@click.argument("case_id")
@workspace_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="证据包目录（新建或空目录）/ package folder (new or empty)")
@click.option("--zip", "make_zip", is_flag=True, help="同时在旁边写出 <目录>.zip / also write <folder>.zip beside it")
@click.option("--reveal", is_flag=True,
              help="用密钥还原本案人员的姓名、身份证号、电话与住址（记入审计日志）/ restore the names, citizen IDs, "
                   "phones and addresses of the case's people with the key (recorded in the audit log)")
@click.option("--key", "--key-file", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="还原身份用的密钥文件（默认 GRAPHFRAUD_KEY 或 ~/.config/graphfraud/key）/ key file for --reveal")
@click.option("--operator", default=None, help="操作人（默认当前登录名）/ who exports (default: the login name)")
@click.option("--run", "run_id", default=None, help="检测运行编号（默认最近一次）/ detection run (default: the latest)")
@signing_key_option
@click.pass_context
@friendly_errors
def export_cmd(ctx, case_id: str, workspace: Path, out_dir: Path, make_zip: bool, reveal: bool,
               key_file: Path | None, operator: str | None, run_id: str | None, signing_key: Path | None):
    """导出一个团伙或线索的证据包 / write the evidence package of one ring or lead.

    CASE_ID is a ring id (e.g. CC-1A2B3C4D5E) or a lead id (L-...) of the latest detection run.
    The package holds nodes.csv, edges.csv, case.graphml, case.gexf (Gephi timeline),
    case.anx (i2 Analyst's Notebook), claims.csv and items.csv (every settlement and line
    behind the case, as stored), summary.json, a printable offline case.html,
    manifest.json with the SHA-256 of every file and manifest.sig, its signature by the
    bureau's signing key (`graphfraud keys init` creates one; a zip gets CASE.zip.sig beside
    it). Identities stay pseudonyms unless --reveal is given with the key. Every export is
    appended to the workspace's audit log, signed too.

    \b
    Example / 示例:
      graphfraud export CC-1A2B3C4D5E --workspace ws --out cases/CC-1A2B3C4D5E --zip
      graphfraud export CC-1A2B3C4D5E -w ws --out cases/CC-1A2B3C4D5E-id --reveal --key key.txt --operator 张警官
    """
    from decimal import Decimal


    if key_file is not None and not reveal:
        raise GraphfraudError("bad_option", option="--key", detail="--key / --key-file only with --reveal")
    r = export_case(workspace, case_id, out_dir, run_id=run_id, make_zip=make_zip, reveal=reveal,
                    key_file=key_file, operator=operator, signing_key=signing_key)
    if ctx.obj["quiet"]:
        return
    s = r.summary
    kind = s["kind_zh"] if get_lang() == "zh" else s["kind_en"]
    click.echo(t("export.done", case=r.case_id, kind=kind, out=r.out_dir, files=len(r.files),
                 claims=s["counts"]["claims"],
                 total=fmt_money(Decimal(s["total_amount"])),
                 fund=fmt_money(Decimal(s["fund_amount"])), first=s["first_date"] or "-",
                 last=s["last_date"] or "-", over=t("yes") if s["over_transfer_threshold"] else t("no"),
                 reward=fmt_money(Decimal(s["whistleblower_reward"]))))
    if r.zip_path:
        click.echo(t("export.zip", zip=r.zip_path))
    click.echo(t("export.revealed", n=len(r.revealed)) if reveal else t("export.pseudonymised"))
    click.echo(t("export.audit", seq=r.audit_entry["seq"], manifest=r.manifest_sha256))
    click.echo(t("export.signed", fingerprint=short_fingerprint(r.signer)))


@main.command(name="verify")
@click.argument("package", type=click.Path(path_type=Path))
@public_key_option
@click.option("--fingerprint", "fingerprints", multiple=True,
              help="信任的公钥指纹（至少 32 位十六进制，可多次给出）/ a trusted key fingerprint (32+ hex digits, "
                   "repeatable)")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="同时核对该工作区审计日志中是否记有此包 / also check the package is in this workspace's audit log")
@click.pass_context
@friendly_errors
def verify_cmd(ctx, package: Path, public_keys: tuple[Path, ...], fingerprints: tuple[str, ...],
               workspace: Path | None):
    """核验证据包：签名与每个文件的 SHA-256 / prove where a package comes from and that nothing in it changed.

    Checks the bureau's Ed25519 signature of manifest.json (manifest.sig) and of a zip
    (CASE.zip.sig beside it), then recomputes the SHA-256 of every file the manifest lists
    (folder or zip) and names each file that was altered, is missing, was added or is stored
    twice. With --public-key (or --fingerprint) the signing key must be that one: the
    recipient's proof of origin, without the workspace. Without either, the local signing key
    is trusted when there is one; otherwise origin is not checked and the output says so.
    Exit code 0 when the package is intact (and from a trusted key when one was named),
    1 when anything is wrong, 2 when the package cannot be read at all.

    \b
    Example / 示例:
      graphfraud keys export-public --out bureau.pub        # at the bureau
      graphfraud verify cases/CC-1A2B3C4D5E.zip --public-key bureau.pub   # at the police
      graphfraud verify cases/CC-1A2B3C4D5E --workspace ws
    """

    trusted = TrustedKeys.from_options(public_keys, fingerprints) or local_trusted()
    report = verify_package(package, trusted)
    for name in report.altered:
        click.echo(t("verify.altered", file=name))
    for name in report.missing:
        click.echo(t("verify.missing", file=name))
    for name in report.extra:
        click.echo(t("verify.extra", file=name))
    for name in report.duplicates:
        click.echo(t("verify.duplicate", file=name))
    for name in report.unsafe:
        click.echo(t("verify.unsafe", file=name))
    problems = report.problems
    sig = report.signature
    fp = short_fingerprint(sig.fingerprint) if sig.fingerprint else ""
    if sig.status != "valid":
        click.echo(t("verify.signature_" + sig.status, file="manifest.sig", fingerprint=fp))
    elif sig.trusted is False:
        click.echo(t("verify.untrusted", fingerprint=fp))
    elif sig.trusted is None:
        say(ctx, t("verify.origin_unchecked", fingerprint=fp))
    else:
        say(ctx, t("verify.origin", fingerprint=fp))
    if report.zip_signature is not None:
        zs = report.zip_signature
        if zs.status != "valid":
            click.echo(t("verify.zip_signature_" + zs.status, file=package.name + ".sig"))
        elif zs.trusted is False:
            click.echo(t("verify.untrusted", fingerprint=short_fingerprint(zs.fingerprint)))
    elif package.is_file():
        say(ctx, t("verify.zip_unsigned", file=package.name + ".sig"))
    if workspace is not None:
        problems += _verify_in_audit(ctx, workspace, report)
    if problems:
        click.echo(t("verify.failed", n=problems))
        sys.exit(1)
    say(ctx, t("verify.ok", case=report.case_id, n=len(report.checked), manifest=report.manifest_sha256))


def _verify_in_audit(ctx, workspace: Path, report) -> int:
    """Problems found checking a verified package against the workspace's audit log: the
    entry its manifest names (``audit_seq``) must be there and record this manifest (and this
    zip)."""

    log = entries(workspace)
    entry = find_manifest(workspace, report.manifest_sha256)
    if entry is None:
        if report.audit_seq is not None and report.audit_seq > len(log):
            click.echo(t("verify.audit_cut", workspace=workspace, seq=report.audit_seq, n=len(log)))
        else:
            click.echo(t("verify.not_in_audit", workspace=workspace))
        return 1
    if report.audit_seq is not None and entry.get("seq") != report.audit_seq:
        click.echo(t("verify.audit_seq", seq=entry.get("seq"), expected=report.audit_seq))
        return 1
    if report.zip_sha256 and entry.get("zip_sha256") not in (None, report.zip_sha256):
        click.echo(t("verify.zip_not_in_audit", seq=entry.get("seq")))
        return 1
    say(ctx, t("verify.in_audit", seq=entry.get("seq")))
    return 0


@main.group(name="audit")
def audit_group():
    """证据导出审计日志 / the audit log of evidence exports.

    Every export (who, when, which case, which identities were revealed, the manifest hash)
    is one line of WS/audit.log, chained to the line before by its hash and signed with the
    bureau's signing key.

    \b
    Example / 示例:
      graphfraud audit verify --workspace ws
    """


@audit_group.command(name="verify")
@workspace_option
@public_key_option
@click.pass_context
@friendly_errors
def audit_verify_cmd(ctx, workspace: Path, public_keys: tuple[Path, ...]):
    """核验审计日志的哈希链与签名 / check that no audit entry was edited, removed, reordered or forged.

    Checks every line's own hash, its sequence number, its link to the line before, its
    signature by the bureau's key (each --public-key given, else the local signing key and
    the keys it replaced), and
    the last entry against the head the workspace recorded; names each line at fault. Exit
    code 0 when the log is intact, 1 when anything is wrong, 2 when there is no key to check
    the signatures with.

    \b
    Example / 示例:
      graphfraud audit verify --workspace ws
      graphfraud audit verify --workspace ws --public-key bureau-2025.pub --public-key bureau-2026.pub
    """

    trusted = TrustedKeys.from_options(public_keys) or local_trusted()
    if not trusted:
        raise GraphfraudError("audit.no_key")
    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        report = verify(ws.path, con, trusted)
    finally:
        con.close()
    for problem in report.problems:
        click.echo(problem.text())
    if not report.ok:
        click.echo(t("audit.failed", n=len(report.problems)))
        sys.exit(1)
    say(ctx, t("audit.ok", path=report.path, n=report.entries))


@main.group(name="keys")
def keys_group():
    """局方签名密钥 / the bureau's signing key.

    One Ed25519 key signs every evidence package, zip and audit entry the bureau writes.
    Keep the private key file (mode 0600) safe and backed up; give the public key to whoever
    receives packages, so that `graphfraud verify PACKAGE --public-key FILE` proves origin.

    \b
    Example / 示例:
      graphfraud keys init
      graphfraud keys export-public --out bureau.pub
      graphfraud keys fingerprint bureau.pub
    """


@keys_group.command(name="init")
@signing_key_option
@click.option("--force", is_flag=True,
              help="替换已有密钥（此前签名的证据包只能用旧公钥核验）/ replace an existing key (packages signed "
                   "before can then be checked only with the old public key)")
@click.pass_context
@friendly_errors
def keys_init_cmd(ctx, signing_key: Path | None, force: bool):
    """生成局方签名密钥 / create the bureau's signing key.

    Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600; encrypted with
    GRAPHFRAUD_SIGNING_PASSPHRASE when that is set) and prints its fingerprint.

    \b
    Example / 示例:
      graphfraud keys init
      graphfraud keys init --signing-key /secure/bureau-2026.pem
    """

    key = init_key(signing_key, force=force)
    say(ctx, t("keys.created", path=key.path, fingerprint=short_fingerprint(key.fingerprint)))


@keys_group.command(name="export-public")
@signing_key_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入此文件（默认输出到屏幕）/ write to this file (default: print it)")
@click.pass_context
@friendly_errors
def keys_export_public_cmd(ctx, signing_key: Path | None, out_file: Path | None):
    """导出公钥给证据接收方 / write the public key for the recipients of packages.

    \b
    Example / 示例:
      graphfraud keys export-public --out bureau.pub
    """

    key = load_signing_key(signing_key)
    pem = key.public.pem()
    if out_file is None:
        click.echo(pem.decode("ascii"), nl=False)
        return
    out_file.write_bytes(pem)
    say(ctx, t("keys.exported", path=out_file, fingerprint=short_fingerprint(key.fingerprint)))


@keys_group.command(name="fingerprint")
@click.argument("public_key", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
@signing_key_option
@click.pass_context
@friendly_errors
def keys_fingerprint_cmd(ctx, public_key: Path | None, signing_key: Path | None):
    """显示公钥指纹，供电话或纸面核对 / show a key's fingerprint, to compare by phone or on paper.

    With PUBLIC_KEY, the fingerprint of that public key file; without it, of the local
    signing key.

    \b
    Example / 示例:
      graphfraud keys fingerprint bureau.pub
    """

    key = load_public_key(public_key) if public_key else load_signing_key(signing_key).public
    click.echo(t("keys.fingerprint", fingerprint=short_fingerprint(key.fingerprint), full=key.fingerprint))
