"""The hosted step of the engine: hosted-model lines split by the request logs' tokens.

A hosted-model line (Bedrock, Vertex AI, Azure OpenAI, OpenAI, Anthropic: a CostLine with a
`hosted_model`, costapp.ingest.hosted) pays for tokens, not for a GPU. It is spread over its
charge period's hours as every line is (steps.LINE_HOURS: money.split of the amount over the
hours, even; each hour's part depends on the line alone, so a window recomputed on its own —
a late request log's hour — gives the same parts a full run does). Then, per hour:

1. Model. The line's `hosted_model` and the request rollups' `model` are brought to one key by
   costapp.ingest.hosted.model_key ("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0" and
   "anthropic.claude-3-5-sonnet-20240620-v1:0" are both "claude-sonnet-3-5"). Python computes the
   key of each distinct name in the window once (a few hundred names, not the rows) into the
   temp table _hosted_keys; the matching is a join in SQL. Only rollups not on a GPU resource
   of the inventory count: a request our own GPUs served is explained by their cost.
2. Direction. The hour's lines of one (provider, key, currency) are summed per direction
   group and each group is split across the (team, model, endpoint) keys of the matching
   rollups of that hour, by the tokens the group bills:
     - "input" lines by input tokens;
     - "output" lines by output tokens;
     - "cache_read" / "cache_write" lines by input tokens: gateways count cached prompt tokens
       inside prompt_tokens (OpenAI, Anthropic via LiteLLM) and the rollups keep no cache-token
       column, so the input tokens are the closest measure of who caused them;
     - a line of unknown direction (provisioned throughput, a flat fee) by input + output.
   When every matching key has zero tokens of that kind, the group goes by requests (rule
   "requests"). The split is the exact largest remainder of costapp.attribution.splitsql at
   1E-10, for both bases (amortized = EffectiveCost, billed = BilledCost) independently.
3. Rows. The groups' parts are added up per (team, model, endpoint), so each key gets one
   "usage" row per hosted model and hour carrying its requests and tokens once (rule "tokens",
   or "requests" when every part went by requests; weight and weight_total are left NULL, since
   the row sums splits by different weights). A group no request explains — no matching
   rollup in the hour, or none with tokens or requests — is one "unallocated" row per hosted
   model and hour, named by the billed model id in `model`.

Rows of hosted lines: resource_id = "hosted:<provider>:<model key>", pool = "" (so they never
enter GPU idle, utilization or fleet figures, which read `pool <> ''` or the GPU inventory),
utilization NULL, gpu_hours 0. Invariant: per (hour, resource_id, currency), the rows sum to
the hosted lines of that provider and key spread onto that hour, exactly, on both bases.

Known limit of the even spread: a daily line's part of an hour with no logged request of that
model stays unallocated, though the day's other hours had requests; spreading by the day's
tokens instead would make one hour's parts depend on the others, which a windowed recompute
cannot honour.

A model billed by two providers (Claude on Bedrock and on Anthropic directly) is split over the
same requests for both bills: request logs rarely say which provider served them.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.backends.utils import CursorWrapper

from costapp.ingest.hosted import model_key

from .splitsql import largest_remainder

TABLES = ("_hosted_keys", "_hosted_parts", "_hosted_use", "_hosted_split", "_hosted_explained")
# The direction group a line's tokens are weighed by (see the module docstring).
_WEIGH = """CASE c.token_direction WHEN 'output' THEN 'output'
       WHEN 'input' THEN 'input' WHEN 'cache_read' THEN 'input' WHEN 'cache_write' THEN 'input'
       ELSE 'all' END"""

BILLED_NAMES = """
SELECT DISTINCT c.hosted_model FROM _lines l JOIN ingest_costline c ON c.id = l.line_id
WHERE l.hosted
"""

LOGGED_NAMES = """
SELECT DISTINCT u.model FROM ingest_usagerollup u
WHERE u.hour >= %(start)s AND u.hour < %(end)s
"""

KEYS = """
CREATE TEMP TABLE _hosted_keys ON COMMIT DROP AS
SELECT * FROM unnest(%(names)s::text[], %(keys)s::text[]) AS k(name, key)
"""

# The hosted lines' hourly parts, summed per hour, hosted model, currency and direction group.
PARTS = f"""
CREATE TEMP TABLE _hosted_parts ON COMMIT DROP AS
SELECT lh.hour,
       left('hosted:' || coalesce(nullif(c.hosted_provider, ''), lower(c.provider)) || ':'
            || k.key, 500) AS resource_id,
       k.key, lh.currency, {_WEIGH} AS weigh, min(c.hosted_model) AS hosted_model,
       CASE WHEN count(DISTINCT lh.pricing_category) <= 1
            THEN coalesce(min(lh.pricing_category), '') ELSE 'Mixed' END AS pricing_category,
       sum(lh.amortized) AS amount_a, sum(lh.billed) AS amount_b
