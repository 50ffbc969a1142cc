"""Recognise a report by its header, pick its encoding, and normalise it for staging.

Encodings are tried strictly, never with replacement characters: a BOM decides; otherwise
UTF-8, then cp1252 (NA/EU reports) or cp932 (JP), the first that decodes the whole file and
yields a recognisable header wins. A UTF-8 file with a few undecodable lines stays UTF-8 and
those lines become rejects (`utf8_verdict` says when). The normalised copy is UTF-8 and starts
after the header (Date Range reports have a preamble). Every stored row and every reject names
its physical line in the original: a regular file's copy maps line for line; a file with blank
lines, values spanning lines, or lines left out is rewritten with each record prefixed by its
line number. CR, LF and CRLF line ends are all read (Excel for Mac writes CR alone).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from recoup.ingest.errors import FileProblem
from recoup.reports import REPORT_TYPES, unsupported
from recoup.reports.base import ReportType, normalise_header
from recoup.reports.inbound import JSON_LISTS

HEAD_BYTES = 256 * 1024
HEADER_SEARCH_LINES = 100
# Read and decoded this much at a time. Even as UTF-8 (4 MB of cp932 is at most 12 MB) a chunk is
# shorter than MAX_VALUE_BYTES, so only the lines that span chunks can hold a value too long to
# store, and they are measured exactly (`_LineLengths`); larger chunks also cost more to allocate.
CHUNK_BYTES = 4 * 1024 * 1024
# The longest value recoup stores; a row holding a longer one is a reject. No seller writes a
# comment this long, but a 10 MB one must still import whole (tests/test_import.py).
MAX_VALUE_BYTES = 16 * 1024 * 1024
# The longest line given to DuckDB. DuckDB 1.4 drops a line longer than its read buffer without
# a word, so a longer line is a reject, read in pieces to keep memory bounded. A line within one
# chunk is shorter than this (a chunk of cp932 is at most three times as long in UTF-8): only
# lines spanning chunks need measuring, which costs nothing per line.
MAX_LINE_BYTES = 64 * 1024 * 1024
# A copy up to this long is searched for values that start or end with a space, which the loader
# would have to trim (`casts.clean`); a longer one is trimmed without looking, which costs less.
PADDING_CHECK_CHARS = 4 * 1024 * 1024
# The UTF-8 codecs, the only ones whose undecodable lines may become rejects (a legacy codepage
# that fails on a byte is simply the wrong one), and the codepages tried after them.
UTF8 = ("utf-8", "utf-8-sig")
LEGACY = ("cp1252", "cp932")
# A UTF-8 file may hold this many undecodable lines, and at most 1 in 100 of its lines: a stray
# byte or two is damage to leave out; more is a file in an encoding recoup cannot name, where
# rejecting line after line would hide that the whole file is misread.
FEW_UNDECODABLE = 10


@dataclass(frozen=True)
class Layout:
    report: ReportType
    encoding: str
    header_line: int  # physical line number of the header, 1-based
    header: list[str]  # header names as printed
    normalised: list[str]  # header names normalised for matching
    delimiter: str
    quoted: bool
    cr_line_ends: bool = False  # lines end in a lone CR (Excel for Mac): CR, LF, CRLF all count


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


_KANA = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def _looks_shift_jis(head: bytes) -> bool:
    """cp1252 decodes most Shift-JIS bytes into mojibake without an error; kana give it away."""
    try:
        text = codecs.getincrementaldecoder("cp932")().decode(head[:16384], final=False)
    except UnicodeDecodeError:
        return False
    kana = _KANA.finditer(text)
    return next(kana, None) is not None and next(kana, None) is not None


# -- lines UTF-8 cannot decode ------------------------------------------------------------------

# A byte the decoder could not read, kept by errors="surrogateescape" as U+DC80..U+DCFF.
_ESCAPED = re.compile("[\udc80-\udcff]")
# From a line's first non-ASCII character to its end: one match per line that is not ASCII.
_NOT_ASCII = re.compile("[^\x00-\x7f][^\n]*")
# From a line's first undecodable byte to its end: one match per line that does not decode.
_UNDECODABLE = re.compile("[\udc80-\udcff][^\n]*")


class Undecodable(Exception):
    """No encoding recoup trusts reads the file; the caller names the file."""

    def __init__(self, problem: str, line: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class _Decoder(Protocol):
    def decode(self, input: bytes, final: bool = False) -> str: ...


def _decoder(encoding: str, errors: str, cr_line_ends: bool) -> _Decoder:
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    return io.IncrementalNewlineDecoder(decoder, translate=True) if cr_line_ends else decoder


def _why(escaped: str, column: int) -> str:
    return f"cannot be decoded as UTF-8 (byte 0x{ord(escaped) - 0xDC00:02x} at column {column})"


def _escaped_shown(text: str) -> str:
    """The line with each byte that did not decode shown as `\\xff`."""
    return _ESCAPED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


@dataclass
class _Survey:
    """The whole file read as UTF-8, keeping undecodable bytes: which lines fail, which hold
    UTF-8 text, and which codepages would decode every byte.

    Python looks at single lines only until it knows the first few undecodable ones (and the
    first line of UTF-8 text); the rest is counted by the regular expression engine, as a
    cp932 file may have millions of lines that UTF-8 cannot decode.
    """

    lines: int = 0
    undecodable: list[tuple[int, str]] = field(default_factory=list)  # the first few: line, why
    undecodable_lines: int = 0
    utf8_text_lines: int = 0  # lines with non-ASCII text that decodes: evidence for UTF-8
    first_utf8_text: int = 0
    legacy: list[str] = field(default_factory=list)
    # The line still open at the end of the last chunk: its characters so far, why it does not
    # decode, and whether it holds UTF-8 text.
    _offset: int = 0
    _failed: str | None = None
    _text: bool = False

    def read(self, text: str) -> None:
        """Read the next decoded chunk."""
        first, last = text.find("\n"), text.rfind("\n")
        if first < 0:
            self._go_on(text)
            return
        self._go_on(text[:first])
        self._note(self._failed, self._text)
        self._offset, self._failed, self._text = 0, None, False
        start = first + 1
        if len(self.undecodable) <= FEW_UNDECODABLE:
            start = self._one_by_one(text, start, last + 1)
        self._count(text, start, last + 1)
        self._go_on(text[last + 1 :])

    def finish(self) -> None:
        if self._offset:
            self._note(self._failed, self._text)

    def _go_on(self, part: str) -> None:
        """More of the open line."""
        if not part.isascii():
            bad = _ESCAPED.search(part)
            if bad is None:
                self._text = True
            elif self._failed is None:
                self._failed = _why(bad.group(), self._offset + bad.start() + 1)
        self._offset += len(part)

    def _note(self, failed: str | None, text: bool) -> None:
        """The next line has ended."""
        self.lines += 1
        if failed is not None:
            self.undecodable_lines += 1
            if len(self.undecodable) <= FEW_UNDECODABLE:
                self.undecodable.append((self.lines, failed))
        elif text:
            self.utf8_text_lines += 1
            self.first_utf8_text = self.first_utf8_text or self.lines

    def _one_by_one(self, text: str, start: int, end: int) -> int:
        """The whole lines in text[start:end] one by one, until the first few undecodable ones
        are known; where it stopped (a line's start)."""
        at = start
        for found in _NOT_ASCII.finditer(text, start, end):
            newline = text.rfind("\n", at, found.start())
            line_start = at if newline < 0 else newline + 1
            self.lines += text.count("\n", at, line_start)
            bad = _ESCAPED.search(text, found.start(), found.end())
            self._note(
                None if bad is None else _why(bad.group(), bad.start() - line_start + 1), True
            )
            at = found.end() + 1
            if len(self.undecodable) > FEW_UNDECODABLE:
                break
        return at

    def _count(self, text: str, start: int, end: int) -> None:
        """The whole lines in text[start:end], counted."""
        if start >= end:
            return
        undecodable = len(_UNDECODABLE.findall(text, start, end))
        utf8_text = len(_NOT_ASCII.findall(text, start, end)) - undecodable
        if utf8_text and not self.first_utf8_text:
            self.first_utf8_text = self.lines + _first_utf8_text(text, start, end)
        self.lines += text.count("\n", start, end)
        self.undecodable_lines += undecodable
        self.utf8_text_lines += utf8_text


def _first_utf8_text(text: str, start: int, end: int) -> int:
    """The number (from 1 at `start`) of the first line of text[start:end] that holds UTF-8
    text, or 0."""
    at, number = start, 1
    for found in _NOT_ASCII.finditer(text, start, end):
        newline = text.rfind("\n", at, found.start())
        if newline >= 0:
            number += text.count("\n", at, newline + 1)
            at = newline + 1
        if not _ESCAPED.search(text, found.start(), found.end()):
            return number
    return 0


def _survey(raw: Path, encoding: str, cr_line_ends: bool) -> _Survey:
    survey = _Survey()
    reading = _decoder(encoding, "surrogateescape", cr_line_ends)
    # A BOM says UTF-8: no codepage is a candidate then.
    legacy = {e: codecs.getincrementaldecoder(e)() for e in LEGACY} if encoding == "utf-8" else {}
    with raw.open("rb") as source:
        while True:
            chunk = source.read(CHUNK_BYTES)
            for codepage, decoder in list(legacy.items()):
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    del legacy[codepage]
            survey.read(reading.decode(chunk, final=not chunk))
            if not chunk:
                break
    survey.finish()
    survey.legacy = list(legacy)
    return survey


def utf8_verdict(raw: Path, encoding: str, cr_line_ends: bool) -> Literal["utf-8", "legacy"]:
    """How to read a file that UTF-8 cannot decode whole; Undecodable when no reading is safe.

    - A codepage (cp1252, cp932) that decodes every byte reads it, when no line holds UTF-8
      text, or so few that they are chance: Shift-JIS half-width katakana can be valid UTF-8
      (ﾏｸ is ϸ), so up to one such line per 100 lines that only the codepage reads. More would
      be mojibake: every Café would become CafÃ©.
    - Else UTF-8, when the undecodable lines are few (FEW_UNDECODABLE, at most 1 in 100 lines)
      and, if a codepage could read the file too, no more than the lines of UTF-8 text. They
      are left out of the copy and stored as rejects.
    - Else the file is refused, naming its first undecodable line.
    """
    survey = _survey(raw, encoding, cr_line_ends)
    bad = survey.undecodable_lines
    if not bad:
        return "utf-8"
    if survey.legacy and survey.utf8_text_lines * 100 <= bad:
        return "legacy"
    few = bad <= FEW_UNDECODABLE and bad * 100 <= survey.lines
    if few and (not survey.legacy or survey.utf8_text_lines >= bad):
        return "utf-8"
    line, why = survey.undecodable[0]
    if few:
        raise Undecodable(
            f"{why}, while line {survey.first_utf8_text} is UTF-8 text: the file mixes "
            "encodings; save it again as UTF-8",
            line,
        )
    more = f", nor can {bad - 1} other line(s)" if bad > 1 else ""
    raise Undecodable(
        f"{why}{more}: too many lines to leave out as rejects (at most {FEW_UNDECODABLE}, and "
        f"1 in 100 of the file's {survey.lines} lines); save it again as UTF-8",
        line,
    )


def _cr_line_ends(text: str) -> bool:
    """Excel for Mac ("CSV (Macintosh)") ends lines with a lone CR: the first line end says."""
    cr, lf = text.find("\r"), text.find("\n")
    return cr >= 0 and (lf < 0 or lf > cr + 1)


def _lines(text: str, cr_line_ends: bool) -> list[str]:
    """The physical lines of decoded text (the last may be cut short)."""
    if cr_line_ends:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _split(line: str) -> tuple[list[str], str]:
    if "\t" in line:
        return [field.strip().strip('"') for field in line.split("\t")], "\t"
    try:
        return next(csv.reader([line])), ","
    except csv.Error:  # a stray CR inside the line: not a header recoup could read anyway
        return [line], ","


@functools.cache
def _signatures() -> list[tuple[ReportType, list[frozenset[str]]]]:
    """Each report with its `signature` as sets (normalising header names takes a regexp)."""
    return [(r, [frozenset(group) for group in r.signature]) for r in REPORT_TYPES]


def _best_match(names: list[str]) -> ReportType | None:
    present = set(names)
    full = [r for r, groups in _signatures() if all(present & group for group in groups)]
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
    cr_line_ends = _cr_line_ends(text)
    physical = _lines(text, cr_line_ends)
    physical = physical[:-1] or physical  # the last piece may be cut short
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
        return Layout(report, encoding, number, clean, names, delimiter, quoted, cr_line_ends)
    return None


def _first_data_quoted(lines: list[str], header_line: int) -> bool:
    for raw in lines[header_line:]:
        if raw.strip():
            return raw.lstrip().startswith('"')
    return lines[header_line - 1].lstrip().startswith('"')


def _head(raw: Path) -> bytes:
    with raw.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def _readings(raw: Path, head: bytes, encodings: list[str]) -> Iterator[tuple[str, str | None]]:
    """Each encoding with the file's head decoded by it (None when it cannot read the file).

    Strictly, except for UTF-8 when `utf8_verdict` leaves the file to no codepage: its head is
    read with replacement characters to find the header. Its undecodable lines then become
    rejects, or `transcribe` refuses the file, naming the first: a verdict on the whole file
    (`detect` may see only the head of a download).
    """
    for encoding in encodings:
        try:
            text: str | None = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            damaged = encoding in UTF8 and not _legacy(raw, encoding, head)
            text = _decoder(encoding, "replace", False).decode(head) if damaged else None
        yield encoding, text


def _legacy(raw: Path, encoding: str, head: bytes) -> bool:
    try:
        return utf8_verdict(raw, encoding, _cr_line_ends(head.decode("latin-1"))) == "legacy"
    except Undecodable:
        return False


def detect(raw: Path, name: str, *, japanese: bool = False, declared: str | None = None) -> Layout:
    """The report layout and encoding of a file, or a FileProblem naming the closest report."""
    head = _head(raw)
    if not head.strip():
        raise FileProblem(name, "the file is empty")
    tried: list[str] = []
    decoded_any: str | None = None
    for encoding, text in _readings(raw, head, _candidates(head, japanese, declared)):
        if text is None:
            tried.append(encoding)
            continue
        decoded_any = decoded_any or text
        layout = _find_header(text, encoding)
        if layout is not None:
            return layout
    if decoded_any is None:
        raise FileProblem(name, f"cannot be decoded as {', '.join(tried)}")
    physical = _lines(decoded_any, _cr_line_ends(decoded_any))
    lines = [ln for ln in physical[:HEADER_SEARCH_LINES] if ln.strip()]
    if known := unsupported.among([[normalise_header(n) for n in _split(ln)[0]] for ln in lines]):
        raise FileProblem(name, known.refusal)
    closest, missing = _closest(lines)
    raise FileProblem(
        name,
        f"not a report recoup knows. The closest is {closest.title} ({closest.name}), "
        f"which also needs the column(s): {', '.join(missing)}",
    )


@dataclass(frozen=True)
class LineReject:
    """A line left out of the normalised copy; the loader stores it as a reject."""

    line: int
    column: str | None
    raw_text: str
    problem: str


@dataclass(frozen=True)
class Normalised:
    """A UTF-8 copy of a report's data lines, ready for DuckDB.

    `numbered`: each line starts with its physical line number in the original (written line by
    line, for files with blank lines, values spanning lines or lines left out). Otherwise the
    copy is the body verbatim and its line i is the original's line `first_line + i`, which the
    loader verifies by counting what DuckDB read against `lines`. `complete`: False when some
    lines cannot go to DuckDB as they are (undecodable, too long): the copy must not be read,
    `number_lines` writes one that leaves them out, as `rejects`. `long_lines`: some line may be
    longer than MAX_VALUE_BYTES, so the loader looks for values that long. `padded`: some value
    may start or end with a space (False only when a small copy was searched and has none).
    """

    path: Path
    numbered: bool
    first_line: int
    lines: int
    skip: int = 0  # lines DuckDB skips first (the header, when reading the original in place)
    complete: bool = True
    rejects: tuple[LineReject, ...] = ()
    long_lines: bool = False
    padded: bool = True


class _Padding:
    """Whether a value of a copy may start or end with a space: a space next to a delimiter, a
    line end or a quote, or at the copy's start or end. Only PADDING_CHECK_CHARS are searched;
    a longer copy may be padded."""

    def __init__(self, layout: Layout) -> None:
        self.ends = {layout.delimiter, "\n", "\r", *('"' if layout.quoted else "")}
        self.pairs = [" " + end for end in self.ends] + [end + " " for end in self.ends]
        self.found = False
        self.searched = 0
        self.last = "\n"  # the character before the next text: the copy starts a line

    def feed(self, text: str) -> None:
        if self.found or not text:
            return
        self.searched += len(text)
        if self.searched > PADDING_CHECK_CHARS or self.last + text[0] in self.pairs:
            self.found = True
            return
        if text.count(" ") <= len(text) >> 10:  # few spaces: look at each one's neighbours
            at = text.find(" ")
            while at >= 0 and not self.found:
                before = text[at - 1] if at else self.last
                after = text[at + 1] if at + 1 < len(text) else ""  # next text: the pair above
                self.found = before in self.ends or after in self.ends
                at = text.find(" ", at + 1)
        else:
            self.found = any(pair in text for pair in self.pairs)
        self.last = text[-1]

    @property
    def padded(self) -> bool:
        return self.found or self.last == " "  # the last value, at the end of the copy


class _LineLengths:
    """How long the lines of a copy may be, measuring only lines that span chunks: a line
    within one chunk is shorter than the chunk."""

    def __init__(self) -> None:
        self.open = 0  # bytes of the line still open at the end of the last chunk
        self.longest_spanning = 0
        self.widest_chunk = 0

    def feed(self, data: bytes) -> None:
        self.widest_chunk = max(self.widest_chunk, len(data))
        first = data.find(b"\n")
        if first < 0:
            self.open += len(data)
        else:
            self.longest_spanning = max(self.longest_spanning, self.open + first)
            self.open = len(data) - data.rfind(b"\n") - 1
        self.longest_spanning = max(self.longest_spanning, self.open)

    def longer_than(self, limit: int) -> bool:
        """Whether a line may be longer than `limit` (exactly, when chunks are not wider)."""
        return self.longest_spanning > limit or self.widest_chunk > limit


def transcribe(
    raw: Path,
    layout: Layout,
    out: Path,
    on_progress: Callable[[int], None] | None = None,
) -> Normalised:
    """Copy the lines after the header as UTF-8, decoding strictly in large chunks.

    A UTF-8 file whose header is its first line (and whose lines end in LF) is only checked, not
    copied: DuckDB reads it in place, skipping the header. Raises UnicodeDecodeError (caught by
    the caller, which tries the next encoding) when a byte does not decode, unless the file is
    UTF-8 with a few undecodable lines (`utf8_verdict`): the copy is then incomplete, and so it
    is when a line is too long for DuckDB.
    """
    in_place = layout.encoding == "utf-8" and layout.header_line == 1 and not layout.cr_line_ends
    decoder = _decoder(layout.encoding, "strict", layout.cr_line_ends)
    to_skip = layout.header_line  # newlines to pass: the preamble and the header
    first = layout.header_line + 1
    lines = 0
    last = "\n"
    measured = _LineLengths()
    padding = _Padding(layout)
    with raw.open("rb") as source, contextlib.ExitStack() as stack:
        sink = None if in_place else stack.enter_context(out.open("wb"))
        while True:
            chunk = source.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                if layout.encoding not in UTF8:
                    raise
                if utf8_verdict(raw, layout.encoding, layout.cr_line_ends) == "legacy":
                    raise
                return Normalised(out, numbered=False, first_line=first, lines=0, complete=False)
            while to_skip and text:  # a line cut by the chunk's end goes on being skipped
                cut = text.find("\n")
                if cut < 0:
                    text = ""
                    break
                text = text[cut + 1 :]
                to_skip -= 1
            if text:
                if sink is not None:
                    data = text.encode("utf-8")
                    sink.write(data)
                    measured.feed(data)
                lines += text.count("\n")
                padding.feed(text)
                last = text[-1]
            if sink is None:
                measured.feed(chunk)
            if on_progress is not None:
                on_progress(len(chunk))
            if not chunk:
                break
    if last != "\n":
        lines += 1
    # MAX_LINE_BYTES is wider than any chunk, so this measures exactly.
    complete = not measured.longer_than(MAX_LINE_BYTES)
    long_lines = measured.longer_than(MAX_VALUE_BYTES)
    return Normalised(
        raw if in_place else out,
        numbered=False,
        first_line=first,
        lines=lines,
        skip=1 if in_place else 0,
        complete=complete,
        long_lines=long_lines,
        padded=padding.padded,
    )


def number_lines(raw: Path, layout: Layout, out: Path, name: str) -> Normalised:
    """Write the data lines as UTF-8, each prefixed by its physical line number.

    Blank lines are skipped; a quoted value spanning lines stays one record under its first
    line's number. A line that UTF-8 cannot decode (the file was read as UTF-8 all the same:
    `utf8_verdict`) and one too long for DuckDB are left out, and returned as rejects.
    """
    rejects: list[LineReject] = []
    with (
        raw.open(
            "r",
            encoding=layout.encoding,
            errors="surrogateescape" if layout.encoding in UTF8 else "strict",
            newline=None if layout.cr_line_ends else "\n",
        ) as source,
        out.open("w", encoding="utf-8", newline="\n") as sink,
    ):
        records = _Records(sink, layout)
        for number, line in _physical_lines(source, layout):
            if number <= layout.header_line:
                continue
            if isinstance(line, LineReject):
                rejects.append(line)
            else:
                records.add(number, line.rstrip("\r\n"))
        if records.pending is not None:
            raise FileProblem(name, "a quoted value is never closed", records.pending_line)
    return Normalised(
        out,
        numbered=True,
        first_line=layout.header_line + 1,
        lines=records.written,
        rejects=tuple(rejects),
        long_lines=out.stat().st_size > MAX_VALUE_BYTES,
    )


class _Records:
    """Writes each record of the numbered copy under its first physical line's number."""

    def __init__(self, sink: io.TextIOBase, layout: Layout) -> None:
        self.sink = sink
        self.layout = layout
        self.written = 0
        self.pending: str | None = None  # a quoted record spanning physical lines
        self.pending_line = 0

    def add(self, number: int, text: str) -> None:
        d = self.layout.delimiter
        if self.pending is not None:
            self.pending += "\n" + text
            if text.count('"') % 2:
                self.sink.write(f"{self.pending_line}{d}{self.pending}\n")
                self.written += 1
                self.pending = None
            return
        if not text.strip():
            return
        if self.layout.quoted and text.count('"') % 2:
            self.pending, self.pending_line = text, number
            return
        self.sink.write(f"{number}{d}{text}\n")
        self.written += 1


def _decoded(number: int, line: str) -> str | LineReject:
    """The line, or a reject when a byte of it did not decode (only UTF-8 keeps such bytes)."""
    bad = None if line.isascii() else _ESCAPED.search(line)
    if bad is None:
        return line
    text = line.rstrip("\r\n")
    return LineReject(number, None, _escaped_shown(text), _why(bad.group(), bad.start() + 1))


PIECE_CHARS = 1024 * 1024  # lines are read at most this long at a time


def _physical_lines(
    source: io.TextIOBase, layout: Layout
) -> Iterator[tuple[int, str | LineReject]]:
    """Each physical line with its number; as a reject when it does not decode, or is too long
    for DuckDB (read in pieces, so that memory stays bounded)."""
    number = 0
    while piece := source.readline(PIECE_CHARS):
        number += 1
        if piece.endswith("\n") or len(piece) < PIECE_CHARS:
            yield number, _decoded(number, piece)
            continue
        pieces, size = [piece], _size(piece)
        while not pieces[-1].endswith("\n") and (more := source.readline(PIECE_CHARS)):
            pieces.append(more)
            size += _size(more)
            if size > MAX_LINE_BYTES:
                yield number, _too_long(source, pieces, number, layout)
                break
        else:
            yield number, _decoded(number, "".join(pieces))


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _too_long(source: io.TextIOBase, pieces: list[str], number: int, layout: Layout) -> LineReject:
    """Read a line too long for DuckDB to its end; a reject naming its first value too long to
    store (or the line, when every value is shorter)."""
    values = _ValueSizes(layout)
    for piece in pieces:
        values.feed(piece)
    last = pieces[-1]
    pieces.clear()
    while not last.endswith("\n") and (last := source.readline(PIECE_CHARS)):
        values.feed(last)
    if values.too_long is None:
        problem = f"a line longer than {MAX_LINE_BYTES >> 20} MB"
        return LineReject(number, None, values.line_start + "\u2026", problem)
    field_index, start = values.too_long
    column = layout.header[field_index] if field_index < len(layout.header) else None
    return LineReject(
        number, column, start + "\u2026", f"a value longer than {MAX_VALUE_BYTES >> 20} MB"
    )


class _ValueSizes:
    """The size of each value of a line read piece by piece."""

    SHOWN = 100  # characters kept of the line's and a value's start, for the reject

    def __init__(self, layout: Layout) -> None:
        d = re.escape(layout.delimiter)
        self.separators = re.compile(f'[{d}"]' if layout.quoted else d)
        self.field = 0
        self.size = 0
        self.start = ""  # of the current value
        self.line_start = ""
        self.quoted = False
        self.too_long: tuple[int, str] | None = None  # the first value too long: field, start

    def feed(self, piece: str) -> None:
        done = 0
        for found in self.separators.finditer(piece):
            self._add(piece[done : found.start()])
            done = found.end()
            if found.group() == '"':
                self.quoted = not self.quoted
                self._add('"')
            elif self.quoted:
                self._add(found.group())
            else:
                self.field, self.size, self.start = self.field + 1, 0, ""
        self._add(piece[done:].rstrip("\r\n"))
        if len(self.line_start) < self.SHOWN:
            self.line_start += piece[: self.SHOWN - len(self.line_start)]

    def _add(self, text: str) -> None:
        self.size += _size(text)
        if len(self.start) < self.SHOWN:
            self.start += text[: self.SHOWN - len(self.start)]
        if self.too_long is None and self.size > MAX_VALUE_BYTES:
            self.too_long = (self.field, self.start)


def next_encoding(
    layout: Layout, raw: Path, name: str, *, japanese: bool = False, declared: str | None = None
) -> Layout:
    """The same layout read with the next encoding (in `detect`'s order) that also decodes the
    head and recognises the header."""
    head = _head(raw)
    order = _candidates(head, japanese, declared)
    later = order[order.index(layout.encoding) + 1 :] if layout.encoding in order else []
    for encoding, text in _readings(raw, head, later):
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
