"""The e2e bench's own parts: its memory figures (bench/e2e.py: the VmRSS sum over a
process tree, and beside it the Pss sum, which splits the pages the processes share), its
CPU figures, and its SMTP sink (bench/sink.py)."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys

from bench.e2e import _forget_tree, cpu_s, tree_pss_mb, tree_rss_mb
from bench.sink import LeanSink


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


def test_the_cpu_of_a_tree_counts_its_children_and_of_the_process_alone_does_not():
    """The e2e bench's CPU rows (bench/e2e.py cpu_s): the worker's process tree (a child
    still running, as the parser processes are, and one already waited for), and the
    worker process alone (the one interpreter lock that bounds its rate)."""
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys\n"
         f"subprocess.run([sys.executable, '-c', {spin!r}])\n"  # a child that spun 0.3 s
         # and one that spins 0.3 s, then waits while the test looks
         f"live = subprocess.Popen([sys.executable, '-c', {spin + 'print(1, flush=True); input()'!r}],"
         " stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
         "live.stdout.readline()\n"
         "print('up', flush=True); sys.stdin.read(); live.communicate(b'\\n')"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == b"up\n"
        _forget_tree()
        alone, tree = cpu_s(parent.pid, tree=False), cpu_s(parent.pid)
        assert tree - alone >= 0.5  # both children's 0.3 s are the tree's
    finally:
        parent.communicate(b"")


def test_the_lean_sink_counts_each_mail_once_however_its_bytes_arrive():
    """bench/sink.py: the relay the e2e bench delivers to. Mails from smtplib (an empty one,
    one with dot-stuffed lines, two recipients); then a pipelined dialogue with an empty
    DATA, sent at once and a byte at a time, so the end of DATA is split across reads."""
    with LeanSink() as sink:
        client = smtplib.SMTP("127.0.0.1", sink.port, timeout=30)
        assert client.ehlo()[0] == 250 and client.has_extn("pipelining")
        client.sendmail("a@example.com", ["b@example.com"], b"")
        client.sendmail("a@example.com", ["b@example.com", "c@example.com"],
                        b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend.\r\n")
        client.quit()
        assert (sink.count, sink.recipients) == (2, 3)

        dialogue = (b"EHLO me\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                    b"DATA\r\nSubject: x\r\n\r\nline\r\n..\r\n.\r\n"
                    b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n.\r\n"
                    b"QUIT\r\n")
        for step in (len(dialogue), 1):
            with socket.create_connection(("127.0.0.1", sink.port), timeout=30) as conn:
                for i in range(0, len(dialogue), step):
                    conn.sendall(dialogue[i:i + step])
                answers = b""
                while chunk := conn.recv(4096):
                    answers += chunk
            assert answers.startswith(b"220 ") and answers.endswith(b"221 2.0.0 Bye\r\n")
            assert answers.count(b"250 2.0.0 OK\r\n") == 2  # two mails, each accepted once
        assert (sink.count, sink.recipients) == (6, 7)
