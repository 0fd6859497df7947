"""Worst cases for the Markdown renderer, each as long as a description or reply may be
(`limits.TEXT_MAX_LENGTH`): what made the old renderer (Python-Markdown) take seconds to a
minute, what makes CommonMark parsers backtrack, nest or pad, and what makes the output much
longer than the input. `make bench` times the renderer and the request page on each
(bench/render.py); tests/core/test_markdown.py checks that each comes out sanitised.
"""

from core.limits import TEXT_MAX_LENGTH


def repeated(unit: str, length: int = TEXT_MAX_LENGTH) -> str:
    """`unit` repeated, cut to `length` characters."""
    return (unit * (length // len(unit) + 1))[:length]


def _backtick_runs() -> str:
    # Code spans pair runs of equal length: runs of every length, none closed.
    runs, length = [], 1
    while sum(map(len, runs)) < TEXT_MAX_LENGTH:
        runs.append("`" * length + "a")
        length += 1
    return "".join(runs)[:TEXT_MAX_LENGTH]


def _nested_list() -> str:
    lines, depth = [], 0
    while sum(map(len, lines)) < TEXT_MAX_LENGTH:
        lines.append("  " * depth + "- item\n")
        depth += 1
    return "".join(lines)[:TEXT_MAX_LENGTH]


def _wide_table() -> str:
    # 2 000 columns, then rows of a single cell: GFM pads each row to the header's width.
    columns = 2_000
    head = "|" + "a|" * columns + "\n" + "|" + "-|" * columns + "\n"
    return head + repeated("|\n", TEXT_MAX_LENGTH - len(head))


CASES: dict[str, str] = {
    "nested brackets": repeated("["),
    "brackets opened then closed": "[" * (TEXT_MAX_LENGTH // 2) + "]" * (TEXT_MAX_LENGTH // 2),
    "unclosed links": repeated("[a]("),
    "unclosed images": repeated("![a]("),
    "unclosed tags": repeated("<a "),
    "nested raw HTML": repeated("<ul><li>"),
    "emphasis runs": repeated("*_"),
    "unclosed strong": repeated("**a"),
    "backtick runs": _backtick_runs(),
    "nested quotes": repeated("> "),
    "nested list indentation": _nested_list(),
    "one long line": repeated("a"),
    "many short lines": repeated("a\n"),
    "wide table": _wide_table(),
    "ampersands": repeated("&"),
    "links": repeated("[a](https://example.com/) "),
    "unclosed comments": repeated("<!--"),
    "scripts and handlers": repeated(
        '[y](javascript:alert(1)) <script>alert(1)</script><img src=x onerror="alert(1)">'
        '<a href="javascript:alert(1)" onclick="alert(1)">x</a> '
    ),
}
