"""A page with one H3 layer on the offline map style, for the browser tests."""

import h3
import pydeck as pdk
import streamlit as st

PROBE_FILL = [34, 211, 238, 255]

st.title("一屏 deck probe")
cells = h3.grid_disk(h3.latlng_to_cell(29.56, 106.55, 7), 3)
layer = pdk.Layer(
    "H3HexagonLayer",
    id="probe-hexagons",
    data=[{"hex": cell} for cell in cells],
    get_hexagon="hex",
    get_fill_color=PROBE_FILL,
    extruded=False,
    pickable=True,
)
deck = pdk.Deck(
    map_style="app/static/map_style.json",
    layers=[layer],
    initial_view_state=pdk.ViewState(latitude=29.56, longitude=106.55, zoom=11),
)
st.pydeck_chart(deck, height=500)
