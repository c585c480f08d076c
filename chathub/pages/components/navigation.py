"""The frame's navigation, on every page: the links, and the unread total beside "Inbox" (navigation.js).

One element draws all of it. As NiceGUI elements (a link, a row, an icon and a label per entry) it was about 30
of the inbox tab's 79 elements, and every element costs the server memory in every open tab. The links are plain
anchors, as `ui.link`'s are. The unread total changes whenever a customer writes, in every open tab, so a new
total reaches it through a method call (see live_value.py).
"""

from __future__ import annotations

from chathub.pages.components.live_value import LiveValueElement


class Navigation(LiveValueElement, component="navigation.js"):
    def __init__(self, links: list[tuple[str, str, str]], count: int) -> None:
        """`links`: (label, path, Material icon name) in order; the total shows on the link to "/"."""
        super().__init__()
        self.count = count
        self._props["links"] = _links(links)
        self._props["count"] = count

    def set_links(self, links: list[tuple[str, str, str]]) -> None:
        """Other links, for an agent whose role or view changed: rare, so a plain update."""
        if _links(links) != self._props["links"]:
            self._props["links"] = _links(links)
            self.update()

    def show(self, count: int) -> None:
        self.count = count
        self._set_live_value("count", count)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        """What the navigation shows, for `user.should_see` in page tests."""
        labels = [link["label"] for link in self._props["links"]]
        return ["ChatHub", *labels, *([str(self.count)] if self.count else [])]


def _links(links: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [{"label": label, "path": path, "icon": icon} for label, path, icon in links]
