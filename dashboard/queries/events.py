"""Events: the overview's ranking, sheet, trend and map, and the events page's breakdowns."""

from __future__ import annotations

import os

import pandas as pd

from dashboard.queries.common import (
    _EVENTS_CHOSEN,
    _EVENTS_IN,
    _OVERDUE_AT_END,
    CHAIN_LEVELS,
    DateLike,
    Period,
    _child_length,
    _chosen_params,
    _end_exclusive,
    _event_params,
    map_resolution,
)
from dashboard.queries.connections import _fetch_df, _fetch_one
from dashboard.queries.gate import regional


@regional("code")
def ranking(db: str | os.PathLike, code: str, start: DateLike, end: DateLike) -> pd.DataFrame:
    """The children of a region with their event rates in the period (擂台比武)."""
    period = Period.of(start, end)
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code))
    if child_length is None:
        return pd.DataFrame(
            columns=["code", "name", "total", "resolution_rate", "grassroots_rate", "satisfaction_rate"]
        )
    params = _event_params(code, period) | {"parent": code, "child_length": child_length}
    return _fetch_df(
        db,
        f"""
        with measures as (
            select
                substr(grid_code, 1, $child_length) as code,
                count(*) as total,
                count(*) filter (where status = 'resolved') as resolved,
                count(*) filter (where resolved_on_time) as resolved_on_time,
                count(*) filter (where category = 'dispute') as disputes,
                count(*) filter (where category = 'dispute' and status = 'resolved' and resolved_grassroots)
                    as disputes_grassroots,
                count(*) filter (where satisfaction is not null) as rated,
                count(*) filter (where satisfied) as satisfied
            {_EVENTS_IN}
            group by 1
        )
        select
            regions.code,
            regions.name,
            coalesce(measures.total, 0) as total,
            measures.resolved / nullif(measures.total, 0) as resolution_rate,
            measures.resolved_on_time / nullif(measures.resolved, 0) as on_time_rate,
            measures.disputes_grassroots / nullif(measures.disputes, 0) as grassroots_rate,
            measures.satisfied / nullif(measures.rated, 0) as satisfaction_rate
        from regions
        left join measures using (code)
        where regions.parent_code = $parent
        order by regions.code
        """,
        params,
    )


@regional("code")
def event_sheet(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    limit: int = 12,
) -> pd.DataFrame:
    """The newest open events of the period, overdue ones first, with their place and age."""
    period = Period.of(start, end)
    params = _event_params(code, period) | {"limit": int(limit)}
    return _fetch_df(
        db,
        f"""
        with reference as (
            -- ages are measured at the end of the period, or at the newest event if the data stops earlier
            select least($end::date + interval 1 day, (select max(reported_at) from events)) as at
        ),
        open_events as (
            select event_id, grid_code, community_code, township_code, category, status, reported_at, due_at,
                description
            {_EVENTS_IN}
              and is_open
        )
        select
            open_events.event_id,
            open_events.reported_at,
            coalesce(township.name, '') || ' ' || coalesce(community.name, '') as place,
            open_events.category,
            open_events.status,
            epoch(reference.at - open_events.reported_at) / 3600.0 as age_hours,
            open_events.due_at < reference.at as overdue,
            open_events.description
        from open_events
        cross join reference
        left join regions as community on community.code = open_events.community_code
        left join regions as township on township.code = open_events.township_code
        order by overdue desc, open_events.reported_at desc
        limit $limit
        """,
        params,
    )


@regional("code")
def event_trend(db: str | os.PathLike, code: str, start: DateLike, end: DateLike) -> pd.DataFrame:
    """Events and resolution rate by month of report; months without events are there with zero."""
    period = Period.of(start, end)
    frame = _fetch_df(
        db,
        f"""
        with months as (
            select unnest(generate_series(date_trunc('month', $start::date), $end::date, interval 1 month))::date
                as month
        ),
        counted as (
            select
                date_trunc('month', reported_date)::date as month,
                count(*) as total,
                count(*) filter (where status = 'resolved') as resolved
            {_EVENTS_IN}
            group by 1
        )
        select
            months.month,
            coalesce(counted.total, 0) as total,
            coalesce(counted.resolved, 0) as resolved,
            counted.resolved / nullif(counted.total, 0) as resolution_rate
        from months
        left join counted using (month)
        order by 1
        """,
        _event_params(code, period),
    )
    return frame if frame["total"].sum() > 0 else frame.iloc[0:0]


