"""The careful reading of a text table: every physical line accounted for, one bad line never
costing its neighbours.

Most files are clean and go straight to DuckDB's reader (``readers``). A file that is not —
compressed, not UTF-8, with lines in another encoding, mixed line ends, or a quote that opens
and never closes — is first rewritten here into a plain UTF-8 copy with the same physical
lines: LF line ends, each line decoded on its own, and each line that cannot be part of a
record replaced by an empty line and returned as a structural reject. Line numbers therefore
stay those of the original file. The rules:

- **Encoding, per line.** A block of lines is decoded in the file's encoding; when that fails,
  line by line: a line that is not valid in the file's encoding but is in the other one
  (GB18030 in a UTF-8 file, UTF-8 in a GB18030 file) is decoded with it and noted; a line that
  is valid in neither is rejected as ``bad_encoding``. (A line valid in both is read in the
  file's encoding: short GB18030 text can be valid UTF-8 by chance, and the reverse.) UTF-16 (with a BOM, or told by its
  NUL bytes) is decoded whole.
- **Line ends.** CRLF and LF may be mixed; a file of CR line ends (old Mac) is read with CR as
  the line end; a CR inside a line that is not part of a line end is read as a space.
- **Quotes, bounded.** A record may continue onto further lines only inside a quoted value,
  only while it is short of the header's columns, and for at most ``max_record_lines`` lines.
  A record that would break these rules (a quote left open, a stray quote) is rejected as
  ``unclosed_quote`` at its first line, and reading resumes at the next line as a new record.

The quote rule works on each line's count of ``"`` (a pair of escaped quotes counts two): a
record that starts on a line with an odd count continues to the next line with an odd count.
Only those lines are looked at in Python; everything else is copied in blocks.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BLOCK = 16 << 20
#: a record may span at most this many physical lines unless a setting says otherwise
DEFAULT_MAX_RECORD_LINES = 20
#: raw text kept for a rejected line
RAW_LIMIT = 10_000


@dataclass
class LineReject:
    line: int
    reason: str  # bad_encoding or unclosed_quote
    raw: str


@dataclass
class Repaired:
    """A plain UTF-8, LF copy of a text table with the original's physical lines."""

    path: Path
    rejects: list[LineReject] = field(default_factory=list)
    #: lines decoded with the other encoding than the file's: encoding -> line numbers
    decoded: dict[str, list[int]] = field(default_factory=dict)
    line_ends: int = 0  # LF and CRLF (and CR in a file of CR line ends)
    crlf: int = 0
    lone_cr: int = 0
    cr_line_ends: bool = False
    physical_lines: int = 0

    @property
    def blanked(self) -> int:
        """Lines emptied because they were rejected (the copy shows them as blank lines)."""
        return len(self.rejects)


@dataclass
class Encoding:
    """What a file's bytes are: ``name`` for the decoder."""

    name: str

    @property
    def is_utf8(self) -> bool:
        return self.name in ("utf-8", "utf-8-sig")

    @property
    def is_utf16(self) -> bool:
        return self.name.startswith("utf-16")


