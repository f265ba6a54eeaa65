"""Judge-human agreement."""

from django.http import HttpRequest
from ninja import Router, Schema

from .. import agreement

router = Router(tags=["judges"])


class JudgeAgreement(Schema):
    judge: str
    kind: str
    items: int
    agreement: float | None
    agreement_no_ties: float | None
    cohen_kappa: float | None
    position_consistency: float | None
    spearman: float | None
    kendall: float | None


class MemberPair(Schema):
    first: str
    second: str
    agreement: float
    matches: int


class PanelAgreement(Schema):
    panel: str
    pairs: list[MemberPair]


class AgreementReport(Schema):
    human_items: int
    human_votes: int
    human_human_agreement: float | None
    judges: list[JudgeAgreement]
    panels: list[PanelAgreement] = []


@router.get("/agreement", response=AgreementReport, summary="How well each judge agrees with the human votes")
def judge_agreement(request: HttpRequest):
    return agreement.agreement_report()
