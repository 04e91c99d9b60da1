"""Small units: citizen-ID check digits, pseudonyms, mappings, resources, the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import duckdb
import numpy as np
import pytest

from graphfraud.core.resources import asset_path
from graphfraud.ingest import idnumber
from graphfraud.ingest.mapping import best_mapping, builtin_mappings, get_mapping
from graphfraud.ingest.pseudo import Keyring, normalise


def test_gb11643_check_digit_scalar_vector_and_sql_agree():
    rng = np.random.default_rng(3)
    digits = rng.integers(0, 10, size=(500, 17))
    vec = idnumber.check_chars(digits)
    ids = ["".join(map(str, d)) + c for d, c in zip(digits, vec)]
    assert all(idnumber.is_valid(i) for i in ids)
    assert [idnumber.check_char(i[:17]) for i in ids] == list(vec)
    wrong = [i[:17] + ("0" if i[17] != "0" else "1") for i in ids]
    assert not any(idnumber.is_valid(w) for w in wrong)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR, ok BOOLEAN)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, True) for i in ids] + [(w, False) for w in wrong]
                    + [("123", False), (None, False)])
    mismatches = con.execute(f"SELECT count(*) FROM t WHERE {idnumber.sql_is_valid('x')} <> ok").fetchone()[0]
    assert mismatches == 0
    assert idnumber.is_valid("11010519491231002x")  # lower-case x is accepted


def test_pseudonyms_are_keyed_stable_and_normalised():
    a = Keyring.from_secret(b"a" * 32, "t")
    b = Keyring.from_secret(b"b" * 32, "t")
    assert a.pseudonym("phone", "13800000000") == a.pseudonym("phone", "+86 138-0000-0000")
    assert a.pseudonym("phone", "13800000000") != b.pseudonym("phone", "13800000000")
    assert a.pseudonym("address", "昆明市 五华区１号") == a.pseudonym("address", "昆明市五华区1号")
    # the same text as a name and as an address gives different pseudonyms
    assert a.pseudonym("name", "张三")[3:] != a.pseudonym("address", "张三")[3:]
    assert a.pseudonym("name", "  ") is None and normalise("name", None) is None
    sealed = a.seal_bytes("张三".encode())
    assert a.unseal_bytes(sealed) == "张三".encode()
    assert a.seal_bytes(b"x") != a.seal_bytes(b"x")  # a fresh nonce every time
    with pytest.raises(Exception):
        b.unseal_bytes(sealed)


def test_mappings_load_and_recognise_their_headers():
    names = [m.name for m in builtin_mappings()]
    assert names[0] == "canonical" and "nhsa_zh" in names
    zh = get_mapping("nhsa_zh")
    heads = list(zh.source_headers("claims").values())
    assert best_mapping("claims", heads, builtin_mappings())[0].name == "nhsa_zh"
    assert zh.value_map("claims", "claim_type")["住院"] == "inpatient"
    assert zh.source_values("patients", "sex") == {"M": "男", "F": "女"}


def test_bad_mapping_file_is_reported(tmp_path):
    from graphfraud.core.errors import GraphfraudError

    p = tmp_path / "m.toml"
    p.write_text('[tables.claims.columns]\n"x" = "no_such_column"\n', encoding="utf-8")
    with pytest.raises(GraphfraudError) as exc:
        get_mapping(str(p))
    assert "no_such_column" in str(exc.value)


def test_resource_helper_finds_assets():
    assert asset_path("loaders", "nhsa_zh.toml").is_file()
    assert asset_path("viz", "styles.toml").is_file()
    assert asset_path("cypher", "README.md").is_file()


def test_wheel_carries_cypher_loaders_and_viz(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                          str(tmp_path), "."], capture_output=True, text=True,
                         cwd=str(asset_path("loaders", "canonical.toml").parent.parent))
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("graphfraud-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("graphfraud/_assets/loaders/nhsa_zh.toml", "graphfraud/_assets/loaders/canonical.toml",
                   "graphfraud/_assets/viz/styles.toml", "graphfraud/_assets/cypher/README.md",
                   "graphfraud/core/resources.py"):
        assert needed in names


def test_has_padding_finds_a_space_beside_a_delimiter_quote_or_line_end_wherever_the_chunks_split(tmp_path, monkeypatch):
    import re

    from graphfraud.ingest import readers

    monkeypatch.setattr(readers, "SCAN_CHUNK", 7)  # every boundary case within a few rows
    padded = re.compile(rb'[ ][,\n\r"]|[,\n\r"][ ]|^ | $')
    cases = [b"a,b\n1,2025-01-01 08:00\n", b"a,b\n1, 2\n", b"a,b\n1 ,2\n", b"a,b\n1,2 \n", b'a,b\n"x" ,2\n',
             b"a,b\n1,2\r\n 3,4\r\n", b"a,b\nab cd,ef gh\n", b"a;b\n1 ;2\n", b"a,b\n1;2 x,3\n"]
    for i, text in enumerate(cases):
        delimiter = ";" if text.startswith(b"a;b") else ","
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(text)
        expected = bool(padded.search(text.replace(b";", b",") if delimiter == ";" else text))
        assert readers.has_padding(path, delimiter) is expected, text
