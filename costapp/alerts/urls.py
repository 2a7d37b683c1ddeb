"""Budget and channel pages; the project's urls.py includes these under /budgets/."""

from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.budget_list, name="budgets"),
    path("new/", views.budget_create, name="budget-new"),
    path("<int:pk>/", views.budget_page, name="budget"),
    path("<int:pk>/edit/", views.budget_edit, name="budget-edit"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/snooze/", views.alert_snooze, name="alert-snooze"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/<int:pk>/target/", views.channel_target, name="channel-target"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel-test"),
]
