"""How gunicorn serves Recorder. gunicorn reads this file from the folder it starts in, so
`make run`, the benchmarks (bench/serving.py) and the README's production command serve alike;
flags on the command line (the address, the logs) go on top.

Threads, because most of a request's time is spent waiting for the database or Graph; two
processes, so that Python uses both cores of a small machine. On SQLite the threads and
processes queue for the one write lock without sleeping (recorder_site/sqlite3/base.py).
"""

worker_class = "gthread"
workers = 2
threads = 8
