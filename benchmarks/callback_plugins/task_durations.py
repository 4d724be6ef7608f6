# -*- coding: utf-8 -*-
"""Record how long every task takes on every host, for benchmarks/bench_migrate.py.

ansible-core 2.19 ships no profile_tasks callback (it lives in ansible.posix, on Galaxy), so this
small aggregate callback does the part the benchmark needs. Enable it with

    ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins ANSIBLE_CALLBACKS_ENABLED=task_durations
    TFSTATE_BENCH_TASK_LOG=/path/of/the/log.json

and it writes, when the run ends, a JSON object: ``tasks``, one entry per task started by the
strategy (``{"path", "name", "started"}``, ``started`` the controller's time when the strategy began
the task on its hosts), and ``runs``, one per task and host (``{"path", "name", "action", "host",
"start", "end", "status"}``: from the worker's start to the result reaching the controller).
Not part of the collection: it lives under benchmarks/, not plugins/.
"""

DOCUMENTATION = """
name: task_durations
type: aggregate
short_description: per-task, per-host durations for the fleet benchmark
description:
  - Writes the start and end time of every task on every host to the JSON file named by E(TFSTATE_BENCH_TASK_LOG).
requirements:
  - enable in configuration
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_durations"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._tasks = []
        self._runs = []
        self._started = {}

    @staticmethod
    def _where(task):
        return task.get_path() or "", task.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        path, name = self._where(task)
        self._tasks.append({"path": path, "name": name, "started": time.time()})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _finish(self, result, status):
        host, task = result._host.get_name(), result._task
        start = self._started.pop((host, task._uuid), None)
        if start is None:
            return
        path, name = self._where(task)
        self._runs.append({"path": path, "name": name, "action": task.action, "host": host, "start": start,
                           "end": time.time(), "status": status})

    def v2_runner_on_ok(self, result):
        self._finish(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._finish(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._finish(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._finish(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("TFSTATE_BENCH_TASK_LOG")
        if not path:
            return
        with open(path, "w") as handle:
            json.dump({"ended": time.time(), "tasks": self._tasks, "runs": self._runs}, handle)
