"""bootstrap, import_legacy_csv and import_snapshots."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from desk.models import LegacySetting, MarketBar, RiskConfig, RiskConfigChange, Strategy

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_bootstrap_reports_what_it_checked_and_is_safe_to_run_again():
    first = run("bootstrap")
    assert "PostgreSQL" in first
    assert "migrations" in first and "applied" in first
    assert "risk config" in first and "group Risk manager" in first
    assert "everything checked is in order" in first
    assert RiskConfig.objects.count() == 1
    assert "everything checked is in order" in run("bootstrap")
    assert RiskConfig.objects.count() == 1


def test_bootstrap_fails_when_timescaledb_is_required_but_absent():
    with pytest.raises(CommandError, match="1 problem"):
        run("bootstrap", "--require-timescale")


@pytest.fixture
def legacy_dir(tmp_path):
    (tmp_path / "strategies.csv").write_text(
        "name,is_active,allowed_symbols,session_windows,risk_caps,rr_expectation\n"
        'breakout,true,EURUSD;GBPUSD,"[{""start"": ""07:00"", ""end"": ""16:00""}]",'
        '"{""max_lot_size"": 2}",2.0\n'
        "scalp,false,,,,\n"
    )
    (tmp_path / "risk_config.csv").write_text(
        "ai_trading_enabled,min_confidence_threshold,max_lot_size,max_concurrent_trades,"
        "daily_profit_target,stop_after_target,max_drawdown_amount,halt_on_drawdown,"
        "allow_off_watchlist_autotrade,last_halt_reason\n"
        "false,0.75,1.5,4,800,true,2500,true,false,\n"
    )
    (tmp_path / "api_integrations.csv").write_text(
        "name,provider,api_key,api_secret,enabled\noanda,oanda,AKIA-SECRET-1,s3cr3t-2,true\n"
    )
    (tmp_path / "rss_feeds.csv").write_text("name,url\nfx,https://example.invalid/rss\n")
    return tmp_path


@pytest.mark.smoke
def test_legacy_files_are_imported_idempotently_and_secrets_are_left_out(legacy_dir):
    report = run("import_legacy_csv", str(legacy_dir))
    assert "strategies: 2 created, 0 updated, 0 unchanged" in report
    assert "risk config: 9 limit(s) read" in report
    assert "api_integrations.csv:api_key" in report and "api_integrations.csv:api_secret" in report
    assert "AKIA-SECRET-1" not in report
    breakout = Strategy.objects.get(name="breakout")
    assert breakout.allowed_symbols == ["EURUSD", "GBPUSD"]
    config = RiskConfig.objects.get()
    assert str(config.max_lot_size) == "1.50000000" and config.max_concurrent_trades == 4
    stored = json.dumps(list(LegacySetting.objects.values_list("value", flat=True)))
    assert "AKIA-SECRET-1" not in stored and "s3cr3t-2" not in stored
    # Each limit's audit says why it changed: the file it came from.
    reasons = set(RiskConfigChange.objects.values_list("reason", flat=True))
    assert reasons == {"imported from the old platform's risk_config.csv"}
    again = run("import_legacy_csv", str(legacy_dir))
    assert "strategies: 0 created, 0 updated, 2 unchanged" in again
    assert LegacySetting.objects.count() == 2


@pytest.mark.smoke
def test_the_legacy_import_takes_the_operators_reason(legacy_dir):
    run("import_legacy_csv", str(legacy_dir), "--reason", "migration from the old desk, ticket 42")
    reasons = set(RiskConfigChange.objects.values_list("reason", flat=True))
    assert reasons == {"migration from the old desk, ticket 42"}


@pytest.mark.smoke
def test_a_bad_legacy_file_imports_nothing_and_names_line_and_field(legacy_dir):
    (legacy_dir / "strategies.csv").write_text(
        'name,session_windows\nok,\nbad,"[{""start"": ""25:00""}]"\n'
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_legacy_csv", str(legacy_dir), stdout=out)
    assert "strategies.csv line 3: session_windows: session_windows[0]" in out.getvalue()
    assert not Strategy.objects.exists() and not RiskConfig.objects.exists()


@pytest.mark.smoke
def test_snapshots_load_from_csv_once(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "captured_at,symbol,timeframe,open,high,low,close,volume\n"
        "2026-03-02T09:00:00Z,EURUSD,H1,1.08,1.09,1.07,1.085,1200\n"
        "2026-03-02T10:00:00Z,EURUSD,H1,1.085,1.088,1.08,1.087,900\n"
    )
    assert "2 created, 0 already there" in run("import_snapshots", "market", str(path))
    assert "0 created, 2 already there" in run("import_snapshots", "market", str(path))
    assert MarketBar.objects.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "captured_at,symbol,timeframe,open,high,low,close\nyesterday,EURUSD,H1,1,1,1,1\n"
    )
    with pytest.raises(CommandError, match="nothing was imported"):
        run("import_snapshots", "market", str(bad))
