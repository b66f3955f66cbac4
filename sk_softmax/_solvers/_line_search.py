"""The Moré-Thuente line search of MINPACK-2 (``dcsrch`` / ``dcstep``).

A step ``stp > 0`` along a descent direction is sought such that
``phi(stp) = f(x + stp d)`` meets the strong Wolfe conditions::

    phi(stp) <= phi(0) + ftol stp phi'(0)        (sufficient decrease)
    |phi'(stp)| <= gtol |phi'(0)|                (curvature)

(J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed
sufficient decrease", ACM Trans. Math. Softw. 20(3), 286-307, 1994). The
search keeps an interval ``[stx, sty]`` (in either order) known to contain
such a step, picks each trial step by a safeguarded cubic or quadratic
interpolation of the two endpoints and the last trial (:func:`_dcstep`), and
shrinks the interval until a trial meets both conditions. While no trial has
both decreased ``phi`` enough and a nonnegative slope, it works on the
auxiliary function ``psi(stp) = phi(stp) - phi(0) - ftol stp phi'(0)``
("stage 1" of the paper).

This is the line search of L-BFGS-B (which carries its own copy of
``dcsrch``) and of scipy's ``minimize(method="L-BFGS-B")``: the package's
L-BFGS (:mod:`sk_softmax._solvers._lbfgs`) used scipy's Python port
``scipy.optimize._dcsrch.DCSRCH``, a private module (absent from scipy
1.11, the oldest scipy we support: it came with scipy PR #19060, merged in
August 2023, and replaced the Fortran ``minpack2``), so that a scipy
release could remove it. This module is our own rewrite from the algorithm
of MINPACK-2's ``dcsrch.f`` and ``dcstep.f`` and
scipy's port of them, with the same arithmetic, in the same order, so that
the steps are bit for bit those of scipy's ``DCSRCH`` (tested against it,
where installed, on the test functions of the paper and on whole L-BFGS
fits).

Differences from the reverse-communication original, none of which changes
a step: the search calls ``fun`` itself instead of returning ``task = 'FG'``
to its caller; invalid arguments raise ``ValueError`` instead of returning
``task = 'ERROR'``; ``max_evals`` counts evaluations tested (scipy's
``DCSRCH(maxiter=n)`` tests ``n - 1``: its last evaluation is never looked
at); the arithmetic is on Python floats, with a retry in numpy float64 (same
operations, IEEE results for a division by zero) where Python would raise.

Origin and licences
-------------------
MINPACK-1 Project, June 1983, Argonne National Laboratory: Jorge J. Moré and
David J. Thuente. MINPACK-2 Project, November 1993, Argonne National
Laboratory and University of Minnesota: Brett M. Averick, Richard G. Carter
and Jorge J. Moré. MINPACK-2 was distributed with scipy (``minpack2``) under
scipy's licence below; the MINPACK notice of the University of Chicago,
which governs the MINPACK code of Argonne National Laboratory, follows it.
This product includes software developed by the University of Chicago, as
Operator of Argonne National Laboratory.

scipy's Python port (``scipy/optimize/_dcsrch.py``, 2023), which this module
follows for its arithmetic::

    Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers.
    All rights reserved.

    Redistribution and use in source and binary forms, with or without
    modification, are permitted provided that the following conditions
    are met:

    1. Redistributions of source code must retain the above copyright
       notice, this list of conditions and the following disclaimer.

    2. Redistributions in binary form must reproduce the above
       copyright notice, this list of conditions and the following
       disclaimer in the documentation and/or other materials provided
       with the distribution.

    3. Neither the name of the copyright holder nor the names of its
       contributors may be used to endorse or promote products derived
       from this software without specific prior written permission.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
    "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
    LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
    A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
    OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
    SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
    LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
    DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
    THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
    (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
    OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

MINPACK::

    Minpack Copyright Notice (1999) University of Chicago.  All rights reserved

    Redistribution and use in source and binary forms, with or
    without modification, are permitted provided that the
    following conditions are met:

    1. Redistributions of source code must retain the above
    copyright notice, this list of conditions and the following
    disclaimer.

    2. Redistributions in binary form must reproduce the above
    copyright notice, this list of conditions and the following
    disclaimer in the documentation and/or other materials
    provided with the distribution.

    3. The end-user documentation included with the
    redistribution, if any, must include the following
    acknowledgment:

       "This product includes software developed by the
       University of Chicago, as Operator of Argonne National
       Laboratory.

    Alternately, this acknowledgment may appear in the software
    itself, if and wherever such third-party acknowledgments
    normally appear.

    4. WARRANTY DISCLAIMER. THE SOFTWARE IS SUPPLIED "AS IS"
    WITHOUT WARRANTY OF ANY KIND. THE COPYRIGHT HOLDER, THE
    UNITED STATES, THE UNITED STATES DEPARTMENT OF ENERGY, AND
    THEIR EMPLOYEES: (1) DISCLAIM ANY WARRANTIES, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO ANY IMPLIED WARRANTIES
    OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE, TITLE
    OR NON-INFRINGEMENT, (2) DO NOT ASSUME ANY LEGAL LIABILITY
    OR RESPONSIBILITY FOR THE ACCURACY, COMPLETENESS, OR
    USEFULNESS OF THE SOFTWARE, (3) DO NOT REPRESENT THAT USE OF
    THE SOFTWARE WOULD NOT INFRINGE PRIVATELY OWNED RIGHTS, (4)
    DO NOT WARRANT THAT THE SOFTWARE WILL FUNCTION
    UNINTERRUPTED, THAT IT IS ERROR-FREE OR THAT ANY ERRORS WILL
    BE CORRECTED.

    5. LIMITATION OF LIABILITY. IN NO EVENT WILL THE COPYRIGHT
    HOLDER, THE UNITED STATES, THE UNITED STATES DEPARTMENT OF
    ENERGY, OR THEIR EMPLOYEES: BE LIABLE FOR ANY INDIRECT,
    INCIDENTAL, CONSEQUENTIAL, SPECIAL OR PUNITIVE DAMAGES OF
    ANY KIND OR NATURE, INCLUDING BUT NOT LIMITED TO LOSS OF
    PROFITS OR LOSS OF DATA, FOR ANY REASON WHATSOEVER, WHETHER
    SUCH LIABILITY IS ASSERTED ON THE BASIS OF CONTRACT, TORT
    (INCLUDING NEGLIGENCE OR STRICT LIABILITY), OR OTHERWISE,
    EVEN IF ANY OF SAID PARTIES HAS BEEN WARNED OF THE
    POSSIBILITY OF SUCH LOSS OR DAMAGES.
"""

