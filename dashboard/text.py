"""User text (from the URL or an input file) shown as text: never Markdown, HTML, a link or an image.

Streamlit renders the body of `st.error`, `st.info`, `st.caption`, `st.markdown` and every widget label
as Markdown, so a region named `![x](http://host/y.png)` would make each viewer's browser fetch that
image. CommonMark lets a backslash make any ASCII punctuation literal; escaping all of it (not a
chosen few) also covers Streamlit's own syntax (`:red[...]`, `:material/...:`, `$math$`). Line
breaks become spaces, so a value cannot start a heading, a list or a code block.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def literal(value: object) -> str:
    """`value` as Markdown that shows exactly its characters: `st.error(literal(f"{label}{code}"))`."""
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))
