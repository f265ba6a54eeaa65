from django.contrib import admin
from django.urls import path

from .api import api
from .views import dashboard

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