@regional("code")
def map_cells(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Every H3 cell holding grids of the region, with each map metric (events, rates, density, overdue)."""
    period = Period.of(start, end)
    resolution = map_resolution(code)
    column = f"h3_r{resolution}"
    params = _chosen_params(code, period.start, period.end, category, source) | {
        "end_exclusive": _end_exclusive(period.end)
    }
    frame = _fetch_df(
        db,
        f"""
        with grids as (
            select code, {column} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),
        people as (
            select region_code as code, residents from population_by_region
            where level = 'grid' and region_code >= $lo and region_code < $hi
        ),
        happened as (
            select
                grid_code as code,
                count(*) as events,
                count(*) filter (where status = 'resolved') as resolved
            {_EVENTS_CHOSEN}
            group by 1
        ),
        backlog as (
            select grid_code as code, count(*) as overdue
            {_OVERDUE_AT_END}
            group by 1
        )
        select
            grids.cell,
            count(*) as grids,
            coalesce(sum(people.residents), 0) as residents,
            coalesce(sum(happened.events), 0) as events,
            coalesce(sum(happened.resolved), 0) as resolved,
            coalesce(sum(backlog.overdue), 0) as overdue
        from grids
        left join people using (code)
        left join happened using (code)
        left join backlog using (code)
        group by grids.cell
        order by grids.cell
        """,
        params,
    )
    if frame.empty:
        return frame.assign(resolution_rate=pd.Series(dtype=float), density=pd.Series(dtype=float))
    import h3

    area = h3.average_hexagon_area(resolution, unit="km^2")
    frame["density"] = frame["residents"] / area
    frame["resolution_rate"] = (frame["resolved"] / frame["events"].where(frame["events"] > 0)).astype(float)
    return frame


@regional("code")
def child_map_measures(db: str | os.PathLike, code: str, start: DateLike, end: DateLike) -> pd.DataFrame:
    """Each child region with the map's event metrics of the period (events, resolved, resolution
    rate, the overdue backlog at its end): what the map colours the children's outlines by."""
    period = Period.of(start, end)
    params = _chosen_params(code, period.start, period.end, None, None) | {
        "end_exclusive": _end_exclusive(period.end),
        "parent": str(code),
        "child_length": _child_length(str(code)),
    }
    frame = _fetch_df(
        db,
        f"""
        with happened as (
            select
                substr(grid_code, 1, $child_length) as code,
                count(*) as events,
                count(*) filter (where status = 'resolved') as resolved
            {_EVENTS_CHOSEN}
            group by 1
        ),

        backlog as (
            select substr(grid_code, 1, $child_length) as code, count(*) as overdue
            {_OVERDUE_AT_END}
            group by 1
        )

        select
            regions.code,
            regions.name,
            coalesce(happened.events, 0) as events,
            coalesce(happened.resolved, 0) as resolved,
            happened.resolved / nullif(happened.events, 0) as resolution_rate,
            coalesce(backlog.overdue, 0) as overdue
        from regions
        left join happened using (code)
        left join backlog using (code)
        where regions.parent_code = $parent
        order by regions.code
        """,
        params,
    )
    frame["resolution_rate"] = frame["resolution_rate"].astype(float)
    return frame


