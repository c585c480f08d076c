"""A team whose agents see different conversations: Bea sees all, Cal is limited to his own and unassigned ones.
Three customers wrote in: Bertha's conversation is Bea's (with a file an admin sent in it), Carl's is Cal's,
Una's is nobody's; all three hold an unread message. What is Bertha's is listed in `Team.hidden`, so a test
can say none of it reached Cal."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.helpers.api import customer_writes, new_sender
from tests.helpers.app import login

BEA = {"email": "bea@example.com", "name": "Bea Allsee", "password": "Bea-pass-123"}
CAL = {"email": "cal@example.com", "name": "Cal Limited", "password": "Cal-pass-123"}
BERTHA_TEXT = "zebrafinch parcel"
BERTHA_FILE = b"bertha's invoice: quokka"
BERTHA_AGAIN = "zebrafinch still missing"
CARL_TEXT = "Carl asks about shipping"
UNA_TEXT = "Una asks about returns"


@dataclass
class Team:
    admin: dict[str, str]  # authorization headers
    bea: dict[str, str]
    cal: dict[str, str]
    bea_id: int
    cal_id: int
    bertha_phone: str
    carl_phone: str
    una_phone: str
    bertha_conversation: int
    bertha_customer: int
    bertha_file_message: int
    carl_conversation: int
    carl_customer: int
    una_conversation: int

    @property
    def hidden(self) -> list[str]:
        """What of Bertha's conversation must never reach Cal: her name, phone, words and file."""
        return ["Bertha", self.bertha_phone, "zebrafinch", "quokka", "bertha-invoice"]


async def add_agent(http: httpx.AsyncClient, admin: dict[str, str], person: dict[str, str]) -> int:
    response = await http.post("/api/v1/agents", json=person, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def assign(http: httpx.AsyncClient, admin: dict[str, str], conversation_id: int, agent_id: int | None) -> None:
    response = await http.patch(
        f"/api/v1/conversations/{conversation_id}", json={"assignee_id": agent_id}, headers=admin
    )
    assert response.status_code == 200, response.text


async def limit(http: httpx.AsyncClient, admin: dict[str, str], agent_id: int) -> None:
    response = await http.patch(f"/api/v1/agents/{agent_id}", json={"sees": "mine_and_unassigned"}, headers=admin)
    assert response.status_code == 200 and response.json()["sees"] == "mine_and_unassigned", response.text


async def make_team(http: httpx.AsyncClient) -> Team:
    admin = await login(http)
    bea_id = await add_agent(http, admin, BEA)
    cal_id = await add_agent(http, admin, CAL)
    await limit(http, admin, cal_id)
    bertha_phone, carl_phone, una_phone = new_sender(), new_sender(), new_sender()
    bertha = await customer_writes(http, admin, sender=bertha_phone, text=BERTHA_TEXT, name="Bertha Hidden")
    carl = await customer_writes(http, admin, sender=carl_phone, text=CARL_TEXT, name="Carl Own")
    una = await customer_writes(http, admin, sender=una_phone, text=UNA_TEXT, name="Una Open")
    await assign(http, admin, bertha["id"], bea_id)
    await assign(http, admin, carl["id"], cal_id)
    sent = await http.post(
        f"/api/v1/conversations/{bertha['id']}/attachments",
        files={"file": ("bertha-invoice.txt", BERTHA_FILE, "text/plain")},
        headers=admin,
    )
    assert sent.status_code == 201, sent.text
    await customer_writes(http, admin, sender=bertha_phone, text=BERTHA_AGAIN)  # unread again
    return Team(
        admin=admin,
        bea=await login(http, BEA["email"], BEA["password"]),
        cal=await login(http, CAL["email"], CAL["password"]),
        bea_id=bea_id,
        cal_id=cal_id,
        bertha_phone=bertha_phone,
        carl_phone=carl_phone,
        una_phone=una_phone,
        bertha_conversation=bertha["id"],
        bertha_customer=bertha["customer"]["id"],
        bertha_file_message=sent.json()["id"],
        carl_conversation=carl["id"],
        carl_customer=carl["customer"]["id"],
        una_conversation=una["id"],
    )
