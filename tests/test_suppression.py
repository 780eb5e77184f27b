"""Small numbers (SPEC section 7): counts of people below 5 in communities and grids are hidden, and so
many more that no hidden count follows from the shown figures by one subtraction: a total minus the
rest of its row, of its column, or a parent's figure minus its other children."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inputs import G1, G2, G3, KPI_TABLES, build_folder, resident, write_folder

from dashboard import queries, report
from dashboard.queries import OPERATOR, SUPPRESSED_TEXT, WITHHELD_TEXT, Gate, suppress_table
from dashboard.queries import gate as gate_module

BELOW = 5


def determined(hidden: list[bool]) -> bool:
    """One relation (a total and its parts): exactly one hidden figure is the others' difference."""
    return sum(hidden) == 1


@st.composite
def tables(draw):
    rows, columns = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    cells = st.integers(0, 40) | st.integers(0, 6)  # many small counts, some large
    values = draw(st.lists(st.lists(cells, min_size=columns, max_size=columns), min_size=rows, max_size=rows))
    small = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    return pd.DataFrame(values), small, draw(st.booleans()), draw(st.booleans()), draw(st.booleans())


@settings(max_examples=400, deadline=None, database=None)
@given(tables())
def test_no_hidden_count_follows_from_one_subtraction(table):
    counts, small, row_totals, column_totals, small_totals = table
    shown = suppress_table(
        counts, small, row_totals=row_totals, column_totals=column_totals, small_totals=small_totals
    )
    hidden = shown.cells.to_numpy()
    values = counts.to_numpy()
    # every count below 5 of a small unit is hidden, and marked as such
    for r in range(len(values)):
        for c in range(values.shape[1]):
            assert not (small[r] and values[r, c] < BELOW) or (hidden[r, c] and shown.primary.iat[r, c])
    # the attack: each shown total minus the shown rest of its row or column
    if row_totals:
        for r in range(len(values)):
            assert not determined([shown.row_totals.iat[r], *hidden[r, :]]), (r, counts, hidden)
    if column_totals:  # the parent's figure minus its other children
        for c in range(values.shape[1]):
            assert not determined([shown.column_totals.iat[c], *hidden[:, c]]), (c, counts, hidden)
    # totals are shown elsewhere: hidden only when themselves small
    assert not (shown.row_totals & ~(counts.sum(axis=1) < BELOW)).any()
    assert not (shown.column_totals & ~(counts.sum(axis=0) < BELOW)).any()


def test_the_smallest_remaining_cell_is_withheld():
    counts = pd.DataFrame({"tag": [3, 10, 7, 8]})
    shown = suppress_table(counts, True, column_totals=True)
    assert shown.cells["tag"].tolist() == [True, False, True, False]
    assert shown.primary["tag"].tolist() == [True, False, False, False]


def test_a_township_is_not_a_small_unit_and_nothing_is_hidden():
    counts = pd.DataFrame({"a": [1, 2, 30], "b": [0, 40, 50]})
    shown = suppress_table(counts, False, row_totals=True, column_totals=True)
    assert not shown.cells.to_numpy().any()


def test_withholding_goes_on_until_nothing_follows():
    """Hiding to protect one column may leave a row with one hidden cell: that row is protected too."""
    counts = pd.DataFrame({"a": [2, 9, 20], "b": [30, 6, 40], "c": [50, 60, 8]})
    shown = suppress_table(counts, True, row_totals=True, column_totals=True)
    hidden = shown.cells.to_numpy()
    assert all(hidden[r].sum() != 1 for r in range(3))
    assert all(hidden[:, c].sum() != 1 for c in range(3))


# ------------------------------------------------------------------------- the real pages' tables


def communities(db, count: int = 16) -> list[str]:
    """The communities with most residents: there some counts are shown and some hidden, which is where
    one subtraction could give a hidden one back (in a tiny community everything is below 5)."""
    return list(
        queries._fetch_df(
            db,
            """
            select region_code
            from population_by_region
            where level = 'community'
            order by residents desc, region_code
            limit ?
            """,
            [count],
        )["region_code"]
    )


