"""The SQL steps of one attribution run, in order; each is one set operation over a window.

Every statement takes %(start)s and %(end)s (the hour-aligned window) and works on temporary
tables that live until the run's transaction ends. See costapp.attribution.engine for the
method these steps implement.
"""

from __future__ import annotations

from .splitsql import largest_remainder, largest_remainder_grouped

# The cost rule versions in force over the window (the engine cuts windows at every version
# boundary, so one version per rule applies to all of it; the one in force at its first hour).
RULES = """
CREATE TEMP TABLE _rules ON COMMIT DROP AS
SELECT * FROM attribution_costrule
WHERE enabled AND (effective_from IS NULL OR effective_from <= %(start)s)
  AND (effective_to IS NULL OR effective_to > %(start)s)
"""

# The GPU inventory in force over the window, the same way: one version per resource_id (the
# exclusion constraint on ingest_gpuresource), and the mappings in force on a resource in force.
# The steps below read these in place of the inventory tables, so a recompute of past hours uses
# the inventory those hours had.
RESOURCES = """
CREATE TEMP TABLE _resources ON COMMIT DROP AS
SELECT * FROM ingest_gpuresource
WHERE resource_id <> '' AND (effective_from IS NULL OR effective_from <= %(start)s)
  AND (effective_to IS NULL OR effective_to > %(start)s)
"""

MAPPINGS = """
CREATE TEMP TABLE _mappings ON COMMIT DROP AS
SELECT m.* FROM ingest_gpumapping m
WHERE (m.effective_from IS NULL OR m.effective_from <= %(start)s)
  AND (m.effective_to IS NULL OR m.effective_to > %(start)s)
  AND EXISTS (SELECT 1 FROM _resources r WHERE r.resource_id = m.resource_id)
"""

HAS_LABEL_MAPPINGS = "SELECT EXISTS (SELECT 1 FROM _mappings WHERE match_on = 'label')"

HAS_LABEL_RULES = """
SELECT EXISTS (SELECT 1 FROM _rules WHERE source = 'telemetry_label' AND action = 'assign')
"""

# A line is spread evenly over the hours its charge period touches: money.split(amount, [1]*n),
# i.e. every hour gets floor(units / n) quanta and the first (units mod n) hours one more.
# Only the window's hours are generated: a line whose charge period spans centuries (stored
# before the entrance checks) costs the window's hours, not its n.
LINES = """
CREATE TEMP TABLE _lines ON COMMIT DROP AS
SELECT c.id AS line_id, c.resource_id, c.billing_currency AS currency, c.pricing_category,
       c.effective_cost AS amortized, c.billed_cost AS billed, c.tags,
       date_trunc('hour', c.charge_period_start) AS h0,
       greatest(1, ceil(extract(epoch FROM c.charge_period_end
                                - date_trunc('hour', c.charge_period_start)) / 3600))::int AS n,
       (g.id IS NOT NULL AND c.charge_category = 'Usage') AS on_gpu,
       -- a hosted-model line (costapp.attribution.hosted splits it by tokens, not a CostRule)
       (c.hosted_model <> '' AND NOT (g.id IS NOT NULL AND c.charge_category = 'Usage')) AS hosted
FROM ingest_costline c
LEFT JOIN _resources g ON g.resource_id = c.resource_id AND c.resource_id <> ''
WHERE c.charge_period_start < %(end)s AND c.charge_period_end >= %(start)s
"""

LINE_HOURS = """
CREATE TEMP TABLE _line_hours ON COMMIT DROP AS
SELECT l.line_id, l.resource_id, l.currency, l.pricing_category, l.on_gpu,
       l.h0 + i * interval '1 hour' AS hour,
       sign(l.amortized) * (div(abs(l.amortized) * 10000000000, l.n)
           + (i < mod(abs(l.amortized) * 10000000000, l.n))::int) * 0.0000000001 AS amortized,
       sign(l.billed) * (div(abs(l.billed) * 10000000000, l.n)
           + (i < mod(abs(l.billed) * 10000000000, l.n))::int) * 0.0000000001 AS billed
FROM _lines l CROSS JOIN LATERAL generate_series(
    greatest(0, floor(extract(epoch FROM %(start)s - l.h0) / 3600))::int,
    least(l.n - 1, ceil(extract(epoch FROM %(end)s - l.h0) / 3600))::int) AS i
WHERE l.h0 + i * interval '1 hour' >= %(start)s AND l.h0 + i * interval '1 hour' < %(end)s
"""

