"""The judges page: each judge's agreement with the human votes, its judge_eval runs, and the speed
of the judge endpoints the workers talk to."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import agreement, bias, judge_endpoints
from ..models import JudgeEvaluation
from ..scopes import ADMIN, user_may


def judges(request: HttpRequest) -> HttpResponse:
    context = {
        "report": agreement.agreement_report(),
        "bias": bias.bias_report(),
        "evaluations": JudgeEvaluation.objects.select_related("judge_config")[:100],
        "endpoints": judge_endpoints.endpoint_rows(private=user_may(request.user, ADMIN)),
    }
    return render(request, "judges.html", context)
