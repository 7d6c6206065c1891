"""Send grading tasks to a Dask distributed cluster instead of the local process pool.

    pool = DaskPool("tcp://scheduler:8786")     # needs the optional [cluster] extra
    future = pool.submit(function, task)         # same tasks as the local pool
    for future in pool.as_completed(futures): future.result()
    pool.shutdown()

Tasks carry the submission and source notebook bytes, so workers need the course's Python
environment (nnlab, the autograder, bubblewrap) but no shared filesystem. Results come back
to the client, where the single gradebook writer stores them. The environment check runs on
the client; a worker whose sandbox cannot start returns a fatal result that stops the run.
"""

from __future__ import annotations

INSTALL_HINT = (
    "--scheduler needs dask.distributed, which is not installed; install the cluster extra "
    "(pip install -e '.[cluster]') on this machine and on every worker"
)


class ClusterUnavailable(RuntimeError):
    """dask.distributed is missing or the scheduler cannot be reached."""


class DaskPool:
    def __init__(self, address: str, timeout: float = 20.0):
        try:
            from distributed import Client
        except ImportError:
            raise ClusterUnavailable(INSTALL_HINT) from None
        try:
            self.client = Client(address, timeout=timeout)
        except OSError as error:
            raise ClusterUnavailable(
                f"cannot reach the Dask scheduler at {address}: {error}"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            self.client.close()
            raise ClusterUnavailable(f"the Dask scheduler at {address} has no workers") from None

    def submit(self, function, task):
        # pure=False: a resubmitted task must run again, not return a cached result.
        return self.client.submit(function, task, pure=False, retries=1)

    def as_completed(self, futures):
        from distributed import as_completed

        return as_completed(list(futures))

    def shutdown(self, cancel: bool = False) -> None:
        self.client.close()
