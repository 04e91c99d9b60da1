"""Ingest on small hand-built datasets whose outcome is known row by row."""

from __future__ import annotations

import gzip
import os
import stat
from decimal import Decimal

import duckdb
import pytest
from conftest import write_csv

from graphfraud.core.errors import GraphfraudError
from graphfraud.ingest.run import ingest
from graphfraud.store.schema import TABLES

CLAIM_COLS = TABLES["claims"].column_names
GOOD = dict(claim_id="K1", card_id="C1", patient_id="P1", facility_id="F1", doctor_id="D1", claim_type="outpatient",
            settled_at="2025-01-02 10:00:00", admit_date="", discharge_date="", diagnosis_code="I10",
            total_amount="100.50", fund_amount="80.00", account_amount="10.50", self_amount="10.00",
            terminal_id="T1", region_code="530102", reverses_claim_id="")


def claim(**over) -> list[str]:
    row = {**GOOD, **over}
    return [row[c] for c in CLAIM_COLS]


def reference_tables(d):
    write_csv(d / "patients.csv", TABLES["patients"].column_names,
              [["P1", "11010519491231002X", "张三", "", "", "2025-03-01", "13800000000", "昆明市五华区一路1号", "530102", "职工"],
               ["P2", "110105194912310021", "李四", "女", "1949-12-31", "", "+86 138 0000 0000", "昆明市五华区一路1号",
                "530102", "resident"]])
    write_csv(d / "cards.csv", TABLES["cards"].column_names, [["C1", "P1", "ssc", "2020-01-01"],
                                                               ["C2", "P2", "evoucher", "2021-05-01"]])
    write_csv(d / "facilities.csv", TABLES["facilities"].column_names,
              [["F1", "第一医院", "hospital", "3", "530102", "25.04", "102.71"], ["F2", "好药房", "药店", "", "530102", "", ""]])
    write_csv(d / "doctors.csv", TABLES["doctors"].column_names, [["D1", "王医生", "F1", "内科"]])


def con_of(ws):
    return duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)


