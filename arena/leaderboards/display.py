"""Ratings and intervals as a person reads them, with an open side written as such (never a blank)."""

from __future__ import annotations


def rating_text(row: dict) -> str:
    """A rating as a person reads it: "1,012", or an open interval "> 1,240" / "< 870" / "unbounded"."""
    if row["rating"] is not None:
        return f"{row['rating']:,.0f}"
    if row["ci_low"] is not None:
        return f"> {row['ci_low']:,.0f}"
    if row["ci_high"] is not None:
        return f"< {row['ci_high']:,.0f}"
    return "unbounded"


def with_texts(rows: list[dict]) -> list[dict]:
    """Leaderboard rows with their rating and interval as a person reads them."""
    return [{**row, "rating_text": rating_text(row), "interval_text": interval_text(row)} for row in rows]


def interval_text(row: dict) -> str:
    """The confidence interval, with an open side written as such (never a blank)."""
    low, high = row["ci_low"], row["ci_high"]
    if low is None and high is None:
        return "open on both sides"
    if high is None:
        return f"> {low:,.0f}"
    if low is None:
        return f"< {high:,.0f}"
    return f"{low:,.0f} to {high:,.0f}"


