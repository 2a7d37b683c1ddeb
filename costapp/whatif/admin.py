"""The price tables and saved scenarios in the admin: prices are edited here when they change."""

from django.contrib import admin

from .models import GpuInstancePrice, HostedModelPrice, Scenario


@admin.register(GpuInstancePrice)
class GpuInstancePriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "instance_type", "gpu_type", "gpu_count", "region",
                    "hourly_price", "currency", "as_of")  # fmt: skip
    list_filter = ("provider", "gpu_type")
    search_fields = ("instance_type", "gpu_type")


@admin.register(HostedModelPrice)
class HostedModelPriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "model", "input_per_1m", "output_per_1m", "currency", "as_of")
    list_filter = ("provider",)
    search_fields = ("model",)


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)