FROM _line_hours lh
JOIN _lines l ON l.line_id = lh.line_id AND l.hosted
JOIN ingest_costline c ON c.id = lh.line_id
JOIN _hosted_keys k ON k.name = c.hosted_model
GROUP BY 1, 2, 3, 4, 5
"""

# The request rollups of the billed models in the hours they are billed, off the GPU inventory
# in force (the engine's _resources).
USE = """
CREATE TEMP TABLE _hosted_use ON COMMIT DROP AS
SELECT u.hour, k.key, u.team, u.model, u.endpoint, sum(u.requests) AS requests,
       sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens
FROM ingest_usagerollup u
JOIN _hosted_keys k ON k.name = u.model
WHERE u.hour >= %(start)s AND u.hour < %(end)s
  AND EXISTS (SELECT 1 FROM _hosted_parts p WHERE p.hour = u.hour AND p.key = k.key)
  AND NOT EXISTS (SELECT 1 FROM _resources g
                  WHERE u.resource_id <> '' AND g.resource_id = u.resource_id)
GROUP BY u.hour, k.key, u.team, u.model, u.endpoint
"""

_GROUP = "hour, resource_id, currency, weigh"

SPLIT = f"""
CREATE TEMP TABLE _hosted_split ON COMMIT DROP AS
WITH cand AS (
    SELECT p.hour, p.resource_id, p.currency, p.weigh, p.amount_a, p.amount_b,
           x.team, x.model, x.endpoint, x.requests, x.input_tokens, x.output_tokens,
           CASE p.weigh WHEN 'input' THEN x.input_tokens WHEN 'output' THEN x.output_tokens
                ELSE x.input_tokens + x.output_tokens END AS tokens
    FROM _hosted_parts p JOIN _hosted_use x ON x.hour = p.hour AND x.key = p.key
), totals AS (
    SELECT cand.*, sum(tokens) OVER g AS tokens_total, sum(requests) OVER g AS requests_total
    FROM cand WINDOW g AS (PARTITION BY {_GROUP})
), src AS (
    SELECT hour, resource_id, currency, weigh, amount_a, amount_b, team, model, endpoint,
           requests, input_tokens, output_tokens,
           CASE WHEN tokens_total > 0 THEN 'tokens' ELSE 'requests' END AS rule,
           CASE WHEN tokens_total > 0 THEN tokens ELSE requests END AS weight
    FROM totals WHERE tokens_total > 0 OR requests_total > 0
), {largest_remainder("src", _GROUP, "team, model, endpoint")}
SELECT hour, resource_id, currency, weigh, team, model, endpoint, requests, input_tokens,
       output_tokens, rule, part_a, part_b
FROM lr
"""

EXPLAINED = """
CREATE TEMP TABLE _hosted_explained ON COMMIT DROP AS
SELECT DISTINCT hour, resource_id, currency, weigh FROM _hosted_split
"""

_COLUMNS = """(hour, resource_id, pool, kind, team, model, endpoint, amortized_cost, billed_cost,
 currency, pricing_category, requests, input_tokens, output_tokens, gpu_hours, utilization,
 utilization_source, rule, weight, weight_total, cost_rule_id, computed_at, gpu_type,
 gpu_count)"""

LINES = f"""
INSERT INTO attribution_allocation {_COLUMNS}
WITH pricing AS (
    SELECT hour, resource_id, currency,
           CASE WHEN count(DISTINCT pricing_category) <= 1
                THEN coalesce(min(pricing_category), '') ELSE 'Mixed' END AS pricing_category
    FROM _hosted_parts GROUP BY hour, resource_id, currency
)
SELECT s.hour, s.resource_id, '', 'usage', s.team, s.model, s.endpoint, sum(s.part_a),
       sum(s.part_b), s.currency, p.pricing_category, max(s.requests), max(s.input_tokens),
       max(s.output_tokens), 0, NULL::numeric, '',
       CASE WHEN bool_and(s.rule = 'requests') THEN 'requests' ELSE 'tokens' END,
       NULL::numeric, NULL::numeric, NULL::bigint, now(), '', NULL::int
