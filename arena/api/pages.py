"""Limit/offset pages sliced in SQL, with a bounded page size and per-page row building."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

from ..limits import INT_MAX

MAX_PAGE = 1000


class Pages(LimitOffsetPagination):
    """Limit/offset pages with a bounded page size, so that no request reads a whole table.

    The endpoint returns a QuerySet: the page is its SQL slice (plus one COUNT). ``rows``, when given,
    turns the page's objects into what the endpoint shows, all at once, so that a summary per row costs
    a fixed number of queries per page (``@paginate(Pages, rows=progress.tournament_summaries)``).
    """

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"rows per page, at most {MAX_PAGE}")
        offset: int = Field(0, ge=0, le=INT_MAX, description="rows to skip")

    def __init__(self, *, rows: Callable[[Sequence[Any]], list] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows

    def paginate_queryset(self, queryset, pagination: Input, request, **params: Any) -> dict:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        if self.rows is not None:
            page[self.items_attribute] = self.rows(list(page[self.items_attribute]))
        return page
