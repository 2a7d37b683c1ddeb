"""JSON API routes (push ingestion, explain) over the same services and access rules."""

app_name = "api"
urlpatterns: list = []
