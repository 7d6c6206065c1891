"""Making submission content safe to render: every byte of a submission is hostile.

A graded notebook is shown in three places: formgrader (nbgrader's own exporter, inside the
instructor's authenticated Jupyter origin, no sanitising), the feedback pages, and, through
ids and messages, grades.csv and report.html. Everything here keeps the student's text,
images and LaTeX and removes whatever a browser or spreadsheet would execute.

safe_notebook(nb) -> NotebookNode
    A copy of a graded notebook in which every markdown cell's source is safe_markdown,
    every output is reduced to inert types (see safe_outputs), markdown attachments keep only
    PNG/JPEG images, raw cells are plain sanitised HTML, and cell metadata keeps only the
    nbgrader entry. Used for OUT/autograded/... and before rendering feedback.
safe_markdown(text) -> str
    Markdown with the same text, maths and markdown syntax, in which
      - every '<' that could open a tag, comment or declaration is either the start of an
        allow-listed tag rebuilt by nh3 (attributes and URLs allow-listed) or is escaped;
        so no markdown renderer (mistune in nbconvert/formgrader, marked in JupyterLab) can
        emit an element or attribute outside the allow-list, whatever it takes for code,
        maths or text;
      - link and image destinations with a scheme other than http(s)/mailto/attachment (and
        data:image/png|jpeg|gif for images) are made same-page fragments ('#javascript:...').
    Inside code and maths a tag-like '<x' becomes '< x' (same rendering in TeX), elsewhere
    '&lt;x' (same text once rendered). In maths, the TeX commands MathJax turns into links,
    CSS or extension loads (\\href, \\url, \\require, \\class, \\cssId, \\style,
    \\unicode) are shown as names instead.
safe_html(html) -> str
    nh3 (ammonia) allow-list sanitising of an HTML fragment: text formatting, tables,
    images with data:image/png|jpeg|gif or http(s) sources, links, and MathML; no script,
    style, event handler, form, frame, object, SVG or CSS.
safe_outputs(outputs) -> list
    Keeps stream, error, and display data of types text/plain, text/latex, text/markdown
    (safe_markdown), text/html (safe_html), image/png and image/jpeg (valid base64 of a real
    image under MAX_IMAGE_BYTES). Every other type (application/javascript, image/svg+xml,
    widget views, unknown types) is dropped; if nothing shown is left a text/plain note says
    what was removed. Output metadata keeps only numeric image width/height.
spreadsheet_safe(value) -> str
    A CSV cell that no spreadsheet treats as a formula: text starting with = + - @ (or a tab
    or carriage return) gets a leading apostrophe; real numbers are kept as numbers.
unsafe_name_reason(name) -> str | None
    Why a student id cannot be shown raw by tools that do not escape it (nbgrader's
    formgrader), or None when it is inert: no < > & " ' ` backslash or control character.
inert_name(text) -> str | None
    `text` without those characters (roster names, which formgrader also shows raw).
error_page(message) -> str
    A minimal page under the same policy, for when a feedback page cannot be rendered.
CONTENT_SECURITY_POLICY, CSP_META
    For pages we write (feedback, report): no script at all, no plugins, no base, no forms,
    images only from data: URLs, nothing fetched from the network.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import math
import numbers
import re
from functools import lru_cache

import nbformat
import nh3

# Inline styles are the page template's own (student CSS never survives safe_html); with
# default-src 'none' and images from data: only, CSS cannot reach the network either.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-src 'none'; img-src data:; font-src data:; "
    "style-src 'unsafe-inline'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # one decoded PNG/JPEG output or attachment
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}

HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}
# Presentation MathML, as latex2mathml writes it (feedback pages render maths as MathML).
MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror",
    "mmultiscripts", "mprescripts", "none",
}
HTML_ATTRIBUTES = {
    "*": {"title", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "details": {"open"},
    "math": {"display", "xmlns"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "largeop", "movablelimits"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant"},
    "mi": {"mathvariant"},
    "mn": {"mathvariant"},
    "mtext": {"mathvariant"},
    "mspace": {"width", "height", "depth"},
    "mfrac": {"linethickness"},
    "mtable": {"columnalign", "rowspacing", "columnspacing"},
    "mtd": {"columnalign", "columnspan", "rowspan"},
    "menclose": {"notation"},
    "annotation": {"encoding"},
}
URL_SCHEMES = {"http", "https", "mailto", "data", "attachment"}
LINK_SCHEMES = {"http", "https", "mailto", "attachment"}
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)


def _url_is_safe(url: str, image: bool) -> bool:
    """Relative URLs and allow-listed schemes; data: only for base64 raster images."""
    scheme = _scheme(url)
    if scheme is None:
        return True
    if scheme == "data":
        return image and DATA_IMAGE.match(_normalised_url(url)) is not None
    return scheme in LINK_SCHEMES


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        return value if _url_is_safe(value, image=(tag == "img")) else None
    if attribute in ("width", "height") and tag == "img":
        return value if re.fullmatch(r"\d{1,4}(\.\d+)?(px|%)?", value.strip()) else None
    return value


def safe_html(fragment: str) -> str:
    """The fragment with everything outside the allow-list removed (see module docstring)."""
    return nh3.clean(
        str(fragment),
        tags=HTML_TAGS | MATHML_TAGS,
        attributes=HTML_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# ------------------------------------------------------------------------------ URLs

_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _normalised_url(url: str) -> str:
    """What a browser makes of the start of a URL: entities decoded, and the whitespace,
    control characters and backslashes it ignores or folds removed."""
    return _CONTROL.sub("", html.unescape(url[:200]))


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(_normalised_url(url))
    return match.group(1).lower() if match else None


# Markdown link and image destinations: inline `[text](dest ...)`, `![alt](dest)` and
# reference definitions `[label]: dest`. Only the start of the destination matters.
_INLINE_DESTINATION = re.compile(r"(!?)\]\([ \t]*\n?[ \t]*")
_REFERENCE_DEFINITION = re.compile(r"(?m)^[ ]{0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*")


def _neutralise_destinations(text: str) -> str:
    """Turn destinations with a forbidden scheme into same-page fragments ('#' + dest)."""
    out, last = [], 0
    starts = [(m.end(), bool(m.group(1))) for m in _INLINE_DESTINATION.finditer(text)]
    starts += [(m.end(), True) for m in _REFERENCE_DEFINITION.finditer(text)]
    for position, image in sorted(set(starts)):
        destination = text[position:position + 200].lstrip("<")
        destination = re.split(r"[\s)>]", destination, maxsplit=1)[0]
        if _url_is_safe(destination, image=image):
            continue
        out.append(text[last:position])
        out.append("#")
        last = position
    out.append(text[last:])
    return "".join(out)


# -------------------------------------------------------------------------- markdown

# CommonMark's raw HTML open and closing tags (attributes may span lines).
_OPEN_TAG = re.compile(
    r"<([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*)"
    r"\s*/?>"
)
_CLOSE_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CLEAN_TAG = re.compile(r'<([a-z][a-z0-9-]*)((?: [a-z-]+="[^"]*")*)>')
_CLEAN_ATTRIBUTE = re.compile(r' ([a-z-]+)="([^"]*)"')


@lru_cache(maxsize=4096)
def _rebuilt_open_tag(tag: str) -> str | None:
    """An allowed open tag as nh3 cleans it, with no '<' or '>' inside; else None."""
    name = tag[1:].split(None, 1)[0].rstrip("/>").lower()
    if name not in HTML_TAGS:
        return None
    cleaned = nh3.clean(tag, tags=HTML_TAGS, attributes=HTML_ATTRIBUTES,
                        attribute_filter=_attribute_filter, url_schemes=URL_SCHEMES,
                        link_rel="noopener noreferrer nofollow")
    match = _CLEAN_TAG.match(cleaned)
    if match is None or match.group(1) != name:
        return None
    attributes = "".join(
        f' {key}="{value.replace("<", "&lt;").replace(">", "&gt;")}"'
        for key, value in _CLEAN_ATTRIBUTE.findall(match.group(2))
    )
    return f"<{name}{attributes}>"


def _html_pass(text: str, protected: bool) -> str:
    """Rebuild allowed tags, escape every other tag start (see safe_markdown)."""
    out, position = [], 0
    for match in _TAG_START.finditer(text):
        start = match.start()
        if start < position:
            continue  # inside a tag rebuilt just before
        out.append(text[position:start])
        rebuilt, end = None, start + 1
        if not protected:
            opened = _OPEN_TAG.match(text, start)
            closed = _CLOSE_TAG.match(text, start)
            if opened:
                rebuilt, end = _rebuilt_open_tag(opened.group(0)), opened.end()
            elif closed and closed.group(1).lower() in HTML_TAGS:
                rebuilt, end = f"</{closed.group(1).lower()}>", closed.end()
        if rebuilt is None:
            out.append("< " if protected else "&lt;")
            position = start + 1
        else:
            out.append(rebuilt)
            position = end
    out.append(text[position:])
    return "".join(out)


# Openers of code and maths, where markdown renderers show '<' literally: fenced blocks, code
# spans, $$...$$, $...$, \\[...\\], \\(...\\) and \\begin{env}...\\end{env}.
_OPENER = re.compile(
    r"(?m)(?P<fence>^[ ]{0,3}(?:`{3,}|~{3,}))|(?P<ticks>`+)|(?P<display>\$\$)|(?P<inline>\$)"
    r"|(?P<bracket>\\\[)|(?P<paren>\\\()|\\begin\{(?P<env>[A-Za-z*]{1,40})\}"
)
_PLAIN_CLOSERS = {"display": "$$", "bracket": "\\]", "paren": "\\)"}


def _protected_spans(text: str):
    """(start, end, is_maths) of code and maths, left to right, in linear time: a closer
    that is missing after some position is remembered, never searched for again."""
    position, missing = 0, {}
    while True:
        match = _OPENER.search(text, position)
        if match is None:
            return
        kind, start, after = match.lastgroup, match.start(), match.end()
        end = None
        if kind == "fence":
            fence = match.group().strip()
            closer = re.compile(rf"(?m)^[ ]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
            line_end = text.find("\n", after)
            found = closer.search(text, line_end + 1) if line_end != -1 else None
            end = found.end() if found else len(text)  # an open fence runs to the end
        elif kind == "inline":
            close = text.find("$", after)
            if close > after and not text[after].isspace() and "\n" not in text[after:close]:
                end = close + 1
        else:
            if kind == "ticks":
                key = ("ticks", len(match.group()))
                pattern = re.compile(rf"(?<!`)`{{{key[1]}}}(?!`)")
            elif kind == "env":
                key = ("env", match.group("env"))
                pattern = re.compile(re.escape(f"\\end{{{key[1]}}}"))
            else:
                key = (kind,)
                pattern = re.compile(re.escape(_PLAIN_CLOSERS[kind]))
            if missing.get(key, len(text) + 1) > after:
                found = pattern.search(text, after)
                if found:
                    end = found.end()
                else:
                    missing[key] = after
        if end is None:
            position = after  # no closer: the opener is plain text
            continue
        yield start, end, kind not in ("fence", "ticks")
        position = end


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# MathJax (formgrader loads it) turns these TeX commands into links, CSS or extension loads.
_ACTIVE_TEX = re.compile(r"\\(href|url|require|class|cssId|style|unicode)(?![A-Za-z])")


def safe_markdown(text: str) -> str:
    """Markdown whose rendering has no active content (see the module docstring)."""
    text = _CONTROL_CHARACTERS.sub("", str(text))
    text = _neutralise_destinations(text)
    out, position = [], 0
    for start, end, is_maths in _protected_spans(text):
        out.append(_html_pass(text[position:start], protected=False))
        segment = text[start:end]
        if is_maths:
            segment = _ACTIVE_TEX.sub(r"\\mathrm{\1}", segment)
        out.append(_html_pass(segment, protected=True))
        position = end
    out.append(_html_pass(text[position:], protected=False))
    return "".join(out)


# --------------------------------------------------------------------------- outputs


def _valid_image(data, mime: str) -> str | None:
    """The base64 text of a real PNG/JPEG under MAX_IMAGE_BYTES, else None."""
    if isinstance(data, list):
        data = "".join(str(part) for part in data)
    if not isinstance(data, str) or len(data) > MAX_IMAGE_BYTES * 4 // 3 + 1024:
        return None
    compact = re.sub(r"\s+", "", data)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) > MAX_IMAGE_BYTES or not raw.startswith(IMAGE_MAGIC[mime]):
        return None
    return compact


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else str(value)


def _dimension(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if not math.isfinite(value) or not 0 < value <= 10000:
        return None
    return int(value)


def _safe_data(data: dict) -> tuple[dict, list[str]]:
    """(kept mime bundle, names of the types removed)."""
    kept, removed = {}, []
    for mime, value in data.items() if isinstance(data, dict) else []:
        if mime in IMAGE_MAGIC:
            image = _valid_image(value, mime)
            if image is not None:
                kept[mime] = image
            else:
                removed.append(f"{mime} (not a valid image)")
        elif mime in ("text/plain", "text/latex"):
            kept[mime] = _text(value)
        elif mime == "text/markdown":
            kept[mime] = safe_markdown(_text(value))
        elif mime == "text/html":
            kept[mime] = safe_html(_text(value))
        else:
            removed.append(str(mime)[:80])
    return kept, removed


def _removed_note(removed: list[str]) -> str:
    return (f"[output of type {', '.join(removed)} removed: it could run code in the "
            "reader's browser]")


def safe_outputs(outputs) -> list:
    """Inert copies of `outputs` (see the module docstring)."""
    safe = []
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
            safe.append(nbformat.v4.new_output("stream", name=name,
                                               text=_text(output.get("text", ""))))
        elif kind == "error":
            traceback = output.get("traceback")
            lines = [_text(line) for line in traceback] if isinstance(traceback, list) else []
            safe.append(nbformat.v4.new_output(
                "error", ename=_text(output.get("ename", "")),
                evalue=_text(output.get("evalue", "")), traceback=lines,
            ))
        elif kind in ("display_data", "execute_result"):
            data, removed = _safe_data(output.get("data", {}))
            if removed and not (set(data) - {"text/plain"}):
                note = _removed_note(removed)
                data["text/plain"] = f"{data['text/plain']}\n{note}" if data.get("text/plain") \
                    else note
            if not data:
                continue
            metadata = {}
            raw_metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) \
                else {}
            for mime in IMAGE_MAGIC:
                entry = raw_metadata.get(mime)
                if mime in data and isinstance(entry, dict):
                    sizes = {k: _dimension(entry.get(k)) for k in ("width", "height")}
                    sizes = {k: v for k, v in sizes.items() if v is not None}
                    if sizes:
                        metadata[mime] = sizes
            new = nbformat.v4.new_output(kind, data=data, metadata=metadata)
            if kind == "execute_result":
                count = output.get("execution_count")
                new.execution_count = count if isinstance(count, int) and not isinstance(
                    count, bool) else None
            safe.append(new)
    return safe


# ------------------------------------------------------------------------- notebooks


def _safe_attachments(attachments) -> dict:
    kept = {}
    for name, bundle in attachments.items() if isinstance(attachments, dict) else []:
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        images = {mime: _valid_image(bundle.get(mime), mime) for mime in IMAGE_MAGIC
                  if mime in bundle}
        images = {mime: data for mime, data in images.items() if data is not None}
        if images:
            kept[name] = images
    return kept


_ATTACHMENT_REFERENCE = re.compile(r"attachment:([^\s)\"'>]+)")


def _drop_missing_attachments(text: str, names: set) -> str:
    """A reference to an attachment that was removed would stop nbconvert rendering the page."""
    return _ATTACHMENT_REFERENCE.sub(
        lambda m: m.group(0) if m.group(1) in names else "#attachment-removed", text)


def _safe_cell(cell) -> nbformat.NotebookNode | None:
    if not isinstance(cell, dict):
        return None
    kind = cell.get("cell_type")
    source = _text(cell.get("source", ""))
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    kept_metadata = {"nbgrader": copy.deepcopy(metadata["nbgrader"])} \
        if isinstance(metadata.get("nbgrader"), dict) else {}
    if kind == "code":
        new = nbformat.v4.new_code_cell(source=source)
        new.outputs = safe_outputs(cell.get("outputs", []))
        count = cell.get("execution_count")
        new.execution_count = count if isinstance(count, int) and not isinstance(
            count, bool) else None
    elif kind == "markdown":
        attachments = _safe_attachments(cell.get("attachments"))
        source = _drop_missing_attachments(safe_markdown(source), set(attachments))
        new = nbformat.v4.new_markdown_cell(source=source)
        if attachments:
            new.attachments = attachments
    else:
        new = nbformat.v4.new_raw_cell(source=safe_html(source))
    new.metadata = kept_metadata
    if isinstance(cell.get("id"), str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell["id"]):
        new.id = cell["id"]
    return new


def safe_notebook(notebook) -> nbformat.NotebookNode:
    """A copy of `notebook` that renders without active content (see module docstring)."""
    new = nbformat.v4.new_notebook()
    metadata = notebook.get("metadata", {}) if isinstance(notebook, dict) else {}
    for key in ("kernelspec", "language_info"):
        value = metadata.get(key) if isinstance(metadata, dict) else None
        if isinstance(value, dict):
            new.metadata[key] = {k: v for k, v in value.items()
                                 if isinstance(k, str) and isinstance(v, (str, int))}
    cells = notebook.get("cells", []) if isinstance(notebook, dict) else []
    new.cells = [c for c in (_safe_cell(cell) for cell in cells or []) if c is not None]
    return new


# ----------------------------------------------------------------- spreadsheets, names

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value) -> str:
    """A CSV cell no spreadsheet evaluates as a formula (see the module docstring)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return str(value)  # a number is data to every spreadsheet, whatever its sign
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_UNSAFE_NAME_CHARACTERS = re.compile(r"[<>&\"'`\\\x00-\x1f\x7f]")


def unsafe_name_reason(name: str) -> str | None:
    """Why `name` cannot be shown by a page that does not escape it, or None."""
    found = sorted(set(_UNSAFE_NAME_CHARACTERS.findall(str(name))))
    if not found:
        return None
    shown = " ".join(repr(c) for c in found)
    return (f"the student id contains characters a web page could run as code ({shown}); "
            "rename the submission folder to a plain id")


def error_page(message: str) -> str:
    """A minimal page, under the same policy, saying why there is nothing else to show."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{CSP_META}</head>"
            f"<body><p>{html.escape(str(message))}</p></body></html>")


def inert_name(text: str | None) -> str | None:
    """`text` without the characters unsafe_name_reason objects to (for roster names)."""
    return None if text is None else _UNSAFE_NAME_CHARACTERS.sub("", str(text))
