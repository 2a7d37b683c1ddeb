"""Cost rules for shared and non-GPU lines: preview how much cost each rule moves.

`preview_rules(start, end)` answers, before a rule is saved or reordered, which rule decides
each shared / non-GPU cost line in the window (the first enabled rule by priority whose tag
matches, as the engine applies them) and how much cost that moves; lines no rule matches are
reported as rule None, "unallocated". Lines count whole when their charge period overlaps the
window.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

_PREVIEW = """
SELECT m.rule_id, count(*) AS lines, coalesce(sum(c.effective_cost), 0) AS amortized_cost,
       coalesce(sum(c.billed_cost), 0) AS billed_cost
FROM ingest_costline c
LEFT JOIN ingest_gpuresource g ON g.resource_id = c.resource_id AND c.resource_id <> ''
LEFT JOIN LATERAL (
    SELECT r.id AS rule_id FROM attribution_costrule r
    WHERE r.enabled AND r.source = 'tag' AND c.tags ? r.tag_key
      AND (r.tag_value = '' OR c.tags ->> r.tag_key = r.tag_value)
    ORDER BY r.priority, r.id LIMIT 1
) m ON true
WHERE NOT (g.id IS NOT NULL AND c.charge_category = 'Usage')
  AND c.charge_period_start < %(end)s AND c.charge_period_end > %(start)s
GROUP BY m.rule_id
"""


def preview_rules(start: datetime, end: datetime) -> list[dict]:
    """Per rule (and None for unmatched): lines it decides and their amortized / billed cost."""
    from .models import CostRule, RuleSource

    with connection.cursor() as cursor:
        cursor.execute(_PREVIEW, {"start": start, "end": end})
        moved = {row[0]: row[1:] for row in cursor.fetchall()}
    result = []
    for rule in CostRule.objects.filter(enabled=True, source=RuleSource.TAG):
        lines, amortized, billed = moved.get(rule.id, (0, 0, 0))
        result.append(
            {"rule": rule, "lines": lines, "amortized_cost": amortized, "billed_cost": billed}
        )
    lines, amortized, billed = moved.get(None, (0, 0, 0))
    result.append(
        {"rule": None, "lines": lines, "amortized_cost": amortized, "billed_cost": billed}
    )
    return result
