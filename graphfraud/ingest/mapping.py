"""Source layouts as data: a mapping file says which headers, file names and enum values a
source uses for each canonical table (see ``loaders/*.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.resources import asset_dir
from graphfraud.store.schema import ENUM, PSEUDONYM_PREFIX, TABLES


@dataclass(frozen=True)
class ExtraColumn:
    """A source column outside the contract that a mapping declares, so it is kept (in the
    row's ``_extra`` JSON, under ``name``); ``personal`` (``name``, ``id_number``, ``phone`` or
    ``address``) makes it a keyed pseudonym like the contract's personal columns."""

    name: str
    personal: str | None = None


@dataclass(frozen=True)
class TableMapping:
    columns: dict[str, str]  # source header -> canonical column
    values: dict[str, dict[str, str]]  # canonical column -> {source value -> canonical value}
    files: tuple[str, ...]  # file stems accepted besides the canonical table name
    #: source header -> the extra column it is kept as; every other unmapped column is dropped
    extra: dict[str, ExtraColumn] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    name: str
    path: Path
    title_zh: str
    title_en: str
    encoding: str | None
    date_formats: tuple[str, ...]
    datetime_formats: tuple[str, ...]
    tables: dict[str, TableMapping] = field(default_factory=dict)

    def header_map(self, table: str) -> dict[str, str]:
        """Source header -> canonical column; canonical names always map to themselves."""
        mapped = {name: name for name in TABLES[table].column_names}
        mapped.update(self.tables[table].columns if table in self.tables else {})
        return mapped

    def value_map(self, table: str, column: str) -> dict[str, str]:
        """Source value -> canonical value for an enum column (canonical values included)."""
        col = TABLES[table].column(column)
        out = {v: v for v in col.values}
        if table in self.tables:
            out.update(self.tables[table].values.get(column, {}))
        return out

    def extra_map(self, table: str) -> dict[str, ExtraColumn]:
        """Source header -> declared extra column (the only unmapped columns kept)."""
        return dict(self.tables[table].extra) if table in self.tables else {}

    def file_stems(self, table: str) -> tuple[str, ...]:
        extra = self.tables[table].files if table in self.tables else ()
        return (table, *extra)

    def source_headers(self, table: str) -> dict[str, str]:
        """Canonical column -> the header this layout writes (used by the generator)."""
        out = {name: name for name in TABLES[table].column_names}
        if table in self.tables:
            for src, canon in self.tables[table].columns.items():
                out[canon] = src
        return out

    def source_values(self, table: str, column: str) -> dict[str, str]:
        """Canonical value -> the value this layout writes (used by the generator)."""
        out = {v: v for v in TABLES[table].column(column).values}
        if table in self.tables:
            for src, canon in self.tables[table].values.get(column, {}).items():
                out[canon] = src
        return out

    def fit(self, table: str, headers: list[str]) -> float:
        """Share of ``headers`` this mapping recognises for ``table`` (0..1)."""
        if not headers:
            return 0.0
        known = self.header_map(table)
        own = set(self.tables[table].columns) if table in self.tables else set()
        score = sum(1.0 if h in own else 0.99 if h in known else 0.0 for h in headers)
        return score / len(headers)


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphfraudError("mapping_missing", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GraphfraudError("mapping_invalid", path=str(path), detail=str(exc)) from None
    tables: dict[str, TableMapping] = {}
    for tname, tdata in (data.get("tables") or {}).items():
        if tname not in TABLES:
            raise GraphfraudError("mapping_invalid", path=str(path), detail=f"unknown table {tname!r}")
        columns = dict(tdata.get("columns") or {})
        canon = set(TABLES[tname].column_names)
        bad = sorted(set(columns.values()) - canon)
        if bad:
            raise GraphfraudError(
                "mapping_invalid", path=str(path), detail=f"{tname}: unknown canonical columns {bad}"
            )
        values = {k: dict(v) for k, v in (tdata.get("values") or {}).items()}
        for col in values:
            if col not in canon or TABLES[tname].column(col).kind != ENUM:
                raise GraphfraudError(
                    "mapping_invalid", path=str(path), detail=f"{tname}.{col} is not an enum column"
                )
            allowed = set(TABLES[tname].column(col).values)
            wrong = sorted(set(values[col].values()) - allowed)
            if wrong:
                raise GraphfraudError(
                    "mapping_invalid", path=str(path), detail=f"{tname}.{col}: values {wrong} not in {sorted(allowed)}"
                )
        extra = {}
        for header, spec in (tdata.get("extra") or {}).items():
            if isinstance(spec, str):
                spec = {"name": spec}
            if not isinstance(spec, dict) or not isinstance(spec.get("name", header), str):
                raise GraphfraudError("mapping_invalid", path=str(path), detail=f"{tname}.extra.{header}: "
                                      "give a name, or a table with name and personal")
            name = spec.get("name", header).strip()
            personal = spec.get("personal")
            if not name or any(ord(ch) < 32 for ch in name) or name in canon:
                raise GraphfraudError("mapping_invalid", path=str(path),
                                      detail=f"{tname}.extra.{header}: invalid name {name!r}")
            if personal not in (None, *PSEUDONYM_PREFIX):
                raise GraphfraudError("mapping_invalid", path=str(path),
                                      detail=f"{tname}.extra.{header}: personal must be one of "
                                             f"{sorted(PSEUDONYM_PREFIX)}")
            if header in columns:
                raise GraphfraudError("mapping_invalid", path=str(path),
                                      detail=f"{tname}.extra.{header}: already a contract column")
            extra[header] = ExtraColumn(name, personal)
        tables[tname] = TableMapping(columns, values, tuple(tdata.get("files") or ()), extra)
    formats = data.get("formats") or {}
    return Mapping(
        name=str(data.get("name") or path.stem),
        path=path,
        title_zh=str(data.get("title_zh", path.stem)),
        title_en=str(data.get("title_en", path.stem)),
        encoding=data.get("encoding"),
        date_formats=tuple(formats.get("date") or ("%Y-%m-%d",)),
        datetime_formats=tuple(formats.get("datetime") or ("%Y-%m-%d %H:%M:%S",)),
        tables=tables,
    )


def builtin_mappings() -> list[Mapping]:
    """Every mapping shipped in ``loaders/``, canonical first."""
    paths = sorted(asset_dir("loaders").glob("*.toml"), key=lambda p: (p.stem != "canonical", p.stem))
    return [load_mapping(p) for p in paths]


def get_mapping(name_or_path: str) -> Mapping:
    """A built-in mapping by name (``nhsa_zh``) or a mapping file by path."""
    for m in builtin_mappings():
        if m.name == name_or_path:
            return m
    return load_mapping(name_or_path)


def best_mapping(table: str, headers: list[str], mappings: list[Mapping]) -> tuple[Mapping, float]:
    """The mapping that recognises most of ``headers`` (ties go to the earlier one)."""
    best, best_fit = mappings[0], -1.0
    for m in mappings:
        f = m.fit(table, headers)
        if f > best_fit:
            best, best_fit = m, f
    return best, best_fit
