"""Judge bias: position, length and family, beside the humans' on the same items. Reads only."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from judges.bias import DEFAULT_MIN_GAP

from .. import bias
from ..limits import BIGINT_MAX
from ..models import JudgeConfig

router = Router(tags=["judges"])


class RateOut(Schema):
    value: float | None = Field(description="the share; null when there is no case")
    n: int = Field(description="cases it stands on")


class FamilyOut(Schema):
    family: str
    items: int = Field(description="items both the judge and the humans decided with one answer of the family")
    judge_win_rate: float | None
    human_win_rate: float | None
    lift: float | None = Field(description="judge_win_rate - human_win_rate: the judge's self-preference")


class BiasOut(Schema):
    judge: str
    kind: str = Field(description="'configuration' or 'source'")
    family: str | None
    verdicts: int
    first_slot_win_rate: RateOut = Field(description="decisive verdicts won by the answer shown first")
    human_first_slot_win_rate: RateOut = Field(description="the same for the human votes on the judge's items")
    flip_rate: RateOut = Field(description="items seen in both orders whose winner changes with the order")
    prefer_longer: RateOut = Field(description="decisive verdicts won by the longer answer, lengths "
                                               "more than min_length_gap characters apart")
    human_prefer_longer: RateOut = Field(description="the same for the human votes on those items")
    self_preference: FamilyOut | None
    min_length_gap: int


class ErrorOut(Schema):
    detail: str


@router.get("/judges/{judge_id}/bias", response={200: BiasOut, 400: ErrorOut, 404: ErrorOut},
            summary="A judge configuration's position, length and family bias beside the humans'")
def config_bias(request: HttpRequest, judge_id: int, min_length_gap: int = DEFAULT_MIN_GAP):
    if not 0 < judge_id <= BIGINT_MAX:
        raise HttpError(404, f"no judge configuration {judge_id}")
    try:
        return bias.judge_bias(judge=get_object_or_404(JudgeConfig, pk=judge_id), min_gap=min_length_gap)
    except bias.BiasError as exc:
        raise HttpError(400, str(exc)) from None


@router.get("/bias", response={200: BiasOut, 400: ErrorOut},
            summary="An imported judge source's position, length and family bias beside the humans'")
def source_bias(request: HttpRequest, source: str, family: str = "", min_length_gap: int = DEFAULT_MIN_GAP):
    try:
        return bias.source_bias(source=source, family=family, min_gap=min_length_gap)
    except bias.BiasError as exc:
        raise HttpError(400, str(exc)) from None
