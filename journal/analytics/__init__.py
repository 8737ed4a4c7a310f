"""Where trades are measured: the performance figures, the daily summary, the dashboard.

metrics      the report of GET /metrics and performance_report; the aggregates
summary      the daily summary the database keeps on plain PostgreSQL
performance  trading maths (drawdown, Sharpe, expectancy) without Django
dashboard    the admin's dashboard: selection, figures, tables
charts       the dashboard's SVG charts
"""
