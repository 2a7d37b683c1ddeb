from django.apps import AppConfig


class WhatifConfig(AppConfig):
    name = "costapp.whatif"
    label = "whatif"
    verbose_name = "What-if"
