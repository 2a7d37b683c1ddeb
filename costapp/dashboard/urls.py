"""Dashboard routes: the overview, unit economics, the explain page, the pages of one team,
model or endpoint, the GPU fleet and the explorer."""

from django.urls import path

from . import chargeback, exports, hosted, pages, periods, views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("units/", views.unit_economics, name="units"),
    path("explain/", views.explain, name="explain"),
    path("periods/", periods.periods, name="periods"),
    path("teams/", pages.teams, name="teams"),
    # Team and model names are data, not slugs: any text, slashes too ("meta-llama/...").
    path("teams/<path:team>/", pages.team, name="team"),
    path("models/<path:name>/", pages.model, name="model"),
    path("endpoints/", pages.endpoint, name="endpoint"),
    path("fleet/", pages.fleet_page, name="fleet"),
    # Hosted models: logged tokens at list price against the bill (finance; hosted.py).
    path("hosted/", hosted.page, name="hosted"),
    path("hosted/reconciliation.csv", hosted.csv, name="hosted_csv"),
    path("explorer/", pages.explorer, name="explorer"),
    # Downloads (exports.py) and the closed month's chargeback (chargeback.py).
    path("exports/allocations.csv", exports.allocations_csv, name="export_allocations"),
    path(
        "exports/allocations.parquet",
        exports.allocations_parquet,
        name="export_allocations_parquet",
    ),
    path("exports/focus-allocation/<str:month>.csv", exports.focus_allocation, name="export_focus"),
    path("exports/<str:name>.csv", exports.table, name="export_table"),
    path("chargeback/<str:month>.csv", chargeback.csv, name="chargeback_csv"),
    path("chargeback/<str:month>/", chargeback.page, name="chargeback"),
]
