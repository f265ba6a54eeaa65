"""The leaderboard page: controls kept in the URL, sortable tables per component, SVG plots, CSV/JSON."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import numpy as np
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from .. import leaderboards, plots, ratings, spreadsheets
from ..models import Competitor, JudgeConfig, Tournament
from . import quality

PRIORS = (0, 1, 2, 5, 10)
SORTS = ("rank", "rank_ub", "model", "rating", "battles", "record", "win_rate", "predicted", "raw")
MATRIX_MODELS = 12  # heatmaps show the best rated models of the main component; tables list them all
PLOT_ROWS = 60
CONTROLS_SECONDS = 60
DEFAULTS = {"source": "all", "method": "bt", "prior": "0", "sort": "rank", "dir": "asc"}


def leaderboard_page(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    links = _links(params)
    status, rated = 200, True
    # Sorting and polling swap the board alone; the controls swap the board and the quality section.
    board_only = bool(request.htmx) and request.htmx.target == "board"
    # Without a comparison the quality section depends on the board alone: cached with it, in one entry,
    # so that a page costs few cache round trips (each one waits on Redis, which a busy server feels).
    with_neighbours = not board_only and not params["compare"]
    try:
        query = _query(params)
        if params["format"] in {"csv", "json"}:
            return _download(board_context(leaderboards.get_leaderboard(query), params), params["format"])
        # The tables and plots are rendered once per snapshot and sort order, then served from the cache.
        variant = f"page:{params['sort']}:{params['dir']}" + (":neighbours" if with_neighbours else "")
        results_html = mark_safe(leaderboards.get_rendered(  # our own template's output, escaped inside
            query, variant, lambda board: _board_html(board, params, links)
            + (quality.neighbours_section(board) if with_neighbours else "")))
    except leaderboards.LeaderboardError as exc:
        results_html, status, rated = _problem(str(exc), params, links), 400, False
    except ratings.RatingError as exc:
        results_html, rated = _problem(f"These battles cannot be rated: {exc}", params, links), False
    if rated and not board_only and params["compare"]:
        results_html += quality.section(query, params["compare"])
    if request.htmx:
        return HttpResponse(results_html, status=status)
    # New models or tournaments show up in the controls within CONTROLS_SECONDS, new sources at once.
    controls_html = mark_safe(leaderboards.cached_text(  # our own template's output, escaped inside
        f"controls:{sorted(params.items())}", lambda: render_to_string(
            "leaderboard.html#controls", {"params": params, "controls": _controls()}), timeout=CONTROLS_SECONDS))
    context = {"params": params, "controls_html": controls_html, "results_html": results_html, **links}
    return render(request, "leaderboard.html", context, status=status)


def _board_html(board: dict, params: dict, links: dict) -> str:
    return render_to_string("leaderboard.html#board", {"params": params, **links, **board_context(board, params)})


def _problem(message: str, params: dict, links: dict) -> str:
    return render_to_string("leaderboard.html#board", {"params": params, "problem": message, "board": None, **links})


def _params(request: HttpRequest) -> dict:
    get = request.GET
    sort = get.get("sort", "rank")
    return {
        "source": get.get("source", "all"), "category": get.get("category", ""),
        "tournament": get.get("tournament", ""), "judge": get.get("judge", ""),
        "method": get.get("method", "bt"), "anchor": get.get("anchor", ""),
        "style_control": get.get("style_control", "") in {"1", "on", "true"},
        "prior": get.get("prior", "0"),
        "sort": sort if sort in SORTS else "rank", "dir": "desc" if get.get("dir") == "desc" else "asc",
        "format": get.get("format", ""), "compare": get.get("compare", ""),
    }


def _query(params: dict) -> leaderboards.LeaderboardQuery:
    try:
        prior = int(params["prior"])
    except ValueError:
        raise leaderboards.LeaderboardError(f"prior must be a whole number, not {params['prior']!r}") from None
    return leaderboards.LeaderboardQuery(
        source=params["source"], category=params["category"], tournament=params["tournament"],
        judge=params["judge"], method=params["method"], anchor=params["anchor"],
        style_control=params["style_control"], prior=prior)


def _controls() -> dict:
    return {
        "sources": leaderboards.available_sources(),
        "categories": leaderboards.available_categories(),
        "tournaments": list(Tournament.objects.order_by("name").values_list("name", flat=True)[:200]),
        "judges": sorted(set(JudgeConfig.objects.values_list("name", flat=True)[:200])),
        "models": list(Competitor.objects.order_by("name").values_list("name", flat=True)[:500]),
        "priors": PRIORS,
    }


def url_for(params: dict, **changes) -> str:
    """This page's URL with ``changes``, leaving out defaults so that shared links stay short."""
    merged = {**params, **changes}
    shown = {k: ("1" if v is True else v) for k, v in merged.items()
             if v not in ("", False, None) and DEFAULTS.get(k) != str(v)}
    return "?" + urlencode(shown) if shown else "?"


