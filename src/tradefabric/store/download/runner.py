"""Download candles and trades from a venue's REST API into the catalog, resumably.

- **Range**: candles whose open time is in ``[since, until)``, trades whose time
  is in ``[since, until)``. A candle is stored only once its interval has
  closed (``ts_open + interval <= now``), so the range stops at the last closed one.
- **Paging**: candles page by open time (``since`` = the next open time after
  the last row). Trades take one time-bounded request to find the first trade,
  then page by id (``fromId``), which never skips or repeats a trade, however
  many share a millisecond.
- **Commits**: pages are committed to the catalog in batches of about
  ``commit_rows`` rows, each batch one atomic catalog version. An interrupted
  download keeps every committed batch (and, when it is stopped by an error or
  Ctrl-C rather than killed, the pages fetched since).
- **Resume**: a run starts after the latest row already stored in the range for
  that venue, symbol (and interval): the rest of an interrupted run. Rows
  fetched twice are dropped by the catalog on their natural key. Holes before
  the latest stored row are not revisited (``resume=False`` fetches the whole
  range again); the report counts the candles missing in the range.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import structlog

from tradefabric.core.errors import DataSourceError, TradefabricError
from tradefabric.core.time import NS_PER_MS, interval_to_ns, now_ns
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog, sql_string
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download.client import HistoryClient
from tradefabric.store.download.rows import PageRows, candle_rows, trade_rows
from tradefabric.store.schema import DataType

log = structlog.get_logger(__name__)

DEFAULT_COMMIT_ROWS = 10_000


class DownloadOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How to run a download."""

    resume: bool = True
    """Start after the latest row already stored in the range."""
    commit_rows: int = DEFAULT_COMMIT_ROWS
    """Commit once this many rows are fetched (one catalog version per batch)."""
    now_ns: int | None = None
    """The present, which decides which candles have closed; None: the wall clock."""


class DownloadProgress(msgspec.Struct, frozen=True):
    """Where a download stands, after each page."""

    data_type: DataType
    start_ns: int
    end_ns: int
    cursor_ns: int
    """Time reached: every row before it has been fetched."""
    pages: int
    rows_fetched: int
    rows_added: int
    """Rows committed so far that were new to the catalog."""
    rate_limited: int


ProgressCallback = Callable[[DownloadProgress], None]


class DownloadReport(msgspec.Struct, frozen=True):
    """What one download did."""

    venue: str
    symbol: str
    data_type: DataType
    interval: str | None
    start_ns: int
    """Start of the range (for candles: the first open time on the interval grid)."""
    end_ns: int
    """End of the range, exclusive (for candles: the end of the last closed one's open times)."""
    resumed_from_ns: int | None
    """Where fetching started when rows of the range were already stored."""
    pages: int
    requests: int
    rows_fetched: int
    rows_added: int
    duplicates: int
    replaced: int
    """Stored rows the download superseded (interpolated candles replaced by real ones)."""
    rejected: int
    """Rows the venue sent that could not be stored (missing or invalid values)."""
    commits: int
    last_version: int | None
    rate_limited: int
    """Requests refused for rate limits (HTTP 429/418), then retried."""
    failures: int
    """Requests failed for network trouble, then retried."""
    waited_s: float
    first_ns: int | None
    last_ns: int | None
    stored_in_range: int
    missing_in_range: int | None
    """Candles of the range not in the catalog (venue gaps included); None for trades."""
    aggregate_trades: bool
    """Trade ids are the venue's aggregate ids (Binance aggTrades), as its aggTrade stream."""
    max_used_weight: int | None
    elapsed_s: float


class _Run:
    """Counters and the pending batch of one download."""

    def __init__(self, writer: CatalogWriter, data_type: DataType, source: str, commit_rows: int):
        self.writer = writer
        self.data_type = data_type
        self.source = source
        self.commit_rows = max(1, commit_rows)
        self.pending: list[Any] = []
        self.pending_rows = 0
        self.pages = self.rows_fetched = self.rows_added = self.duplicates = self.rejected = 0
        self.replaced = 0
        self.commits = 0
        self.last_version: int | None = None
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.started = time.monotonic()

    def add(self, page: PageRows) -> None:
        self.pages += 1
        self.rejected += page.rejected
        if not page.rows:
            return
        self.rows_fetched += page.rows
        self.first_ns = page.first_ns if self.first_ns is None else self.first_ns
        self.last_ns = page.last_ns
        self.pending.append(page.table)
        self.pending_rows += page.rows
        if self.pending_rows >= self.commit_rows:
            self.commit()

    def commit(self) -> None:
        if not self.pending:
            return
        table = pa.concat_tables(self.pending)
        result = self.writer.write_table(self.data_type, table, self.source, "download")
        self.pending, self.pending_rows = [], 0
        self.commits += 1
        self.rows_added += result.rows_added
        self.duplicates += result.duplicates
        self.replaced += result.replaced
        if result.version is not None:
            self.last_version = result.version

    def commit_after_error(self) -> None:
        """Keep what was fetched before an error or Ctrl-C; a failing commit is only logged."""
        try:
            self.commit()
        except TradefabricError as exc:
            log.warning("download_commit_failed", error=str(exc), rows=self.pending_rows)


