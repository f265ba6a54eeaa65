import re

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from .api import api
from .views import agreement, dashboard, leaderboard, model_page, tournaments, voting


class NameConverter:
    """Any stored name as one URL path part, so that a link to a model's page cannot fail to build.

    ``path`` stops at a line break (``NoReverseMatch`` for a name with one); this matches every
    character, and Django's ``reverse`` percent-encodes what it must (``?``, ``#``, ``%``, line breaks;
    ``/`` stays, and the resolver takes it back). Browsers drop path segments named ``.`` or ``..``,
    so such a segment (and one that already looks like an escaped one) gets one extra ``~``.
    """

    regex = r"[\s\S]+"
    _DOTS = re.compile(r"~*\.\.?")
    _ESCAPED = re.compile(r"~+\.\.?")

    def to_python(self, value: str) -> str:
        return "/".join(part[1:] if self._ESCAPED.fullmatch(part) else part for part in value.split("/"))

    def to_url(self, value: str) -> str:
        return "/".join("~" + part if self._DOTS.fullmatch(part) else part for part in value.split("/"))


register_converter(NameConverter, "name")

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("leaderboard/", leaderboard.leaderboard_page, name="leaderboard"),
    path("models/<name:name>/", model_page.model_page, name="model"),
    path("tournaments/", tournaments.tournament_list, name="tournaments"),
    path("tournaments/new", tournaments.tournament_new, name="tournament-new"),
    path("tournaments/estimate", tournaments.tournament_estimate, name="tournament-estimate"),
    path("tournaments/<int:tournament_id>/", tournaments.tournament_detail, name="tournament"),
    path("tournaments/<int:tournament_id>/<slug:action>", tournaments.tournament_action, name="tournament-action"),
    path("matches/<int:match_id>/", tournaments.match_detail, name="match"),
    path("vote/", voting.vote, name="vote"),
    path("vote/voted/<str:token>/", voting.voted, name="voted"),
    path("vote/filters/", voting.filters, name="vote_filters"),
    path("judges/", agreement.judges, name="judges"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
