"""Remove web-page junk from raw pasted articles.

`clean_text` is for plain text (pasted articles, PDF text): it normalises odd
whitespace, cuts a social-network footer ("To view or add a comment, sign in",
"More articles by …", "Others also viewed", their Chinese LinkedIn equivalents),
drops stray "?" artefacts and collapses blank lines.

`normalize_chars` and `remove_web_junk` are safe for markdown and HTML text too:
they never touch "?" (code may rely on it) nor indentation.
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ODD_SPACES = {ord(c): " " for c in "\u00a0\u2002\u2003\u2007\u2009\u200a\u202f\u205f\u3000"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

# Lines that start a social-network footer (compared after `_key`).
_FOOTER_EXACT = {
    "要查看或添加评论,请登录",
    "社区洞察",
    "其他会员也浏览了",
    "探索主题",
    "举报此文章",
    "to view or add a comment, sign in",
    "sign in to view more content",
    "others also viewed",
    "explore topics",
    "insights from the community",
    "report this article",
    "more from this author",
    "people also viewed",
}
_FOOTER_PATTERNS = (
    re.compile(r"^.{1,80}的更多文章$"),
    re.compile(r"^more articles (by|from) .{1,80}$"),
)
# Lines that are junk wherever they appear (a sign-in prompt, an abuse link).
_ALWAYS_JUNK = {
    "要查看或添加评论,请登录",
    "举报此文章",
    "to view or add a comment, sign in",
    "sign in to view more content",
    "report this article",
}
_SOCIAL_WORDS = {
    "like",
    "likes",
    "comment",
    "comments",
    "share",
    "shares",
    "repost",
    "reposts",
    "send",
    "reply",
    "replies",
    "report",
    "reactions",
    "赞",
    "评论",
    "分享",
    "转发",
    "发送",
    "举报",
}
_SOCIAL_SPLIT = re.compile(r"[\s·•|/]+")
_SHORT_TAIL_LINES = 6


def normalize_chars(text: str) -> str:
    """Unify newlines, turn nbsp-like spaces into spaces, drop zero-width and control chars."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = text.translate(_ZERO_WIDTH).translate(_ODD_SPACES)
    return _CONTROL.sub("", text)


def _key(line: str) -> str:
    """Comparable form of a line: NFKC, lower case, no markdown heading/emphasis marks."""
    key = unicodedata.normalize("NFKC", line).strip().lower()
    key = key.lstrip("#").strip().strip("*_").strip()
    return key.rstrip(" .:…")


def is_footer_marker(line: str) -> bool:
    key = _key(line)
    return key in _FOOTER_EXACT or any(p.match(key) for p in _FOOTER_PATTERNS)


def _social_words(line: str) -> int:
    """How many social-action words the line has, or 0 if it has anything else."""
    parts = [p for p in _SOCIAL_SPLIT.split(_key(line)) if p]
    if not parts or any(p not in _SOCIAL_WORDS and not p.isdigit() for p in parts):
        return 0
    return sum(p in _SOCIAL_WORDS for p in parts)


def is_junk_line(line: str) -> bool:
    """A line that is junk on its own: a sign-in prompt or a 'Like Comment Share' bar."""
    return _key(line) in _ALWAYS_JUNK or _social_words(line) >= 2


def remove_web_junk(text: str) -> str:
    """Cut a trailing social footer and drop junk lines; other lines are kept byte-for-byte."""
    lines = text.split("\n")
    markers = [i for i, line in enumerate(lines) if is_footer_marker(line)]
    for start in markers:
        tail = [line for line in lines[start:] if line.strip()]
        if sum(map(is_footer_marker, tail)) >= 2 or len(tail) <= _SHORT_TAIL_LINES:
            lines = lines[:start]
            break
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    social = {i for i in nonblank if _social_words(lines[i])}
    drop = {i for i in nonblank if is_junk_line(lines[i])}
    for pos, i in enumerate(nonblank):  # a lone "Like" next to another social line
        neighbours = nonblank[max(pos - 1, 0) : pos] + nonblank[pos + 1 : pos + 2]
        if i in social and any(n in social for n in neighbours):
            drop.add(i)
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


_LONE_QUESTION = re.compile(r"^\s*[?？]+\s*$")
_GLUED_QUESTION = re.compile(r"(?<=[.:;,。：；，])[?？]+(?=\s|$)")
_DOUBLED_QUESTION = re.compile(r"[?？]{2,}(\s*)$")


def fix_question_marks(line: str) -> str | None:
    """Repair encoding-artefact question marks in one line; None means drop the line."""
    if _LONE_QUESTION.match(line):
        return None
    line = _GLUED_QUESTION.sub("", line)
    return _DOUBLED_QUESTION.sub(r"?\1", line)


def clean_text(raw: str) -> str:
    """Clean a pasted web article into plain text with single blank lines between blocks."""
    text = remove_web_junk(normalize_chars(raw))
    out: list[str] = []
    for line in text.split("\n"):
        fixed = fix_question_marks(line)
        if fixed is None:
            continue
        indent = len(fixed) - len(fixed.lstrip(" \t"))
        body = re.sub(r"[ \t]+", " ", fixed.strip())
        if not body:
            if out and out[-1]:
                out.append("")
            continue
        out.append(" " * indent + body)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
