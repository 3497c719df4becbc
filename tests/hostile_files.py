"""Hostile knowledge files, written byte by byte (no PDF library), for the budget tests."""

from __future__ import annotations


def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF from its objects (numbered 1..n; 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _page(parent: int, content: int) -> bytes:
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 3 0 R >> >> >>" % (parent, content)
    )


def _stream(text: str) -> bytes:
    data = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
TEXT = "Restart the runner, then check the queue depth before scaling out. " * 12


def repeated_page_pdf(outer: int = 50, inner: int = 120) -> bytes:
    """~2 KB: the root names one subtree `outer` times, which names one page `inner` times,
    so pypdf sees outer x inner pages (6,000) of the same ~800 characters."""
    return pdf_bytes(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b"4 0 R " * outer, outer * inner),
            FONT,
            b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (b"5 0 R " * inner, inner),
            _page(4, 6),
            _stream(TEXT),
        ]
    )


def many_pages_pdf(pages: int, text: str = TEXT) -> bytes:
    """A well-formed PDF of `pages` distinct pages, each with its own text stream."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", FONT]
    kids = []
    for n in range(pages):
        page, stream = len(objects) + 1, len(objects) + 2
        objects += [_page(2, stream), _stream(f"Page {n}. {text}")]
        kids.append(b"%d 0 R" % page)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    return pdf_bytes(objects)


def deep_page_tree_pdf(levels: int) -> bytes:
    """One page at the bottom of `levels` nested /Pages nodes (objects 4 .. 3+levels)."""
    first = 4
    objects = [b"<< /Type /Catalog /Pages 4 0 R >>", b"<< >>", FONT]
    for level in range(levels):
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (first + level + 1))
    page = first + levels
    objects += [_page(page - 1, page + 1), _stream(TEXT)]
    return pdf_bytes(objects)
