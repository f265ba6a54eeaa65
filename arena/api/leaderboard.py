"""Leaderboards with confidence intervals, per connected component, with open intervals made explicit."""

import json

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from .. import leaderboards, ratings

router = Router(tags=["leaderboards"])


class LeaderboardParams(Schema):
    source: str = Field("all", description="'all', 'judge', 'human', or an imported source label")
    category: str = Field("", description="a prompt category that exists (an unknown one is a 400)")
    tournament: str = Field("", description="tournament name or id (judge results only)")
    judge: str = Field("", description="judge configuration name (all its versions) or id (judge results only)")
    method: str = Field("bt", description="'bt' (Bradley-Terry) or 'elo'")
    anchor: str = Field("", description="model pinned at 1000 and used for the win-rate columns")
    style_control: bool = False
    prior: int = Field(0, description="virtual ties added to every pair of models that met (0-10; 0 = off): "
                                      "finite ratings for unbeaten and winless models, shrunk towards equal")
    pairs: bool = Field(False, description="include the head-to-head counts of every pair that met")


class LeaderboardRowOut(Schema):
    model: str
    component: int = Field(description="index into components; ratings of different components are not comparable")
    rank: int = Field(description="position by rating inside the component, 1 = best")
    rank_ub: int = Field(description="rank with uncertainty: 1 + models whose interval lies wholly above this one's")
    rating: float | None = Field(description="null when the data put the model infinitely far from the rated "
                                             "ones (it never lost, or never won): see ci_low / ci_high")
    ci_low: float | None = Field(description="lower end of the interval; null when open (open_low)")
    ci_high: float | None = Field(description="upper end of the interval; null when open (open_high)")
    open_low: bool
    open_high: bool
    battles: int
    wins: int
    losses: int
    ties: int
    win_rate_vs_anchor: float | None = Field(description="share of points against the component's anchor")
    predicted_win_rate_vs_anchor: float | None


class ComponentOut(Schema):
    index: int
    models: list[str] = Field(description="best first")
    rated: list[str] = Field(description="models with a finite rating")
    anchor: str = Field(description="reference model of the win-rate columns")
    anchor_pinned: bool = Field(description="true: the anchor sits at 1000; false: the rated models' mean does")
    battles: int


class PairOut(Schema):
    a: str
    b: str
    battles: int
    a_wins: int
    b_wins: int
    ties: int


class LeaderboardOut(Schema):
    anchor: str | None
    method: str
    computed_at: str
    updating: bool = Field(description="a newer snapshot is being computed in the background")
    source: str
    category: str | None
    tournament: str | None
    judge: str | None
    style_control: bool
    prior: int
    interval: str | None = Field(description="'bootstrap' (1,000 rounds) or 'sandwich' (style control)")
    confidence: float
    battles: int
    models: list[LeaderboardRowOut] = Field(description="component by component, largest first; best first")
    components: list[ComponentOut]
    pairs: list[PairOut] | None = Field(None, description="head-to-head counts of every pair (with pairs=true)")
    raw_ratings: dict[str, float] | None = Field(None, description="uncontrolled ratings, with style_control")
    style_coefficients: dict[str, float] | None = None


class ErrorOut(Schema):
    detail: str


@router.get("/leaderboard", summary="Leaderboard with confidence intervals",
            response={200: LeaderboardOut, 400: ErrorOut, 422: ErrorOut})
def leaderboard(request: HttpRequest, params: Query[LeaderboardParams]):
    fields = params.dict()
    with_pairs = fields.pop("pairs")
    try:
        # The stored payload matches LeaderboardOut; it is sent as cached JSON, not validated per request.
        body = leaderboards.get_rendered(leaderboards.LeaderboardQuery(**fields), f"api:{with_pairs}",
                                         lambda payload: _json(payload, with_pairs))
    except leaderboards.LeaderboardError as exc:
        raise HttpError(400, str(exc)) from None
    except ratings.RatingError as exc:
        raise HttpError(422, f"cannot rate these battles: {exc}") from None
    return HttpResponse(body, content_type="application/json")


def _json(payload: dict, with_pairs: bool) -> str:
    hidden = leaderboards.INTERNAL_KEYS if with_pairs else {"pairs", *leaderboards.INTERNAL_KEYS}
    shown = {k: v for k, v in payload.items() if k not in hidden}
    return json.dumps(shown)
