"""JSON API routes (push ingestion, explain, budgets and alerts) over the same services and
access rules; the schema and its docs page are at /api/schema/ and /api/docs/ (costapp/urls.py)."""

from django.urls import path

from . import budgets, costs, recommendations, views, whatif

app_name = "api"
urlpatterns = [
    path("usage", views.Usage.as_view(), name="usage"),
    path("explain", views.Explain.as_view(), name="explain"),
    path("channels", budgets.Channels.as_view(), name="channels"),
    path("budgets", budgets.Budgets.as_view(), name="budgets"),
    path("budgets/<int:pk>", budgets.BudgetDetail.as_view(), name="budget"),
    path("alerts", budgets.Alerts.as_view(), name="alerts"),
    path("alerts/<int:pk>", budgets.AlertDetail.as_view(), name="alert"),
    path("whatif", whatif.WhatIf.as_view(), name="whatif"),
    path("recommendations", recommendations.Recommendations.as_view(), name="recommendations"),
    path("costs", costs.Costs.as_view(), name="costs"),
    path("units", costs.Units.as_view(), name="units"),
    path("idle", costs.Idle.as_view(), name="idle"),
    path("allocations", costs.Allocations.as_view(), name="allocations"),
    path("teams", costs.Teams.as_view(), name="teams"),
    path("models", costs.Models.as_view(), name="models"),
    path("endpoints", costs.Endpoints.as_view(), name="endpoints"),
    path("pools", costs.Pools.as_view(), name="pools"),
]