# The cost of each GPU resource-hour (Usage lines only) with its pool, GPU type and count.
RESOURCE_HOURS = """
CREATE TEMP TABLE _rh ON COMMIT DROP AS
SELECT lh.hour, lh.resource_id, lh.currency,
       sum(lh.amortized) AS amortized, sum(lh.billed) AS billed,
       CASE WHEN count(DISTINCT lh.pricing_category) <= 1 THEN coalesce(min(lh.pricing_category), '')
            ELSE 'Mixed' END AS pricing_category,
       greatest(g.gpu_count, 1) AS gpu_count, g.gpu_type,
       coalesce(p.name, concat_ws('/', coalesce(nullif(g.provider, ''), '-'),
                coalesce(nullif(g.region, ''), '-'), coalesce(nullif(g.gpu_type, ''), '-'))) AS pool
FROM _line_hours lh
JOIN _resources g ON g.resource_id = lh.resource_id
LEFT JOIN ingest_gpupool p ON p.id = g.pool_id
WHERE lh.on_gpu
GROUP BY lh.hour, lh.resource_id, lh.currency, g.gpu_count, p.name, g.provider, g.region,
         g.gpu_type
"""

# _mappings holds only mappings on a resource in force (see MAPPINGS).
_MAPPED = """(SELECT DISTINCT ON (m.value) m.value, m.resource_id
   FROM _mappings m
   WHERE m.match_on = '{kind}' ORDER BY m.value, m.priority, m.id)"""

_BY_LABEL = """(SELECT m.resource_id FROM _mappings m
   WHERE m.match_on = 'label' AND s.labels ->> m.label_key = m.value
   ORDER BY m.priority, m.id LIMIT 1)"""


def _sample_resource(with_labels: bool) -> tuple[str, str]:
    """The joins and the expression that tie a GpuSample `s` to its billed resource id."""
    label = _BY_LABEL if with_labels else "NULL"
    joins = f"""
    LEFT JOIN {_MAPPED.format(kind="uuid")} mu ON mu.value = s.gpu_uuid
    LEFT JOIN {_MAPPED.format(kind="hostname")} mh ON mh.value = s.hostname
    LEFT JOIN _resources hr ON hr.resource_id = s.hostname"""
    expression = (
        f"coalesce(nullif(s.resource_id, ''), mu.resource_id, mh.resource_id, {label},"
        " hr.resource_id)"
    )
    return joins, expression


def utilization(with_labels: bool) -> str:
    """Mean utilization per resource-hour over its GPUs.

    Samples reach a resource by their own resource_id, else a GpuMapping (uuid, hostname,
    label, in that order), else a hostname equal to a resource id. A unit (a whole GPU or a MIG
    slice) averages its samples; a MIG slice counts for its share of the GPU's 7 compute slices,
    read from DCGM's GPU_I_PROFILE label ("3g.40gb" = 3/7; 1/7 when unknown), so a GPU's
    utilization is the slice-weighted sum (slices that never report count as idle). The
    resource's utilization is the mean over its reporting GPUs.
    """
    joins, resource = _sample_resource(with_labels)
    return f"""
CREATE TEMP TABLE _util ON COMMIT DROP AS
WITH per_unit AS (
    SELECT date_trunc('hour', s.ts) AS hour, {resource} AS resource_id,
           s.gpu_uuid, s.mig_instance,
           avg(least(greatest(s.utilization, 0), 1)) AS u,
           max(CASE WHEN s.mig_instance = '' THEN 1
                    ELSE coalesce(substring(s.labels ->> 'GPU_I_PROFILE' FROM '^([0-9]+)g')::numeric,
                                  1) / 7 END) AS slice
    FROM ingest_gpusample s {joins}
    WHERE s.ts >= %(start)s AND s.ts < %(end)s AND s.utilization IS NOT NULL
    GROUP BY 1, 2, 3, 4
), per_gpu AS (
    SELECT hour, resource_id, gpu_uuid, least(1, sum(slice * u)) AS u
    FROM per_unit WHERE resource_id IS NOT NULL
    GROUP BY hour, resource_id, gpu_uuid
)
SELECT hour, resource_id, avg(u) AS u, count(*) AS gpus
FROM per_gpu
GROUP BY hour, resource_id
"""


