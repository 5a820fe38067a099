"""The CLI corpus: invocations an adversarial user makes, each with the exit code it must end with.

Every case runs in a fresh sandbox holding the *world* (``conftest.py``): a complete backtest run
``runs/done`` (whose store an engine wrote), the same run with a damaged ``metrics.json``, a directory
that is not a run, a plain file, a symbolic link, and the damaged candle files of
:mod:`tests.robustness.candle_corpus`. A failing case must exit 1 (operational) or 2 (user mistake),
print exactly one line on stderr, no traceback, and change no file at all; a case expected to
succeed (``expect=0``) may change only what ``may_change`` names.

Adding a family of cases (e.g. the tool-call fuzz of a later phase) means adding a generator here
and listing it in :func:`all_cases`; the test module runs whatever this returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tests.robustness.candle_corpus import bad_candle_files

WINDOW = ("--from", "2025-02-01", "--to", "2025-02-15")
ENGINE_STORE = "sqlite:///runs/done/store.sqlite3"
"""A store an engine wrote (the complete run's), for the operator commands."""


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: int | None = None
    """0: must succeed; 1 or 2: must fail with that code; None: must fail with 1 or 2."""
    needle: str = ""
    """Substring of the one error line."""
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    """Extra files written into the working directory before the run."""
    may_change: tuple[str, ...] = ()
    """Path prefixes (relative to the sandbox) a successful case may create or change."""
    timeout: float = 180


def _c(id_: str, *argv: str, expect: int | None = 2, needle: str = "", env: Mapping[str, str] | None = None,
       files: Mapping[str, bytes] | None = None, may_change: tuple[str, ...] = ()) -> Case:
    return Case(id_, tuple(argv), expect, needle, env or {}, files or {}, may_change)


# ---------------------------------------------------------------- bad candle files through every reader

CANDLE_COMMANDS: Mapping[str, tuple[str, ...]] = {
    "inspect": ("data", "inspect", "{file}"),
    "backtest": ("backtest", "--quiet", "--data", "{file}", "--warmup", "10"),
    "snapshot": ("snapshot", "--data", "{file}", "--at", "2023-01-10"),
    "decide": ("decide", "--data", "{file}", "--at", "2023-01-10"),
    "gate-report": ("gate-report", "--data", "{file}", "--warmup", "10"),
}


def candle_cases(everything: bool) -> list[Case]:
    """Each damaged file through one reader (rotating), or through every reader when ``everything``."""
    cases = []
    commands = list(CANDLE_COMMANDS.items())
    for index, bad in enumerate(bad_candle_files()):
        chosen = commands if everything else [commands[index % len(commands)]]
        for name, template in chosen:
            argv = tuple(part.format(file=f"candles/{bad.file_name}") for part in template)
            cases.append(Case(f"candles-{bad.name}-{name}", argv, 2, bad.needle))
    return cases


# ---------------------------------------------------------------- settings: file and environment

BAD_TOML: Mapping[str, tuple[bytes, str]] = {
    "syntax": (b"[risk]\nmax_leverage = = 2\n", "not valid TOML"),
    "not-utf8": (b"[risk]\n# caf\xe9\n", "not UTF-8"),
    "unknown-key": (b"[risk]\nmax_levrage = 2\n", "risk.max_levrage"),
    "unknown-section": (b"[riks]\nmax_leverage = 2\n", "riks"),
    "nan-limit": (b"[risk]\nmax_leverage = nan\n", "risk.max_leverage"),
    "inf-limit": (b"[risk]\ndaily_loss_limit_pct = inf\n", "risk.daily_loss_limit_pct"),
    "wrong-type": (b'[risk]\nmax_leverage = "lots"\n', "risk.max_leverage"),
    "incoherent": (b"[risk]\nstop_min_distance_pct = 9\nstop_max_distance_pct = 1\n", "stop_min_distance_pct"),
    "huge-duration": (b"[gate]\ntimer_max_s = 99999999999999\n", "gate.timer_max_s"),
    "nul-path": (b'[backtest]\nruns_dir = "a\\u0000b"\n', "NUL"),
    "bad-mode": (b'mode = "yolo"\n', "mode"),
    "binary": (bytes(range(256)), "not UTF-8"),
}

BAD_ENV: Mapping[str, tuple[Mapping[str, str], str]] = {
    "section-garbage": ({"TRADEWAKE_RISK": "garbage"}, "TRADEWAKE_RISK"),
    "symbols-broken-json": ({"TRADEWAKE_EXCHANGE__SYMBOLS": '["BTC/USDT"'}, "TRADEWAKE_EXCHANGE__SYMBOLS"),
    "typo-field": ({"TRADEWAKE_RISK__MAX_LEVRAGE": "2"}, "TRADEWAKE_RISK__MAX_LEVRAGE"),
    "typo-section": ({"TRADEWAKE_RSIK__MAX_LEVERAGE": "2"}, "TRADEWAKE_RSIK__MAX_LEVERAGE"),
    "unknown-var": ({"TRADEWAKE_FOO": "1"}, "TRADEWAKE_FOO"),
    "too-deep": ({"TRADEWAKE_RISK__MAX_LEVERAGE__X": "1"}, "TRADEWAKE_RISK__MAX_LEVERAGE__X"),
    "inf-limit": ({"TRADEWAKE_RISK__MAX_LEVERAGE": "inf"}, "risk.max_leverage"),
    "nan-limit": ({"TRADEWAKE_RISK__DAILY_LOSS_LIMIT_PCT": "nan"}, "risk.daily_loss_limit_pct"),
    "text-limit": ({"TRADEWAKE_RISK__MAX_LEVERAGE": "garbage"}, "risk.max_leverage"),
    "bad-mode": ({"TRADEWAKE_MODE": "yolo"}, "mode"),
    "bad-backend": ({"TRADEWAKE_LLM__BACKEND": "gpt"}, "llm.backend"),
    "bad-namespace": ({"TRADEWAKE_STORE__NAMESPACE": "no spaces!"}, "store.namespace"),
    "config-missing": ({"TRADEWAKE_CONFIG": "nowhere.toml"}, "TRADEWAKE_CONFIG"),
    "config-is-dir": ({"TRADEWAKE_CONFIG": "notrun"}, "is a directory"),
}

BAD_STORE_URLS: Mapping[str, tuple[str, str, int]] = {
    "ftp": ("ftp://nowhere", "unknown scheme", 2),
    "sqlite-host": ("sqlite://host/x.db", "no host", 2),
    "sqlite-empty": ("sqlite:///", "needs a file path", 2),
    "sqlite-dir": ("sqlite:///notrun", "notrun", 2),
    "sqlite-under-file": ("sqlite:///plain.txt/x.db", "no store at", 2),
    "sqlite-garbage-file": ("sqlite:///plain.txt", "sqlite store", 1),
    "redis-port": ("redis://localhost:notaport/0", "Port", 2),
    "redis-db": ("redis://localhost:6379/zero", "must be a number", 2),
    "redis-unreachable": ("redis://127.0.0.1:9/0", "redis store", 1),
    "relative-missing": ("sqlite:///var/nothing-here.sqlite3", "no store at", 2),
}

READERS: tuple[tuple[str, ...], ...] = (
    ("config", "show"), ("journal", "tail"), ("status",), ("runs", "list"), ("learner", "show"),
)


def settings_cases(everything: bool) -> list[Case]:
    cases = []
    readers = READERS if everything else READERS[:2]
    for name, (content, needle) in BAD_TOML.items():
        for reader in readers:
            cases.append(_c(f"toml-{name}-{'-'.join(reader)}", *reader, "--config", "bad.toml", needle=needle,
                            files={"bad.toml": content}))
        cases.append(_c(f"toml-{name}-default-file", "backtest", "--quiet", *WINDOW, needle=needle,
                        files={"tradewake.toml": content}))
    for name, (env, needle) in BAD_ENV.items():
        for reader in readers:
            cases.append(_c(f"env-{name}-{'-'.join(reader)}", *reader, needle=needle, env=env))
    for name, (url, needle, code) in BAD_STORE_URLS.items():
        for reader in (("journal", "verify"), ("status",), ("halt", "--reason", "x"), ("decisions", "live")):
            cases.append(_c(f"store-{name}-{'-'.join(reader[:1])}", *reader, expect=code, needle=needle,
                            env={"TRADEWAKE_STORE__URL": url}))
    return cases


# ---------------------------------------------------------------- command options


def backtest_cases() -> list[Case]:
    bt = ("backtest", "--quiet", *WINDOW)
    return [
        _c("bt-cash-inf", *bt, "--cash", "inf", needle="backtest.initial_cash"),
        _c("bt-cash-nan", *bt, "--cash", "nan", needle="backtest.initial_cash"),
        _c("bt-cash-negative", *bt, "--cash", "-5", needle="backtest.initial_cash"),
        _c("bt-cash-huge", *bt, "--cash", "1e300", needle="backtest.initial_cash"),
        _c("bt-cash-text", *bt, "--cash", "lots", needle="--cash"),
        _c("bt-fees-150", *bt, "--fees", "150", needle="backtest.fee_pct"),
        _c("bt-fees-negative", *bt, "--fees", "-1", needle="backtest.fee_pct"),
        _c("bt-slippage-1e9", *bt, "--slippage-bps", "1e9", needle="backtest.slippage_bps"),
        _c("bt-seed-negative", *bt, "--seed", "-1", needle="backtest.seed"),
        _c("bt-seed-huge", *bt, "--seed", "9" * 30, needle="backtest.seed"),
        _c("bt-timeframe-7x", *bt, "--data", "binance_BTC-USDT_1h.csv.gz", "--timeframe", "7x", needle="7x"),
        _c("bt-timeframe-wrong", *bt, "--data", "binance_BTC-USDT_1h.csv.gz", "--timeframe", "5m",
           needle="1h apart"),
        _c("bt-from-garbage", "backtest", "--quiet", "--from", "yesterday", needle="--from"),
        _c("bt-from-year-1", "backtest", "--quiet", "--from", "0001-01-01", needle="1970..2200"),
        _c("bt-from-year-9999", "backtest", "--quiet", "--from", "9999-12-31T23:59:59-14:00", needle="1970..2200"),
        _c("bt-to-before-from", "backtest", "--quiet", "--from", "2025-03-01", "--to", "2025-02-01",
           needle="is not before"),
        _c("bt-window-after-data", "backtest", "--quiet", "--from", "2030-01-01", needle="0 candles"),
        _c("bt-window-too-short", "backtest", "--quiet", "--from", "2023-01-01", "--to", "2023-01-03",
           needle="need at least"),
        _c("bt-warmup-negative", *bt, "--warmup", "-1", needle="--warmup"),
        _c("bt-warmup-huge", *bt, "--warmup", "99999", needle="need at least"),
        _c("bt-agent-unknown", *bt, "--agent", "gpt", needle="--agent"),
        _c("bt-out-file", *bt, "--out", "plain.txt", needle="is a file"),
        _c("bt-out-symlink", *bt, "--out", "link-to-done", needle="symbolic link"),
        _c("bt-out-not-a-run", *bt, "--out", "notrun", needle="not a tradewake run directory"),
        _c("bt-out-existing-run", *bt, "--out", "runs/done", needle="--force"),
        _c("bt-out-force-foreign-files", *bt, "--out", "runs/done-with-notes", "--force", needle="notes.txt"),
        _c("bt-out-under-file", *bt, "--out", "plain.txt/run", needle="is a file"),
        _c("bt-force-failing-rerun", "backtest", "--quiet", "--out", "runs/done", "--force", "--data",
           "candles/binance_FOO-BAR_1h_missing.csv", "--warmup", "10", needle="data file not found"),
        _c("bt-force-replay-without-cassette", *bt, "--out", "runs/done", "--force", "--agent", "replay",
           needle="cassette"),
        _c("bt-record-dir", *bt, "--record", "notrun", needle="is a directory"),
        _c("bt-record-under-file", *bt, "--record", "plain.txt/c.jsonl", needle="is a file"),
        _c("bt-cassette-missing", *bt, "--agent", "replay", "--cassette", "nope.jsonl", needle="no such file"),
        _c("bt-cassette-dir", *bt, "--agent", "replay", "--cassette", "notrun", needle="is a directory"),
        _c("bt-cassette-garbage", *bt, "--agent", "replay", "--cassette", "plain.txt", needle="cassette"),
        _c("bt-cassette-binary", *bt, "--agent", "replay", "--cassette", "binary.bin", needle="cassette"),
        _c("bt-cassette-json-array", *bt, "--agent", "replay", "--cassette", "array.jsonl", needle="cassette line"),
        _c("bt-symbol-uncached", "backtest", "--quiet", "--symbol", "DOGE/USDT", "--timeframe", "1h",
           needle="no candles for DOGE/USDT"),
        _c("bt-symbol-alone", "backtest", "--quiet", "--symbol", "BTC/USDT", needle="go together"),
        _c("bt-data-missing", *bt, "--data", "nope.csv", needle="not found"),
        _c("bt-data-dir", *bt, "--data", "notrun", needle="not found"),
        _c("bt-runs-dir-is-file", *bt, env={"TRADEWAKE_BACKTEST__RUNS_DIR": "plain.txt"}, needle="is a file"),
        _c("bt-short-window-warms-up-on-history", "backtest", "--quiet", "--from", "2025-02-01", "--to",
           "2025-02-05", "--out", "runs/short", expect=0, may_change=("work/runs/short",)),
        _c("bt-default-run-id", "backtest", "--quiet", "--from", "2025-02-01", "--to", "2025-02-03", expect=0,
           may_change=("work/runs/20",)),
        _c("bt-force-replaces-a-run", *bt, "--out", "runs/done", "--force", "--seed", "7", expect=0,
           may_change=("work/runs/done/",)),
        _c("bt-mainnet-config-is-fine-but-bad-fees", *bt, "--fees", "99",
           env={"TRADEWAKE_MODE": "mainnet"}, needle="backtest.fee_pct"),
    ]


def operator_cases() -> list[Case]:
    engine = {"TRADEWAKE_STORE__URL": ENGINE_STORE}
    mainnet = {**engine, "TRADEWAKE_MODE": "mainnet"}
    return [
        _c("halt-empty-reason", "halt", "--reason", "  ", env=engine, needle="--reason"),
        _c("halt-multiline-reason", "halt", "--reason", "a\nb", env=engine, needle="--reason"),
        _c("halt-huge-reason", "halt", "--reason", "x" * 5000, env=engine, needle="at most 500"),
        _c("halt-long-key", "halt", "--reason", "x", "--key", "k" * 200, env=engine, needle="--key"),
        _c("halt-key-with-space", "halt", "--reason", "x", "--key", "a b", env=engine, needle="--key"),
        _c("halt-no-store", "halt", "--reason", "x", needle="NOT queued"),
        _c("halt-store-no-engine-wrote", "halt", "--reason", "x", env={"TRADEWAKE_STORE__URL": "sqlite:///empty.sqlite3"},
           needle="no engine has written"),
        _c("halt-mainnet-config-queues", "halt", "--reason", "test", "--flatten", expect=0, env=mainnet,
           may_change=("work/runs/done/store.sqlite3",)),
        _c("halt-force-creates-store", "halt", "--reason", "before start", "--force", expect=0,
           may_change=("data/tradewake",)),
        _c("status-mainnet-config", "status", expect=0, env=mainnet, may_change=("work/runs/done/store.sqlite3",)),
        _c("sleep-overflow", "sleep", "--minutes", "9999999999", "--reason", "x", env=engine, needle="--minutes"),
        _c("sleep-zero", "sleep", "--minutes", "0", "--reason", "x", env=engine, needle="--minutes"),
        _c("sleep-text", "sleep", "--minutes", "soon", "--reason", "x", env=engine, needle="--minutes"),
        _c("sleep-31-days", "sleep", "--minutes", "44641", "--reason", "x", env=engine, needle="--minutes"),
        _c("resume-no-store", "resume", needle="NOT queued"),
        _c("status-no-store", "status", needle="no store at"),
        _c("journal-verify-no-store", "journal", "verify", needle="no store at"),
        _c("journal-tail-no-store", "journal", "tail", needle="no store at"),
        _c("journal-verify-mainnet", "journal", "verify", expect=0, env=mainnet,
           may_change=("work/runs/done/store.sqlite3",)),
        _c("journal-tail-zero", "journal", "tail", "-n", "0", env=engine, needle="-n"),
        _c("journal-tail-huge", "journal", "tail", "-n", "9" * 25, env=engine, needle="-n"),
        _c("decisions-live-mainnet", "decisions", "live", "--last", "1", expect=0, env=mainnet,
           may_change=("work/runs/done/store.sqlite3",)),
        _c("decisions-live-no-store", "decisions", "live", needle="no store at"),
        _c("decisions-unknown-run", "decisions", "nope", needle="no run 'nope'"),
        _c("memory-garbage-store", "memory", "garbage-run", needle="sqlite store", expect=1),
        _c("runs-show-unknown", "runs", "show", "nope", needle="no run 'nope'"),
        _c("runs-show-damaged", "runs", "show", "damaged", needle="damaged"),
        _c("runs-list-with-damaged", "runs", "list", expect=0),
        _c("learner-no-store", "learner", "show", needle="no store at"),
        _c("learner-bad-regime", "learner", "show", "--regime", " moon ", needle="--regime"),
    ]


def misc_cases() -> list[Case]:
    return [
        _c("unknown-command", "frobnicate", needle="frobnicate"),
        _c("unknown-option", "backtest", "--frobnicate", needle="--frobnicate"),
        _c("missing-option-value", "backtest", "--from", needle="--from"),
        _c("decide-equity-nan", "decide", "--at", "2025-02-01", "--equity", "NaN", needle="--equity"),
        _c("decide-equity-inf", "decide", "--at", "2025-02-01", "--equity", "Infinity", needle="--equity"),
        _c("decide-equity-negative", "decide", "--at", "2025-02-01", "--equity", "-3", needle="--equity"),
        _c("decide-equity-huge", "decide", "--at", "2025-02-01", "--equity", "1e400", needle="--equity"),
        _c("decide-at-garbage", "decide", "--at", "soon", needle="--at"),
        _c("decide-at-year-1", "decide", "--at", "0001-01-01", needle="1970..2200"),
        _c("decide-record-dir", "decide", "--at", "2025-02-01", "--record", "notrun", needle="is a directory"),
        _c("decide-agent-unknown", "decide", "--at", "2025-02-01", "--agent", "gpt", needle="--agent"),
        _c("snapshot-at-garbage", "snapshot", "--data", "binance_BTC-USDT_1h.csv.gz", "--at", "x", needle="--at"),
        _c("snapshot-data-missing", "snapshot", "--data", "nope.csv", "--at", "2025-01-01", needle="not found"),
        _c("inspect-timeframe-7x", "data", "inspect", "binance_BTC-USDT_1h.csv.gz", "--timeframe", "7x",
           needle="7x"),
        _c("inspect-dir", "data", "inspect", "notrun", needle="not found"),
        _c("gate-report-missing", "gate-report", "--data", "nope.csv", needle="nope.csv"),
        _c("download-bad-timeframe", "data", "download", "BTC/USDT", "7x", "--since", "2024-01-01", needle="7x"),
        _c("download-bad-since", "data", "download", "BTC/USDT", "1h", "--since", "someday", needle="--since"),
        _c("download-bad-market", "data", "download", "BTC/USDT", "1h", "--since", "2024-01-01", "--market", "x",
           needle="--market"),
        _c("run-mode-garbage", "run", "--mode", "yolo", files={"tradewake.toml": b'mode = "paper"\n'},
           needle="mode: Input should be 'backtest', 'paper', 'testnet' or 'mainnet' (given on the command line)"),
        _c("run-mainnet-unconfirmed", "run", "--mode", "mainnet", needle="TRADEWAKE_MAINNET_CONFIRM"),
        _c("run-backtest-mode", "run", needle="use `tradewake backtest`"),
        _c("version", "version", expect=0),
        _c("help", "--help", expect=0),
        _c("group-without-command", "runs", expect=0),
    ]


# ---------------------------------------------------------------- the other surfaces: venue, holdings, dashboard ...

VENUE = ("venue", "serve", "--data", "binance_BTC-USDT_1h.csv.gz", "--port", "0")
EXCHANGE_NOWHERE = {"TRADEWAKE_MODE": "testnet", "TRADEWAKE_EXCHANGE__API_KEY": "robustness-key-0001",
                    "TRADEWAKE_EXCHANGE__API_SECRET": "robustness-secret-0001",
                    "TRADEWAKE_EXCHANGE__VENUE_URL": "http://127.0.0.1:1", "TRADEWAKE_EXCHANGE__MAX_RETRIES": "0"}
"""A testnet configuration whose venue is a closed loopback port: the exchange answers nothing."""


def surface_cases() -> list[Case]:
    """Every command that is not a backtest reader or the kill switch: each fails before it serves or sends."""
    engine = {"TRADEWAKE_STORE__URL": ENGINE_STORE}
    mainnet = {**engine, "TRADEWAKE_MODE": "mainnet"}
    empty = {"TRADEWAKE_STORE__URL": "sqlite:///empty.sqlite3"}
    return [
        _c("venue-data-missing", "venue", "serve", "--data", "nope.csv", needle="not found"),
        _c("venue-data-binary", "venue", "serve", "--data", "binary.bin", "--symbol", "BTC/USDT", needle="UTF-8"),
        _c("venue-data-text", "venue", "serve", "--data", "plain.txt", "--symbol", "BTC/USDT", needle="header"),
        _c("venue-data-twice", *VENUE, "--data", "binance_BTC-USDT_1h.csv.gz", needle="more than once"),
        _c("venue-symbols-mismatch", *VENUE, "--symbol", "BTC/USDT", "--symbol", "ETH/USDT", needle="--symbol"),
        _c("venue-symbol-garbage", *VENUE, "--symbol", "BTC USDT", needle="--symbol"),
        _c("venue-from-before-history", *VENUE, "--from", "1990-01-01", needle="no history"),
        _c("venue-start-garbage", *VENUE, "--start", "soon", needle="--start"),
        _c("venue-market-unknown", *VENUE, "--market", "options", needle="--market"),
        _c("venue-speed-negative", *VENUE, "--speed", "-1", needle="--speed"),
        _c("venue-port-huge", "venue", "serve", "--data", "binance_BTC-USDT_1h.csv.gz", "--port", "70000",
           needle="--port"),
        _c("venue-balance-negative", *VENUE, "--balance", "USDT=-5", needle="--balance"),
        _c("venue-balance-huge", *VENUE, "--balance", "USDT=1e999999", needle="--balance"),
        _c("venue-balance-text", *VENUE, "--balance", "USDT=lots", needle="--balance"),
        _c("venue-funding-nan", *VENUE, "--funding-rate", "NaN", needle="funding_rate"),
        _c("venue-faults-missing", *VENUE, "--faults", "nope.toml", needle="--faults"),
        _c("venue-faults-binary", *VENUE, "--faults", "binary.bin", needle="--faults"),
        _c("venue-fault-garbage", *VENUE, "--fault", "explode", needle="fault 'explode'"),
        _c("venue-ledger-under-file", *VENUE, "--ledger", "plain.txt/ledger.jsonl", needle="is a file"),
        _c("venue-ledger-dir", *VENUE, "--ledger", "notrun", needle="is a directory"),
        _c("venue-half-credentials", *VENUE, env={"TRADEWAKE_VENUE_API_KEY": "k"}, needle="TRADEWAKE_VENUE_API_SECRET"),
        _c("holdings-list-no-store", "holdings", "list", needle="no store at"),
        _c("holdings-show-no-store", "holdings", "show", "BTC-1", needle="no store at"),
        _c("holdings-propose-no-store", "holdings", "propose", "BTC", needle="no store at"),
        _c("holdings-pause-store-no-engine-wrote", "holdings", "pause", "BTC", env=empty, needle="NOT queued"),
        _c("holdings-propose-bad-asset", "holdings", "propose", "E T H", env=engine, needle="asset"),
        _c("holdings-propose-quote", "holdings", "propose", "usdt", env=engine, needle="never proposed"),
        _c("holdings-propose-bad-entry", "holdings", "propose", "BTC", "--entry", "dream", env=engine,
           needle="--entry"),
        _c("holdings-propose-entry-price-text", "holdings", "propose", "BTC", "--entry", "operator", "--entry-price",
           "cheap", env=engine, needle="entry_price"),
        _c("holdings-show-unknown", "holdings", "show", "BTC-1", env=engine, needle="no proposal BTC-1"),
        _c("holdings-approve-unknown", "holdings", "approve", "BTC-1", "--confirm", "BTC:recommended", env=engine,
           needle="no proposal BTC-1"),
        _c("holdings-approve-no-confirm", "holdings", "approve", "BTC-1", env=engine, needle="--confirm"),
        _c("holdings-reject-bad-id", "holdings", "reject", "nope", env=engine, needle="proposal_id"),
        _c("holdings-override-stop-text", "holdings", "override", "BTC", "--stop", "abc", env=engine, needle="stop"),
        _c("holdings-long-key", "holdings", "pause", "BTC", "--key", "k" * 200, env=engine, needle="--key"),
        _c("holdings-list-mainnet-config", "holdings", "list", expect=0, env=mainnet,
           may_change=("work/runs/done/store.sqlite3",)),
        _c("holdings-pause-mainnet-config-queues", "holdings", "pause", "BTC", expect=0, env=mainnet,
           may_change=("work/runs/done/store.sqlite3",)),
        _c("dashboard-port-zero", "dashboard", "--port", "0", needle="--port"),
        _c("dashboard-host-garbage", "dashboard", "--host", "not an address", needle="--host"),
        _c("dashboard-runs-dir-file", "dashboard", "--runs-dir", "plain.txt", needle="is a file"),
        _c("dashboard-mainnet-config-needs-no-confirmation", "dashboard", "--runs-dir", "plain.txt",
           env={"TRADEWAKE_MODE": "mainnet"}, needle="--runs-dir plain.txt is a file"),
        _c("dashboard-short-token", "dashboard", env={"TRADEWAKE_DASHBOARD_TOKEN": "short"}, needle="16 characters"),
        _c("dashboard-bad-config", "dashboard", "--config", "binary.bin", needle="binary.bin"),
        _c("markets-out-dir", "data", "markets", "--out", "notrun", needle="is a directory"),
        _c("markets-out-under-file", "data", "markets", "--out", "plain.txt/m.json.gz", needle="is a file"),
        _c("exchange-check-backtest-mode", "exchange", "check", needle="simulated exchange"),
        _c("exchange-check-no-keys", "exchange", "check", env={"TRADEWAKE_MODE": "testnet"}, needle="api_key"),
        _c("exchange-check-mainnet-unconfirmed", "exchange", "check", env={"TRADEWAKE_MODE": "mainnet"},
           needle="TRADEWAKE_MAINNET_CONFIRM"),
        _c("exchange-check-nothing-listening", "exchange", "check", expect=1, env=EXCHANGE_NOWHERE,
           needle="127.0.0.1:1"),
    ]


def all_cases(everything: bool) -> list[Case]:
    """The corpus. ``everything``: every damaged file and settings error through every reader."""
    return [*candle_cases(everything), *settings_cases(everything), *backtest_cases(), *operator_cases(),
            *misc_cases(), *surface_cases()]
