"""Leaderboards with confidence intervals."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from .. import leaderboards, ratings

router = Router(tags=["leaderboards"])


class LeaderboardParams(Schema):
    source: str = Field("all", description="'all', 'judge', 'human', or an imported source label")
    category: str = ""
    tournament: str = Field("", description="tournament name or id (judge results only)")
    method: str = Field("bt", description="'bt' (Bradley-Terry) or 'elo'")
    anchor: str = Field("", description="model pinned at 1000 and used for the win-rate columns")
    style_control: bool = False


@router.get("/leaderboard", summary="Leaderboard with confidence intervals")
def leaderboard(request: HttpRequest, params: Query[LeaderboardParams]):
    try:
        return leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(**params.dict()))
    except leaderboards.LeaderboardError as exc:
        raise HttpError(400, str(exc)) from None
    except ratings.RatingError as exc:
        raise HttpError(422, f"cannot rate these battles: {exc}") from None
