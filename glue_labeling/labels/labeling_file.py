"""One labeling file: the CSV a labeling run writes and a labeler fills in, read and checked.

The format is AWS's: UTF-8 CSV with a header; the first two columns are `labeling_set_id` and
`label`, the others are columns of the transform's input table. Here the primary-key column is
required (labels name records by their key) and the other data columns are optional and not
read: the input table, not the file, is the truth about a record. Surrounding spaces of a set
id or label are ignored (spreadsheets add them); otherwise labels compare exactly, case included.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Collection

LABELING_SET_ID, LABEL = "labeling_set_id", "label"
LEADING_COLUMNS = (LABELING_SET_ID, LABEL)


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """Why a labeling file cannot be imported, and where (line 1 is the header)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}"


@dataclasses.dataclass(frozen=True)
class LabelRow:
    """One labeled record: `key` is its primary-key value as the file writes it."""

    file: str
    line: int
    labeling_set_id: str
    label: str
    key: str


def parse_labeling_file(
    file: str, content: bytes, key_column: str, columns: Collection[str]
) -> tuple[list[LabelRow], list[Problem]]:
    """The labeled rows of one file and the problems found in it. `columns` are the input
    table's column names; names compare case-insensitively, as Spark's do."""
    # Excel's "CSV UTF-8" starts the file with a byte-order mark.
    content = content.removeprefix(codecs.BOM_UTF8)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        return [], [Problem(file, line, f"not UTF-8 (byte {content[error.start]:#04x}); save the file as UTF-8")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        header_problem = _header_problem(header, key_column, columns)
        if header_problem:
            return [], [Problem(file, 1, header_problem)]
        key_index = [name.lower() for name in header].index(key_column.lower())
        rows: list[LabelRow] = []
        problems: list[Problem] = []
        line = reader.line_num + 1
        for fields in reader:
            # A row's own line is where it starts: a quoted value may span several lines.
            start, line = line, reader.line_num + 1
            if not fields:
                continue
            problem = _row_problem(fields, len(header), key_index, header[key_index])
            if problem:
                problems.append(Problem(file, start, problem))
                continue
            rows.append(LabelRow(file, start, fields[0].strip(), fields[1].strip(), fields[key_index]))
    except csv.Error as error:
        return [], [Problem(file, reader.line_num, f"not valid CSV: {error}")]
    return rows, problems


def _header_problem(header: list[str], key_column: str, columns: Collection[str]) -> str | None:
    if not any(header):
        return f"no header; expected {LABELING_SET_ID},{LABEL},<columns of the input table>"
    if tuple(header[:2]) != LEADING_COLUMNS:
        found = ", ".join(f"'{name}'" for name in header[:2])
        return f"the first two columns must be {LABELING_SET_ID} and {LABEL}, found {found}"
    data = [name.lower() for name in header[2:]]
    repeated = sorted({name for name in data if data.count(name) > 1})
    if repeated:
        return f"column(s) {', '.join(repeated)} appear more than once"
    if key_column.lower() not in data:
        return f"no column '{key_column}' (the transform's primary key, which names each labeled record)"
    known = {name.lower() for name in columns}
    unknown = [name for name in header[2:] if name.lower() not in known]
    if unknown:
        return f"column(s) {', '.join(unknown)} are not in the transform's input table"
    return None


def _row_problem(fields: list[str], width: int, key_index: int, key_column: str) -> str | None:
    if len(fields) != width:
        return f"expected {width} fields as in the header, found {len(fields)}"
    if not fields[0].strip():
        return f"empty {LABELING_SET_ID}"
    if not fields[1].strip():
        return f"empty {LABEL}: every row of a labeling set needs one"
    if not fields[key_index]:
        return f"empty {key_column}: the primary key names the labeled record"
    return None


# An ErrorString names this many problems (the first by file and line), then counts the rest.
PROBLEMS_SHOWN = 5


def describe_problems(problems: list[Problem]) -> str:
    shown = "; ".join(str(problem) for problem in sorted(problems)[:PROBLEMS_SHOWN])
    more = f" (and {len(problems) - PROBLEMS_SHOWN} more)" if len(problems) > PROBLEMS_SHOWN else ""
    return f"nothing was imported: {shown}{more}"
