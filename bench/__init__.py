"""Benchmarks of Yiping 一屏: `python -m bench` measures build, KPI queries, the browser and reports.

Figures are printed as a table with their targets and written to `bench/results/` as one JSON file
per section and a readable `summary.md`.
"""
