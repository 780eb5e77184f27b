"""The page's own clock: what a page does on its own every few seconds (look for a publish, re-check
the session, step a rotation) runs in a fragment that this clock reruns.

Not `st.fragment(run_every=...)`: Streamlit clears those timers in the browser at the start of every
full run and sets them again from that run's messages. A page that misses them (two of twenty pages in
the live benchmark, on a loaded machine, with no error shown) never refreshes again, which on a wall
nobody touches means for good. The clock below is a small component whose timer lives in the page for
as long as its element does, through every full run and fragment run, and sends a trigger that reruns
the fragment it is drawn in.
"""

from __future__ import annotations

import streamlit as st

# The element is drawn hidden (frame.BASE_CSS): the clock takes no room on the wall.
KEY_PREFIX = "yp-clock-"

_JS = """
export default function (component) {
    const { data, setTriggerValue, parentElement } = component;
    const ms = Math.max(1, Number(data && data.seconds) || 10) * 1000;
    const held = parentElement.__ypClock;
    if (held && held.ms === ms) {
        return;
    }
    if (held) {
        clearInterval(held.timer);
    }
    const timer = setInterval(() => setTriggerValue("tick", Date.now()), ms);
    parentElement.__ypClock = { timer, ms };
    return () => {
        clearInterval(timer);
        parentElement.__ypClock = null;
    };
}
"""

_clock = st.components.v2.component("yiping_clock", js=_JS)


def tick_every(seconds: float, name: str) -> None:
    """Rerun the fragment this is called in every `seconds` (from the page's clock named `name`).

    Call it on every run of the fragment, so that its element, and with it the timer, stays."""
    _clock(key=KEY_PREFIX + name, data={"seconds": seconds}, on_tick_change=_ignore)


def _ignore() -> None:
    """The trigger itself reruns the fragment; nothing more to do with its value."""
