"""Recognise a report by its header, pick its encoding, and normalise it for staging.

Encodings are tried strictly, never with replacement characters: a BOM decides; otherwise
UTF-8, then cp1252 (NA/EU reports) or cp932 (JP), the first that decodes the whole file and
yields a recognisable header wins. The normalised copy is UTF-8 and starts after the header (Date
Range reports have a preamble). Every stored row and every reject names its physical line in the
original: a regular file's copy maps line for line; a file with blank lines or values spanning
lines is rewritten with each record prefixed by its line number.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from recoup.ingest.errors import FileProblem
from recoup.reports import REPORT_TYPES
from recoup.reports.base import ReportType, normalise_header
from recoup.reports.inbound import JSON_LISTS

HEAD_BYTES = 256 * 1024
HEADER_SEARCH_LINES = 100


@dataclass(frozen=True)
class Layout:
    report: ReportType
    encoding: str
    header_line: int  # physical line number of the header, 1-based
    header: list[str]  # header names as printed
    normalised: list[str]  # header names normalised for matching
    delimiter: str
    quoted: bool


# The charsets Amazon names on report documents, as Python codecs. ISO-8859-1 is left out on
# purpose: Amazon has labelled Japanese ledgers with it, and it decodes any byte without error,
# so it would turn cp932 text into mojibake; such documents are detected like a download.
DECLARED = {
    "utf-8": "utf-8", "utf8": "utf-8",
    "cp1252": "cp1252", "windows-1252": "cp1252",
    "windows-31j": "cp932", "cp932": "cp932", "ms932": "cp932", "shift_jis": "cp932",
    "sjis": "cp932", "x-sjis": "cp932",
}  # fmt: skip


def declared_encoding(charset: str | None) -> str | None:
    """The codec for a document's declared charset, when recoup trusts that name."""
    return DECLARED.get((charset or "").strip().strip('"').lower())


def _candidates(head: bytes, japanese: bool, declared: str | None = None) -> list[str]:
    """Encodings to try, in order: a BOM decides; else the declared charset, then UTF-8, then
    cp1252/cp932 (cp932 first for Japan or text that looks like Shift-JIS)."""
    found = _detected(head, japanese)
    if declared and len(found) > 1:
        return [declared, *(e for e in found if e != declared)]
    return found


def _detected(head: bytes, japanese: bool) -> list[str]:
    if head.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    sample = head[:2000]
    if sample and sample[1::2].count(0) > len(sample) // 4:
        return ["utf-16-le"]
    if sample and sample[0::2].count(0) > len(sample) // 4:
        return ["utf-16-be"]
    legacy = ["cp932", "cp1252"] if japanese or _looks_shift_jis(head) else ["cp1252", "cp932"]
    return ["utf-8", *legacy]


def _looks_shift_jis(head: bytes) -> bool:
    """cp1252 decodes most Shift-JIS bytes into mojibake without an error; kana give it away."""
    try:
        text = codecs.getincrementaldecoder("cp932")().decode(head[:16384], final=False)
    except UnicodeDecodeError:
        return False
    kana = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")
    return kana >= 2


def _split(line: str) -> tuple[list[str], str]:
    if "\t" in line:
        return [field.strip().strip('"') for field in line.split("\t")], "\t"
    return next(csv.reader([line])), ","


def _best_match(names: list[str]) -> ReportType | None:
    full = [r for r in REPORT_TYPES if not r.match(names)[1]]
    if not full:
        return None
    return max(full, key=lambda r: (len(r.signature), len(r.locate(names))))


def _closest(lines: list[str]) -> tuple[ReportType, list[str]]:
    best: tuple[float, ReportType, list[str]] | None = None
    for line in lines:
        names = [normalise_header(n) for n in _split(line)[0]]
        for report in REPORT_TYPES:
            satisfied, missing = report.match(names)
            score = satisfied / len(report.signature)
            if best is None or score > best[0]:
                best = (score, report, missing)
    if best is None:
        return REPORT_TYPES[0], [REPORT_TYPES[0].columns[0].sources[0]]
    return best[1], best[2]


