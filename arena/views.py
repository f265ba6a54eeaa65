"""Pages. Function-based, one template per page with named partials for htmx."""

from django.shortcuts import render

from .models import Competitor, Prompt, Tournament


def home(request):
    context = {
        "tournaments": Tournament.objects.select_related("judge_config")[:20],
        "competitor_count": Competitor.objects.count(),
        "prompt_count": Prompt.objects.count(),
    }
    return render(request, "home.html", context)