@regional("code")
def events_monthly(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Events of the period by month of report, category, source and status."""
    code = str(code)
    return _fetch_df(
        db,
        f"""
        select
            date_trunc('month', reported_date)::date as month,
            category,
            source,
            status,
            count(*) as events
        {_EVENTS_CHOSEN}
        group by all
        order by all
        """,
        _chosen_params(code, start, end, category, source),
    )


FUNNEL_STAGES = ("reported", "accepted", "resolved")


@regional("code")
def events_funnel(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """How many events of the period were reported, accepted and resolved."""
    code = str(code)
    row = _fetch_one(
        db,
        f"""
        select
            count(*) as reported,
            count(*) filter (where accepted_at is not null or status in ('in_progress', 'resolved'))
                as accepted,
            count(*) filter (where status = 'resolved') as resolved
        {_EVENTS_CHOSEN}
        """,
        _chosen_params(code, start, end, category, source),
    )
    frame = pd.DataFrame({"stage": list(FUNNEL_STAGES), "events": [int(row[s] or 0) for s in FUNNEL_STAGES]})
    first = frame["events"].iloc[0]
    frame["share"] = frame["events"] / first if first else float("nan")
    return frame


_RATE_MEASURES = """
        count(*) as total,
        count(*) filter (where status = 'resolved') as resolved,
        count(*) filter (where status = 'resolved') / count(*) as resolution_rate,
        count(*) filter (where resolved_on_time) / nullif(count(*) filter (where status = 'resolved'), 0)
            as on_time_rate,
        count(*) filter (where satisfied) / nullif(count(*) filter (where satisfaction is not null), 0)
            as satisfaction_rate,
        median(hours_to_resolve) as median_hours,
        quantile_cont(hours_to_resolve, 0.9) as p90_hours
"""


@regional("code")
def event_rates_by_child(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Each child region's events of the period with resolution, on-time, grassroots, satisfaction rates."""
    code = str(code)
    params = _chosen_params(code, start, end, category, source) | {
        "parent": code,
        "child_length": _child_length(code),
    }
    return _fetch_df(
        db,
        f"""
        with measures as (
            select
                substr(grid_code, 1, $child_length) as code,
                {_RATE_MEASURES},
                count(*) filter (where category = 'dispute' and status = 'resolved' and resolved_grassroots)
                    / nullif(count(*) filter (where category = 'dispute'), 0) as grassroots_rate
            {_EVENTS_CHOSEN}
            group by 1
        )

        select
            regions.code,
            regions.name,
            coalesce(measures.total, 0) as total,
            coalesce(measures.resolved, 0) as resolved,
            measures.resolution_rate,
            measures.on_time_rate,
            measures.grassroots_rate,
            measures.satisfaction_rate,
            measures.median_hours,
            measures.p90_hours
        from regions
        left join measures using (code)
        where regions.parent_code = $parent
        order by regions.code
        """,
        params,
    )


@regional("code")
def event_rates_by_category(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    source: str | None = None,
) -> pd.DataFrame:
    """Each category's events of the period with its rates and the median and 90th-percentile hours to
    resolve. The grassroots rate of a category: resolved at grid, community or township over all its events
    (for disputes the KPI's definition)."""
    code = str(code)
    return _fetch_df(
        db,
        f"""
        select
            category,
            {_RATE_MEASURES},
            count(*) filter (where status = 'resolved' and resolved_grassroots) / count(*) as grassroots_rate
        {_EVENTS_CHOSEN}
        group by category
        order by total desc, category
        """,
        _chosen_params(code, start, end, None, source),
    )


@regional("code")
def resolution_chain(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = "dispute",
    source: str | None = None,
) -> pd.DataFrame:
    """Where the period's events (disputes by default) were resolved along 网格 → 村社区 → 街镇 → 区县,
    with open ones last; shares are of all of them, cumulative along the chain."""
    code = str(code)
    frame = _fetch_df(
        db,
        f"""
        select
            case when status = 'resolved' then coalesce(resolution_level, 'unknown') else 'open' end as level,
            count(*) as events
        {_EVENTS_CHOSEN}
        group by 1
        """,
        _chosen_params(code, start, end, category or "dispute", source),
    )
    order = [*CHAIN_LEVELS, "unknown", "open"]
    counts = dict(zip(frame["level"], frame["events"].astype(int), strict=True))
    chain = pd.DataFrame({"level": order, "events": [counts.get(level, 0) for level in order]})
    chain = chain[(chain["events"] > 0) | chain["level"].isin(CHAIN_LEVELS)].reset_index(drop=True)
    total = chain["events"].sum()
    chain["share"] = chain["events"] / total if total else float("nan")
    resolved_part = chain["level"].isin(CHAIN_LEVELS)
    chain["cumulative_share"] = chain["share"].where(resolved_part).cumsum().where(resolved_part)
    return chain


SATISFACTION_ORDER = ("satisfied", "basically_satisfied", "dissatisfied", "unrated")


@regional("code")
def satisfaction_mix(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """The period's events by satisfaction (unrated last), with each one's share of the rated."""
    code = str(code)
    frame = _fetch_df(
        db,
        f"""
        select coalesce(satisfaction, 'unrated') as satisfaction, count(*) as events
        {_EVENTS_CHOSEN}
        group by 1
        """,
        _chosen_params(code, start, end, category, source),
    )
    counts = dict(zip(frame["satisfaction"], frame["events"].astype(int), strict=True))
    mix = pd.DataFrame(
        {"satisfaction": list(SATISFACTION_ORDER), "events": [counts.get(s, 0) for s in SATISFACTION_ORDER]}
    )
    rated = mix.loc[mix["satisfaction"] != "unrated", "events"].sum()
    mix["share_of_rated"] = (mix["events"] / rated if rated else mix["events"] * float("nan")).where(
        mix["satisfaction"] != "unrated"
    )
    return mix


@regional("code")
def overdue_events(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The overdue backlog at the end of the period (the KPI overdue_open: reported by its end, whenever,
    and unresolved then), most overdue first, with their place, age and hours overdue; `total` repeats
    how many there are in all."""
    code = str(code)
    # the backlog has no start: what was reported before the period counts as well
    params = {
        name: value
        for name, value in _chosen_params(code, start, end, category, source).items()
        if name != "start"
    } | {"limit": int(limit), "end_exclusive": _end_exclusive(end)}
    return _fetch_df(
        db,
        f"""
        with overdue as (
            select event_id, grid_code, community_code, township_code, category, source, status, reported_at,
                due_at, description
            {_OVERDUE_AT_END}
        )

        select
            overdue.event_id,
            concat_ws(' ', township.name, community.name, grid.name) as place,
            overdue.category,
            overdue.source,
            overdue.status,
            overdue.reported_at,
            overdue.due_at,
            epoch($end_exclusive - overdue.reported_at) / 3600.0 as age_hours,
            epoch($end_exclusive - overdue.due_at) / 3600.0 as overdue_hours,
            overdue.description,
            count(*) over () as total
        from overdue
        left join regions as grid on grid.code = overdue.grid_code
        left join regions as community on community.code = overdue.community_code
        left join regions as township on township.code = overdue.township_code
        order by overdue.due_at, overdue.event_id
        limit $limit
        """,
        params,
    )