def _find_header(text: str, encoding: str) -> Layout | None:
    physical = text.split("\n")[:-1] or text.split("\n")  # the last piece may be cut short
    seen = 0
    for number, raw in enumerate(physical, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        seen += 1
        if seen > HEADER_SEARCH_LINES:
            break
        header, delimiter = _split(line)
        names = [normalise_header(n) for n in header]
        report = _best_match(names)
        if report is None:
            continue
        quoted = delimiter == "," or (report.may_quote_tsv and _first_data_quoted(physical, number))
        clean = [h.replace("\ufeff", "").strip().strip('"') for h in header]
        return Layout(report, encoding, number, clean, names, delimiter, quoted)
    return None


def _first_data_quoted(lines: list[str], header_line: int) -> bool:
    for raw in lines[header_line:]:
        if raw.strip():
            return raw.lstrip().startswith('"')
    return lines[header_line - 1].lstrip().startswith('"')


def _head(raw: Path) -> bytes:
    with raw.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def _readings(head: bytes, encodings: list[str]) -> Iterator[tuple[str, str | None]]:
    """Each encoding with the file's head decoded strictly by it (None when it cannot)."""
    for encoding in encodings:
        try:
            yield encoding, codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            yield encoding, None


def detect(raw: Path, name: str, *, japanese: bool = False, declared: str | None = None) -> Layout:
    """The report layout and encoding of a file, or a FileProblem naming the closest report."""
    head = _head(raw)
    if not head.strip():
        raise FileProblem(name, "the file is empty")
    tried: list[str] = []
    decoded_any: str | None = None
    for encoding, text in _readings(head, _candidates(head, japanese, declared)):
        if text is None:
            tried.append(encoding)
            continue
        decoded_any = decoded_any or text
        layout = _find_header(text, encoding)
        if layout is not None:
            return layout
    if decoded_any is None:
        raise FileProblem(name, f"cannot be decoded as {', '.join(tried)}")
    lines = [ln for ln in decoded_any.split("\n")[:HEADER_SEARCH_LINES] if ln.strip()]
    closest, missing = _closest(lines)
    raise FileProblem(
        name,
        f"not a report recoup knows. The closest is {closest.title} ({closest.name}), "
        f"which also needs the column(s): {', '.join(missing)}",
    )


@dataclass(frozen=True)
class Normalised:
    """A UTF-8 copy of a report's data lines, ready for DuckDB.

    `numbered`: each line starts with its physical line number in the original (written line by
    line, for files with blank lines or values spanning lines). Otherwise the copy is the body
    verbatim and its line i is the original's line `first_line + i`, which the loader verifies
    by counting what DuckDB read against `lines`.
    """

    path: Path
    numbered: bool
    first_line: int
    lines: int
    skip: int = 0  # lines DuckDB skips first (the header, when reading the original in place)


CHUNK_BYTES = 16 * 1024 * 1024


def transcribe(
    raw: Path,
    layout: Layout,
    out: Path,
    on_progress: Callable[[int], None] | None = None,
) -> Normalised:
    """Copy the lines after the header as UTF-8, decoding strictly in large chunks.

    A UTF-8 file whose header is its first line is only checked, not copied: DuckDB reads it in
    place, skipping the header. Raises UnicodeDecodeError (caught by the caller, which tries the
    next encoding) when a byte does not decode.
    """
    in_place = layout.encoding == "utf-8" and layout.header_line == 1
    decoder = codecs.getincrementaldecoder(layout.encoding)(errors="strict")
    to_skip = layout.header_line  # newlines to pass: the preamble and the header
    lines = 0
    last = "\n"
    with raw.open("rb") as source, contextlib.ExitStack() as stack:
        sink = None if in_place else stack.enter_context(out.open("wb"))
        while True:
            chunk = source.read(CHUNK_BYTES)
            text = decoder.decode(chunk, final=not chunk)
            while to_skip and text:  # a line cut by the chunk's end goes on being skipped
                cut = text.find("\n")
                if cut < 0:
                    text = ""
                    break
                text = text[cut + 1 :]
                to_skip -= 1
            if text:
                if sink is not None:
                    sink.write(text.encode("utf-8"))
                lines += text.count("\n")
                last = text[-1]
            if on_progress is not None:
                on_progress(len(chunk))
            if not chunk:
                break
    if last != "\n":
        lines += 1
    first = layout.header_line + 1
    if in_place:
        return Normalised(raw, numbered=False, first_line=first, lines=lines, skip=1)
    return Normalised(out, numbered=False, first_line=first, lines=lines)


def number_lines(raw: Path, layout: Layout, out: Path, name: str) -> Normalised:
    """Write the data lines as UTF-8, each prefixed by its physical line number.

    Blank lines are skipped; a quoted value spanning lines stays one record under its first
    line's number.
    """
    d = layout.delimiter
    written = 0
    pending: str | None = None  # a quoted record spanning physical lines
    pending_line = 0
    with (
        raw.open("r", encoding=layout.encoding, errors="strict", newline="\n") as source,
        out.open("w", encoding="utf-8", newline="\n") as sink,
    ):
        for number, line in enumerate(source, start=1):
            if number <= layout.header_line:
                continue
            text = line.rstrip("\r\n")
            if pending is not None:
                pending += "\n" + text
                if text.count('"') % 2:
                    sink.write(f"{pending_line}{d}{pending}\n")
                    written += 1
                    pending = None
                continue
            if not text.strip():
                continue
            if layout.quoted and text.count('"') % 2:
                pending, pending_line = text, number
                continue
            sink.write(f"{number}{d}{text}\n")
            written += 1
        if pending is not None:
            raise FileProblem(name, "a quoted value is never closed", pending_line)
    return Normalised(out, numbered=True, first_line=layout.header_line + 1, lines=written)


def next_encoding(
    layout: Layout, raw: Path, name: str, *, japanese: bool = False, declared: str | None = None
) -> Layout:
    """The same layout read with the next encoding (in `detect`'s order) that also decodes the
    head and recognises the header."""
    head = _head(raw)
    order = _candidates(head, japanese, declared)
    later = order[order.index(layout.encoding) + 1 :] if layout.encoding in order else []
    for encoding, text in _readings(head, later):
        found = None if text is None else _find_header(text, encoding)
        if found is not None and found.report == layout.report:
            return found
    raise FileProblem(name, f"cannot be decoded as any of {', '.join(order)}")


def json_to_tsv(raw: Path, name: str, out: Path) -> bool:
    """Flatten an Inbound API JSON payload into a TSV with the API's field names.

    Returns False when the file is not JSON. Line numbers of the TSV are the record numbers
    plus one (the header is line 1).
    """
    with raw.open("rb") as stream:
        start = stream.read(64).lstrip(codecs.BOM_UTF8).lstrip()
    if not start.startswith((b"{", b"[")):
        return False
    try:
        document = json.loads(raw.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileProblem(name, f"looks like JSON but cannot be read ({exc})") from exc
    records = _json_records(document)
    if records is None:
        raise FileProblem(
            name,
            "a JSON file, but not an Inbound API payload (expected payload.ShipmentData or "
            "payload.ItemData)",
        )
    fields: list[str] = []
    for record in records:
        for key, value in record.items():
            if key not in fields and not isinstance(value, dict | list):
                fields.append(key)
    with out.open("w", encoding="utf-8", newline="\n") as sink:
        sink.write("\t".join(fields) + "\n")
        for record in records:
            values = ["" if record.get(f) is None else str(record.get(f)) for f in fields]
            sink.write("\t".join(v.replace("\t", " ").replace("\n", " ") for v in values) + "\n")
    return True


def _json_records(document: object) -> list[dict[str, object]] | None:
    if isinstance(document, dict):
        payload = document.get("payload", document)
        if isinstance(payload, dict):
            for key in JSON_LISTS:
                if isinstance(payload.get(key), list):
                    return [r for r in payload[key] if isinstance(r, dict)]
        return None
    if isinstance(document, list) and all(isinstance(r, dict) for r in document):
        return list(document)
    return None
