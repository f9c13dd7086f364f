"""Text from data (names, attribute values, error messages) made safe to show in Markdown."""

from __future__ import annotations


def md_escape(text: str) -> str:
    """Text from data, safe inside Markdown (no links, images, emphasis or HTML)."""
    out = str(text)
    for ch in "\\`*_{}[]()#+-.!|<>~$:":
        out = out.replace(ch, "\\" + ch)
    return out
