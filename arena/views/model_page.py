"""A model's page: its ratings per source and category, head to head, style, and its matches."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .. import limits
from ..model_profiles import model_profile
from ..models import Competitor


def model_page(request: HttpRequest, name: str) -> HttpResponse:
    try:
        limits.check_text(name, name="model", max_chars=limits.column_chars(Competitor, "name"))
        profile = model_profile(name=name)
    except (ValueError, Competitor.DoesNotExist):
        raise Http404(f"no model named {name!r}") from None
    return render(request, "model.html", {"profile": profile})
