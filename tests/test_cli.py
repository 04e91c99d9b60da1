"""The CLI end to end on a small generated region: generate, ingest, status, rejects."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from graphfraud.cli import main


def test_generate_ingest_status_and_rejects(tmp_path):
    runner = CliRunner()
    data, ws = tmp_path / "data", tmp_path / "ws"
    r = runner.invoke(main, ["generate", str(data), "--patients", "1500", "--months", "2", "--seed", "5", "--zh"])
    assert r.exit_code == 0, r.output
    assert "已生成模拟地区" in r.output and (data / "结算.csv").exists()
    # a non-empty folder is not overwritten without --force
    r = runner.invoke(main, ["generate", str(data), "--patients", "1500"])
    assert r.exit_code == 2 and "--force" in r.output

    r = runner.invoke(main, ["--lang", "en", "ingest", str(data), "--workspace", str(ws)])
    assert r.exit_code == 0, r.output  # the planted dirty rows stay under 1 % of every table
    assert "mapping nhsa_zh, encoding gb18030" in r.output and "ingest done" in r.output
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    rejected = sum(1 for d in truth["dirty"] if d["outcome"] == "rejected")

    r = runner.invoke(main, ["status", "--workspace", str(ws)])
    assert r.exit_code == 0 and f"{rejected:>12,}" in r.output and "导入运行：1 次" in r.output

    out = tmp_path / "rejects.csv"
    r = runner.invoke(main, ["rejects", "--workspace", str(ws), "--table", "claims", "--limit", "3", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.count("结算.csv 第") == 3
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel on Chinese Windows reads it
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    claims_dirty = {(d["line"], d["reason"]) for d in truth["dirty"] if d["table"] == "claims" and d["outcome"] == "rejected"}
    assert {(int(x["line"]), x["reason"]) for x in rows} == claims_dirty
    assert all(x["reason_text"] for x in rows)

    r = runner.invoke(main, ["--lang", "en", "rejects", "--workspace", str(ws), "--reason", "bad_amount", "--limit", "1"])
    assert r.exit_code == 0 and "bad_amount (an amount that is not a number with at most two decimals)" in r.output


def test_status_on_a_missing_workspace_says_what_to_do(tmp_path):
    r = CliRunner().invoke(main, ["--lang", "en", "status", "--workspace", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "run graphfraud ingest first" in r.output


def test_load_bulk_without_a_neo4j_home_writes_the_files_and_prints_the_command(tmp_path):
    runner = CliRunner()
    data, ws, out = tmp_path / "data", tmp_path / "ws", tmp_path / "import"
    assert runner.invoke(main, ["generate", str(data), "--patients", "300", "--months", "1", "--seed", "2"]).exit_code == 0
    assert runner.invoke(main, ["ingest", str(data), "--workspace", str(ws), "--max-reject-rate", "100%"]).exit_code == 0
    for lang, words in (("zh", "在停止的 Neo4j 上运行"), ("en", "run this on the stopped Neo4j")):
        r = runner.invoke(main, ["--lang", lang, "load", "--workspace", str(ws), "--bulk", str(out)])
        assert r.exit_code == 0, r.output
        assert words in r.output and "JAVA_OPTS='-XX:CompileThresholdScaling=5'" in r.output
        command = r.output.strip().splitlines()[-1]
        assert command.startswith("neo4j-admin database import full neo4j ") and "--id-type=actual" in command
        assert f"--nodes=Claim={out / 'nodes_claims.csv'}" in command and (out / "nodes_claims.csv").exists()


def test_too_many_rejects_keep_what_loaded_name_the_tables_and_exit_3(tmp_path):
    from conftest import write_csv

    from graphfraud.store.schema import TABLES

    cols = TABLES["claims"].column_names
    good = dict(claim_id="K0", card_id="C1", patient_id="", facility_id="F1", doctor_id="", claim_type="pharmacy",
                settled_at="2025-01-02 10:00:00", admit_date="", discharge_date="", diagnosis_code="",
                total_amount="10.00", fund_amount="", account_amount="", self_amount="", terminal_id="",
                region_code="", reverses_claim_id="")
    rows = [[{**good, "claim_id": f"K{i}"}[c] for c in cols] for i in range(9)]
    rows.append([{**good, "claim_id": "K9", "total_amount": "ten"}[c] for c in cols])
    data = tmp_path / "data"
    write_csv(data / "claims.csv", cols, rows)
    write_csv(data / "items.csv", TABLES["items"].column_names,
              [["K9", "1", "X1", "药", "drug", "1", "10.00", "10.00", "", ""],
               ["K1", "1", "X1", "药", "drug", "1", "10.00", "10.00", "", ""]])
    runner = CliRunner()
    r = runner.invoke(main, ["--lang", "en", "ingest", str(data), "--workspace", str(tmp_path / "ws")])
    assert r.exit_code == 3, r.output
    assert "reject rate above the limit of 1.00%: claims 10.00% (1 of 10); items 50.00% (1 of 2)" in r.output
    # the item of the rejected claim is a cascade, and said to be one
    assert "of which 1 (unknown_claim) follow from this run's rejects in claims" in r.output
    status = runner.invoke(main, ["status", "--workspace", str(tmp_path / "ws")])
    assert status.exit_code == 0 and "claims                 9" in status.output  # what loaded is kept
    zh = runner.invoke(main, ["ingest", str(data), "--workspace", str(tmp_path / "ws2"), "--max-reject-rate", "60%"])
    assert zh.exit_code == 0, zh.output
    r = runner.invoke(main, ["ingest", str(data), "--workspace", str(tmp_path / "ws3"), "--max-reject-rate", "x"])
    assert r.exit_code == 2 and "--max-reject-rate" in r.output


def test_usage_errors_and_lang_after_the_command_in_both_languages(tmp_path):
    """click's own usage errors (unknown option, missing argument, bad value) are said in the
    chosen language like every other message, with exit code 2; --lang works after any
    command as well as before it."""
    from graphfraud.cli import main as cli

    runner = CliRunner()
    cases = [
        (["detect", "--bogus"], "没有这个选项：--bogus", "no such option: --bogus"),
        (["ingest"], "缺少参数 DATASET_DIR", "missing argument DATASET_DIR"),
        (["generate", str(tmp_path / "x"), "--patients", "abc"], "--patients 的值无效：abc 不是整数",
         "invalid value for --patients: abc is not an integer"),
        (["nosuch"], "没有这个命令：nosuch", "no such command: nosuch"),
        (["detect", "--out"], "选项 --out 需要一个值", "option --out needs a value"),
    ]
    for args, zh, en in cases:
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and f"错误: {zh}" in r.output and "Error" not in r.output, (args, r.output)
        r = runner.invoke(cli, ["--lang", "en", *args])
        assert r.exit_code == 2 and f"Error: {en}" in r.output, (args, r.output)
    r = runner.invoke(cli, ["detect", "--bogus"])
    assert "用法：graphfraud detect" in r.output.replace("main", "graphfraud") and "查看帮助" in r.output
    # --lang after the command, on a command without a --lang of its own
    r = runner.invoke(cli, ["status", "-w", str(tmp_path / "none"), "--lang", "en"])
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
    r = runner.invoke(cli, ["keys", "fingerprint", "--lang", "en", str(tmp_path / "none.pub")])
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
