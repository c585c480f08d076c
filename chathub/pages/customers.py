"""Customers: everyone who has written in — searched, sorted and paged; a row opens the customer."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from nicegui import ui

from chathub.models import Agent, Channel
from chathub.pages import session
from chathub.pages.components.layout import avatar, frame
from chathub.pages.components.widgets import channel_icon, local_time, relative_time
from chathub.schemas import CustomerOut
from chathub.services import channels, customers
from chathub.services.customers import CustomerListing

PAGE_SIZE = 25
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "name": "Name A–Z", "name_desc": "Name Z–A"}


async def page(request: Request, q: str = "", sort: str = "newest"):
    agent = await session.require_agent(request)
    if not isinstance(agent, Agent):
        return agent
    async with frame("Customers", agent):
        table = CustomerTable(
            agent,
            {c.id: c for c in await channels.list_channels()},
            q=q[:200],
            sort=sort if sort in SORTS else "newest",
        )
        with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
            table.toolbar()
            with ui.card().classes("w-full p-0 gap-0 overflow-hidden"):
                table.render()
        await table.reload(remember=False)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class CustomerTable:
    """The search box, the sort and one page of rows (of the customers the agent sees); `reload()` fetches,
    `render()` draws what was fetched."""

    def __init__(self, agent: Agent, channels_by_id: dict[int, Channel], *, q: str, sort: str) -> None:
        self.agent = agent
        self.channels = channels_by_id
        self.q, self.sort, self.offset = q, sort, 0
        self.listing: CustomerListing | None = None
        self._generation = 0  # a slower, older answer never replaces a newer one

    async def reload(self, *, remember: bool = True) -> None:
        """Fetch the current page; `remember` puts the search and sort in the address (for back/reload): the
        agent asked, so the tab asks again whether they still may (the first draw's request was checked)."""
        self._generation += 1
        generation = self._generation
        if remember and not await session.may_read():
            return
        listing = await customers.browse_customers(
            q=self.q, sort=self.sort, limit=PAGE_SIZE, offset=self.offset, viewer=self.agent
        )
        if generation != self._generation:
            return
        self.listing = listing
        self.render.refresh()
        if not remember:
            return
        query = urlencode({k: v for k, v in (("q", self.q), ("sort", self.sort)) if v and v != "newest"})
        ui.navigate.history.replace("/customers" + (f"?{query}" if query else ""))

    # ---- what the user does ----

    async def _search(self, text: str | None) -> None:
        self.q, self.offset = (text or "").strip(), 0
        await self.reload()

    async def _sort_by(self, sort: str) -> None:
        if sort != self.sort:
            self.sort, self.offset = sort, 0
            await self.reload()

    async def _turn(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * PAGE_SIZE)
        await self.reload()

    # ---- building ----

    def toolbar(self) -> None:
        with ui.row().classes("w-full items-center gap-3 flex-nowrap"):
            with (
                ui.input(
                    placeholder="Search name, phone or email", value=self.q, on_change=lambda e: self._search(e.value)
                )
                .props("outlined dense clearable debounce=300 maxlength=200")
                .classes("flex-grow bg-[#fff] dark:bg-slate-800 rounded")
                .mark("customer-search") as self.search_input
            ):
                with self.search_input.add_slot("prepend"):
                    ui.icon("search").classes("text-slate-400")
            self.sort_select = (
                ui.select(SORTS, value=self.sort, on_change=lambda e: self._sort_by(e.value))
                .props("outlined dense options-dense")
                .classes("w-36 sm:w-44 shrink-0 bg-[#fff] dark:bg-slate-800 rounded")
                .mark("customer-sort")
            )

    @ui.refreshable_method
    def render(self) -> None:
        if self.listing is None:
            with ui.row().classes("w-full justify-center p-8"):
                ui.spinner(size="lg")
            return
        if not self.listing.items:
            self._empty()
            return
        self._header()
        for customer in self.listing.items:
            self._row(customer)
        self._pager()

    def _header(self) -> None:
        with ui.row().classes(
            "w-full items-center gap-3 px-4 py-1 flex-nowrap text-xs uppercase tracking-wide "
            "text-slate-500 border-b border-slate-200 dark:border-slate-700 max-sm:hidden"
        ):
            self._sort_heading("Customer", "name", "name_desc", "flex-[2] min-w-0 pl-12")
            ui.label("Contact").classes("flex-[2] min-w-0 max-md:hidden")
            ui.label("Channels").classes("w-36 shrink-0")
            self._sort_heading("Added", "newest", "oldest", "w-24 shrink-0 justify-end")

    def _sort_heading(self, text: str, first: str, second: str, classes: str) -> None:
        active = self.sort in (first, second)
        arrow = (
            {
                "name": "arrow_upward",
                "name_desc": "arrow_downward",
                "newest": "arrow_downward",
                "oldest": "arrow_upward",
            }[self.sort]
            if active
            else None
        )
        target = second if self.sort == first else first
        with ui.row().classes(f"{classes} items-center gap-0"):
            button = (
                ui.button(text, on_click=lambda: self._set_sort(target))
                .props("flat dense no-caps size=sm")
                .classes("text-xs uppercase tracking-wide " + ("text-primary" if active else "text-slate-500"))
                .mark(f"sort-by-{first}")
            )
            if arrow:
                button.props(f"icon-right={arrow}")

    def _set_sort(self, sort: str) -> None:
        self.sort_select.value = sort  # its change handler reloads

    def _row(self, customer: CustomerOut) -> None:
        channel_ids = list(dict.fromkeys(i.channel_id for i in customer.identities))
        with (
            ui.link(target=f"/customers/{customer.id}")
            .classes("no-underline text-inherit w-full")
            .mark(f"customer-{customer.id}")
        ):
            with ui.row().classes(
                "w-full items-center gap-3 px-4 py-3 flex-nowrap border-b border-slate-100 "
                "dark:border-slate-700 hover:bg-slate-50 dark:hover:bg-slate-700/50"
            ):
                with ui.row().classes("flex-[2] min-w-0 items-center gap-3 flex-nowrap"):
                    avatar(customer.name)
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(customer.name).classes("font-medium truncate max-w-full").mark("customer-name")
                        ui.label(customer.email or customer.phone or "").classes(
                            "text-xs text-slate-500 truncate md:hidden"
                        )
                with ui.column().classes("flex-[2] min-w-0 gap-0 max-md:hidden text-sm"):
                    ui.label(customer.email or customer.phone or "—").classes("truncate max-w-full")
                    if customer.email and customer.phone:
                        ui.label(customer.phone).classes("text-xs text-slate-500 truncate max-w-full")
                with ui.row().classes("w-36 shrink-0 items-center gap-1 flex-nowrap max-sm:w-auto"):
                    for channel_id in channel_ids[:4]:
                        channel = self.channels.get(channel_id)
                        if channel is not None:
                            channel_icon(channel.type, size="xs").tooltip(channel.name)
                    ui.label(
                        _plural(len(customer.identities), "identity", "identities")
                        + (f" · {_plural(len(channel_ids), 'channel', 'channels')}" if len(channel_ids) > 1 else "")
                    ).classes("text-xs text-slate-500 truncate max-sm:hidden").mark("customer-identities")
                ui.label(relative_time(customer.created_at)).classes(
                    "w-24 shrink-0 text-right text-xs text-slate-500 max-sm:hidden"
                ).tooltip(local_time(customer.created_at))

    def _pager(self) -> None:
        listing = self.listing
        first, last = listing.offset + 1, listing.offset + len(listing.items)
        with ui.row().classes("w-full items-center gap-2 px-4 py-2 text-sm text-slate-500"):
            ui.label(f"{first}–{last} of {listing.total}").mark("customers-range")
            ui.space()
            ui.button(icon="chevron_left", on_click=lambda: self._turn(-1)).props("flat round dense").tooltip(
                "Previous page"
            ).mark("customers-previous").set_enabled(listing.offset > 0)
            ui.label(f"Page {listing.offset // PAGE_SIZE + 1} of {max(1, -(-listing.total // PAGE_SIZE))}")
            ui.button(icon="chevron_right", on_click=lambda: self._turn(1)).props("flat round dense").tooltip(
                "Next page"
            ).mark("customers-next").set_enabled(last < listing.total)

    def _empty(self) -> None:
        with ui.column().classes("w-full items-center gap-2 py-16 px-4 text-center"):
            ui.icon("person_search" if self.q else "people", size="xl").classes("text-slate-300")
            if self.q:
                ui.label("No customer matches").classes("text-lg")
                ui.label(self.q).classes("text-slate-500 italic break-all")
                ui.button("Clear the search", on_click=self._clear_search).props("flat no-caps").mark("clear-search")
            else:
                ui.label("No customers yet").classes("text-lg")
                ui.label("Customers appear here when someone writes to one of your channels.").classes("text-slate-500")
                ui.link("Try it with the simulator", "/simulator")

    def _clear_search(self) -> None:
        self.search_input.value = ""  # its change handler reloads
