"""Result objects of :meth:`SoftmaxRegression.inference
<sk_softmax.SoftmaxRegression.inference>`: statistics, tests and tables.

The names and meanings are those of statsmodels' ``MNLogitResults`` (and of
its ``get_margeff``); the computations are in :mod:`sk_softmax._inference`.
pandas is imported only by :meth:`InferenceResults.to_frame`.
"""

from collections import namedtuple

import numpy as np
from scipy import stats

from ._inference_format import html_table, margeff_text, summary_blocks, text_table

__all__ = ["InferenceResults", "LRTestResult", "MarginalEffects", "WaldTestResult"]

#: Result of :meth:`InferenceResults.wald_test`.
WaldTestResult = namedtuple("WaldTestResult", ["statistic", "df", "pvalue"])
#: Result of :meth:`InferenceResults.compare_lr_test`.
LRTestResult = namedtuple("LRTestResult", ["statistic", "df", "pvalue"])


def _z_and_p(est, se):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return z, 2 * stats.norm.sf(np.abs(z))


class InferenceResults:
    """Standard errors, tests and fit statistics of a fitted softmax regression.

    Returned by :meth:`SoftmaxRegression.inference
    <sk_softmax.SoftmaxRegression.inference>`; the attributes have the names
    and meanings of statsmodels' ``MNLogitResults``. Coefficients are
    differences to the reference class: ``params[:, j]`` is class
    ``class_names[j]``'s ``(b, W)`` minus the reference class's.

    Attributes
    ----------
    params : ndarray of shape (n_terms, n_classes - 1)
        Coefficients against the reference class; row 0 the intercept
        (``"const"``, with ``fit_intercept``), then the features in column
        order; columns the non-reference classes in ``classes_`` order.
    bse : ndarray of shape (n_terms, n_classes - 1)
        Standard errors.
    zvalues : ndarray of shape (n_terms, n_classes - 1)
        ``params / bse``.
    pvalues : ndarray of shape (n_terms, n_classes - 1)
        Two-sided p-values of the z statistics (standard normal).
    term_names : list of str
        Names of the rows of ``params``.
    class_names : list of str
        Names of the columns of ``params`` (the non-reference classes).
    reference : object
        The reference class.
    nobs : float
        Number of observations: the sum of the (frequency) weights.
    llf : float
        Log-likelihood at the fitted parameters.
    llnull : float
        Log-likelihood of the intercept-only model, at its maximum.
    llr : float
        ``2 (llf - llnull)``.
    llr_pvalue : float
        Chi-squared p-value of ``llr`` with ``df_model`` degrees of freedom.
    prsquared : float
        McFadden's pseudo R-squared, ``1 - llf / llnull``.
    df_model : float
        Number of coefficients besides the intercepts, ``n_features * (K - 1)``.
    df_resid : float
        ``nobs`` minus the number of coefficients.
    aic, bic : float
        Akaike and Bayesian information criteria.
    cov_type : str
        ``"nonrobust"``, ``"HC0"`` or ``"cluster"``.
    penalized : bool
        Whether the fit had an L2 penalty (finite ``C``): the covariance is
        then that of the penalised estimate.
    """

    def __init__(
        self,
        *,
        params,
        cov,
        term_names,
        classes,
        reference,
        nobs,
        llf,
        llnull,
        cov_type,
        n_groups,
        C,
        dep_name,
        fit_intercept,
        margeff_fn,
    ):
        self.params = params
        self._cov = cov
        n_terms, n_cols = params.shape
        self.bse = np.sqrt(np.diag(cov)).reshape(n_cols, n_terms).T
        self.zvalues, self.pvalues = _z_and_p(params, self.bse)
        self.term_names = list(term_names)
        self.classes = classes
        self.reference = classes[reference]
        self.class_names = [str(c) for k, c in enumerate(classes) if k != reference]
        self.nobs = float(nobs)
        self.llf, self.llnull = llf, llnull
        self.llr = 2.0 * (llf - llnull)
        n_params = params.size
        self.df_model = float(n_params - (n_cols if fit_intercept else 0))
        self.df_resid = self.nobs - n_params
        self.llr_pvalue = float(stats.chi2.sf(self.llr, self.df_model))
        self.prsquared = 1.0 - llf / llnull if llnull != 0 else np.nan
        self.aic = -2.0 * llf + 2.0 * n_params
        self.bic = -2.0 * llf + np.log(self.nobs) * n_params
        self.cov_type, self.n_groups = cov_type, n_groups
        self.C = C
        self.penalized = bool(np.isfinite(C))
        self.dep_name = dep_name
        self._margeff_fn = margeff_fn

    def cov_params(self):
        """The covariance of the flattened ``params``, class-major.

        Returns
        -------
        cov : ndarray of shape (n_params, n_params)
            Entry ``(j * n_terms + t, l * n_terms + u)`` is the covariance of
            ``params[t, j]`` and ``params[u, l]`` (statsmodels' order).
        """
        return self._cov.copy()

    def conf_int(self, alpha=0.05):
        """Confidence intervals of ``params`` (normal approximation).

        Parameters
        ----------
        alpha : float, default=0.05
            The intervals have coverage ``1 - alpha``.

        Returns
        -------
        ci : ndarray of shape (n_terms, n_classes - 1, 2)
            Lower and upper bounds.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        q = stats.norm.ppf(1 - alpha / 2)
        return np.stack([self.params - q * self.bse, self.params + q * self.bse], -1)

    def wald_test(self, R=None, q=None, *, terms=None):
        """Wald test of the linear hypothesis ``R params = q`` (chi-squared).

        Parameters
        ----------
        R : array-like of shape (m, n_params) or None, default=None
            Restrictions on the flattened, class-major ``params`` (the order
            of :meth:`cov_params`).
        q : array-like of shape (m,) or None, default=None
            Right-hand side; None means zeros.
        terms : list of str or int, or None, default=None
            Instead of ``R``: test that all coefficients of these terms
            (names from ``term_names`` or row indices), for every
            non-reference class, are zero: "these features have no effect".

        Returns
        -------
        result : WaldTestResult
            ``(statistic, df, pvalue)``, the statistic
            ``(R b - q)^T (R V R^T)^{-1} (R b - q)`` chi-squared with ``m``
            degrees of freedom.
        """
        n_terms, n_cols = self.params.shape
        if (R is None) == (terms is None):
            raise ValueError("Give either R or terms.")
        if terms is not None:
            rows = [self._term_index(t) for t in terms]
            R = np.zeros((len(rows) * n_cols, n_terms * n_cols))
            for i, (t, j) in enumerate((t, j) for t in rows for j in range(n_cols)):
                R[i, j * n_terms + t] = 1.0
        R = np.atleast_2d(np.asarray(R, dtype=np.float64))
        if R.shape[1] != self.params.size:
            raise ValueError(
                f"R must have {self.params.size} columns (one per coefficient); "
                f"got shape {R.shape}."
            )
        b = self.params.T.ravel()
        r = R @ b - (0.0 if q is None else np.asarray(q, dtype=np.float64))
        stat = float(r @ np.linalg.solve(R @ self._cov @ R.T, r))
        df = R.shape[0]
        return WaldTestResult(stat, df, float(stats.chi2.sf(stat, df)))

    def _term_index(self, t):
        if isinstance(t, str):
            if t not in self.term_names:
                raise ValueError(f"Unknown term {t!r}; terms: {self.term_names}.")
            return self.term_names.index(t)
        return int(t)

    def compare_lr_test(self, restricted):
        """Likelihood-ratio test of a nested (restricted) model.

        Parameters
        ----------
        restricted : InferenceResults
            The results of a model fitted on the same rows, classes and
            weights with a subset of the terms.

        Returns
        -------
        result : LRTestResult
            ``(statistic, df, pvalue)``: ``2 (llf - restricted.llf)``,
            chi-squared with the difference of ``df_model``.
        """
        if not isinstance(restricted, InferenceResults):
            raise TypeError("restricted must be an InferenceResults.")
        df = self.params.size - restricted.params.size
        if (
            not np.isclose(self.nobs, restricted.nobs)
            or restricted.class_names != self.class_names
            or not set(restricted.term_names) <= set(self.term_names)
            or df <= 0
        ):
            raise ValueError(
                "The models are not nested: the restricted model must have the "
                "same observations, classes and reference, and a strict subset "
                "of the terms."
            )
        stat = 2.0 * (self.llf - restricted.llf)
        return LRTestResult(stat, df, float(stats.chi2.sf(stat, df)))

    def get_margeff(self, at="overall", method="dydx"):
        """Marginal effects of the features on the class probabilities.

        Parameters
        ----------
        at : {"overall", "mean"}, default="overall"
            ``"overall"``: the weighted mean over the training rows of the
            effects at each row; ``"mean"``: the effect at the mean row.
        method : {"dydx", "eydx"}, default="dydx"
            ``"dydx"``: ``d p_k / d x_j``; ``"eydx"``: ``d log p_k / d x_j``.

        Returns
        -------
        margeff : MarginalEffects
            Effects of shape ``(n_features, n_classes)`` with delta-method
            standard errors.
        """
        return self._margeff_fn(at, method)

    def to_frame(self):
        """The coefficients as a tidy pandas DataFrame (pandas needed here).

        Returns
        -------
        frame : pandas.DataFrame
            One row per (class, term): columns ``class``, ``term``, ``coef``,
            ``std_err``, ``z``, ``p_value``, ``ci_low``, ``ci_high``.
        """
        import pandas as pd

        n_terms, n_cols = self.params.shape
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "class": np.repeat(self.class_names, n_terms),
                "term": self.term_names * n_cols,
                "coef": self.params.T.ravel(),
                "std_err": self.bse.T.ravel(),
                "z": self.zvalues.T.ravel(),
                "p_value": self.pvalues.T.ravel(),
                "ci_low": ci[:, :, 0].T.ravel(),
                "ci_high": ci[:, :, 1].T.ravel(),
            }
        )

    def summary(self):
        """The summary table, statsmodels' layout.

        Returns
        -------
        summary : Summary
            Text through ``str()``, HTML in notebooks.
        """
        return Summary(*summary_blocks(self))

    def __repr__(self):
        return str(self.summary())


class Summary:
    """A summary table: ``str()`` is text, ``_repr_html_`` HTML.

    Parameters
    ----------
    title : str
    header : list of tuple
    blocks : list of tuple
    notes : list of str
    """

    def __init__(self, title, header, blocks, notes):
        self.title, self.header, self.blocks, self.notes = title, header, blocks, notes

    def as_text(self):
        """The table as text.

        Returns
        -------
        text : str
        """
        return text_table(self.title, self.header, self.blocks, self.notes)

    def as_html(self):
        """The table as HTML.

        Returns
        -------
        html : str
        """
        return html_table(self.title, self.header, self.blocks, self.notes)

    def __str__(self):
        return self.as_text()

    def _repr_html_(self):
        return self.as_html()


class MarginalEffects:
    """Marginal effects with delta-method standard errors (statsmodels' names).

    Attributes
    ----------
    margeff : ndarray of shape (n_features, n_classes)
        The effects of each feature (rows) on each class (columns).
    margeff_se : ndarray of shape (n_features, n_classes)
        Their standard errors.
    margeff_cov : ndarray of shape (n_features * n_classes, n_features * n_classes)
        Their covariance (feature-major).
    zvalues, pvalues : ndarray of shape (n_features, n_classes)
        z statistics and two-sided p-values.
    feature_names : list of str
    class_names : list of str
    at, method : str
        As given to :meth:`InferenceResults.get_margeff`.
    dep_name : str
        Name of the dependent variable.
    """

    def __init__(
        self, *, margeff, margeff_cov, feature_names, classes, at, method, dep_name="y"
    ):
        self.margeff = margeff
        self.margeff_cov = margeff_cov
        self.margeff_se = np.sqrt(np.clip(np.diag(margeff_cov), 0, None)).reshape(
            margeff.shape
        )
        self.zvalues, self.pvalues = _z_and_p(margeff, self.margeff_se)
        self.feature_names = list(feature_names)
        self.class_names = [str(c) for c in classes]
        self.at, self.method = at, method
        self.dep_name = dep_name

    def conf_int(self, alpha=0.05):
        """Confidence intervals of the effects, shape (n_features, n_classes, 2).

        Parameters
        ----------
        alpha : float, default=0.05
            The intervals have coverage ``1 - alpha``.

        Returns
        -------
        ci : ndarray of shape (n_features, n_classes, 2)
        """
        q = stats.norm.ppf(1 - alpha / 2)
        return np.stack(
            [self.margeff - q * self.margeff_se, self.margeff + q * self.margeff_se], -1
        )

    def summary(self):
        """The table of effects, one block per class (statsmodels' layout).

        Returns
        -------
        summary : Summary
        """
        return Summary(*margeff_text(self))

    def __repr__(self):
        return str(self.summary())
