"""The price tables and saved scenarios in the admin: prices are edited here when they change."""

from django.contrib import admin

from .models import GpuInstancePrice, HostedModelPrice, PriceOrigin, Scenario


@admin.register(GpuInstancePrice)
class GpuInstancePriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "instance_type", "gpu_type", "gpu_count", "region",
                    "hourly_price", "currency", "as_of", "origin")  # fmt: skip
    list_filter = ("provider", "gpu_type", "origin")
    search_fields = ("instance_type", "gpu_type")
    # What the Google catalog refresh would overwrite; changing one makes the row manual.
    PRICE_FIELDS = {"instance_type", "gpu_type", "gpu_count", "region", "hourly_price",
                    "currency", "source", "as_of"}  # fmt: skip

    def save_model(self, request, obj, form, change):
        """A row typed or corrected here is the user's: the catalog refresh leaves it alone,
        unless they set its origin back to catalog themselves."""
        if "origin" not in form.changed_data and (
            not change or self.PRICE_FIELDS & set(form.changed_data)
        ):
            obj.origin = PriceOrigin.MANUAL
        super().save_model(request, obj, form, change)


@admin.register(HostedModelPrice)
class HostedModelPriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "model", "input_per_1m", "output_per_1m", "currency", "as_of")
    list_filter = ("provider",)
    search_fields = ("model",)


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)
