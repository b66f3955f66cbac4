"""Where Dask row blocks are computed: the client, the workers, pinned tasks.

Shared by the validation of Dask input (:mod:`sk_softmax._dask_input`, one
round of checks per block) and the Dask backend of the objective
(:mod:`sk_softmax._objective._dask`, the blocks' kernels): the user's
client, the worker each block lives on, and tasks pinned there with their
blocks' lineage. Dask and distributed are imported only when called.
"""

import functools
import uuid

__all__ = [
    "current_client",
    "home_worker",
    "per_block",
    "pin_lineage",
    "pinned_futures",
]


def current_client():
    """The user's connected ``distributed.Client``, or None.

    Returns
    -------
    client : distributed.Client or None
    """
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def home_worker(client, x_block, i, n):
    """The worker for block ``i`` of ``n``.

    Where ``X``'s block already is (persisted ``X``), else the ``i``-th of
    ``n`` contiguous shares of the workers (balanced, whatever the graph of
    ``X``).

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    x_block : dask.delayed.Delayed
        The block of ``X``.
    i, n : int
        The block's index and the number of blocks.

    Returns
    -------
    worker : str
        The worker's address.
    """
    from distributed import futures_of

    held = futures_of(x_block)
    if held:
        for workers in client.who_has(held).values():
            if workers:
                return workers[0]
    workers = sorted(client.nthreads())
    return workers[i * len(workers) // n]


def pin_lineage(placement, blocks, where):
    """Annotate the tasks of each delayed block to the workers ``where``.

    Parameters
    ----------
    placement : dict
        Task key -> workers; updated with each block's own lineage (culled
        from its graph).
    blocks : sequence of dask.delayed.Delayed or None
        The blocks.
    where : list of str
        The workers.
    """
    for p in blocks:
        if p is not None:
            placement.update(dict.fromkeys(p.dask.cull({p.key}).keys(), where))


def pinned_futures(client, fn, parts, name):
    """Futures of ``fn(*part)`` per block, each run where its block lives.

    Each block's whole lineage (the tasks of ``X``'s, ``y``'s and the
    weights' block, ``part[:3]``) is annotated to the block's worker, so
    that no block of ``X`` moves between workers (dask's placement by data
    size alone moved small blocks; measured in tests/test_dask.py). The
    restriction is loose: a block lost with its worker is recomputed
    elsewhere from its lineage.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    fn : callable
        ``fn(x_block, y_block, sw_block, *rest)``.
    parts : list of tuple
        Per block: delayed blocks (or None) then other arguments.
    name : str
        Key prefix.

    Returns
    -------
    futures : list of distributed.Future
    """
    import dask

    token = uuid.uuid4().hex
    tasks, placement = [], {}
    for i, part in enumerate(parts):
        key = f"sk_softmax-{name}-{token}-{i}"
        where = [home_worker(client, part[0], i, len(parts))]
        pin_lineage(placement, part[:3], where)
        placement[key] = where
        tasks.append(dask.delayed(fn)(*part, dask_key_name=key))
    with dask.annotate(
        workers=functools.partial(dict.get, placement), allow_other_workers=True
    ):
        return client.compute(tasks, optimize_graph=False)


def per_block(fn, parts, name):
    """``[fn(*part) for part in parts]`` computed by dask, in block order.

    On the current cluster with :func:`pinned_futures` (the blocks of ``X``
    computed where they will live), else with dask's local scheduler.

    Parameters
    ----------
    fn : callable
        ``fn(x_block, y_block, sw_block, *rest)``, small result.
    parts : list of tuple
        Per block: delayed blocks (or None) then other arguments.
    name : str
        Key prefix.

    Returns
    -------
    results : list
    """
    import dask

    client = current_client()
    if client is None:
        return list(dask.compute(*[dask.delayed(fn)(*p) for p in parts]))
    return client.gather(pinned_futures(client, fn, parts, name))