def shown_counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """What a reader sees of a count column: the number, or nothing where the page shows "<5" or "…"."""
    return frame[column].astype("Float64")


def assert_not_determined(total: float | None, parts: pd.Series, what: str) -> None:
    """A shown total and its parts: never exactly one part hidden."""
    if total is None or pd.isna(total):
        return
    assert parts.isna().sum() != 1, f"{what}: the one hidden part is {total} minus the others"


def assert_small_ones_hidden(frame: pd.DataFrame, column: str, small: bool = True) -> None:
    values = shown_counts(frame, column)
    if small:
        assert not (values < BELOW).fillna(False).any(), f"{column}: a count below 5 is shown"
    texts = frame.loc[values.isna(), f"{column}_shown"] if f"{column}_shown" in frame else pd.Series()
    assert texts.isin([SUPPRESSED_TEXT, WITHHELD_TEXT]).all()


def test_the_population_page_of_a_community_passes_the_differencing_attack(demo_db):
    gate = Gate(OPERATOR)
    end = queries.default_period(demo_db).end
    start = end.replace(year=end.year - 1)
    hidden_somewhere = 0
    for community in communities(demo_db):
        people = gate.ask("kpis", demo_db, community, start, end)["population"]
        residents = people["residents"]
        elderly = round(people["elderly_share"] * residents) if people["elderly_share"] is not None else None
        floating = (
            round(people["floating_share"] * residents) if people["floating_share"] is not None else None
        )
        own_care = gate.ask("special_care", demo_db, community).set_index("tag")
        assert_small_ones_hidden(own_care, "residents")

        # special care by grid: each tag's column adds up to the community's own count
        care = gate.ask("special_care_by_child", demo_db, community)
        assert_small_ones_hidden(care, "residents")
        for tag, column in care.groupby("tag"):
            assert_not_determined(own_care.at[tag, "residents"], shown_counts(column, "residents"), tag)
        hidden_somewhere += int(care["residents"].isna().sum())

        # the age pyramid adds up to the residents, and from 60 on to the elderly share's count
        pyramid = gate.ask("age_pyramid", demo_db, community, end)
        assert_small_ones_hidden(pyramid, "residents")
        cells = shown_counts(pyramid, "residents")
        assert_not_determined(residents, cells, "age pyramid")
        old = pyramid["age_start"] >= 60
        assert_not_determined(elderly, cells[old], "age pyramid from 60")
        assert_not_determined(None if elderly is None else residents - elderly, cells[~old], "under 60")
        if elderly is None:  # the elderly are hidden: the cells under 60 may not give them back either
            assert cells[~old].isna().any() or not len(cells[~old])

        # residence types add up to the residents; the floating count is also the floating share's
        composition = gate.ask("population_composition", demo_db, community)
        assert_small_ones_hidden(composition, "residents")
        types = shown_counts(composition, "residents")
        assert_not_determined(residents, types, "residence types")
        floating_cell = types[composition["residence_type"] == "floating"].iloc[0]
        assert pd.isna(floating_cell) or floating is None or floating_cell == floating
        assert composition.loc[types.isna(), "share"].isna().all()

        # each grid's residents, floating and elderly add up to the community's
        by_child = gate.ask("population_by_child", demo_db, community, end)
        for column, total in (("residents", residents), ("floating", floating), ("elderly", elderly)):
            assert_small_ones_hidden(by_child, column)
            assert_not_determined(total, shown_counts(by_child, column), f"grids' {column}")
        assert by_child.loc[by_child["elderly"].isna(), "elderly_share"].isna().all()
        assert by_child.loc[by_child["floating"].isna(), "floating_share"].isna().all()

        # the density map's cells add up to the residents; the density would give a count back
        map_cells = gate.ask("population_cells", demo_db, community)
        assert_small_ones_hidden(map_cells, "residents")
        assert_not_determined(residents, map_cells["residents"], "map cells")
        assert map_cells.loc[map_cells["residents"].isna(), "density"].isna().all()
        # and each cell is the sum of its grids, listed above
        where = gate.ask("grid_cells", demo_db, community).set_index("code")["cell"]
        grids = by_child.assign(cell=by_child["code"].map(where)).groupby("cell")
        for cell in map_cells.itertuples():
            if cell.cell in grids.groups:
                parts = shown_counts(grids.get_group(cell.cell), "residents")
                assert_not_determined(cell.residents, parts, f"cell {cell.cell}")
                # nor a hidden cell its shown grids' sum
                assert not (pd.isna(cell.residents) and parts.notna().all()), f"cell {cell.cell}"
        for name, start_, end_ in (("map_cells", start, end),):
            events_map = gate.ask(name, demo_db, community, start_, end_)
            assert events_map["residents"].isna().tolist() == map_cells["residents"].isna().tolist()
    assert hidden_somewhere, "the sample holds no small count: the test proves nothing"


