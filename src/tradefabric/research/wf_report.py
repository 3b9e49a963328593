"""The walk-forward report: stitched out-of-sample equity, windows, overfitting figures."""

from __future__ import annotations

from html import escape
from pathlib import Path

from tradefabric.research.svg import line_chart
from tradefabric.research.walk_forward import WalkForwardResult, WindowResult


def _row(w: WindowResult) -> str:
    params = w.params.label() if w.params else "(no feasible trial)"
    dsr = f"{w.dsr.dsr:.3f}" if w.dsr else "-"
    pbo = f"{w.pbo.pbo:.3f}" if w.pbo else "-"
    return (
        f"<tr><td>{w.span.is_start[:16]}..{w.span.is_end[:16]}</td>"
        f"<td>{w.span.oos_end[:16]}</td><td>{escape(params)}</td><td>{w.is_score:.4f}</td>"
        f"<td>{w.oos_score:.4f}</td><td>{w.oos_return:+.4%}</td><td>{dsr}</td><td>{pbo}</td></tr>"
    )


def write_wf_report(path: Path, name: str, r: WalkForwardResult) -> Path:
    """Write the HTML report of a walk-forward run."""
    title = f"walk-forward {name} (catalog v{r.catalog_version}, seed {r.seed})"
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style>"
        f"</head><body><h1>{escape(title)}</h1>"
        f"<p>out-of-sample return {r.oos_return:+.4%}; mean score in-sample "
        f"{r.mean_is_score:.4f}, out-of-sample {r.mean_oos_score:.4f} (degradation "
        f"{r.degradation:+.4f}); deflated Sharpe ratio {r.dsr.dsr:.3f} (Sharpe/period "
        f"{r.dsr.sharpe:.4f} vs expected max {r.dsr.benchmark:.4f} of {r.dsr.trials} trials); "
        f"mean PBO {r.mean_pbo:.3f}</p>"
        + line_chart([("out-of-sample equity", r.oos_equity)], "stitched out-of-sample equity")
        + "<table><tr><th>in-sample</th><th>oos end</th><th>params</th><th>IS score</th>"
        "<th>OOS score</th><th>OOS return</th><th>DSR</th><th>PBO</th></tr>"
        + "".join(_row(w) for w in r.windows)
        + "</table></body></html>"
    )
    path.write_text(html)
    return path