def open_bytes(path: Path, fmt: str):
    return gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when NUL bytes fill one byte of each pair of a sample
    (ASCII text written as UTF-16), else None."""
    sample = head[: 4096 - (len(head[:4096]) % 2)]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _cjk_share(text: str) -> float:
    """Of the non-ASCII characters of ``text``, the share that are Chinese (CJK ideographs,
    CJK and full-width punctuation): about 1 for Chinese text, low for text decoded with the
    wrong encoding."""
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return 1.0
    cjk = sum(1 for ch in wide if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
              or "\uff00" <= ch <= "\uffef" or "\u3400" <= ch <= "\u4dbf" or ch == "\u00b7")
    return cjk / len(wide)


def _vote(sample: bytes) -> tuple[int, int]:
    """(lines with non-ASCII bytes that read as Chinese in UTF-8, lines that do not). GB18030
    text is sometimes valid UTF-8 by chance (住院 is), but then it reads as Hebrew or Cyrillic
    rather than Chinese, so a line votes UTF-8 only when most of its characters are Chinese."""
    good = bad = 0
    for line in sample.split(b"\n"):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
            continue
        if _cjk_share(text) >= 0.5:
            good += 1
        else:
            bad += 1
    return good, bad


def detect_encoding(path: Path, fmt: str, hint: str | None = None) -> Encoding:
    """The file's encoding from its BOM, its NUL bytes, or a vote of the lines of samples
    from its start, middle and end: UTF-8 when at least as many non-ASCII lines are valid
    UTF-8 as are not (GB18030 text almost never is), else GB18030 (which covers GBK and
    GB2312) or the mapping's ``hint``. Samples are cut at line ends."""
    size = path.stat().st_size if fmt == "csv" else None
    with open_bytes(path, fmt) as fh:
        head = fh.read(1 << 20)
        if head.startswith(codecs.BOM_UTF8):
            return Encoding("utf-8-sig")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Encoding("utf-16")
        if (nul := _utf16_without_bom(head)) is not None:
            return Encoding(nul)
        at_eof = len(head) < (1 << 20)
        samples = [head if at_eof else head[: head.rfind(b"\n") + 1] or head[:-4]]
        if size:
            for pos in (size // 2, max(size - (1 << 20), 0)):
                if pos > len(head):
                    fh.seek(pos)
                    chunk = fh.read(1 << 20)
                    first = chunk.find(b"\n") + 1
                    last = chunk.rfind(b"\n") + 1 if pos + len(chunk) < size else len(chunk)
                    samples.append(chunk[first:last])
    good = bad = 0
    for s in samples:
        g, b = _vote(s)
        good, bad = good + g, bad + b
    other = hint if hint not in (None, "utf-8", "utf-8-sig") else "gb18030"
    if bad == 0:
        return Encoding("utf-8")
    # a block that fails is decoded line by line: the few lines of the other encoding are kept
    return Encoding("utf-8") if good >= bad else Encoding(other)


def _decode_line(line: bytes, first: str, second: str) -> tuple[str | None, str | None]:
    """(text, encoding used) of one line: ``first`` else ``second``; (None, None) when neither
    decodes it."""
    for enc in (first, second):
        try:
            return line.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return None, None


class _Writer:
    """Turns the original's lines into the copy's, block by block, keeping what a record
    still open at a block's end needs (at most ``max_lines`` lines) for the next block."""

    def __init__(self, out, encoding: Encoding, delimiter: str, n_fields: int, header_lines: int,
                 max_lines: int, result: Repaired) -> None:
        self.out = out
        self.enc = encoding
        self.main = "utf-8" if encoding.is_utf8 or encoding.is_utf16 else encoding.name
        self.other = "gb18030" if self.main == "utf-8" else "utf-8"
        self.delimiter, self.n_fields, self.max_lines = delimiter, n_fields, max_lines
        self.result = result
        self.line = 1  # number of the first line of the pending text
        self.pending = b""  # normalised UTF-8 lines not yet written (a record still open)
        self.header_left = header_lines  # lines of the header still to pass through
        self.header_lines = header_lines

    # -- decoding ------------------------------------------------------------------------
    def decode(self, raw: bytes, first_line: int) -> bytes:
        """A block of whole original lines as normalised UTF-8 bytes (lines kept, LF ends)."""
        if self.enc.is_utf16:  # decoded whole by the caller
            data = raw
        else:
            try:
                data = raw if self.main == "utf-8" and _valid_utf8(raw) else raw.decode(self.main).encode("utf-8")
            except UnicodeDecodeError:
                data = self._per_line(raw, first_line, self.main, self.other)
        return self._line_ends(data)

    def _per_line(self, raw: bytes, first_line: int, first: str, second: str) -> bytes:
        out = []
        for k, line in enumerate(raw.split(b"\n")):
            if line.isascii():
                out.append(line)
                continue
            text, used = _decode_line(line, first, second)
            if text is None and first_line + k <= self.header_lines:
                text, used = line.decode(first, "replace"), first  # the header is never a reject
            if text is None:
                self.result.rejects.append(LineReject(first_line + k, "bad_encoding",
                                                      line.decode(first, "replace")[:RAW_LIMIT]))
                out.append(b"")
                continue
            if used != self.main:
                self.result.decoded.setdefault(used, []).append(first_line + k)
            out.append(text.encode("utf-8"))
        return b"\n".join(out)

    def _line_ends(self, data: bytes) -> bytes:
        if b"\r" not in data:
            return data
        crlf = data.count(b"\r\n")
        self.result.crlf += crlf
        data = data.replace(b"\r\n", b"\n")
        lone = data.count(b"\r")
        if lone:
            self.result.lone_cr += lone
            data = data.replace(b"\r", b" ")
        return data

    # -- records -------------------------------------------------------------------------
    def feed(self, data: bytes, final: bool) -> None:
        """Walk the lines of ``pending + data`` and write every line whose record is settled."""
        text = self.pending + data
        arr = np.frombuffer(text, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        # line k spans starts[k] .. ends[k] (exclusive of its LF); the last may lack a LF
        starts = np.concatenate([[0], nl + 1])
        ends = np.concatenate([nl, [len(text)]])
        if starts[-1] == len(text):  # text ends with a LF: no partial last line
            starts, ends = starts[:-1], ends[:-1]
        m = starts.size
        first = min(self.header_left, m)
        self.header_left -= first
        q = np.flatnonzero(arr == 34)
        odd = np.flatnonzero(np.bincount(np.searchsorted(nl, q), minlength=m + 1)[:m] & 1) if q.size else q
        odd = odd[odd >= first]
        blank: list[int] = []
        cut = m
        j = 0
        while j < odd.size:
            s = int(odd[j])
            c = int(odd[j + 1]) if j + 1 < odd.size else None
            if c is None and not final and m - s < self.max_lines:
                cut = s  # the record may close in the next block
                break
            if c is not None and c - s < self.max_lines and self._one_record(text[starts[s]:ends[c]]):
                j += 2
                continue
            blank.append(s)
            j += 1
        self._write(text, starts, ends, blank, cut)
        self.pending = text[starts[cut]:] if cut < m else b""
        self.line += cut

    def _one_record(self, span: bytes) -> bool:
        try:
            rows = list(csv.reader(io.StringIO(span.decode("utf-8"), newline=""), delimiter=self.delimiter,
                                   strict=True))
        except (csv.Error, UnicodeDecodeError):
            return False
        return len(rows) == 1 and len(rows[0]) == self.n_fields

    def _write(self, text: bytes, starts, ends, blank: list[int], cut: int) -> None:
        pos = 0
        for k in blank:
            self.result.rejects.append(LineReject(self.line + k, "unclosed_quote",
                                                  text[starts[k]:ends[k]].decode("utf-8", "replace")[:RAW_LIMIT]))
            self.out.write(text[pos:starts[k]])
            if ends[k] == len(text):  # the last line, without a line end: end it, so the
                self.out.write(b"\n")  # copy keeps the line (as a blank one)
            pos = ends[k]  # keep its LF: the line stays, empty
        stop = starts[cut] if cut < starts.size else len(text)
        self.out.write(text[pos:stop])


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def repair_csv(path: Path, fmt: str, encoding: Encoding, tmpdir: Path, *, delimiter: str, n_fields: int,
               header_lines: int = 1, max_record_lines: int = DEFAULT_MAX_RECORD_LINES) -> Repaired:
    """Write the careful copy of ``path`` (see the module's rules) into ``tmpdir``.

    ``delimiter``, ``n_fields`` and ``header_lines`` describe the header, which is copied as it
    is (decoded). Decompression and decoding errors of the container itself (a corrupt gzip)
    propagate as exceptions for the caller to report."""
    fd, name = tempfile.mkstemp(suffix=".csv", dir=tmpdir)
    result = Repaired(Path(name))
    with os.fdopen(fd, "wb") as out, open_bytes(path, fmt) as src:
        writer = _Writer(out, encoding, delimiter, n_fields, header_lines, max(1, max_record_lines), result)
        head = src.read(1 << 20)
        if encoding.is_utf16:
            blocks = _utf16_blocks(head, src, encoding.name)
        else:
            if head.startswith(codecs.BOM_UTF8):
                head = head[len(codecs.BOM_UTF8):]
            result.cr_line_ends = b"\n" not in head and b"\r" in head
            blocks = _byte_blocks(head, src, result.cr_line_ends)
        line = 1
        tail = b""
        for block, final in blocks:
            data = writer.decode(block, line)
            line += block.count(b"\n")
            writer.feed(data, final)
            tail = block[-1:] if block else tail
        result.line_ends = line - 1
        result.physical_lines = result.line_ends + (1 if tail not in (b"", b"\n") else 0)
    return result


def _byte_blocks(head: bytes, src, cr_ends: bool):
    """Blocks of whole lines of the original bytes (the last may end without a line end), as
    (bytes, is_last)."""
    carry = head
    while True:
        chunk = src.read(BLOCK)
        data = carry + chunk
        if cr_ends:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            yield data, True
            return
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut], False


def _utf16_blocks(head: bytes, src, name: str):
    """UTF-16 decoded whole (with replacement characters for broken pairs, which the typed
    checks reject as ``bad_encoding``), re-encoded as UTF-8 blocks of whole lines."""
    dec = codecs.getincrementaldecoder(name)(errors="replace")
    carry = b""
    chunk = head
    first = True
    while True:
        text = dec.decode(chunk, final=not chunk)
        if first:
            text, first = text.lstrip("\ufeff"), False
        data = carry + text.encode("utf-8")
        if not chunk:
            yield data, True
            return
        cut = data.rfind(b"\n") + 1
        carry, out = (data[cut:], data[:cut]) if cut else (data, b"")
        if out:
            yield out, False
        chunk = src.read(BLOCK)


def read_header(path: Path, fmt: str, encoding: Encoding, max_lines: int = DEFAULT_MAX_RECORD_LINES
                ) -> tuple[str, int]:
    """(text of the header record, physical lines it spans): the first line, continued while
    a quote is open, for at most ``max_lines`` lines."""
    with open_bytes(path, fmt) as fh:
        head = fh.read(1 << 20)
    if encoding.is_utf16:
        text = head.decode(encoding.name, "replace").lstrip("\ufeff")
    else:
        if head.startswith(codecs.BOM_UTF8):
            head = head[len(codecs.BOM_UTF8):]
        if b"\n" not in head and b"\r" in head:
            head = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = head.find(b"\n")
        for _ in range(max_lines - 1):
            if end < 0 or head[:end].count(b'"') % 2 == 0:
                break
            nxt = head.find(b"\n", end + 1)
            end = nxt
        first = head if end < 0 else head[:end]
        main = "utf-8" if encoding.is_utf8 else encoding.name
        text, _ = _decode_line(first, main, "gb18030" if main == "utf-8" else "utf-8")
        text = text if text is not None else first.decode(main, "replace")
    lines = text.replace("\r\n", "\n").split("\n")
    taken = [lines[0]]
    while "".join(taken).count('"') % 2 and len(taken) < min(max_lines, len(lines)):
        taken.append(lines[len(taken)])
    return "\n".join(taken).replace("\r", " ").lstrip("\ufeff"), len(taken)
