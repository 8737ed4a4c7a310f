"""Where trades are measured: the performance figures, the daily summary, the dashboard.

aggregates   what is summed and counted per day: the one definition, its SQL and folds
sources      where the daily rows are read: the summary, the continuous aggregates, trades
summary      the daily summary the database keeps on plain PostgreSQL
metrics      the report of GET /metrics, performance_report and the dashboard
performance  trading maths (drawdown, Sharpe, Sortino) without Django
reviewed     figures per review grade and tag
excursions   MAE and MFE of trades from the stored market bars
calendar     the P&L calendar's month grids
dashboard    the dashboard's selection (period, filters) and figures
charts       the data of the dashboard's charts (drawn by journal/static/journal/dashboard.js)
"""
