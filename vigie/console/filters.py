"""What a person narrows the streams to, applied alike to ClickHouse's history (a SQL
condition) and to the live records (a predicate), so both halves of a column agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Platform, Priority, Risk

NO_BRAND = "_"  # the column of messages no brand was resolved for


class Filters(BaseModel):
    """One choice of columns (per brand or per platform) and of filters; '' = any.

    Built from a page's query string: anything outside the contracts' values is refused
    (the values also name SSE events and land in SQL parameters)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    group: Literal["brand", "platform"] = "brand"
    brand: str = Field(default="", pattern=r"^[a-z0-9_]{0,64}$")
    platform: Platform | Literal[""] = ""
    risk: Risk | Literal["", "any"] = Field(
        default="", description="A risk, 'any' (at least one), or '' (no filter).")
    priority: Priority | Literal[""] = ""
    lang: str = Field(default="", pattern=r"^([a-z]{2,3})?$")

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        return cls.model_validate({k: v for k, v in query.items() if k in cls.model_fields})

    def query_string(self) -> str:
        """The filters as a URL query (the live stream's address carries them)."""
        return urlencode({k: str(v) for k, v in self.model_dump().items()
                          if v or k == "group"})

    def column(self, brand: str | None, platform: str) -> str:
        """The column a message goes to."""
        return (brand or NO_BRAND) if self.group == "brand" else platform

    def matches(self, brand: str | None, platform: str, risks: list[str], priority: str,
                lang: str | None) -> bool:
        """The predicate of :meth:`sql`, on one live message."""
        return (
            (not self.brand or (brand or NO_BRAND) == self.brand)
            and (not self.platform or platform == self.platform)
            and (not self.risk or (bool(risks) if self.risk == "any" else self.risk in risks))
            and (not self.priority or priority == self.priority)
            and (not self.lang or lang == self.lang)
        )

    def sql(self) -> tuple[str, dict[str, Any]]:
        """The condition of :meth:`matches` on the ``events`` table, with its parameters
        (the values are parameters, never spliced into the SQL)."""
        brand = "" if self.brand == NO_BRAND else self.brand
        conditions = []
        if self.brand:
            conditions.append("brand = {f_brand:String}")
        if self.platform:
            conditions.append("platform = {f_platform:String}")
        if self.risk == "any":
            conditions.append("notEmpty(risks)")
        elif self.risk:
            conditions.append("has(risks, {f_risk:String})")
        if self.priority:
            conditions.append("priority = {f_priority:String}")
        if self.lang:
            conditions.append("lang = {f_lang:String}")
        params = {"f_brand": brand, "f_platform": str(self.platform), "f_risk": str(self.risk),
                  "f_priority": str(self.priority), "f_lang": self.lang}
        return " AND ".join(conditions) or "1", params