def _links(params: dict) -> dict:
    def header(key: str) -> dict:
        current = params["sort"] == key
        flip = "desc" if current and params["dir"] == "asc" else "asc"
        aria = ("ascending" if params["dir"] == "asc" else "descending") if current else None
        return {"url": url_for(params, sort=key, dir=flip, format=""), "aria": aria}

    return {
        "sort_links": {key: header(key) for key in SORTS},
        "csv_url": url_for(params, format="csv"),
        "json_url": url_for(params, format="json"),
        "page_url": url_for(params, format=""),
    }


# --- what is shown ---------------------------------------------------------------------------------

def board_context(board: dict, params: dict) -> dict:
    raw = board.get("raw_ratings")
    shown_columns = columns(raw is not None)
    tables = []
    for component in board["components"]:
        rows = [_shown(row, raw, component["anchor"]) for row in board["models"]
                if row["component"] == component["index"]]
        for row in rows:
            row["cells"] = [str(row[key]) for _, key, _ in shown_columns]
        tables.append({"component": component, "rows": _sorted(rows, params)})
    links = _links(params)["sort_links"]
    headers = [{"title": title, "key": key, **(links[sort] if sort else {"url": None, "aria": None})}
               for title, key, sort in shown_columns]
    return {"board": board, "tables": tables, "has_raw": raw is not None, "headers": headers, **_figures(board)}


def _shown(row: dict, raw: dict | None, anchor: str) -> dict:
    record = f"{row['wins']}–{row['losses']}–{row['ties']}"
    shown = {
        **row,
        "rating_text": leaderboards.rating_text(row),
        "interval_text": leaderboards.interval_text(row),
        "record_text": record,
        "win_rate_text": "anchor" if row["model"] == anchor else _percent(row["win_rate_vs_anchor"], "never met"),
        "predicted_text": "anchor" if row["model"] == anchor else _percent(row["predicted_win_rate_vs_anchor"], "–"),
        "raw": None if raw is None else raw.get(row["model"]),
    }
    shown["raw_text"] = "–" if shown["raw"] is None else f"{shown['raw']:,.0f}"
    return shown


def _percent(value: float | None, missing: str = "–") -> str:
    return missing if value is None else f"{100 * value:.0f}%"


def _sorted(rows: list[dict], params: dict) -> list[dict]:
    key = params["sort"]
    keys = {
        "rank": lambda r: r["rank"], "rating": lambda r: -r["rank"], "rank_ub": lambda r: (r["rank_ub"], r["rank"]),
        "model": lambda r: r["model"].lower(), "battles": lambda r: r["battles"],
        "record": lambda r: (r["wins"] - r["losses"], r["wins"]),
        "win_rate": lambda r: _missing_last(r["win_rate_vs_anchor"]),
        "predicted": lambda r: _missing_last(r["predicted_win_rate_vs_anchor"]),
        "raw": lambda r: _missing_last(r["raw"]),
    }
    ordered = sorted(rows, key=keys[key], reverse=params["dir"] == "desc")
    if key in {"win_rate", "predicted", "raw"}:
        # Rows without a value stay at the bottom whichever way the column is sorted.
        ordered = [r for r in ordered if r[_field(key)] is not None] + [r for r in ordered if r[_field(key)] is None]
    return ordered


