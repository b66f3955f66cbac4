"""Text and HTML tables of the inference results, in statsmodels' layout.

A table is a title, a header of ``(label, value)`` pairs in two columns,
one block per class (a row per term: coef, std err, z, P>|z| and the
confidence interval) and notes. No date or time is printed, so that the
same fit prints the same table.
"""

import html

import numpy as np

__all__ = ["html_table", "margeff_text", "summary_blocks", "text_table"]

_WIDTH = 78
_COLUMNS = ("coef", "std err", "z", "P>|z|", "[0.025", "0.975]")


def _num(x, prec=4):
    """statsmodels' ``forg``: fixed point in [1e-4, 1e4), else exponent."""
    if not np.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 1e-4):
        return f"{x:.{prec}g}"
    return f"{x:.{prec}f}"


def _block_rows(names, est, se, z, p, ci):
    return [
        (
            n,
            _num(est[i]),
            _num(se[i]),
            f"{z[i]:.3f}",
            f"{p[i]:.3f}",
            _num(ci[i, 0], 3),
            _num(ci[i, 1], 3),
        )
        for i, n in enumerate(names)
    ]


def summary_blocks(res):
    """``(title, header, blocks, notes)`` of an ``InferenceResults``."""
    method = "MLE" if not res.penalized else f"L2-penalised (C={res.C:g})"
    cov = res.cov_type
    if res.n_groups is not None:
        cov = f"{cov} ({res.n_groups} groups)"
    header = [
        ("Dep. Variable:", str(res.dep_name), "No. Observations:", f"{res.nobs:g}"),
        ("Model:", "SoftmaxRegression", "Df Residuals:", f"{res.df_resid:g}"),
        ("Method:", method, "Df Model:", f"{res.df_model:g}"),
        (
            "Reference class:",
            str(res.reference),
            "Pseudo R-squ.:",
            f"{res.prsquared:#.4g}",
        ),
        ("Covariance Type:", cov, "Log-Likelihood:", f"{res.llf:#.5g}"),
        ("", "", "LL-Null:", f"{res.llnull:#.5g}"),
        ("", "", "LLR p-value:", f"{res.llr_pvalue:#.4g}"),
    ]
    ci = res.conf_int()
    blocks = [
        (
            f"{res.dep_name}={name}",
            _block_rows(
                res.term_names,
                res.params[:, j],
                res.bse[:, j],
                res.zvalues[:, j],
                res.pvalues[:, j],
                ci[:, j],
            ),
        )
        for j, name in enumerate(res.class_names)
    ]
    notes = []
    if res.penalized:
        notes.append(
            f"Penalised fit (C={res.C:g}): covariance of the penalised estimate "
            "(penalised Hessian in place of the information matrix), not the "
            "maximum-likelihood standard errors; use C=np.inf for those."
        )
    return "SoftmaxRegression Inference Results", header, blocks, notes


def margeff_text(me):
    """``(title, header, blocks, notes)`` of a ``MarginalEffects``."""
    what = "dy/dx" if me.method == "dydx" else "d(lny)/dx"
    header = [
        ("Dep. Variable:", str(me.dep_name), "Method:", what),
        ("At:", me.at, "", ""),
    ]
    ci = me.conf_int()
    blocks = [
        (
            f"{me.dep_name}={name}",
            _block_rows(
                me.feature_names,
                me.margeff[:, j],
                me.margeff_se[:, j],
                me.zvalues[:, j],
                me.pvalues[:, j],
                ci[:, j],
            ),
        )
        for j, name in enumerate(me.class_names)
    ]
    return "SoftmaxRegression Marginal Effects", header, blocks, []


def text_table(title, header, blocks, notes):
    """The table as text, ``_WIDTH`` characters wide."""
    half = _WIDTH // 2
    lines = [title.center(_WIDTH), "=" * _WIDTH]
    for ll, lv, rl, rv in header:
        left = f"{ll:<18}{lv:>{half - 19}} " if ll else " " * half
        right = f"{rl:<20}{rv:>{_WIDTH - half - 20}}" if rl else ""
        lines.append((left + right).rstrip())
    lines.append("=" * _WIDTH)
    names = [r[0] for _, rows in blocks for r in rows] + [b[0] for b in blocks]
    first = max(14, *(len(n) + 1 for n in names))
    col = (_WIDTH - first) // len(_COLUMNS)
    for k, (name, rows) in enumerate(blocks):
        if k:
            lines.append("-" * _WIDTH)
        lines.append(f"{name:<{first}}" + "".join(f"{c:>{col}}" for c in _COLUMNS))
        lines.append("-" * _WIDTH)
        for r in rows:
            lines.append(f"{r[0]:<{first}}" + "".join(f"{v:>{col}}" for v in r[1:]))
    lines.append("=" * _WIDTH)
    lines.extend(notes)
    return "\n".join(line.rstrip() for line in lines)


def html_table(title, header, blocks, notes):
    """The table as HTML (two ``<table>`` elements and the notes)."""
    e = html.escape
    out = [f"<table class='simpletable'><caption>{e(title)}</caption>"]
    for row in header:
        out.append(
            "<tr>"
            + "".join(
                f"<th>{e(c)}</th>" if i % 2 == 0 else f"<td>{e(c)}</td>"
                for i, c in enumerate(row)
            )
            + "</tr>"
        )
    out.append("</table><table class='simpletable'>")
    for name, rows in blocks:
        out.append(
            "<tr><th>"
            + e(name)
            + "</th>"
            + "".join(f"<th>{e(c)}</th>" for c in _COLUMNS)
            + "</tr>"
        )
        for r in rows:
            out.append(
                f"<tr><th>{e(r[0])}</th>"
                + "".join(f"<td>{e(v)}</td>" for v in r[1:])
                + "</tr>"
            )
    out.append("</table>")
    out.extend(f"<p>{e(n)}</p>" for n in notes)
    return "\n".join(out)