def download_candles(
    writer: CatalogWriter,
    client: HistoryClient,
    *,
    symbol: str,
    interval: str,
    since_ns: int,
    until_ns: int,
    progress: ProgressCallback | None = None,
    options: DownloadOptions | None = None,
) -> DownloadReport:
    """Download ``symbol``'s ``interval`` candles opening in ``[since_ns, until_ns)``.

    Raises ``ConfigError`` for an unknown symbol or interval, ``RequestRejectedError``
    when the venue refuses a request, and the last ``RetryableError`` when retries
    are used up; batches committed before the error stay in the catalog.
    """
    options = options or DownloadOptions()
    step = interval_to_ns(interval)
    _check_range(since_ns, until_ns)
    client.check(symbol, interval)
    now = options.now_ns if options.now_ns is not None else now_ns()
    start = -(-since_ns // step) * step
    end = max(start, min(until_ns, now - now % step))
    where = (
        f"venue = {sql_string(client.venue.name)} AND symbol = {sql_string(symbol)} "
        f"AND interval = {sql_string(interval)} AND ts_open >= {start} AND ts_open < {end}"
    )
    # Interpolated candles stand in for missing data: they neither end a resume nor count.
    where += f" AND (flags & {int(CandleFlag.INTERPOLATED)}) = 0"
    catalog = _catalog(writer)
    cursor = start
    resumed = None
    if options.resume:
        latest = _scalar(catalog, f"SELECT max(ts_open) FROM candles WHERE {where}")
        if latest is not None:
            cursor = resumed = latest + step
    run = _Run(writer, "candles", f"download:{client.venue.name}", options.commit_rows)
    report = _Reporter(client, run, progress, start, end)
    try:
        while cursor < end:
            ohlcv = client.candles(symbol, interval, cursor // NS_PER_MS, (end - 1) // NS_PER_MS)
            received = now_ns()
            timed = [(row, _open_ns(row)) for row in ohlcv]
            run.rejected += sum(1 for _, ts in timed if ts is None)
            opens = [ts for _, ts in timed if ts is not None]
            if not opens:
                if client.venue.empty_page_ends:
                    break
                cursor += client.venue.candles_per_page * step
                continue
            in_range = [r for r, ts in timed if ts is not None and cursor <= ts < end]
            run.add(
                candle_rows(
                    client.venue.name, symbol, interval=interval, interval_ns=step,
                    ohlcv=in_range, ts_recv=received,
                )
            )  # fmt: skip
            cursor = _advance(cursor, max(opens) + step)
            report.page(min(cursor, end))
    except BaseException:
        run.commit_after_error()
        raise
    run.commit()
    stored = _scalar(catalog, f"SELECT count(*) FROM candles WHERE {where}") or 0
    expected = (end - start) // step
    return report.finish(symbol, interval, resumed, stored, expected - stored)


def download_trades(
    writer: CatalogWriter,
    client: HistoryClient,
    *,
    symbol: str,
    since_ns: int,
    until_ns: int,
    progress: ProgressCallback | None = None,
    options: DownloadOptions | None = None,
) -> DownloadReport:
    """Download ``symbol``'s trades in ``[since_ns, until_ns)`` (until at most now).

    Errors as ``download_candles``.
    """
    options = options or DownloadOptions()
    _check_range(since_ns, until_ns)
    client.check(symbol)
    now = options.now_ns if options.now_ns is not None else now_ns()
    start, end = since_ns, max(since_ns, min(until_ns, now))
    where = (
        f"venue = {sql_string(client.venue.name)} AND symbol = {sql_string(symbol)} "
        f"AND ts_event >= {start} AND ts_event < {end}"
    )
    catalog = _catalog(writer)
    cursor = start
    resumed = None
    if options.resume:
        latest = _scalar(catalog, f"SELECT max(ts_event) FROM trades WHERE {where}")
        if latest is not None:
            cursor = resumed = latest
    run = _Run(writer, "trades", f"download:{client.venue.name}", options.commit_rows)
    report = _Reporter(client, run, progress, start, end)
    try:
        page = _first_trades(client, symbol, cursor, end, run=run, report=report)
        while page:
            received = now_ns()
            timed = [(t, _trade_ns(t)) for t in page]
            run.rejected += sum(1 for _, ts in timed if ts is None)
            kept = [t for t, ts in timed if ts is not None and start <= ts < end]
            run.add(trade_rows(client.venue.name, symbol, kept, received))
            reached = max((ts for _, ts in timed if ts is not None), default=cursor)
            report.page(min(reached, end))
            if reached >= end:
                break
            last_id = max(_trade_id(t) for t in page)
            page = client.trades_from(symbol, last_id + 1)
            if page and max(_trade_id(t) for t in page) <= last_id:
                raise DataSourceError(f"the venue answered no trade after id {last_id}")
    except BaseException:
        run.commit_after_error()
        raise
    run.commit()
    stored = _scalar(catalog, f"SELECT count(*) FROM trades WHERE {where}") or 0
    return report.finish(symbol, None, resumed, stored, None)


def _first_trades(
    client: HistoryClient, symbol: str, cursor: int, end: int, *, run: _Run, report: _Reporter
) -> list[Any]:
    """Return the first page of trades at or after ``cursor``, one time window at a time."""
    window = client.venue.trade_window_ms * NS_PER_MS
    while cursor < end:
        window_end = min(end, cursor - cursor % NS_PER_MS + window)
        page = client.trades_between(symbol, cursor // NS_PER_MS, (window_end - 1) // NS_PER_MS)
        if page:
            return page
        run.pages += 1
        cursor = window_end
        report.page(cursor)
    return []


class _Reporter:
    """Progress callbacks during a download and its report at the end."""

    def __init__(
        self,
        client: HistoryClient,
        run: _Run,
        callback: ProgressCallback | None,
        start: int,
        end: int,
    ) -> None:
        self._client = client
        self._run = run
        self._callback = callback
        self._start = start
        self._end = end

    def page(self, cursor: int) -> None:
        if self._callback is None:
            return
        run = self._run
        self._callback(
            DownloadProgress(
                data_type=run.data_type, start_ns=self._start, end_ns=self._end,
                cursor_ns=cursor, pages=run.pages, rows_fetched=run.rows_fetched,
                rows_added=run.rows_added, rate_limited=self._client.retrier.rate_limited,
            )
        )  # fmt: skip

    def finish(
        self,
        symbol: str,
        interval: str | None,
        resumed: int | None,
        stored: int,
        missing: int | None,
    ) -> DownloadReport:
        run, client = self._run, self._client
        retrier = client.retrier
        report = DownloadReport(
            venue=client.venue.name, symbol=symbol, data_type=run.data_type, interval=interval,
            start_ns=self._start, end_ns=self._end, resumed_from_ns=resumed, pages=run.pages,
            requests=retrier.requests, rows_fetched=run.rows_fetched, rows_added=run.rows_added,
            duplicates=run.duplicates, replaced=run.replaced, rejected=run.rejected,
            commits=run.commits,
            last_version=run.last_version, rate_limited=retrier.rate_limited,
            failures=retrier.failures, waited_s=round(retrier.waited_s, 3),
            first_ns=run.first_ns, last_ns=run.last_ns, stored_in_range=stored,
            missing_in_range=missing,
            aggregate_trades=run.data_type == "trades" and client.venue.aggregate_trades,
            max_used_weight=client.max_used_weight,
            elapsed_s=round(time.monotonic() - run.started, 3),
        )  # fmt: skip
        log.info("download_done", **msgspec.structs.asdict(report))
        return report


def _check_range(since_ns: int, until_ns: int) -> None:
    if since_ns < 0 or until_ns <= since_ns:
        raise DataSourceError(
            f"invalid range: since ({since_ns}) must be before until ({until_ns}), both >= 0"
        )


def _advance(cursor: int, next_cursor: int) -> int:
    if next_cursor <= cursor:
        raise DataSourceError(f"the venue answered with no row after {cursor} ns; paging stopped")
    return next_cursor


def _ms_to_ns(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value * NS_PER_MS


def _open_ns(row: Any) -> int | None:
    return _ms_to_ns(row[0]) if row else None


def _trade_ns(trade: Any) -> int | None:
    return _ms_to_ns(trade.get("timestamp"))


def _trade_id(trade: Any) -> int:
    try:
        return int(trade["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataSourceError(f"trade without an integer id: {trade.get('info')!r}") from exc


def _catalog(writer: CatalogWriter) -> Catalog:
    root = writer.root
    if "://" not in root:
        Path(root).mkdir(parents=True, exist_ok=True)
    return Catalog(root)


def _scalar(catalog: Catalog, sql: str) -> int | None:
    rows = catalog.query(sql).rows
    value = rows[0][0] if rows else None
    return value if isinstance(value, int) else None