def test_each_bad_row_lands_in_rejects_with_its_reason_line_and_column(tmp_path):
    d = tmp_path / "data"
    reference_tables(d)
    rows = [
        claim(),                                                     # 2 loaded
        claim(claim_id="K2", facility_id="F2", claim_type="药店购药"),  # 3 loaded (zh enum in canonical file)
        claim(claim_id="K2", facility_id="F2", claim_type="药店购药"),  # 4 exact duplicate
        claim(claim_id="K2", facility_id="F2", claim_type="pharmacy", total_amount="99.00"),  # 5 conflict
        claim(claim_id="K3", card_id=""),                            # 6 missing_required card_id
        claim(claim_id="K4", settled_at="2025-13-45 10:00"),         # 7 bad_date
        claim(claim_id="K5", total_amount="12.345"),                 # 8 bad_amount
        claim(claim_id="K6", claim_type="other"),                    # 9 bad_enum
        claim(claim_id="K7", card_id="C404"),                        # 10 unknown_card
        claim(claim_id="K8", facility_id="F404"),                    # 11 unknown_facility
        claim(claim_id="K9", doctor_id="D404"),                      # 12 unknown_doctor
        claim(claim_id="K10", claim_type="inpatient", admit_date="2025-01-08", discharge_date="2025-01-01"),  # 13
        claim(claim_id="K11", region_code="5301"),                   # 14 bad_region
        claim(claim_id="R1", total_amount="-100.50", fund_amount="-80.00", account_amount="-10.50",
              self_amount="-10.00", reverses_claim_id="K1"),         # 15 reversal, loaded and linked
        claim(claim_id="K12", fund_amount="1.00"),                   # 16 loaded, parts mismatch flagged
    ]
    write_csv(d / "claims.csv", CLAIM_COLS, rows)
    with open(d / "claims.csv", "a", encoding="utf-8") as fh:
        fh.write("K13,C1,P1\n")                                      # 17 malformed_row
    write_csv(d / "items.csv", TABLES["items"].column_names,
              [["K1", "1", "X01", "阿莫西林", "drug", "2", "10.25", "20.50", "7", "TC1"],   # 2 loaded
               ["K404", "1", "X01", "阿莫西林", "drug", "2", "10.25", "20.50", "7", ""],     # 3 unknown_claim
               ["K1", "2", "X01", "阿莫西林", "drug", "两盒", "10.25", "20.50", "7", ""],     # 4 bad_number
               ["K1", "3", "", "阿莫西林", "drug", "2", "10.25", "20.50", "7", ""],         # 5 missing_required
               ["K3", "1", "X01", "阿莫西林", "drug", "2", "10.25", "20.50", "7", ""]])     # 6 unknown_claim (K3 rejected)
    ws = tmp_path / "ws"
    result = ingest(d, ws)

    con = con_of(ws)
    got = {(r[0], r[1]): (r[2], r[3]) for r in con.execute(
        "SELECT source_file, line, reason, column_name FROM rejects").fetchall()}
    assert got == {
        ("claims.csv", 5): ("conflicting_duplicate", "claim_id"),
        ("claims.csv", 6): ("missing_required", "card_id"),
        ("claims.csv", 7): ("bad_date", "settled_at"),
        ("claims.csv", 8): ("bad_amount", "total_amount"),
        ("claims.csv", 9): ("bad_enum", "claim_type"),
        ("claims.csv", 10): ("unknown_card", "card_id"),
        ("claims.csv", 11): ("unknown_facility", "facility_id"),
        ("claims.csv", 12): ("unknown_doctor", "doctor_id"),
        ("claims.csv", 13): ("bad_date_order", "discharge_date"),
        ("claims.csv", 14): ("bad_region", "region_code"),
        ("claims.csv", 17): ("malformed_row", got[("claims.csv", 17)][1]),
        ("items.csv", 3): ("unknown_claim", "claim_id"),
        ("items.csv", 4): ("bad_number", "quantity"),
        ("items.csv", 5): ("missing_required", "item_code"),
        ("items.csv", 6): ("unknown_claim", "claim_id"),
    }
    totals = result.totals()
    assert totals["claims"] == {"input": 16, "loaded": 4, "duplicate": 1, "rejected": 11}
    assert totals["items"] == {"input": 5, "loaded": 1, "duplicate": 0, "rejected": 4}
    for t in totals.values():
        assert t["input"] == t["loaded"] + t["duplicate"] + t["rejected"]
    assert sorted(r[0] for r in con.execute("SELECT claim_id FROM claims").fetchall()) == ["K1", "K12", "K2", "R1"]
    # the reversal nets the original out, exactly
    assert con.execute("SELECT sum(total_amount) FROM claims WHERE claim_id IN ('K1','R1')").fetchone()[0] == Decimal("0.00")
    assert con.execute("SELECT reversal_linked FROM claims WHERE claim_id='R1'").fetchone()[0] is True
    assert con.execute("SELECT claim_id FROM claims WHERE amount_parts_mismatch").fetchall() == [("K12",)]
    assert result.flags["amount_parts_mismatch"] == 1
    # the duplicate kept the first line's content; the conflicting line's total is not loaded
    assert con.execute("SELECT total_amount, _source_line FROM claims WHERE claim_id='K2'").fetchone() == (Decimal("100.50"), 3)


def test_manifest_counts_add_up_and_are_stored(tmp_path):
    d = tmp_path / "data"
    reference_tables(d)
    write_csv(d / "claims.csv", CLAIM_COLS, [claim(), claim(), claim(claim_id="K2", total_amount="x")])
    ws = tmp_path / "ws"
    result = ingest(d, ws)
    import json

    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert manifest["counts"]["claims"] == {"input": 3, "loaded": 1, "duplicate": 1, "rejected": 1,
                                            "rejected_by_reason": {"bad_amount": 1}, "balanced": True,
                                            "physical_lines": 4, "continuation_lines": 0, "lines_balanced": True}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert {f["mapping"] for f in manifest["files"]} == {"canonical"}
    con = con_of(ws)
    assert con.execute("SELECT sum(input_rows), sum(loaded), sum(duplicate), sum(rejected) FROM ingest_files "
                       "WHERE table_name='claims'").fetchone() == (3, 1, 1, 1)


