from django.contrib import admin
from django.urls import path

from .api import api
from .views import dashboard, leaderboard, model_page, tournaments

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("leaderboard/", leaderboard.leaderboard_page, name="leaderboard"),
    path("models/<path:name>/", model_page.model_page, name="model"),
    path("tournaments/", tournaments.tournament_list, name="tournaments"),
    path("tournaments/new", tournaments.tournament_new, name="tournament-new"),
    path("tournaments/estimate", tournaments.tournament_estimate, name="tournament-estimate"),
    path("tournaments/<int:tournament_id>/", tournaments.tournament_detail, name="tournament"),
    path("tournaments/<int:tournament_id>/<slug:action>", tournaments.tournament_action, name="tournament-action"),
    path("matches/<int:match_id>/", tournaments.match_detail, name="match"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
