"""The canonical tables of the data contract (``../shared/data-contract.md``), as data.

Everything that reads or writes the contract (ingest, the generator, exports) takes column
names, types, keys and enums from here, so there is one definition to extend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds. Storage types in the workspace (DuckDB) follow from the kind.
STRING = "string"
ENUM = "enum"
DATE = "date"
DATETIME = "datetime"
MONEY = "money"  # decimal yuan, exactly two decimal places at most
DECIMAL = "decimal"  # quantity, unit price: up to four decimal places
INTEGER = "integer"
FLOAT = "float"  # coordinates only; never money
REGION = "region"  # 6-digit administrative division code

STORAGE_TYPE = {
    STRING: "VARCHAR",
    ENUM: "VARCHAR",
    DATE: "DATE",
    DATETIME: "TIMESTAMP",
    MONEY: "DECIMAL(18,2)",
    DECIMAL: "DECIMAL(18,4)",
    INTEGER: "BIGINT",
    FLOAT: "DOUBLE",
    REGION: "VARCHAR",
}

#: Personal data replaced by keyed pseudonyms on ingest (table -> columns).
PII_COLUMNS = {
    "patients": ("id_number", "name", "phone", "address"),
    "doctors": ("name",),
}

#: Pseudonym prefix per kind of personal value, so a pseudonym says what it stands for.
PSEUDONYM_PREFIX = {"id_number": "idn_", "name": "nm_", "phone": "ph_", "address": "ad_"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    values: tuple[str, ...] = ()  # allowed canonical values for ENUM

    @property
    def storage_type(self) -> str:
        return STORAGE_TYPE[self.kind]


@dataclass(frozen=True)
class Reference:
    """``column`` must name a row of ``table`` when that table holds any rows."""

    column: str
    table: str
    target: str
    reason: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    required: bool = False
    #: columns derived on ingest (flags, pseudonym helpers), not read from input
    derived: tuple[tuple[str, str], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


CLAIM_TYPES = ("outpatient", "inpatient", "pharmacy")
ITEM_CATEGORIES = ("drug", "consumable", "service")
SEXES = ("M", "F")
INSURANCE_TYPES = ("employee", "resident")
CARD_TYPES = ("ssc", "evoucher")
FACILITY_TYPES = ("hospital", "clinic", "pharmacy")

TABLES: dict[str, Table] = {
    "patients": Table(
        "patients",
        (
            Column("patient_id", STRING, required=True),
            Column("id_number", STRING),
            Column("name", STRING),
            Column("sex", ENUM, values=SEXES),
            Column("birth_date", DATE),
            Column("death_date", DATE),
            Column("phone", STRING),
            Column("address", STRING),
            Column("insured_region", REGION),
            Column("insurance_type", ENUM, values=INSURANCE_TYPES),
        ),
        key=("patient_id",),
        derived=(("id_number_valid", "BOOLEAN"),),
    ),
    "facilities": Table(
        "facilities",
        (
            Column("facility_id", STRING, required=True),
            Column("name", STRING),
            Column("facility_type", ENUM, values=FACILITY_TYPES),
            Column("level", STRING),
            Column("region_code", REGION),
            Column("latitude", FLOAT),
            Column("longitude", FLOAT),
        ),
        key=("facility_id",),
    ),
    "doctors": Table(
        "doctors",
        (
            Column("doctor_id", STRING, required=True),
            Column("name", STRING),
            Column("facility_id", STRING),
            Column("department", STRING),
        ),
        key=("doctor_id",),
        references=(Reference("facility_id", "facilities", "facility_id", "unknown_facility"),),
    ),
    "cards": Table(
        "cards",
        (
            Column("card_id", STRING, required=True),
            Column("patient_id", STRING),
            Column("card_type", ENUM, values=CARD_TYPES),
            Column("issued_at", DATE),
        ),
        key=("card_id",),
        references=(Reference("patient_id", "patients", "patient_id", "unknown_patient"),),
    ),
    "claims": Table(
        "claims",
        (
            Column("claim_id", STRING, required=True),
            Column("card_id", STRING, required=True),
            Column("patient_id", STRING),
            Column("facility_id", STRING, required=True),
            Column("doctor_id", STRING),
            Column("claim_type", ENUM, required=True, values=CLAIM_TYPES),
            Column("settled_at", DATETIME, required=True),
            Column("admit_date", DATE),
            Column("discharge_date", DATE),
            Column("diagnosis_code", STRING),
            Column("total_amount", MONEY, required=True),
            Column("fund_amount", MONEY),
            Column("account_amount", MONEY),
            Column("self_amount", MONEY),
            Column("terminal_id", STRING),
            Column("region_code", REGION),
            Column("reverses_claim_id", STRING),
        ),
        key=("claim_id",),
        references=(
            Reference("card_id", "cards", "card_id", "unknown_card"),
            Reference("facility_id", "facilities", "facility_id", "unknown_facility"),
            Reference("doctor_id", "doctors", "doctor_id", "unknown_doctor"),
        ),
        required=True,
        derived=(("reversal_linked", "BOOLEAN"), ("amount_parts_mismatch", "BOOLEAN")),
    ),
    "items": Table(
        "items",
        (
            Column("claim_id", STRING, required=True),
            # Extension of the contract: the line's position within its claim. Taken from
            # the input when given, otherwise numbered in file order per claim.
            Column("item_no", INTEGER),
            Column("item_code", STRING, required=True),
            Column("item_name", STRING),
            Column("category", ENUM, values=ITEM_CATEGORIES),
            Column("quantity", DECIMAL),
            Column("unit_price", DECIMAL),
            Column("amount", MONEY, required=True),
            Column("days_supply", INTEGER),
            Column("trace_code", STRING),
        ),
        key=("claim_id", "item_no"),
        references=(Reference("claim_id", "claims", "claim_id", "unknown_claim"),),
    ),
}

#: Order in which tables are ingested: referenced tables before the tables that refer to them.
LOAD_ORDER = ("patients", "facilities", "doctors", "cards", "claims", "items")

#: Every reason a row can be rejected for. Each has a zh and en text in ``i18n``.
REJECT_REASONS = (
    "malformed_row",  # wrong number of fields or broken quoting
    "bad_encoding",  # bytes that are not valid text in the file's encoding
    "unclosed_quote",  # a quote left open: the record is rejected at its first line
    "missing_required",  # a required field is empty
    "bad_date",  # a date or date-time that cannot be read
    "bad_amount",  # money that is not a decimal with at most two places
    "bad_number",  # a quantity, count or coordinate that is not a number
    "bad_enum",  # a value outside the allowed set after the mapping's value map
    "bad_region",  # an administrative code that is not 6 digits
    "bad_date_order",  # discharge before admission
    "conflicting_duplicate",  # an id seen before with different content
    "unknown_patient",
    "unknown_card",
    "unknown_facility",
    "unknown_doctor",
    "unknown_claim",
)
