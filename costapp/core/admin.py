from django.contrib import admin

from .models import Membership, OrgRole, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    inlines = [MembershipInline]


admin.site.register(OrgRole)
