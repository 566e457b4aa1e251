#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Count individual test cases across meson's test log (criterion and Python suites) and print one line."""

import json
import re
import sys

passed = failed = 0
with open(sys.argv[1]) as log:
    for line in log:
        t = json.loads(line)
        out = t.get("stdout", "") + t.get("stderr", "")
        crit = re.findall(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", out)
        py = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
        if crit:
            _, p, f, c = map(int, crit[-1])
            passed, failed = passed + p, failed + f + c
        elif py:
            p, f = map(int, py[-1])
            passed, failed = passed + p, failed + f
        # A suite that died before printing its count is one failure.
        if t["result"] != "OK" and not (crit and (int(crit[-1][2]) or int(crit[-1][3]))) \
                and not (py and int(py[-1][1])):
            failed += 1
print("%d passed, %d failed" % (passed, failed))
