"""manage.py evaluate_alerts: one evaluation of every budget and one delivery pass (what the
beat runs every 15 minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_all


class Command(BaseCommand):
    help = "Evaluate every budget once, then send the due alert messages."

    def handle(self, *args, **options) -> None:
        evaluations = evaluate_all()
        fired = sum(len(e.fired) for e in evaluations)
        sent = deliver_due()
        self.stdout.write(
            f"{len(evaluations)} budget(s) and rule(s) evaluated, {fired} alert(s) fired; "
            f"{len(sent.sent)} message(s) sent, {len(sent.retrying)} to retry, "
            f"{len(sent.dead)} dead"
        )