USAGE = """
CREATE TEMP TABLE _use ON COMMIT DROP AS
SELECT u.hour, u.resource_id, u.team, u.model, u.endpoint,
       sum(u.requests) AS requests, sum(u.input_tokens) AS input_tokens,
       sum(u.output_tokens) AS output_tokens, sum(u.gpu_seconds) AS gpu_seconds,
       bool_and(u.gpu_seconds IS NOT NULL) AS all_gs
FROM ingest_usagerollup u
WHERE u.hour >= %(start)s AND u.hour < %(end)s
  AND EXISTS (SELECT 1 FROM _rh WHERE _rh.hour = u.hour AND _rh.resource_id = u.resource_id)
GROUP BY u.hour, u.resource_id, u.team, u.model, u.endpoint
"""

# Per resource-hour: utilization (telemetry, else inferred from GPU-seconds, else unknown), the
# rule for the busy split, and idle = cost x (1 - u) rounded to the quantum (busy = the rest).
FRAME = """
CREATE TEMP TABLE _frame ON COMMIT DROP AS
WITH load AS (
    SELECT hour, resource_id, bool_and(all_gs) AS all_gs, sum(gpu_seconds) AS gs,
           sum(input_tokens + %(w)s * output_tokens) AS tok, sum(requests) AS req
    FROM _use GROUP BY hour, resource_id
), f AS (
    SELECT rh.*,
           CASE WHEN ut.u IS NOT NULL THEN round(ut.u, 6)
                WHEN ld.gs > 0 THEN round(least(1, ld.gs / (3600 * rh.gpu_count)), 6) END AS u,
           CASE WHEN ut.u IS NOT NULL THEN 'telemetry'
                WHEN ld.gs > 0 THEN 'inferred' ELSE '' END AS u_source,
           CASE WHEN ld.all_gs AND ld.gs > 0 THEN 'gpu_seconds'
                WHEN ld.tok > 0 THEN 'tokens'
                WHEN ld.req > 0 THEN 'requests' ELSE '' END AS rule,
           ld.gs, ld.tok, ld.req
    FROM _rh rh
    LEFT JOIN _util ut ON ut.hour = rh.hour AND ut.resource_id = rh.resource_id
    LEFT JOIN load ld ON ld.hour = rh.hour AND ld.resource_id = rh.resource_id
)
SELECT f.*, i.idle_a, i.idle_b,
       -- What the busy split of each resource-hour needs once per resource-hour rather than
       -- per key (splitsql.largest_remainder_grouped): a group id, the weight total of its
       -- rule (the sum of USAGE_LINES' weights) and the busy amounts as quanta.
       row_number() OVER () AS gid,
       CASE f.rule WHEN 'gpu_seconds' THEN f.gs WHEN 'tokens' THEN f.tok ELSE f.req END
           AS weight_total,
       trunc(abs(f.amortized - i.idle_a) * 10000000000) AS units_a,
       sign(f.amortized - i.idle_a) AS sign_a,
       trunc(abs(f.billed - i.idle_b) * 10000000000) AS units_b,
       sign(f.billed - i.idle_b) AS sign_b
FROM f CROSS JOIN LATERAL (
    SELECT round(f.amortized * (1 - f.u), 10) AS idle_a, round(f.billed * (1 - f.u), 10) AS idle_b
) i
"""

_COLUMNS = """(hour, resource_id, pool, kind, team, model, endpoint, amortized_cost, billed_cost,
 currency, pricing_category, requests, input_tokens, output_tokens, gpu_hours, utilization,
 utilization_source, rule, weight, weight_total, cost_rule_id, computed_at, gpu_type, gpu_count)"""