def _snapshot(ws):
    con = con_of(ws)
    try:
        out = {}
        for t in [*TABLES, "rejects", "identity_vault", "vault_boxes"]:
            cols = "*" if t in ("rejects", "identity_vault", "vault_boxes") else ", ".join(TABLES[t].column_names + ["_source_line"])
            out[t] = sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall()))
        return out
    finally:
        con.close()


def test_ingesting_the_same_files_again_changes_nothing_and_a_later_month_appends(tmp_path):
    d = tmp_path / "jan"
    reference_tables(d)
    write_csv(d / "claims.csv", CLAIM_COLS, [claim(), claim(claim_id="K2", total_amount="bad")])
    ws = tmp_path / "ws"
    ingest(d, ws)
    before = _snapshot(ws)
    again = ingest(d, ws)
    assert _snapshot(ws) == before
    assert again.totals()["claims"] == {"input": 2, "loaded": 0, "duplicate": 1, "rejected": 1}

    feb = tmp_path / "feb"
    write_csv(feb / "claims.csv", CLAIM_COLS, [claim(claim_id="K20", settled_at="2025-02-03 09:00"), claim()])
    r = ingest(feb, ws)
    assert r.totals()["claims"] == {"input": 2, "loaded": 1, "duplicate": 1, "rejected": 0}
    con = con_of(ws)
    assert sorted(x[0] for x in con.execute("SELECT claim_id FROM claims").fetchall()) == ["K1", "K20"]
    # references are checked against what earlier runs loaded
    write_csv(tmp_path / "mar" / "claims.csv", CLAIM_COLS, [claim(claim_id="K30", card_id="C99")])
    con.close()
    r = ingest(tmp_path / "mar", ws)
    assert r.reasons()["claims"] == {"unknown_card": 1}


def test_missing_required_table_and_column_stop_with_file_and_column(tmp_path):
    d = tmp_path / "data"
    reference_tables(d)
    with pytest.raises(GraphfraudError) as exc:
        ingest(d, tmp_path / "ws")
    assert exc.value.key == "required_table_missing" and "claims" in str(exc.value)
    cols = [c for c in CLAIM_COLS if c != "settled_at"]
    write_csv(d / "claims.csv", cols, [[GOOD[c] for c in cols]])
    with pytest.raises(GraphfraudError) as exc:
        ingest(d, tmp_path / "ws")
    msg = str(exc.value)
    assert "claims.csv" in msg and "settled_at" in msg
    # nothing was loaded by the stopped run
    con = con_of(tmp_path / "ws")
    assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == 0


@pytest.mark.parametrize("fmt", ["gb18030", "parquet", "xlsx"])
def test_a_later_file_missing_a_column_stops_before_any_file_is_read(tmp_path, monkeypatch, fmt):
    """Headers are checked first: a claim-lines file without its claim column stops the run
    before the claims (loaded earlier in table order) are read at all."""
    from graphfraud.ingest import readers
    from graphfraud.ingest.mapping import get_mapping

    d = tmp_path / "data"
    reference_tables(d)
    write_csv(d / "claims.csv", CLAIM_COLS, [claim()])
    zh = get_mapping("nhsa_zh").source_headers("items")
    cols = [c for c in TABLES["items"].column_names if c != "claim_id"]
    heads, row = [zh[c] for c in cols], ["1" if c == "item_no" else "x" for c in cols]
    if fmt == "gb18030":
        name = "items.csv"
        write_csv(d / name, heads, [row], encoding="gb18030")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = "items.parquet"
        pq.write_table(pa.table({h: [v] for h, v in zip(heads, row)}), d / name)
    else:
        from openpyxl import Workbook

        name = "items.xlsx"
        wb = Workbook()
        wb.active.append(heads)
        wb.active.append(row)
        wb.save(d / name)
    read = []
    real = readers.read_source
    monkeypatch.setattr("graphfraud.ingest.run.read_source",
                        lambda con, source, *a: read.append(source) or real(con, source, *a))
    with pytest.raises(GraphfraudError) as exc:
        ingest(d, tmp_path / "ws")
    assert exc.value.key == "required_column_missing" and name in str(exc.value) and zh["claim_id"] in str(exc.value)
    assert read == []
    assert con_of(tmp_path / "ws").execute("SELECT count(*) FROM claims").fetchone()[0] == 0