def test_the_attack_finds_what_primary_suppression_alone_leaves(demo_db, monkeypatch):
    """Without the complementary cells the same attack succeeds: the sample above is a real test."""
    monkeypatch.setattr(gate_module, "protect", lambda values, hidden, relations, fixed=None: list(hidden))
    with pytest.raises(AssertionError, match="the one hidden part"):
        test_the_population_page_of_a_community_passes_the_differencing_attack(demo_db)


def test_a_townships_communities_pass_the_attack_against_the_townships_own_counts(demo_db):
    gate = Gate(OPERATOR)
    townships = queries._fetch_df(
        demo_db, "select code from regions where level = 'township' order by code limit 8"
    )
    for township in townships["code"]:
        own = gate.ask("special_care", demo_db, township).set_index("tag")
        assert own["residents"].notna().all()  # a township is not a small unit
        care = gate.ask("special_care_by_child", demo_db, township)
        assert_small_ones_hidden(care, "residents")
        for tag, column in care.groupby("tag"):
            assert_not_determined(own.at[tag, "residents"], shown_counts(column, "residents"), tag)


@pytest.fixture(scope="module")
def care_db(tmp_path_factory) -> Path:
    """One township, two communities: 3 elderly living alone in 甲社区 (grid G1), 6 in 乙村 (grid G3);
    6 floating residents in 甲社区 (grid G2), 2 in 乙村."""
    root = tmp_path_factory.mktemp("care")
    alone = [
        resident(resident_id=f"A{n}", grid_code=G1, household_id=f"HA{n}", tags="elderly_alone")
        for n in range(3)
    ]
    alone += [
        resident(resident_id=f"B{n}", grid_code=G3, household_id=f"HB{n}", tags="elderly_alone")
        for n in range(6)
    ]
    others = [
        resident(resident_id=f"C{n}", grid_code=G2, household_id=f"HC{n}", residence_type="floating")
        for n in range(6)
    ]
    others += [
        resident(resident_id=f"D{n}", grid_code=G3, household_id=f"HD{n}", residence_type="floating")
        for n in range(2)
    ]
    write_folder(root / "input", {**KPI_TABLES, "residents": alone + others})
    return build_folder(root / "input", root / "yiping.duckdb").db_path


def elderly_alone(frame: pd.DataFrame) -> dict:
    return frame[frame["tag"] == "elderly_alone"].set_index("code")["residents_shown"].to_dict()


def test_a_count_withheld_in_one_table_is_withheld_wherever_it_appears(care_db):
    """The township's table hides 甲社区's 3 and so withholds 乙村's 6 (9 − 6 would give the 3 back):
    乙村's own page, its only grid's row and that grid's own page withhold it too, or they would give
    the 6 back, and with it the 3."""
    gate = Gate(OPERATOR)
    village, grid = "500101001002", G3
    assert elderly_alone(gate.ask("special_care_by_child", care_db, "500101001")) == {
        "500101001001": SUPPRESSED_TEXT,
        village: WITHHELD_TEXT,
    }
    own = gate.ask("special_care", care_db, village).set_index("tag")
    assert own.at["elderly_alone", "residents_shown"] == WITHHELD_TEXT
    assert pd.isna(own.at["elderly_alone", "residents"])
    assert elderly_alone(gate.ask("special_care_by_child", care_db, village)) == {grid: WITHHELD_TEXT}
    assert gate.ask("special_care", care_db, grid).set_index("tag").at[
        "elderly_alone", "residents_shown"
    ] == (WITHHELD_TEXT)
    for code in (village, grid):
        kpis = gate.ask("kpis", care_db, code, "2023-01-01", "2023-12-31")
        assert kpis["population"]["special_care"]["elderly_alone"] is None
    # and so does the village's report
    model = report.build_report(care_db, village, "2023-01-01", "2023-12-31")
    [row] = [row for row in model["kpi_rows"] if row["key"] == "special_care.elderly_alone"]
    assert (row["current"], row["current_text"]) == (None, WITHHELD_TEXT)
    # the township itself is no small unit: its 9 stands, as on the district's page
    assert (
        gate.ask("special_care", care_db, "500101001").set_index("tag").at["elderly_alone", "residents"] == 9
    )


