"""The judges page: each judge's agreement with the human votes, and its judge_eval runs."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import agreement, bias
from ..models import JudgeEvaluation


def judges(request: HttpRequest) -> HttpResponse:
    context = {
        "report": agreement.agreement_report(),
        "bias": bias.bias_report(),
        "evaluations": JudgeEvaluation.objects.select_related("judge_config")[:100],
    }
    return render(request, "judges.html", context)
