from django.contrib import admin
from django.urls import path

from .api import api
from .views import dashboard, leaderboard, model_page

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("leaderboard/", leaderboard.leaderboard_page, name="leaderboard"),
    path("models/<path:name>/", model_page.model_page, name="model"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