def test_chinese_headers_gb18030_and_value_maps(tmp_path):
    from graphfraud.ingest.mapping import get_mapping

    zh = get_mapping("nhsa_zh")
    heads = zh.source_headers("claims")
    d = tmp_path / "zh"
    row = claim(claim_type="住院", admit_date="2025-01-01", discharge_date="2025-01-05")
    write_csv(d / "结算.csv", [heads[c] for c in CLAIM_COLS], [row], encoding="gb18030")
    write_csv(d / "定点医药机构.csv", [zh.source_headers("facilities")[c] for c in TABLES["facilities"].column_names],
              [["F1", "第一人民医院", "医院", "三级", "530102", "", ""]], encoding="gb18030")
    ws = tmp_path / "ws"
    result = ingest(d, ws)
    enc = {f.file: (f.encoding, f.mapping) for f in result.files}
    assert enc["结算.csv"] == ("gb18030", "nhsa_zh")
    con = con_of(ws)
    assert con.execute("SELECT claim_type, admit_date::VARCHAR FROM claims").fetchone() == ("inpatient", "2025-01-01")
    assert con.execute("SELECT name, facility_type FROM facilities").fetchone() == ("第一人民医院", "hospital")


@pytest.mark.parametrize("fmt", ["bom", "gz", "parquet", "xlsx", "tab", "crlf"])
def test_every_input_format_gives_the_same_table(tmp_path, fmt):
    rows = [claim(), claim(claim_id="K2", total_amount="7.10", settled_at="2025/01/03 08:05"),
            claim(claim_id="K3", total_amount="bad")]
    plain = tmp_path / "plain"
    write_csv(plain / "claims.csv", CLAIM_COLS, rows)
    ingest(plain, tmp_path / "ws_plain")
    d = tmp_path / fmt
    d.mkdir()
    if fmt == "bom":
        (d / "claims.csv").write_bytes(b"\xef\xbb\xbf" + (plain / "claims.csv").read_bytes())
    elif fmt == "gz":
        (d / "claims.csv.gz").write_bytes(gzip.compress((plain / "claims.csv").read_bytes()))
    elif fmt == "tab":
        (d / "claims.csv").write_text("\n".join("\t".join(r) for r in [CLAIM_COLS, *rows]) + "\n", encoding="utf-8")
    elif fmt == "crlf":
        (d / "claims.csv").write_bytes((plain / "claims.csv").read_bytes().replace(b"\n", b"\r\n"))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [r[i] or None for r in rows] for i, c in enumerate(CLAIM_COLS)}), d / "claims.parquet")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws_ = wb.active
        ws_.append(CLAIM_COLS)
        for r in rows:
            ws_.append([v or None for v in r])
        wb.save(d / "claims.xlsx")
    ingest(d, tmp_path / "ws")
    cols = ", ".join(CLAIM_COLS)
    a = con_of(tmp_path / "ws_plain").execute(f"SELECT {cols} FROM claims ORDER BY claim_id").fetchall()
    b = con_of(tmp_path / "ws").execute(f"SELECT {cols} FROM claims ORDER BY claim_id").fetchall()
    assert a == b and len(a) == 2
    rej = con_of(tmp_path / "ws").execute("SELECT line, reason, column_name FROM rejects").fetchall()
    # Parquet has no header line: its "line" is the row number
    assert rej == [(3 if fmt == "parquet" else 4, "bad_amount", "total_amount")]


