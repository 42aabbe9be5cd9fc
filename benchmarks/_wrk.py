"""wrk (Debian's package ``wrk``, a C load generator) over a list of URLs, for the benchmarks.

A Python client on the same 2 cores as the servers spends more CPU per request than a cached
tile costs the server, so it measures itself; wrk spends a few microseconds. :func:`run_wrk`
writes a Lua script that cycles through the paths with the given headers, runs wrk for a fixed
time and returns the requests per second and the count of answers that were not 2xx/3xx.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WRK = shutil.which("wrk")

SCRIPT = """\
local paths = {paths}
local headers = {headers}
local i = 0
function init(args)
  i = tonumber(args[1]) or 0
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured."""

    requests: int
    seconds: float
    per_s: float
    errors: int  # non-2xx/3xx answers, socket errors and timeouts


def _lua_table(values: Sequence[str] | Mapping[str, str]) -> str:
    if isinstance(values, Mapping):
        return (
            "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in values.items()) + "}"
        )
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def parse_output(text: str) -> WrkRun:
    """The numbers of wrk's report.

    Examples
    --------
    >>> out = "  1234 requests in 2.00s, 1.2MB read\\n  Non-2xx or 3xx responses: 3\\n"
    >>> parse_output(out + "Requests/sec:    617.00\\n")
    WrkRun(requests=1234, seconds=2.0, per_s=617.0, errors=3)
    """
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not done or not rate:
        raise RuntimeError(f"unexpected wrk output:\\n{text[-2000:]}")
    unit = {"ms": 0.001, "s": 1.0, "m": 60.0}[done[3]]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return WrkRun(int(done[1]), float(done[2]) * unit, float(rate[1]), errors)


def run_wrk(
    urls: Sequence[str],
    headers: Mapping[str, str],
    seconds: float,
    connections: int,
    threads: int,
    workdir: Path,
) -> WrkRun:
    """``connections`` keep-alive connections over ``threads`` threads for ``seconds``."""
    if WRK is None:
        raise RuntimeError("wrk missing: scripts/setup.sh installs Debian's wrk")
    base = urlsplit(urls[0])
    paths = [urlsplit(u)._replace(scheme="", netloc="").geturl() for u in urls]
    script = workdir / "urls.lua"
    workdir.mkdir(parents=True, exist_ok=True)
    script.write_text(
        SCRIPT.format(paths=_lua_table(paths), headers=_lua_table(dict(headers))), "utf-8"
    )
    done = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            str(script),
            f"{base.scheme}://{base.netloc}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_output(done.stdout)