import math

import numpy as np

__all__ = ["dcsrch"]

# Fractions of MINPACK-2's dcsrch: a bracketing interval must shrink to
# _SHRINK of its width every two trials, else the next trial is its midpoint;
# before a bracket is found, trials are extrapolated to between
# _EXTRAP_LO and _EXTRAP_HI times the last move beyond the previous step.
_SHRINK = 0.66
_EXTRAP_LO = 1.1
_EXTRAP_HI = 4.0


def _sqrt(x):
    """``sqrt(x)``, NaN for a negative or NaN ``x`` (as IEEE, not raising)."""
    return math.sqrt(x) if x >= 0 else math.nan


def _cubic_root(theta, a, b):
    """``sqrt(theta**2 - a b)``, scaled by ``s = max(|theta|, |a|, |b|)``
    against overflow; NaN where the cubic has no real minimiser."""
    s = max(abs(theta), abs(a), abs(b))
    t = theta / s
    return s * _sqrt(t * t - (a / s) * (b / s))


def _dcstep_floats(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """The body of :func:`_dcstep` (see there); may raise ZeroDivisionError
    on Python floats."""
    opposite = (dp < 0 and dx > 0) or (dp > 0 and dx < 0)  # sign(dp) != sign(dx)
    if fp > fx:
        # Case 1, higher value: the minimum is bracketed. Take the cubic
        # step if it is closer to stx than the quadratic one (through fx,
        # dx, fp), else their mean.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _cubic_root(theta, dx, dp)
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + (p / q) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) <= abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif opposite:
        # Case 2, lower value and the slopes have opposite signs: bracketed.
        # The cubic step if it is farther from stp than the secant step.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _cubic_root(theta, dx, dp)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + (p / q) * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # Case 3, lower value, same slope signs, the slope decreases in
        # magnitude. The cubic may have no minimiser beyond stp (then the
        # step goes to the bound in that direction); inside a bracket, the
        # step closer to stp, kept 0.66 of the way to sty at most, else
        # the one farther from stp, within [stpmin, stpmax].
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        t = theta / s
        gamma = s * _sqrt(max(0.0, t * t - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            limit = stp + _SHRINK * (sty - stp)
            stpf = min(limit, stpf) if stp > stx else max(limit, stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = min(max(stpf, stpmin), stpmax)
    elif brackt:
        # Case 4, lower value, same slope signs, the slope does not decrease:
        # the cubic step through stp and sty.
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        gamma = _cubic_root(theta, dy, dp)
        if stp > sty:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        stpf = stp + (p / q) * (sty - stp)
    else:
        # Case 4 without a bracket: to the bound in the direction of travel.
        stpf = stpmax if stp > stx else stpmin

    # The new interval: stp replaces the endpoint it is better than.
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if opposite:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded step of MINPACK-2's ``dcstep``: the next trial step
    and the updated interval.

    Parameters
    ----------
    stx, fx, dx : float
        The best step so far, its value and its derivative (``dx`` has the
        sign opposite to ``stp - stx``).
    sty, fy, dy : float
        The other endpoint of the interval, its value and derivative.
    stp, fp, dp : float
        The last trial step, its value and derivative (inside the interval
        if ``brackt``).
    brackt : bool
        Whether a minimiser is bracketed by ``[stx, sty]``.
    stpmin, stpmax : float
        Bounds for the new step.

    Returns
    -------
    stx, fx, dx, sty, fy, dy : float
        The updated endpoints.
    stp : float
        The next trial step (not yet safeguarded by the caller's interval
        tests).
    brackt : bool
        Whether a minimiser is now bracketed.
    """
    args = (stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax)
    try:
        return _dcstep_floats(*args)
    except ZeroDivisionError:
        # Degenerate interval (stp == stx, a zero slope difference...): the
        # same operations in numpy float64 give the IEEE inf / NaN results
        # of the original, which the caller then rejects.
        with np.errstate(all="ignore"):
            out = _dcstep_floats(*(np.float64(a) for a in args[:9]), *args[9:])
        return (*(float(v) for v in out[:7]), out[7])


def dcsrch(
    fun,
    f0,
    g0,
    stp,
    *,
    ftol=1e-3,
    gtol=0.9,
    xtol=0.1,
    stpmin=0.0,
    stpmax=1e10,
    max_evals=49,
):
    """Find a step meeting the strong Wolfe conditions (MINPACK-2's ``dcsrch``).

    Parameters
    ----------
    fun : callable
        ``fun(stp) -> (phi, dphi)``: the function along the search direction
        and its derivative in ``stp`` (floats).
    f0, g0 : float
        ``phi(0)`` and ``phi'(0)``; ``g0 < 0``.
    stp : float
        First trial step, in ``[stpmin, stpmax]``.
    ftol : float, default=1e-3
        Sufficient decrease: ``phi(stp) <= f0 + ftol stp g0``.
    gtol : float, default=0.9
        Curvature: ``|phi'(stp)| <= gtol |g0|``.
    xtol : float, default=0.1
        Give up when the bracketing interval is shorter than ``xtol`` times
        its upper end.
    stpmin, stpmax : float, default=0.0, 1e10
        Bounds of the step.
    max_evals : int, default=49
        Most evaluations of ``fun`` (trial steps tested). The defaults are
        L-BFGS-B's settings (``maxls=50`` in scipy, i.e. 49 tested trials).

    Returns
    -------
    stp : float or None
        A step meeting both conditions, or None if the search failed (a
        warning of ``dcsrch``: bounds reached, interval too short, rounding
        errors, a non-finite trial step, or ``max_evals`` used up).
    f : float
        ``phi`` at the last step evaluated (at ``stp`` on success).
    message : str
        ``"convergence"`` or the reason of the failure.

    Raises
    ------
    ValueError
        If ``g0 >= 0`` (not a descent direction), a tolerance or ``stpmin``
        is negative, ``stpmax < stpmin`` or ``stp`` lies outside the bounds.
    """
    if not g0 < 0:
        raise ValueError(f"The initial derivative must be negative, got {g0!r}.")
    if min(ftol, gtol, xtol, stpmin) < 0 or stpmax < stpmin:
        raise ValueError(
            "ftol, gtol, xtol and stpmin must be nonnegative and stpmax >= "
            f"stpmin, got {ftol=}, {gtol=}, {xtol=}, {stpmin=}, {stpmax=}."
        )
    if not stpmin <= stp <= stpmax:
        raise ValueError(f"The first step {stp!r} is outside [stpmin, stpmax].")
    gtest = ftol * g0  # slope of the sufficient-decrease line
    gbound = gtol * -g0
    # [stx, sty]: the interval (stx the best step so far); fx, gx, fy, gy
    # the function and slope at its ends; [stmin, stmax] the range allowed
    # for the next trial.
    stx = sty = 0.0
    fx = fy = f0
    gx = gy = g0
    brackt = False
    stage1 = True  # still on the auxiliary function psi
    width = stpmax - stpmin
    width1 = width / 0.5
    stmin = 0.0
    stmax = stp + _EXTRAP_HI * stp
    f = f0
    for _ in range(max_evals):
        f, g = fun(stp)
        ftest = f0 + stp * gtest
        if stage1 and f <= ftest and g >= 0:
            stage1 = False
        if f <= ftest and abs(g) <= gbound:
            return stp, f, "convergence"
        # the warnings of dcsrch (the last one that holds names the failure)
        if stp == stpmin and (f > ftest or g >= gtest):
            return None, f, "stp = stpmin"
        if stp == stpmax and f <= ftest and g <= gtest:
            return None, f, "stp = stpmax"
        if brackt and stmax - stmin <= xtol * stmax:
            return None, f, "xtol test satisfied"
        if brackt and (stp <= stmin or stp >= stmax):
            return None, f, "rounding errors prevent progress"

        if stage1 and fx >= f > ftest:
            # A lower value but not a sufficient decrease, and no nonnegative
            # slope yet: step on psi, the function shifted by the line.
            stx, fxm, gxm, sty, fym, gym, stp, brackt = _dcstep(
                stx,
                fx - stx * gtest,
                gx - gtest,
                sty,
                fy - sty * gtest,
                gy - gtest,
                stp,
                f - stp * gtest,
                g - gtest,
                brackt,
                stmin,
                stmax,
            )
            fx = fxm + stx * gtest
            fy = fym + sty * gtest
            gx = gxm + gtest
            gy = gym + gtest
        else:
            stx, fx, gx, sty, fy, gy, stp, brackt = _dcstep(
                stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax
            )

        if brackt:
            # bisect when two trials did not shrink the interval enough
            if abs(sty - stx) >= _SHRINK * width1:
                stp = stx + 0.5 * (sty - stx)
            width1 = width
            width = abs(sty - stx)
            stmin = min(stx, sty)
            stmax = max(stx, sty)
        else:
            stmin = stp + _EXTRAP_LO * (stp - stx)
            stmax = stp + _EXTRAP_HI * (stp - stx)
        # min(max(.)) keeps a NaN step NaN (rejected below)
        stp = min(max(stp, stpmin), stpmax)
        if brackt and (stp <= stmin or stp >= stmax or stmax - stmin <= xtol * stmax):
            # no progress possible: the best step so far is the last trial
            stp = stx
        if not math.isfinite(stp):
            return None, f, "non-finite trial step"
    return None, f, "no step found in max_evals evaluations"