def test_quoted_newlines_and_blank_lines_keep_line_numbers_exact(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    text = ",".join(CLAIM_COLS) + "\n"
    text += ",".join(claim()) + "\n"                                   # line 2
    text += "\n"                                                       # line 3 blank
    r = claim(claim_id="K2")
    r[CLAIM_COLS.index("diagnosis_code")] = '"I10\nwith a note"'       # lines 4-5
    text += ",".join(r) + "\n"
    text += ",".join(claim(claim_id="K3", total_amount="oops")) + "\n"  # line 6
    (d / "claims.csv").write_text(text, encoding="utf-8")
    result = ingest(d, tmp_path / "ws")
    con = con_of(tmp_path / "ws")
    assert con.execute("SELECT line, reason FROM rejects").fetchall() == [(6, "bad_amount")]
    assert con.execute("SELECT claim_id, _source_line FROM claims ORDER BY 1").fetchall() == [("K1", 2), ("K2", 4)]
    assert result.files[0].blank_lines == 1


def test_an_empty_citizen_id_is_missing_not_invalid(tmp_path):
    d = tmp_path / "data"
    write_csv(d / "patients.csv", TABLES["patients"].column_names,
              [["P1", "", "张三", "女", "1950-01-01", "", "13800000000", "昆明市五华区一路1号", "530102", "职工"],
               ["P2", "   ", "李四", "女", "1950-01-01", "", "", "", "530102", "resident"],
               ["P3", "110105194912310021", "王五", "女", "1949-12-31", "", "", "", "530102", "resident"],
               ["P4", "11010519491231002X", "赵六", "女", "1949-12-31", "", "", "", "530102", "resident"]])
    write_csv(d / "claims.csv", CLAIM_COLS, [claim(card_id="C1", patient_id="P1")])
    result = ingest(d, tmp_path / "ws")
    assert result.flags["id_number_invalid"] == 1 and result.flags["id_number_missing"] == 2
    con = con_of(tmp_path / "ws")
    assert dict(con.execute("SELECT patient_id, id_number_valid FROM patients").fetchall()) == {
        "P1": None, "P2": None, "P3": False, "P4": True}
    con.close()


def test_citizen_ids_are_checked_and_personal_data_pseudonymised(tmp_path):
    d = tmp_path / "data"
    reference_tables(d)
    write_csv(d / "claims.csv", CLAIM_COLS, [claim()])
    ws = tmp_path / "ws"
    result = ingest(d, ws)
    assert result.flags["id_number_invalid"] == 1
    con = con_of(ws)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT patient_id, id_number_valid, sex, birth_date::VARCHAR, phone, address, name, id_number FROM patients").fetchall()}
    # birth date and sex come from a valid ID when the columns are empty
    assert rows["P1"][:3] == (True, "F", "1949-12-31")
    assert rows["P2"][0] is False
    # the same phone and address, spelled differently, give the same pseudonym
    assert rows["P1"][3] == rows["P2"][3] and rows["P1"][3].startswith("ph_")
    assert rows["P1"][4] == rows["P2"][4] and rows["P1"][4].startswith("ad_")
    assert rows["P1"][5] != rows["P2"][5]
    con.close()
    # no raw personal value is stored anywhere in the workspace
    blob = b"".join(p.read_bytes() for p in ws.rglob("*") if p.is_file())
    for secret in ["张三", "李四", "13800000000", "11010519491231002X", "五华区", "王医生"]:
        assert secret.encode() not in blob, secret
    # ...but the vault gives the originals back with the key, and only with it
    from cryptography.exceptions import InvalidTag

    from graphfraud.ingest.pseudo import Keyring, load_keyring, reveal

    con = con_of(ws)
    people = reveal(con, load_keyring(), "patient", ["P1", "P2"])
    assert people["P1"] == {"id_number": "11010519491231002X", "name": "张三", "phone": "13800000000",
                            "address": "昆明市五华区一路1号"}
    assert people["P2"]["phone"] == "+86 138 0000 0000"
    assert reveal(con, load_keyring(), "doctor", ["D1"]) == {"D1": {"name": "王医生"}}
    with pytest.raises(InvalidTag):
        reveal(con, Keyring.from_secret(b"wrong" * 8, "test"), "patient", ["P1"])


def test_another_key_is_refused_and_key_files_are_private(tmp_path, monkeypatch):
    d = tmp_path / "data"
    write_csv(d / "claims.csv", CLAIM_COLS, [claim()])
    ingest(d, tmp_path / "ws")
    monkeypatch.setenv("GRAPHFRAUD_KEY", "another-key-another-key-another")
    with pytest.raises(GraphfraudError) as exc:
        ingest(d, tmp_path / "ws")
    assert exc.value.key == "key_mismatch"
    monkeypatch.delenv("GRAPHFRAUD_KEY")
    key_file = tmp_path / "cfg" / "key"
    monkeypatch.setenv("GRAPHFRAUD_KEY_FILE", str(key_file))
    ingest(d, tmp_path / "ws2")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    os.chmod(key_file, 0o644)
    with pytest.raises(GraphfraudError) as exc:
        ingest(d, tmp_path / "ws3")
    assert "chmod 600" in str(exc.value)


def test_unknown_columns_are_dropped_unless_the_mapping_declares_them(tmp_path):
    import json

    d = tmp_path / "data"
    reference_tables(d)
    write_csv(d / "claims.csv", [*CLAIM_COLS, "备注", "联系电话", "mobile"],
              [claim() + ["复诊", "13800000000", "13912345678"]])
    notes: list[str] = []
    ingest(d, tmp_path / "ws", note=notes.append)
    con = con_of(tmp_path / "ws")
    assert con.execute("SELECT _extra FROM claims").fetchone()[0] is None  # nothing undeclared is kept
    assert any("备注, 联系电话, mobile" in n and "未导入" in n for n in notes), notes
    con.close()
    # a mapping keeps what it declares; a personal column becomes the same keyed pseudonym as
    # the contract's column of that kind (the patient P1 has phone 13800000000)
    m = tmp_path / "mine.toml"
    m.write_text('name = "mine"\n[tables.claims.extra]\n"备注" = "note"\n'
                 '"联系电话" = { name = "contact_phone", personal = "phone" }\n', encoding="utf-8")
    notes.clear()
    ingest(d, tmp_path / "ws2", mapping=str(m), note=notes.append)
    con = con_of(tmp_path / "ws2")
    extra = json.loads(con.execute("SELECT _extra FROM claims").fetchone()[0])
    phone = con.execute("SELECT phone FROM patients WHERE patient_id = 'P1'").fetchone()[0]
    assert extra == {"note": "复诊", "contact_phone": phone} and phone.startswith("ph_")
    assert any("mobile" in n and "未导入" in n for n in notes) and any("联系电话 → contact_phone" in n for n in notes)
    con.close()


def test_a_mapping_declaring_a_bad_extra_column_is_refused(tmp_path):
    from graphfraud.ingest.mapping import load_mapping

    m = tmp_path / "bad.toml"
    m.write_text('name = "bad"\n[tables.claims.extra]\n"x" = { name = "x", personal = "shoe_size" }\n',
                 encoding="utf-8")
    with pytest.raises(GraphfraudError) as err:
        load_mapping(m)
    assert "personal must be one of" in str(err.value)


def test_line_numbers_stay_exact_across_many_gaps(tmp_path):
    """Thousands of rows with malformed records, blank lines and quoted newlines spread
    over many blocks: every loaded row keeps its exact line, every reject its own."""
    d = tmp_path / "d"
    d.mkdir()
    lines = [",".join(CLAIM_COLS)]
    expected_loaded, expected_rejected = {}, {}
    for i in range(3000):
        if i % 97 == 0:
            lines.append("")  # blank line
        if i % 7 == 3:
            lines.append(f"K{i},C1,P1")  # malformed
            expected_rejected[len(lines)] = "malformed_row"
            continue
        row = claim(claim_id=f"K{i}")
        if i % 211 == 5:
            row[CLAIM_COLS.index("diagnosis_code")] = '"I10\nnote"'
        lines.append(",".join(row))
        expected_loaded[f"K{i}"] = len(lines)
        if i % 211 == 5:
            lines[-1:] = lines[-1].split("\n")  # the record spans two physical lines
    (d / "claims.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(d, tmp_path / "ws", parquet=False)
    con = con_of(tmp_path / "ws")
    assert dict(con.execute("SELECT claim_id, _source_line FROM claims").fetchall()) == expected_loaded
    assert dict(con.execute("SELECT line, reason FROM rejects").fetchall()) == expected_rejected


def test_parquet_export_is_one_file_per_run_with_the_rows_it_added(tmp_path):
    d = tmp_path / "jan"
    write_csv(d / "claims.csv", CLAIM_COLS, [claim(), claim(claim_id="K2", total_amount="x")])
    ws = tmp_path / "ws"
    first = ingest(d, ws)
    ingest(d, ws)  # nothing new: no new file
    feb = tmp_path / "feb"
    write_csv(feb / "claims.csv", CLAIM_COLS, [claim(claim_id="K3")])
    third = ingest(feb, ws)
    files = sorted(p.name for p in (ws / "parquet" / "claims").glob("*.parquet"))
    assert files == sorted([f"{first.run_id}.parquet", f"{third.run_id}.parquet"])
    con = duckdb.connect()
    rows = con.execute("SELECT claim_id, total_amount FROM read_parquet(?) ORDER BY 1",
                       [str(ws / "parquet" / "claims" / "*.parquet")]).fetchall()
    assert rows == [("K1", Decimal("100.50")), ("K3", Decimal("100.50"))]
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(ws / "parquet" / "rejects" / "*.parquet")]
                       ).fetchall()[0][0] == 1


