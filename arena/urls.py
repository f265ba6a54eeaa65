from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from .api import api
from .views import agreement, dashboard, voting

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("vote/", voting.vote, name="vote"),
    path("vote/voted/<str:token>/", voting.voted, name="voted"),
    path("vote/filters/", voting.filters, name="vote_filters"),
    path("judges/", agreement.judges, name="judges"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