FROM _hosted_split s
JOIN pricing p ON p.hour = s.hour AND p.resource_id = s.resource_id AND p.currency = s.currency
GROUP BY s.hour, s.resource_id, s.currency, p.pricing_category, s.team, s.model, s.endpoint
UNION ALL
SELECT u.hour, u.resource_id, '', 'unallocated', '', min(u.hosted_model), '', sum(u.amount_a),
       sum(u.amount_b), u.currency, p.pricing_category, 0, 0, 0, 0, NULL::numeric, '', '',
       NULL::numeric, NULL::numeric, NULL::bigint, now(), '', NULL::int
FROM _hosted_parts u
JOIN pricing p ON p.hour = u.hour AND p.resource_id = u.resource_id AND p.currency = u.currency
LEFT JOIN _hosted_explained e ON e.hour = u.hour AND e.resource_id = u.resource_id
     AND e.currency = u.currency AND e.weigh = u.weigh
WHERE e.hour IS NULL
GROUP BY u.hour, u.resource_id, u.currency, p.pricing_category
"""


def allocate(cursor: CursorWrapper, params: dict) -> int:
    """Write the Allocation rows of the hosted lines of the engine's window (its temp tables
    _lines and _line_hours, steps.LINES / LINE_HOURS); returns how many rows it wrote."""
    for name in TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(BILLED_NAMES)
    billed = [row[0] for row in cursor.fetchall()]
    if not billed:
        return 0
    keys = {name: model_key(name) for name in billed}
    wanted = set(keys.values())
    cursor.execute(LOGGED_NAMES, params)
    for (name,) in cursor.fetchall():
        if name not in keys and (key := model_key(name)) in wanted:
            keys[name] = key
    cursor.execute(KEYS, {"names": list(keys), "keys": list(keys.values())})
    for statement, table in ((PARTS, "_hosted_parts"), (USE, "_hosted_use")):
        cursor.execute(statement, params)
        cursor.execute(f"ANALYZE {table}")
    cursor.execute(SPLIT, params)
    # The groups the split explained, a row each: what the unallocated rows are not (an
    # anti-join against the split itself, a row per key, would be planned as a nested loop).
    cursor.execute(EXPLAINED)
    cursor.execute("ANALYZE _hosted_explained")
    cursor.execute(LINES, params)
    return cursor.rowcount


PROVIDERS = """
SELECT model, string_agg(DISTINCT split_part(resource_id, ':', 2), ', ' ORDER BY
                         split_part(resource_id, ':', 2))
FROM attribution_allocation
WHERE kind = 'usage' AND resource_id LIKE 'hosted:%%' AND hour >= %(start)s AND hour < %(end)s
  AND (%(currency)s::text IS NULL OR currency = %(currency)s)
  AND (%(models)s::text[] IS NULL OR model = ANY(%(models)s))
  AND (%(teams)s::text[] IS NULL OR team = ANY(%(teams)s))
GROUP BY model
"""


def providers_by_model(
    start: datetime,
    end: datetime,
    currency: str | None = None,
    models: list[str] | None = None,
    teams: list[str] | None = None,
) -> dict[str, str]:
    """The model names (as the request logs spell them) with hosted use in [start, end) by
    `teams` (None: every team), each with its providers ("bedrock, openai"): the marker beside
    self-hosted models' unit costs. A lead passes their teams, so a provider only another team
    used is not named to them."""
    params = {"start": start, "end": end, "currency": currency, "models": models, "teams": teams}
    with connection.cursor() as cursor:
        cursor.execute(PROVIDERS, params)
        return dict(cursor.fetchall())
