"""Static plotly trend pages built from perfbot's database (`perfbot dashboard --out site/`).

No statistics are decided here: change points come from bot.stats and PR
verdicts from bot.verdicts; this package only lays them out.
"""