def test_a_residents_count_withheld_in_a_list_is_hidden_on_the_communitys_own_cards(care_db):
    """乙村's 2 floating residents are hidden in the township's list, so 甲社区's 6 is withheld there:
    甲社区's floating share card and its residence types hide it as well (6 floating of 9 residents
    would give the 6 back, and the township's 8 the 2)."""
    gate = Gate(OPERATOR)
    township = gate.ask("population_by_child", care_db, "500101001", "2023-12-31").set_index("code")
    assert township["floating_shown"].to_dict() == {
        "500101001001": WITHHELD_TEXT,
        "500101001002": SUPPRESSED_TEXT,
    }
    assert township["floating_share"].isna().all()
    community = "500101001001"
    people = gate.ask("kpis", care_db, community, "2023-01-01", "2023-12-31")["population"]
    assert people["floating_share"] is None and people["residents"] == 9
    types = gate.ask("population_composition", care_db, community).set_index("residence_type")
    assert types.at["floating", "residents_shown"] == WITHHELD_TEXT
    grids = gate.ask("population_by_child", care_db, community, "2023-12-31")
    assert grids["floating_shown"].tolist() == [
        SUPPRESSED_TEXT,
        "6",
    ]  # G1's 0, G2's 6: 甲社区's 6 stays hidden


def test_the_kpi_object_hides_small_special_care_counts_and_revealing_shares_in_small_units(demo_db):
    community = communities(demo_db, 1)[0]
    raw = queries.kpis(demo_db, community, "2024-01-01", "2024-12-31")["population"]
    shown = Gate(OPERATOR).ask("kpis", demo_db, community, "2024-01-01", "2024-12-31")["population"]
    page = Gate(OPERATOR).ask("special_care", demo_db, community).set_index("tag")["residents"]
    for tag, count in raw["special_care"].items():
        assert shown["special_care"][tag] == (None if pd.isna(page[tag]) else count)
        assert count >= BELOW or shown["special_care"][tag] is None
    assert shown["residents"] == raw["residents"]
    district = Gate(OPERATOR).ask("kpis", demo_db, community[:6], "2024-01-01", "2024-12-31")
    assert district == queries.kpis(demo_db, community[:6], "2024-01-01", "2024-12-31")


@pytest.mark.parametrize("name", ["special_care", "special_care_by_child", "population_composition"])
def test_what_a_district_sees_is_not_suppressed(demo_db, name):
    assert Gate(OPERATOR).ask(name, demo_db, "500153")["residents"].notna().all()


def test_households_never_bound_a_hidden_resident_count_below_a_township(demo_db):
    """Residents ≥ households: a small unit's household count would give a lower bound of a hidden count."""
    gate = Gate(OPERATOR)
    township = str(gate.ask("children", demo_db, "500153")["code"].iloc[0])
    community = str(gate.ask("children", demo_db, township)["code"].iloc[0])
    assert (
        gate.ask("kpis", demo_db, community, "2024-01-01", "2024-12-31")["population"]["households"] is None
    )
    assert gate.ask("kpis", demo_db, township, "2024-01-01", "2024-12-31")["population"]["households"] > 0
    listed = gate.ask("population_by_child", demo_db, township, "2024-12-31")
    assert listed["households"].isna().all()
    assert set(listed["households_shown"]) == {"…"}
    districts = gate.ask("population_by_child", demo_db, "500153", "2024-12-31")
    assert districts["households"].notna().all()
