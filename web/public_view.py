"""What the public application form and the printable documents need beyond the application
and case services: the places where one may apply, each with the regional policy pack that
applies there (:func:`store.repos.filing_pack_id`, the rule the application service files
by), the case a receipt is about, and the pack version a case was opened under (the documents
print the pinned pack's names, never a later version's)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import not_found
from application.services.applications import APPLICATION_LEVELS, pack_applying
from domain.policy.model import PolicyPack
from store import admin_repo, repos
from store.models import Case, Jurisdiction
from store.packs import packs_in_force

# The evidence code packs give the application form itself (jilin, xinyu, qingxin): filling
# the form online is handing it in.
APPLICATION_FORM = "application_form"
# The form's title where the pack names none (weifang's documents do not name theirs).
DEFAULT_FORM_TITLE = "就业困难人员认定申请表"


@dataclass(frozen=True)
class Place:
    """A place where one may apply: its code, its name with the places above it down from the
    city (``潍坊市 潍城区 城关街道``) and the pack that applies there."""

    code: str
    name: str
    full_name: str
    level: str
    pack: PolicyPack


def _full_name(chain: list[Jurisdiction]) -> str:
    # Country and province are the same for everyone applying in a region: start at the city.
    shown = [j.name for j in reversed(chain) if j.level not in ("country", "province")]
    return " ".join(shown) or chain[0].name


async def application_places(session: AsyncSession) -> list[Place]:
    """Every county, street/township and community where an application can be filed, in
    the tree's order (parents first), each with its pack."""
    rows = await admin_repo.subtree(session, "/")
    packs = await packs_in_force(session)
    by_code = {j.code: j for j in rows}
    places: list[Place] = []
    for j in rows:
        if j.level not in APPLICATION_LEVELS:
            continue
        chain = [by_code[c] for c in reversed([c for c in j.path.split("/") if c]) if c in by_code]
        pack = pack_applying(chain, packs)
        if pack is not None:
            places.append(Place(j.code, j.name, _full_name(chain), j.level, pack))
    return places


async def application_place(session: AsyncSession, code: str) -> Place | None:
    """One place where an application can be filed (None for any other code)."""
    place = await repos.get_jurisdiction(session, code)
    if place is None or place.level not in APPLICATION_LEVELS:
        return None
    chain = await repos.ancestors(session, place)
    pack = pack_applying(chain, await packs_in_force(session))
    if pack is None:
        return None
    return Place(place.code, place.name, _full_name(chain), place.level, pack)


async def place_name(session: AsyncSession, code: str) -> str:
    """The place's name with the places above it (from the city), or the code."""
    place = await repos.get_jurisdiction(session, code)
    if place is None:
        return code
    return _full_name(await repos.ancestors(session, place))


async def submitted_case(session: AsyncSession, case_id: str) -> Case:
    """The case a receipt is about (the page checks the receipt's signature first: a case
    number alone shows nothing)."""
    case = await session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    return case


def form_title(pack: PolicyPack) -> str:
    """The region's name for the application form, without its 《》."""
    named = next((e.name for e in pack.evidence if e.code == APPLICATION_FORM), "")
    return named.strip("《》 ") or DEFAULT_FORM_TITLE
