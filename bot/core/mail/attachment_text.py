"""The text of a customer's attached letter (a PDF or a Word .docx), for routing only.

The procedure lets a written cancellation arrive as a signed letter attached to a mail
whose body says no more than "see the attached letter" (S 3.4). So the rules may read the
text of a PDF attachment as a separate part of the message (`attachments` in rules.yaml,
shown in `route --explain`); the attachment's bytes are kept unchanged beside it.

A PDF is outside data that may be hostile (a decompression bomb, a page tree of
thousands of pages, an endless content stream), and this runs in the intake's parser
processes (bot/desk/parse_worker.py): every PDF is bounded by size, pages, characters
and time, and any failure gives no text (the mail is routed by its own words) rather
than an error. Measured (docs/measured.md): a one-page letter about 2 ms and under 1 MB
of memory with pypdf 6 (its import: about 0.2 s and 11 MB, done on the first PDF; the
parser processes' forkserver loads it ahead, bot/desk/pipeline.py); a
file over MAX_BYTES is not opened, and of a longer one only MAX_PAGES pages are read.
"""

from __future__ import annotations

import html
import io
import logging
import re
import signal
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.domain import Attachment

log = logging.getLogger("bot.ingest")

MAX_BYTES = 2 * 1024 * 1024  # a letter is a few hundred KB at most; larger ones are not read
MAX_PAGES = 5  # a letter's notice is on its first pages
MAX_CHARS = 20_000  # of text per attachment
MAX_ATTACHMENTS = 3  # PDFs read per mail
TIME_LIMIT = 2.0  # seconds per attachment (checked between pages; an alarm in a main thread)

PDF_TYPES = ("application/pdf", "application/x-pdf", "application/acrobat")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_XML = 4 * 1024 * 1024  # of a .docx's word/document.xml, uncompressed (a zip bomb stops here)


class _TooSlow(Exception):
    pass


def is_pdf(att: Attachment) -> bool:
    name = (att.filename or "").lower()
    return (att.content_type.lower() in PDF_TYPES or name.endswith(".pdf")) \
        and b"%PDF" in att.content[:1024]


def is_docx(att: Attachment) -> bool:
    name = (att.filename or "").lower()
    return (att.content_type.lower() == DOCX_TYPE or name.endswith(".docx")) \
        and att.content[:2] == b"PK"


_PARAGRAPH_END = re.compile(r"</w:p>|<w:br\b[^>]*/>|<w:tab\b[^>]*/>")
_RUN_TEXT = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")


def docx_text(data: bytes, max_chars: int = MAX_CHARS) -> str:
    """The text of a Word (.docx) letter: its paragraphs' text runs, read from at most
    MAX_XML bytes of word/document.xml; "" when it is no readable .docx."""
    if len(data) > MAX_BYTES:
        return ""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z, z.open("word/document.xml") as fh:
            xml = fh.read(MAX_XML).decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, EOFError) as exc:
        log.info("attachment text: .docx not read (%s: %s)", type(exc).__name__, exc)
        return ""
    lines = []
    for para in _PARAGRAPH_END.split(xml):
        text = "".join(html.unescape(t) for t in _RUN_TEXT.findall(para))
        if text.strip():
            lines.append(_SPACES.sub(" ", text).strip())
    return "\n".join(lines)[:max_chars]


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a single page's extraction that takes too long: only possible in a
    process's main thread (the parser processes, the CLI), and only when nobody else
    uses SIGALRM; elsewhere the time is checked between pages."""
    usable = (threading.current_thread() is threading.main_thread()
              and hasattr(signal, "setitimer")
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None))
    if not usable:
        yield
        return

    def too_slow(signum, frame):  # noqa: ARG001
        raise _TooSlow()

    signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


_SPACES = re.compile(r"[ \t\r\f\v]+")


def pdf_text(data: bytes, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS,
             time_limit: float = TIME_LIMIT) -> str:
    """The text of the first pages of a PDF, "" when it cannot be read within the caps."""
    if len(data) > MAX_BYTES:
        return ""
    # imported on the first PDF, before its clock starts: the bot's own process and the
    # command line need it seldom (the parser processes' server loads it ahead)
    from pypdf import PdfReader
    started = time.monotonic()
    parts: list[str] = []
    size = 0
    try:
        with _alarm(time_limit):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                return ""
            for i, page in enumerate(reader.pages):
                if i >= max_pages or size >= max_chars or time.monotonic() - started > time_limit:
                    break
                text = page.extract_text() or ""
                parts.append(text)
                size += len(text)
    except _TooSlow:
        log.info("attachment text: a PDF took over %.1f s; read as far as it got", time_limit)
    except Exception as exc:  # a broken or hostile PDF: no text, the mail is still routed
        log.info("attachment text: PDF not read (%s: %s)", type(exc).__name__, exc)
        return ""
    lines = (_SPACES.sub(" ", line).strip() for line in "\n".join(parts).splitlines())
    return "\n".join(line for line in lines if line)[:max_chars]


def extract(attachments: list[Attachment]) -> None:
    """Set `text` on the (not inline) PDF and Word attachments, at most MAX_ATTACHMENTS."""
    done = 0
    for att in attachments:
        if done >= MAX_ATTACHMENTS:
            break
        if att.inline or att.text is not None:
            continue
        if is_pdf(att):
            att.text = pdf_text(att.content)
        elif is_docx(att):
            att.text = docx_text(att.content)
        else:
            continue
        done += 1
