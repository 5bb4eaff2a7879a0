"""Changelist machinery for lists that grow to a million rows: a count that stops at a cap,
and a date drill-down that asks for MIN/MAX instead of DISTINCT over the table."""

from datetime import date

from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows, so a page of a million-row list costs what a page of a
    thousand does. The admin's COUNT(*) over the whole filtered table is the one query whose
    time grows with the table; past the cap the list says "more than 10,000" and operators
    narrow it with filters and dates (pages that deep are of no use anyway)."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Without ORDER BY, the database stops at the first CAP + 1 matching rows.
        return self.object_list.order_by()[: self.CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.CAP


def bounded_date_hierarchy(cl) -> dict:
    """The admin's date drill-down, without its DISTINCT over the table.

    Django lists the years (months, days) that hold rows with SELECT DISTINCT date_trunc(...)
    over every matching row: a full scan of a year of operations. Here one MIN/MAX (two index
    probes) bounds the range, and every period between the bounds is offered; a period with
    no operation then shows an empty list, which costs less than scanning to hide it.
    """
    field = cl.date_hierarchy
    params = {part: cl.params.get(f"{field}__{part}") for part in ("year", "month", "day")}
    try:
        year, month, day = (int(v) if v else None for v in params.values())
        if year and month and day:
            date(year, month, day)
    except (TypeError, ValueError):
        return {"show": False}  # a hand-made date that does not exist: the list is empty

    def link(**lookups) -> str:
        return cl.get_query_string({f"{field}__{k}": v for k, v in lookups.items()}, [f"{field}__"])

    def title(value: date, fmt: str) -> str:
        return capfirst(formats.date_format(value, fmt))

    if year and month and day:
        picked = date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link(year=year, month=month),
                "title": title(picked, "YEAR_MONTH_FORMAT"),
            },
            "choices": [{"title": title(picked, "MONTH_DAY_FORMAT")}],
        }
    bounds = cl.queryset.order_by().aggregate(first=Min(field), last=Max(field))
    if not (bounds["first"] and bounds["last"]):
        return {"show": False}
    first, last = (timezone.localtime(v).date() for v in (bounds["first"], bounds["last"]))
    if not year and first.year == last.year:
        year = first.year
    if year and not month and first.year == last.year and first.month == last.month:
        month = first.month
    if year and month:
        days = (date(year, month, d) for d in range(first.day, last.day + 1))
        return {
            "show": True,
            "back": {"link": link(year=year), "title": str(year)},
            "choices": [
                {
                    "link": link(year=year, month=month, day=d.day),
                    "title": title(d, "MONTH_DAY_FORMAT"),
                }
                for d in days
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link(), "title": "All dates"},
            "choices": [
                {
                    "link": link(year=year, month=m),
                    "title": title(date(year, m, 1), "YEAR_MONTH_FORMAT"),
                }
                for m in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "choices": [
            {"link": link(year=y), "title": str(y)} for y in range(first.year, last.year + 1)
        ],
    }
