"""The peer of `cargo xtask bench`'s pipeline speed: Prefect running the same
work (each task runs `sh -c true`), timed inside the script after imports and
after one warm-up flow run, against a local `prefect server`.

Usage: python prefect_bench.py sequential|independent N  -> prints seconds
"""
import subprocess
import sys
import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task
def sh_true():
    subprocess.run(["sh", "-c", "true"], check=True)


@flow
def sequential(n: int):
    for _ in range(n):
        sh_true()


@flow(task_runner=ThreadPoolTaskRunner(max_workers=64))
def independent(n: int):
    futures = [sh_true.submit() for _ in range(n)]
    for f in futures:
        f.result()


def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    run = sequential if mode == "sequential" else independent
    run(1)  # warm-up: the API client, the flow's registration
    start = time.perf_counter()
    run(n)
    print(f"{time.perf_counter() - start:.4f}")


if __name__ == "__main__":
    main()