def test_padded_values_are_trimmed_and_blank_ones_are_missing(tmp_path):
    d = tmp_path / "d"
    write_csv(d / "claims.csv", CLAIM_COLS, [claim(claim_id=" K1 ", total_amount=" 100.50"),
                                             claim(claim_id="K2", card_id="   ")])
    ingest(d, tmp_path / "ws")
    con = con_of(tmp_path / "ws")
    assert con.execute("SELECT claim_id, total_amount FROM claims").fetchall() == [("K1", Decimal("100.50"))]
    assert con.execute("SELECT line, reason, column_name FROM rejects").fetchall() == [(3, "missing_required", "card_id")]


def test_typed_parquet_columns_are_read_like_their_text(tmp_path):
    """A Parquet export with native types (decimal money, timestamps, dates) gives the same
    rows as the CSV, and its column names never need to enter query text."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    plain = tmp_path / "plain"
    write_csv(plain / "claims.csv", CLAIM_COLS, [claim(claim_type="inpatient", admit_date="2025-01-01",
                                                       discharge_date="2025-01-02")])
    ingest(plain, tmp_path / "ws_plain")
    d = tmp_path / "pq"
    d.mkdir()
    row = dict(zip(CLAIM_COLS, claim()))
    cols = {c: pa.array([row[c] or None], pa.string()) for c in CLAIM_COLS}
    cols["claim_type"] = pa.array(["inpatient"])
    cols["settled_at"] = pa.array([dt.datetime(2025, 1, 2, 10, 0)], pa.timestamp("us"))
    cols["admit_date"] = pa.array([dt.date(2025, 1, 1)])
    cols["discharge_date"] = pa.array([dt.date(2025, 1, 2)])
    for money in ("total_amount", "fund_amount", "account_amount", "self_amount"):
        cols[money] = pa.array([Decimal(row[money])], pa.decimal128(18, 2))
    cols['odd "name"'] = pa.array(["kept"])  # an extra column with a quote in its name
    pq.write_table(pa.table(cols), d / "claims.parquet")
    m = tmp_path / "odd.toml"
    m.write_text('name = "odd"\n[tables.claims.extra]\n\'odd "name"\' = \'odd "kept"\'\n', encoding="utf-8")
    ingest(d, tmp_path / "ws", mapping=str(m))
    names = ", ".join(CLAIM_COLS)
    a = con_of(tmp_path / "ws_plain").execute(f"SELECT {names} FROM claims").fetchall()
    b = con_of(tmp_path / "ws").execute(f"SELECT {names}, _extra FROM claims").fetchall()
    assert [r[:-1] for r in b] == a
    import json

    assert json.loads(b[0][-1]) == {'odd "kept"': "kept"}
