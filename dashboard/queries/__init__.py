"""The query layer: the only reader of the database. Pages ask through the gate, never in SQL.

    gate.py         every page question passes here: scope and suppression of small numbers
    connections.py  the read-only connection to the published file; QueryError
    common.py       periods, region code ranges and levels, shared event filters
    regions.py      a region, its children and ancestors, names, positions, outlines, build facts
    kpi.py          the KPI object of SPEC section 6
    population.py   special care, age pyramid, residence types, children's shares, density cells
    housing.py      housing units by type, usage and age; rental and vacancy
    events.py       rankings, the event sheet, trends, maps and the events page's breakdowns
    economy.py      village collective economy
    iot.py          IoT devices and their alarms (物联感知)

Pages call `dashboard.data.ask(principal, "<query>", db, ...)`; only operator commands (the `kpi` and
`report` commands, the benchmarks) call the functions below directly, unscoped.
"""

from dashboard.queries import economy, events, housing, iot, kpi, population, regions
from dashboard.queries.common import (
    AGE_BAND_YEARS,
    CHAIN_LEVELS,
    COMPARE_MODES,
    MAP_METRICS,
    OLDEST_AGE_BAND,
    SMALL_UNIT_LEVELS,
    SNAPSHOT_FIGURES,
    SUPPRESSED_TEXT,
    DateLike,
    Period,
    is_snapshot,
    map_resolution,
    region_range,
    twelve_months_ending,
)
from dashboard.queries.connections import (
    QueryError,
    _fetch_df,
    _fetch_one,
    cursor,
    pin,
    publication,
    read_publication,
)
from dashboard.queries.economy import economy_by_child, economy_entities, economy_villages, economy_years
from dashboard.queries.events import (
    FUNNEL_STAGES,
    SATISFACTION_ORDER,
    child_map_measures,
    event_rates_by_category,
    event_rates_by_child,
    event_sheet,
    event_trend,
    events_funnel,
    events_monthly,
    map_cells,
    overdue_events,
    ranking,
    resolution_chain,
    satisfaction_mix,
)
from dashboard.queries.gate import OPERATOR, WITHHELD_TEXT, Gate, OutOfScope, suppress_table
from dashboard.queries.gate import primary_suppressed as _suppressed
from dashboard.queries.housing import housing_age, housing_by_child, housing_cells, housing_mix
from dashboard.queries.iot import (
    DAILY_UP_TO_DAYS,
    alarm_points,
    alarms_by_hour,
    alarms_by_type,
    alarms_over_time,
    device_mix,
    device_points,
    iot_by_child,
    noisy_devices,
    open_alarms,
)
from dashboard.queries.kpi import KPI_SQL, kpis, kpis_with_previous
from dashboard.queries.population import (
    age_pyramid,
    population_by_child,
    population_cells,
    population_composition,
    special_care,
    special_care_by_child,
)
from dashboard.queries.regions import (
    ancestors,
    boundaries,
    build_info,
    cell_children,
    child_outlines,
    child_positions,
    children,
    default_period,
    grid_cells,
    region,
    region_names,
)

__all__ = [
    "AGE_BAND_YEARS",
    "CHAIN_LEVELS",
    "COMPARE_MODES",
    "DAILY_UP_TO_DAYS",
    "FUNNEL_STAGES",
    "KPI_SQL",
    "MAP_METRICS",
    "OLDEST_AGE_BAND",
    "OPERATOR",
    "SATISFACTION_ORDER",
    "SNAPSHOT_FIGURES",
    "SMALL_UNIT_LEVELS",
    "SUPPRESSED_TEXT",
    "WITHHELD_TEXT",
    "DateLike",
    "Gate",
    "OutOfScope",
    "Period",
    "QueryError",
    "_fetch_df",
    "_fetch_one",
    "_suppressed",
    "age_pyramid",
    "alarm_points",
    "alarms_by_hour",
    "alarms_by_type",
    "alarms_over_time",
    "ancestors",
    "boundaries",
    "build_info",
    "cell_children",
    "child_map_measures",
    "child_outlines",
    "child_positions",
    "children",
    "cursor",
    "default_period",
    "device_mix",
    "device_points",
    "economy",
    "economy_by_child",
    "economy_entities",
    "economy_villages",
    "economy_years",
    "event_rates_by_category",
    "event_rates_by_child",
    "event_sheet",
    "event_trend",
    "events",
    "events_funnel",
    "events_monthly",
    "grid_cells",
    "housing",
    "housing_age",
    "housing_by_child",
    "housing_cells",
    "housing_mix",
    "is_snapshot",
    "iot",
    "iot_by_child",
    "kpi",
    "kpis",
    "kpis_with_previous",
    "map_cells",
    "map_resolution",
    "noisy_devices",
    "open_alarms",
    "overdue_events",
    "population",
    "population_by_child",
    "population_cells",
    "population_composition",
    "pin",
    "publication",
    "read_publication",
    "ranking",
    "region",
    "region_names",
    "region_range",
    "regions",
    "resolution_chain",
    "satisfaction_mix",
    "special_care",
    "special_care_by_child",
    "suppress_table",
    "twelve_months_ending",
]