# Idle, unmeasured and unallocated lines: at most one each per resource-hour.
FRAME_LINES = f"""
INSERT INTO attribution_allocation {_COLUMNS}
SELECT hour, resource_id, pool, 'idle', '', '', '', idle_a, idle_b, currency, pricing_category,
       0, 0, 0, gpu_count * (1 - u), u, u_source, '', NULL::numeric, NULL::numeric,
       NULL::bigint, now(), gpu_type, gpu_count
FROM _frame WHERE u IS NOT NULL
UNION ALL
SELECT hour, resource_id, pool, 'unmeasured', '', '', '', amortized, billed, currency,
       pricing_category, 0, 0, 0, gpu_count, NULL::numeric, '', '', NULL::numeric, NULL::numeric,
       NULL::bigint, now(), gpu_type, gpu_count
FROM _frame WHERE u IS NULL
UNION ALL
SELECT hour, resource_id, pool, 'unallocated', '', '', '', amortized - idle_a, billed - idle_b,
       currency, pricing_category, 0, 0, 0, gpu_count * u, u, u_source, '', NULL::numeric,
       NULL::numeric, NULL::bigint, now(), gpu_type, gpu_count
FROM _frame f WHERE u IS NOT NULL AND rule = '' AND NOT EXISTS (
    SELECT 1 FROM _winner w
    WHERE w.hour = f.hour AND w.resource_id = f.resource_id AND w.currency = f.currency)
"""

# The busy share of each measured resource-hour, split across its (team, model, endpoint) keys.
# The biggest split of a run (one row per key and resource-hour): it takes its totals and busy
# quanta from _frame (computed once per resource-hour) and groups by _frame's integer gid, and
# carries only what it needs through its sorts; the resource-hour's columns are joined back
# from _frame afterwards, which is cheaper than copying them through every window.
USAGE_LINES = f"""
INSERT INTO attribution_allocation {_COLUMNS}
WITH src AS (
    SELECT f.gid, f.hour, f.resource_id, f.currency, x.team, x.model, x.endpoint, x.requests,
           x.input_tokens, x.output_tokens,
           CASE f.rule WHEN 'gpu_seconds' THEN x.gpu_seconds
                       WHEN 'tokens' THEN x.input_tokens + %(w)s * x.output_tokens
                       ELSE x.requests END AS weight,
           f.weight_total, f.units_a, f.sign_a, f.units_b, f.sign_b
    FROM _frame f JOIN _use x ON x.hour = f.hour AND x.resource_id = f.resource_id
    WHERE f.u IS NOT NULL AND f.rule <> ''
), {largest_remainder_grouped("src", "gid", "team, model, endpoint")}
SELECT lr.hour, lr.resource_id, f.pool, 'usage', lr.team, lr.model, lr.endpoint, lr.part_a,
       lr.part_b, lr.currency, f.pricing_category, lr.requests, lr.input_tokens,
       lr.output_tokens, round(f.gpu_count * f.u * lr.weight / lr.weight_total, 10), f.u,
       f.u_source, f.rule, lr.weight, lr.weight_total, NULL::bigint, now(), f.gpu_type,
       f.gpu_count
FROM lr JOIN _frame f ON f.gid = lr.gid
"""

# Busy cost of a measured resource-hour with no request rows: before it is left unallocated,
# the enabled "assign" CostRules get a say. A tag rule matches the tags of the resource's cost
# lines in that hour (one share per matching line); a telemetry label rule matches the pod
# labels on its GPU samples, each (team, model, endpoint) weighted by the summed utilization
# of its samples, and the busy share of samples the rule does not match stays unallocated
# (team ''). _mapped holds every rule's candidates; _winner the first rule by priority that
# gives some team a positive weight.
TAG_CANDIDATES = """
CREATE TEMP TABLE _mapped ON COMMIT DROP AS
SELECT f.hour, f.resource_id, f.currency, r.priority, r.id AS rule_id,
       left('tag:' || r.tag_key, 100) AS rule,
       coalesce(nullif(r.team, ''), l.tags ->> r.tag_key, '') AS team, r.model, r.endpoint,
       1::numeric AS weight
FROM _frame f
JOIN _line_hours lh ON lh.hour = f.hour AND lh.resource_id = f.resource_id
     AND lh.currency = f.currency AND lh.on_gpu
JOIN _lines l ON l.line_id = lh.line_id
JOIN _rules r ON r.enabled AND r.source = 'tag' AND r.action = 'assign'
     AND l.tags ? r.tag_key AND (r.tag_value = '' OR l.tags ->> r.tag_key = r.tag_value)
WHERE f.u IS NOT NULL AND f.rule = ''
"""


