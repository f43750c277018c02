"""CPR numbers and replacement numbers, classified in SQL so ingestion can do millions at once.

Rules (shared/reference/security-and-disclosure.md §3.1; cpr.dk): a CPR is DDMMYY-NNNN, with or without the hyphen;
digit 7 with YY gives the century; modulus 11 is *not* required (numbers without it have been issued since 2007).
Kinds:
- `cpr`: a real CPR whose first six digits are a date;
- `cpr_substitute`: the substitute convention that adds 6 to the first day digit (day + 60); the synthetic
  population uses it, so its numbers can never be mistaken for real ones;
- `ecpr_national`: a national replacement number DDMMYY C AA G with C = 1 (1900s) or 7 (2000s), two letters and a
  digit, whose first six digits are a date;
- `ecpr_local`: another replacement number with letters in positions 7–10 (decentral schemes vary);
- `invalid`: anything else (including a national-looking number whose date does not exist).
"""

from __future__ import annotations

import duckdb

# The SQL twin of warehouse.vault.normalise_cpr (values reaching it have passed the contract's pattern).
NORMALISE_SQL = "upper(replace(trim({x}), '-', ''))"

MACROS = f"""
CREATE OR REPLACE TEMP MACRO kp_norm_cpr(x) AS {NORMALISE_SQL.format(x='x')};
CREATE OR REPLACE TEMP MACRO kp_cpr_century(n) AS CASE
    WHEN TRY_CAST(substr(n, 7, 1) AS INTEGER) <= 3 THEN 1900
    WHEN substr(n, 7, 1) IN ('4', '9') THEN CASE WHEN TRY_CAST(substr(n, 5, 2) AS INTEGER) <= 36 THEN 2000 ELSE 1900 END
    ELSE CASE WHEN TRY_CAST(substr(n, 5, 2) AS INTEGER) <= 57 THEN 2000 ELSE 1800 END END;
CREATE OR REPLACE TEMP MACRO kp_cpr_date(n, century, day_offset) AS TRY_CAST(printf('%04d-%s-%02d',
    century + TRY_CAST(substr(n, 5, 2) AS INTEGER), substr(n, 3, 2),
    TRY_CAST(substr(n, 1, 2) AS INTEGER) - day_offset) AS DATE);
CREATE OR REPLACE TEMP MACRO kp_cpr_kind(n) AS CASE
    WHEN n IS NULL OR NOT regexp_full_match(n, '[0-9]{{6}}[0-9A-Z]{{4}}') THEN 'invalid'
    WHEN regexp_full_match(substr(n, 7), '[0-9]{{4}}') THEN CASE
        WHEN kp_cpr_date(n, kp_cpr_century(n), 0) IS NOT NULL THEN 'cpr'
        WHEN kp_cpr_date(n, kp_cpr_century(n), 60) IS NOT NULL THEN 'cpr_substitute'
        ELSE 'invalid' END
    WHEN regexp_full_match(substr(n, 7), '[17][A-Z]{{2}}[0-9]') THEN CASE
        WHEN kp_cpr_date(n, CASE substr(n, 7, 1) WHEN '1' THEN 1900 ELSE 2000 END, 0) IS NOT NULL
        THEN 'ecpr_national' ELSE 'invalid' END
    ELSE 'ecpr_local' END;
CREATE OR REPLACE TEMP MACRO kp_cpr_birth_date(n) AS CASE kp_cpr_kind(n)
    WHEN 'cpr' THEN kp_cpr_date(n, kp_cpr_century(n), 0)
    WHEN 'cpr_substitute' THEN kp_cpr_date(n, kp_cpr_century(n), 60)
    WHEN 'ecpr_national' THEN kp_cpr_date(n, CASE substr(n, 7, 1) WHEN '1' THEN 1900 ELSE 2000 END, 0) END;
"""

KIND_LABELS = {"cpr": "CPR-nummer", "cpr_substitute": "erstatningsnummer (dag + 60)",
               "ecpr_national": "nationalt erstatningsnummer (eCPR)", "ecpr_local": "lokalt erstatningsnummer",
               "invalid": "ugyldigt"}


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the kp_* CPR macros on a connection."""
    con.execute(MACROS)


def classify(values: list[str | None]) -> list[tuple[str, object]]:
    """(kind, embedded birth date) per value, by the same SQL ingestion runs."""
    con = duckdb.connect()
    install(con)
    rows = con.execute("SELECT kp_cpr_kind(kp_norm_cpr(v)), kp_cpr_birth_date(kp_norm_cpr(v)) "
                       "FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(v, i) ORDER BY i", [values]).fetchall()
    con.close()
    return [(kind, birth) for kind, birth in rows]