def _field(key: str) -> str:
    return {"win_rate": "win_rate_vs_anchor", "predicted": "predicted_win_rate_vs_anchor", "raw": "raw"}[key]


def _missing_last(value: float | None) -> float:
    return -np.inf if value is None else value


def _figures(board: dict) -> dict:
    if not board["components"]:
        return {}
    component = board["components"][0]
    rows = [row for row in board["models"] if row["component"] == 0]
    rated = [row for row in rows if row["rating"] is not None][:MATRIX_MODELS]
    names = [row["model"] for row in rated]
    strengths = np.array([row["rating"] for row in rated], dtype=np.float64)
    predicted = ratings.predicted_win_matrix(strengths) if len(rated) else np.zeros((0, 0))
    counts = _count_matrix(board["pairs"], names)
    return {
        "forest_svg": mark_safe(plots.forest_plot(
            rows[:PLOT_ROWS], title=f"Ratings with {board['confidence']:.0%} intervals, best first")),
        "plot_rows": rows[:PLOT_ROWS],
        "heatmap_svg": mark_safe(plots.matrix_plot(
            names, predicted.tolist(), kind="winrate",
            title="Predicted win rate of the row model against the column model")),
        "counts_svg": mark_safe(plots.matrix_plot(
            names, counts, kind="count", title="Battles between the row model and the column model")),
        "matrix_models": names,
        "matrix_rows": [
            {"model": name, "predicted": [_percent(p) if i != j else "–" for j, p in enumerate(predicted[i])],
             "counts": counts[i]}
            for i, name in enumerate(names)
        ],
        "main_component": component,
    }


def _count_matrix(pairs: list[dict], names: list[str]) -> list[list[int]]:
    index = {name: k for k, name in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for pair in pairs:
        if pair["a"] in index and pair["b"] in index:
            i, j = index[pair["a"]], index[pair["b"]]
            counts[i][j] = counts[j][i] = pair["battles"]
    return counts


# --- downloads ---------------------------------------------------------------------------------------

# (title, row field shown, sort key)
COLUMNS = [("Rank (UB)", "rank_ub", "rank_ub"), ("Model", "model", "model"), ("Rating", "rating_text", "rating"),
           ("95% CI", "interval_text", None), ("Record (W–L–T)", "record_text", "record"),
           ("Battles", "battles", "battles"), ("Win rate vs anchor", "win_rate_text", "win_rate"),
           ("Predicted vs anchor", "predicted_text", "predicted")]


def columns(has_raw: bool) -> list[tuple[str, str, str | None]]:
    return [*COLUMNS, ("Raw rating", "raw_text", "raw")] if has_raw else COLUMNS


def _download(context: dict, kind: str) -> HttpResponse:
    """Exactly what the page shows: the same rows, in the same order, with the same columns."""
    shown = columns(context["has_raw"])
    if kind == "json":
        rows = [{"component": t["component"]["index"], **{key: row[key] for _, key, _ in shown},
                 "rating": row["rating"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}
                for t in context["tables"] for row in t["rows"]]
        meta = {k: v for k, v in context["board"].items() if k not in {"models", "pairs", *leaderboards.INTERNAL_KEYS}}
        response = JsonResponse({**meta, "rows": rows}, json_dumps_params={"ensure_ascii": False})
    else:
        buffer = io.StringIO()
        header = ["Component", *(title for title, _, _ in shown)]
        spreadsheets.write_rows(buffer, [header, *([table["component"]["index"] + 1, *row["cells"]]
                                                   for table in context["tables"] for row in table["rows"])])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leaderboard.{kind}"'
    return response
