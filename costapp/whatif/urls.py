"""The what-if simulator page; the project's urls.py includes these under /whatif/."""

from django.urls import path

from . import views

app_name = "whatif"
urlpatterns = [
    path("", views.simulator, name="simulator"),
    path("scenarios/", views.save_scenario, name="save"),
    path("recommendations/", views.recommendation_list, name="recommendations"),
    path("recommendations/<int:pk>/dismiss", views.dismiss_recommendation, name="dismiss"),
]