def label_candidates(with_labels: bool) -> str:
    """Telemetry label rules' candidates, added to _mapped (only run when such rules exist)."""
    joins, resource = _sample_resource(with_labels)
    return f"""
INSERT INTO _mapped
WITH s AS (
    SELECT date_trunc('hour', s.ts) AS hour, {resource} AS resource_id, s.labels,
           least(greatest(s.utilization, 0), 1) AS u
    FROM ingest_gpusample s {joins}
    WHERE s.ts >= %(start)s AND s.ts < %(end)s AND s.utilization IS NOT NULL
), m AS (
    SELECT f.hour, f.resource_id, f.currency, r.priority, r.id AS rule_id,
           left('label:' || r.tag_key, 100) AS rule, s.u, r.team, r.model, r.endpoint,
           s.labels ->> r.tag_key AS value,
           s.labels ? r.tag_key AND (r.tag_value = '' OR s.labels ->> r.tag_key = r.tag_value)
               AS hit
    FROM _frame f
    JOIN s ON s.hour = f.hour AND s.resource_id = f.resource_id
    CROSS JOIN _rules r
    WHERE f.u IS NOT NULL AND f.rule = '' AND r.enabled AND r.source = 'telemetry_label'
      AND r.action = 'assign'
)
SELECT hour, resource_id, currency, priority, rule_id, rule,
       CASE WHEN hit THEN coalesce(nullif(team, ''), value, '') ELSE '' END,
       CASE WHEN hit THEN model ELSE '' END, CASE WHEN hit THEN endpoint ELSE '' END, sum(u)
FROM m
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""


WINNERS = """
CREATE TEMP TABLE _winner ON COMMIT DROP AS
SELECT DISTINCT ON (hour, resource_id, currency) hour, resource_id, currency, rule_id
FROM _mapped WHERE team <> '' AND weight > 0
ORDER BY hour, resource_id, currency, priority, rule_id
"""

MAPPED_LINES = f"""
INSERT INTO attribution_allocation {_COLUMNS}
WITH src AS (
    SELECT f.hour, f.resource_id, f.currency, f.pool, f.pricing_category, f.u, f.u_source,
           f.gpu_count, f.gpu_type, m.rule, m.rule_id, m.team, m.model, m.endpoint,
           sum(m.weight) AS weight,
           f.amortized - f.idle_a AS amount_a, f.billed - f.idle_b AS amount_b
    FROM _winner w
    JOIN _frame f ON f.hour = w.hour AND f.resource_id = w.resource_id AND f.currency = w.currency
    JOIN _mapped m ON m.hour = w.hour AND m.resource_id = w.resource_id
         AND m.currency = w.currency AND m.rule_id = w.rule_id
    GROUP BY f.hour, f.resource_id, f.currency, f.pool, f.pricing_category, f.u, f.u_source,
             f.gpu_count, f.gpu_type, f.amortized, f.idle_a, f.billed, f.idle_b, m.rule,
             m.rule_id, m.team, m.model, m.endpoint
    HAVING sum(m.weight) > 0
), {largest_remainder("src", "hour, resource_id, currency", "team, model, endpoint")}
SELECT hour, resource_id, pool, CASE WHEN team = '' THEN 'unallocated' ELSE 'usage' END, team,
       model, endpoint, part_a, part_b, currency, pricing_category, 0, 0, 0,
       round(gpu_count * u * weight / weight_total, 10), u, u_source,
       CASE WHEN team = '' THEN '' ELSE rule END, weight, weight_total,
       CASE WHEN team = '' THEN NULL ELSE rule_id END, now(), gpu_type, gpu_count
