#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The whole end-to-end suite once more, every server with a warm pool of the runner image."""

import os
import runpy
import sys

os.environ["DOCKER_RUN_TEST_WARM"] = "3"
here = os.path.dirname(os.path.abspath(__file__))
sys.argv[0] = os.path.join(here, "e2e-run.py")
runpy.run_path(sys.argv[0], run_name="__main__")
