"""--scheduler: the same tasks on a Dask cluster (loopback: a scheduler and 2 worker
processes started here) give the same grades.csv as the local process pool."""

from __future__ import annotations

import pytest

from tests.test_pipeline import (
    BLANK,
    CORRECT,
    PARTIAL,
    build_assignment,
    grade,
    put,
    read_grades,
    student_notebook,
)

distributed = pytest.importorskip("distributed", reason="the [cluster] extra is not installed")


@pytest.mark.slow
def test_dask_cluster_grades_match_the_local_pool(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"
    for student, answers in (("ada", CORRECT), ("bo", PARTIAL), ("cy", BLANK)):
        put(submissions, student, student_notebook(answers))
    put(submissions, "dee", b"not json")

    local, remote = tmp_path / "local", tmp_path / "cluster"
    assert grade(source_root, submissions, local, "--workers", "2") == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert grade(source_root, submissions, remote, "--scheduler",
                     cluster.scheduler_address) == 0
    assert (remote / "grades.csv").read_text() == (local / "grades.csv").read_text()
    assert [row["status"] for row in read_grades(remote)] == ["ok", "ok", "ok", "invalid"]
    assert (remote / "feedback" / "bo" / "fx" / "fx.html").is_file()


def test_unreachable_scheduler_is_a_clear_error():
    from autograder import cluster

    with pytest.raises(cluster.ClusterUnavailable, match="cannot reach the Dask scheduler"):
        cluster.DaskPool("tcp://127.0.0.1:9", timeout=1)