FROM lr
"""

# Shared and non-GPU lines: the first enabled CostRule (by priority) whose tag matches decides.
SHARED_MATCH = """
CREATE TEMP TABLE _shared ON COMMIT DROP AS
WITH matched AS (
    SELECT l.line_id, m.rule_id, m.action,
           CASE WHEN m.action = 'assign'
                THEN coalesce(nullif(m.team, ''), l.tags ->> m.tag_key, '') ELSE '' END AS team,
           coalesce(m.model, '') AS model, coalesce(m.endpoint, '') AS endpoint
    FROM _lines l
    LEFT JOIN LATERAL (
        SELECT r.id AS rule_id, r.action, r.team, r.model, r.endpoint, r.tag_key
        FROM _rules r
        WHERE r.enabled AND r.source = 'tag' AND l.tags ? r.tag_key
          AND (r.tag_value = '' OR l.tags ->> r.tag_key = r.tag_value)
        ORDER BY r.priority, r.id LIMIT 1
    ) m ON true
    WHERE NOT l.on_gpu AND NOT l.hosted
)
SELECT lh.hour, lh.resource_id, lh.currency, lh.pricing_category, m.rule_id,
       coalesce(m.action, '') AS action, m.team, m.model, m.endpoint,
       sum(lh.amortized) AS amount_a, sum(lh.billed) AS amount_b,
       coalesce(g.gpu_type, '') AS gpu_type,
       CASE WHEN g.id IS NOT NULL THEN greatest(g.gpu_count, 1) END AS gpu_count
FROM _line_hours lh JOIN matched m ON m.line_id = lh.line_id
LEFT JOIN _resources g ON g.resource_id = lh.resource_id
GROUP BY lh.hour, lh.resource_id, lh.currency, lh.pricing_category, m.rule_id, m.action,
         m.team, m.model, m.endpoint, g.id, g.gpu_type, g.gpu_count
"""

# Teams that used GPUs in each hour, and their GPU cost: the recipients of "even" / "gpu_cost".
RECIPIENTS = """
CREATE TEMP TABLE _recipients ON COMMIT DROP AS
SELECT hour, team, greatest(sum(amortized_cost), 0) AS gpu_cost
FROM attribution_allocation
WHERE kind = 'usage' AND team <> '' AND hour >= %(start)s AND hour < %(end)s
GROUP BY hour, team
"""

# Shared rows no rule places: no rule matched, an "assign" with no team, or an "even" /
# "gpu_cost" rule with no recipients that hour. Named so the rule preview
# (costapp.attribution.rules) reads the same condition the engine applies.
SHARED_UNPLACED = """(s.action = '' OR (s.action = 'assign' AND s.team = '')
   OR (s.action IN ('even', 'gpu_cost') AND NOT EXISTS (
        SELECT 1 FROM _recipients r WHERE r.hour = s.hour
          AND (s.action = 'even' OR r.gpu_cost > 0))))"""

SHARED_LINES = f"""
INSERT INTO attribution_allocation {_COLUMNS}
WITH src AS (
    SELECT s.hour, s.resource_id, s.currency, s.pricing_category, s.rule_id, s.action, r.team,
           CASE s.action WHEN 'even' THEN 1 ELSE r.gpu_cost END AS weight,
           s.amount_a, s.amount_b, s.gpu_type, s.gpu_count
    FROM _shared s JOIN _recipients r ON r.hour = s.hour
    WHERE s.action = 'even' OR (s.action = 'gpu_cost' AND r.gpu_cost > 0)
), {largest_remainder("src", "hour, resource_id, currency, pricing_category, rule_id", "team")}
SELECT hour, resource_id, '', 'shared', team, '', '', part_a, part_b, currency,
       pricing_category, 0, 0, 0, 0, NULL::numeric, '', action, weight, weight_total, rule_id,
       now(), gpu_type, gpu_count
FROM lr
UNION ALL
SELECT hour, resource_id, '', 'shared', team, model, endpoint, amount_a, amount_b, currency,
       pricing_category, 0, 0, 0, 0, NULL::numeric, '', 'tag:' || rule_id, NULL::numeric,
       NULL::numeric, rule_id, now(), gpu_type, gpu_count
FROM _shared WHERE action = 'assign' AND team <> ''
UNION ALL
SELECT s.hour, s.resource_id, '', 'unallocated', '', '', '', s.amount_a, s.amount_b, s.currency,
       s.pricing_category, 0, 0, 0, 0, NULL::numeric, '', '', NULL::numeric, NULL::numeric,
       NULL::bigint, now(), s.gpu_type, s.gpu_count
FROM _shared s
WHERE {SHARED_UNPLACED}
"""
