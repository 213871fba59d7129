"""Time zones people choose from: the IANA names `zoneinfo` knows, and each person's zone.

`zone_names()` is what the pages offer (Region/City names and UTC, grouped by region in
`zone_groups()`); `zone_lookup()` also accepts any other name `zoneinfo` knows (`US/Eastern`,
`Etc/GMT+5`), matched without regard to case, so that a name typed by hand or sent by the
API is stored in its exact spelling.
"""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@lru_cache(maxsize=1)
def _all_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


# The IANA regions; legacy aliases (US/Eastern, Brazil/East, Etc/GMT+5) stay accepted but unlisted.
REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """The names offered in lists: UTC first, then every Region/City name, sorted."""
    names = sorted(n for n in available_timezones() if n.split("/", 1)[0] in REGIONS and "/" in n)
    return ("UTC", *names)


@lru_cache(maxsize=1)
def zone_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`zone_names()` grouped by region: (("UTC", ("UTC",)), ("Africa", (...)), ...)."""
    groups: dict[str, list[str]] = {}
    for name in zone_names():
        groups.setdefault(name.split("/", 1)[0], []).append(name)
    return tuple((region, tuple(names)) for region, names in groups.items())


def zone_lookup(name: str) -> str | None:
    """The exact IANA spelling of `name` (compared without case), or None if unknown."""
    return _all_names().get((name or "").strip().casefold())


def user_zone(user) -> ZoneInfo:
    """The zone a person reads times in: their own, or UTC when unset or unknown."""
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
