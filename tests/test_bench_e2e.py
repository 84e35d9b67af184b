"""The e2e bench's memory figures (bench/e2e.py): the VmRSS sum over a process tree, and
beside it the Pss sum, which splits the pages the processes share."""

from __future__ import annotations

import subprocess
import sys

from bench.e2e import tree_pss_mb, tree_rss_mb


def test_the_pss_of_a_tree_counts_shared_pages_once_and_the_rss_sum_does_not():
    # two children of one interpreter binary share its pages (and the libraries')
    kids = [subprocess.Popen([sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(2)]
    try:
        for k in kids:  # each has started and is waiting
            assert k.stdout is not None and k.stdout.readline() == b"up\n"
        rss, count = tree_rss_mb(kids[0].pid)
        assert count == 1 and rss > 1
        both_rss = sum(tree_rss_mb(k.pid)[0] for k in kids)
        both_pss = sum(tree_pss_mb(k.pid) for k in kids)
        assert 0 < both_pss < both_rss
    finally:
        for k in kids:
            k.communicate(b"")
