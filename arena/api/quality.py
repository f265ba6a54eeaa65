"""Benchmark quality against a reference board, and the power of pairwise comparisons. Reads only."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from .. import leaderboards, quality, ratings
from ..ratings import power

router = Router(tags=["quality"])


class QualityParams(Schema):
    source: str = Field("all", description="the board judged: 'all', 'judge', 'human' or an imported source")
    category: str = ""
    tournament: str = Field("", description="tournament name or id (judge results only)")
    judge: str = Field("", description="judge configuration name or id (judge results only)")
    method: str = Field("bt", description="'bt' or 'elo'")
    style_control: bool = False
    prior: int = 0
    reference_source: str = Field("human", description="the reference board's source (default: the human votes)")
    reference_category: str = ""
    reference_tournament: str = ""
    reference_judge: str = ""
    reference_method: str = "bt"


class NeighbourOut(Schema):
    a: str = Field(description="ranked just above b")
    b: str
    decisive: int = Field(description="their head-to-head battles that were not ties")
    ties: int
    observed_win_rate: float | None = Field(description="a's share of the decisive battles")
    detectable_win_rate: float | None = Field(
        description="smallest win rate those battles detect (one-sided sign test, alpha 0.05, power 0.8); "
                    "null: too few battles")
    separated: bool = Field(description="their confidence intervals do not overlap")


class QualityOut(Schema):
    models: int = Field(description="models in the largest group of both boards")
    pairs: int = Field(description="pairs of those models: the pairs of the separability")
    separated_pairs: int
    separability: float | None = Field(description="share of pairs whose intervals do not overlap")
    reference_pairs_separated: int = Field(description="pairs the reference separates: the agreement's pairs")
    agreement_with_confidence: float | None = Field(
        description="mean over the reference-separated pairs of +1 (separated, same order), -1 (separated, "
                    "opposite order), 0 (not separated)")
    brier: float | None = Field(description="Brier score of P(a above b), normal approximation of the bootstrap "
                                            "rating difference, against the reference order (lower is better)")
    brier_pairs: int
    spearman: float | None = Field(description="on the models' order, over `models` models")
    kendall: float | None
    updating: bool
    neighbours: list[NeighbourOut] = Field(description="adjacent pairs of the judged board, best first")


class PowerOut(Schema):
    decisive: int = Field(description="decisive (non-tied) comparisons needed")
    total: int = Field(description="comparisons needed when tie_rate of them are ties")
    method: str


class ErrorOut(Schema):
    detail: str


@router.get("/quality", response={200: QualityOut, 400: ErrorOut, 422: ErrorOut},
            summary="Separability and agreement of a leaderboard with a reference leaderboard")
def board_quality(request: HttpRequest, params: Query[QualityParams]):
    fields = params.dict()
    reference = {key.removeprefix("reference_"): fields.pop(key)
                 for key in list(fields) if key.startswith("reference_")}
    try:
        return quality.compare(query=leaderboards.LeaderboardQuery(**fields),
                               reference=leaderboards.LeaderboardQuery(**reference))
    except leaderboards.LeaderboardError as exc:
        raise HttpError(400, str(exc)) from None
    except ratings.RatingError as exc:
        raise HttpError(422, f"cannot rate these battles: {exc}") from None


@router.get("/power", response={200: PowerOut, 400: ErrorOut},
            summary="Comparisons a one-sided sign test needs to detect a win rate")
def sample_size(request: HttpRequest, win_rate: float = 0.55, alpha: float = power.ALPHA,
                power_: float = Query(power.POWER, alias="power"), tie_rate: float = 0.0):
    try:
        decisive = power.decisive_needed(win_rate, alpha, power_)
        total = power.total_needed(win_rate, alpha, power_, tie_rate)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None
    return {"decisive": decisive, "total": total,
            "method": "one-sided sign test on decisive comparisons, normal approximation; "
                      "total = decisive / (1 - tie_rate)"}
