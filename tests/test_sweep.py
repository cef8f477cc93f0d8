"""softq_tf.sweep: many trials as separate training processes on one machine.

The run tests share one module-scoped history of real training processes (ContinuousBandit-v0,
300 steps, tiny networks), because each process start costs seconds:

1. ``run_sweep`` of sql and ddpg seed 0: the sql trial is SIGKILLed inside its checkpoint save at
   step 200 (``SOFTQ_TF_TEST_CRASH_AT``, set in the sweep's environment), the ddpg one finishes;
2. ``run_sweep`` again, without the crash hook, plus a trial that really fails with an error:
   sql seed 1 diverges (``reward_scale=1e38``: the Q loss overflows, so the training CLI exits 1
   with an ``error:`` line) while the killed trial resumes from its newest complete checkpoint
   (step 100) and finishes, and the DDPG trial is reused;
3. the sweep CLI on the grid of seed 0 (from a grid file): everything is reused, no process starts
   and no file in the run folders changes.
"""
import contextlib
import csv
import ctypes
import dataclasses
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import assert_bad_input_before_tensorflow
from softq_tf import sweep
from softq_tf.running import sweep_local
from softq_tf.running import experiment
from softq_tf.training.files import CRASH_ENV_VAR, LOCK_FILE, write_json_atomic

BANDIT = "softq_tf/ContinuousBandit-v0"
# Tiny and without XLA (each compile costs seconds); checkpoints at 150 and 300, none at 200.
SMALL = ("min_pool=50", "batch_size=16", "hidden_sizes=16", "log_every=50", "checkpoint_every=150",
         "jit_compile=false")
SQL_SMALL = ("kernel_particles=4", "value_particles=4")
LOG_STEPS = list(range(50, 301, 50))


def summary_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def progress_steps(logdir):
    with open(os.path.join(logdir, "progress.csv"), newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def file_states(trials):
    """(path, size, mtime) of every file in the trials' folders."""
    return sorted((os.path.join(root, name), os.path.getsize(os.path.join(root, name)),
                   os.path.getmtime(os.path.join(root, name)))
                  for trial in trials for root, _, names in os.walk(trial.logdir) for name in names)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "softq_tf.sweep", *args], check=False,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def assert_bad_input(result, message):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    grid = sweep.make_grid(out, ("sql", "ddpg"), (BANDIT,), (0,), 300, overrides=SMALL,
                           algo_overrides={"sql": (*SQL_SMALL, "checkpoint_every=100")})
    diverging, = sweep.make_grid(out, ("sql",), (BANDIT,), (1,), 300, overrides=SMALL,
                                 algo_overrides={"sql": (*SQL_SMALL, "reward_scale=1e38")})
    absl_logger, handler = logging.getLogger("absl"), _Lines()
    absl_logger.addHandler(handler)
    level = absl_logger.level
    absl_logger.setLevel(logging.INFO)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(CRASH_ENV_VAR, "side_files:200")
            first = sweep.run_sweep(grid, summary_path=out / "first.csv", report_every_sec=1.0)
        trials = [grid[0], diverging, grid[1]]
        second = sweep.run_sweep(trials, summary_path=out / "second.csv")
    finally:
        absl_logger.removeHandler(handler)
        absl_logger.setLevel(level)
    grid_file = out / "grid.json"
    grid_file.write_text(json.dumps(dict(
        algos=["sql", "ddpg"], envs=[BANDIT], seeds=[0], total_steps=300, overrides=list(SMALL),
        algo_overrides=dict(sql=[*SQL_SMALL, "checkpoint_every=100"]))))
    before = file_states(grid)
    third = cli(f"--grid={grid_file}", f"--out_dir={out}")
    return dict(out=out, trials=trials, first=first, second=second, third=third, before=before,
                after=file_states(grid), log_lines=handler.lines)


def test_grid_layout_and_override_order(tmp_path):
    trials = sweep.make_grid(tmp_path, ("sql", "ddpg"), (BANDIT, "softq_tf/MultiGoal-v0"), (3, 1),
                             500, overrides=("log_every=50",),
                             algo_overrides={"sql": ("kernel_particles=4",)},
                             env_kwargs={"softq_tf/MultiGoal-v0": {"goal_reward": 5.0}})
    envs = (BANDIT, "softq_tf/MultiGoal-v0")
    assert [(t.algo, t.env_id, t.seed) for t in trials] == [
        (a, e, s) for a in ("sql", "ddpg") for e in envs for s in (3, 1)]
    assert trials[0].logdir == str(tmp_path / "runs" / "sql" / "ContinuousBandit-v0" / "seed3")
    assert trials[0].overrides == ("log_every=50", "kernel_particles=4")
    assert trials[-1].overrides == ("log_every=50",)
    assert trials[-1].env_kwargs == (("goal_reward", 5.0),)
    assert trials[0].env_kwargs == () and trials[0].total_steps == 500
    assert not os.listdir(tmp_path)  # making a grid writes nothing


def test_summaries_of_sweeps_sharing_a_folder_add_up(tmp_path):
    """Figures 5 and 7 sweep different runs into one folder: neither erases the other's rows."""
    def results(algo, seeds, status):
        return [sweep.TrialResult(trial, status, 300, 1.5, 2.0, "")
                for trial in sweep.make_grid(tmp_path, [algo], [BANDIT], seeds, 300)]

    path = tmp_path / "sweep_summary.csv"
    sweep.write_summary(results("sql", [0, 1], "finished"), path)
    sweep.write_summary(results("ddpg", [0], "finished") + results("sql", [1], "reused"), path)
    assert [(r["algo"], r["seed"], r["status"]) for r in summary_rows(path)] == [
        ("sql", "0", "finished"), ("ddpg", "0", "finished"), ("sql", "1", "reused")]
    path.write_text("not,a,summary\n1,2,3\n")  # another file by that name is replaced
    sweep.write_summary(results("ddpg", [0], "reused"), path)
    assert [(r["algo"], r["status"]) for r in summary_rows(path)] == [("ddpg", "reused")]


def test_resources_default_to_the_cores_shared_among_trials():
    assert sweep.resources_for(4, cpus=2) == (2, 1)
    assert sweep.resources_for(1, cpus=8) == (1, 8)
    assert sweep.resources_for(3, cpus=8) == (3, 2)
    assert sweep.resources_for(5, parallel=1, cpus=4) == (1, 4)
    assert sweep.resources_for(5, parallel=2, threads_per_trial=3, cpus=4) == (2, 3)
    for bad in (dict(parallel=0), dict(parallel=-1), dict(threads_per_trial=0)):
        with pytest.raises(ValueError, match="is invalid: give an integer >= 1"):
            sweep.resources_for(4, cpus=2, **bad)


def test_failed_trials_are_reported_while_the_others_finish(history):
    killed, ddpg = history["first"]
    assert killed.status == "failed" and killed.steps == 200, killed
    assert killed.error.startswith("killed by SIGKILL; last output: "), killed
    assert ddpg.status == "finished" and ddpg.error == "", ddpg
    assert ddpg.steps == 300 and math.isfinite(ddpg.final_return) and ddpg.wall_sec > 0
    assert os.path.exists(os.path.join(ddpg.trial.logdir, "policy", "saved_model.pb"))
    assert progress_steps(ddpg.trial.logdir) == LOG_STEPS
    rows = summary_rows(history["out"] / "first.csv")
    assert [(r["algo"], r["seed"], r["status"], r["steps"]) for r in rows] == [
        ("sql", "0", "failed", "200"), ("ddpg", "0", "finished", "300")]
    assert rows[0]["error"] == killed.error
    assert rows[0]["overrides"] == " ".join(killed.trial.overrides)

    resumed, diverging, _ = history["second"]
    assert resumed.status == "finished", resumed  # the failure did not stop it
    assert diverging.status == "failed" and diverging.steps == 0, diverging
    assert diverging.error.startswith("non-finite loss or gradient at step 50"), diverging
    assert not os.path.exists(os.path.join(diverging.trial.logdir, "policy"))
    rows = summary_rows(history["out"] / "second.csv")
    assert [(r["seed"], r["status"]) for r in rows] == [
        ("0", "finished"), ("1", "failed"), ("0", "reused")]
    assert rows[1]["error"] == diverging.error


def test_killed_trial_resumes_from_its_checkpoint(history):
    killed, _, ddpg = history["second"]
    assert killed.status == "finished" and killed.steps == 300, killed
    logdir = killed.trial.logdir
    assert progress_steps(logdir) == LOG_STEPS  # every log step exactly once
    with open(os.path.join(logdir, "train.log")) as f:
        attempts = f.read().split("--- softq_tf.sweep ")[1:]
    assert len(attempts) == 2 and "--resume" not in attempts[0].splitlines()[0]
    assert "--resume" in attempts[1].splitlines()[0]
    assert f"resumed from {logdir}/checkpoints/ckpt-100" in attempts[1]
    assert ddpg.status == "reused" and ddpg.wall_sec == 0.0 and ddpg.steps == 300


def test_cli_rerun_trains_nothing(history):
    result = history["third"]
    assert result.returncode == 0, result.stderr[-2000:]
    rows = summary_rows(history["out"] / "sweep_summary.csv")
    assert [(r["algo"], r["status"], r["steps"], r["wall_sec"]) for r in rows] == [
        ("sql", "reused", "300", "0.0"), ("ddpg", "reused", "300", "0.0")]
    table = [line.split()[:5] for line in result.stdout.splitlines()]
    assert ["sql", BANDIT, "0", "reused", "300"] in table, result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"plot curves with: python -m softq_tf.plot {history['out']}")
    assert history["before"] and history["after"] == history["before"]  # train.log included


def test_each_trial_got_its_thread_count(history):
    _, threads = sweep.resources_for(2)  # each sweep ran two trials (1 thread each on 2 cores)
    killed, diverging, ddpg = history["trials"]
    for trial, attempt in ((killed, 0), (killed, 1), (diverging, 0), (ddpg, 0)):
        with open(os.path.join(trial.logdir, "train.log")) as f:
            log = f.read().split("--- softq_tf.sweep ")[1 + attempt]
        assert f"--threads={threads}" in log.splitlines()[0]
        assert f"TensorFlow threads: intra-op {threads}, inter-op {threads}\n" in log, log[-2000:]


def test_eta_takes_each_kind_of_trial_at_its_own_rate_over_the_parallel_slots():
    sql, ddpg, maze = ("sql", "swimmer"), ("ddpg", "swimmer"), ("sql", "maze")
    measured = [(sql, 1000, 10.0), (sql, 500, 10.0), (ddpg, 3000, 10.0)]  # 75 and 300 steps/s
    assert sweep_local.eta_sec([(sql, 1500), (ddpg, 3000)], measured, 1) == pytest.approx(30.0)
    assert sweep_local.eta_sec([(sql, 1500), (ddpg, 3000)], measured, 2) == pytest.approx(15.0)
    overall = 4500 / 30.0  # a kind not run yet: the rate of all trials together
    assert sweep_local.eta_sec([(maze, 1500)], measured, 1) == pytest.approx(1500 / overall)
    assert sweep_local.eta_sec([(sql, 100)], [(sql, 0, 5.0)], 1) is None  # no step yet
    assert sweep_local.eta_sec([], measured, 2) == 0


def test_one_progress_line_for_the_whole_sweep(history):
    lines = [line for line in history["log_lines"] if " pending of 2 trials " in line]
    assert len(lines) >= 2, history["log_lines"]  # while running (every second) and at the end
    assert "steps/s" in lines[-1] and "eta" in lines[-1]
    assert lines[-1].startswith("sweep: 1 done, 0 running, 1 failed, 0 pending of 2 trials | "
                                "500/600 steps")


@pytest.mark.parametrize("args,message", [
    (["--no_such_flag=1"], "no_such_flag"),
    (["--envs=NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["--override=batch_size=abc"], "batch_size"),
])
def test_bad_input_fails_before_tensorflow_is_imported(tmp_path, args, message):
    assert_bad_input_before_tensorflow("softq_tf.sweep", message, f"--out_dir={tmp_path}", *args)
    assert os.listdir(tmp_path) == []


def test_sigterm_to_the_sweep_stops_its_trials_with_checkpoints(tmp_path):
    out = tmp_path / "out"
    sweep_process = subprocess.Popen(
        [sys.executable, "-m", "softq_tf.sweep", "--algos=sql", f"--envs={BANDIT}", "--seeds=0",
         "--total_steps=100000", f"--out_dir={out}",
         *[f"--override={o}" for o in SMALL + SQL_SMALL]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    logdir = out / "runs" / "sql" / "ContinuousBandit-v0" / "seed0"
    deadline = time.monotonic() + 240
    while not (logdir / "checkpoints" / "ckpt-150.index").exists():
        assert time.monotonic() < deadline and sweep_process.poll() is None
        time.sleep(0.5)
    sweep_process.send_signal(signal.SIGTERM)
    _, stderr = sweep_process.communicate(timeout=120)
    assert sweep_process.returncode == 3, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("error: sweep stopped")
    # The trial stopped cleanly too (no orphan): its stop line, a checkpoint at its last step.
    log = (logdir / "train.log").read_text()
    assert "error: stopped by SIGTERM at step" in log
    stopped_at = int(re.search(r"stopped by SIGTERM at step (\d+)", log).group(1))
    assert (logdir / "checkpoints" / f"ckpt-{stopped_at}.index").exists()


def test_cli_unknown_engine(tmp_path):
    out = tmp_path / "out"
    result = cli(f"--out_dir={out}", "--engine=slurm")
    assert result.returncode == 2 and "--engine" in result.stderr and "slurm" in result.stderr
    assert not out.exists()


def test_grid_file_that_does_not_parse_or_has_unknown_keys_or_types(tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text("{\"algos\": [\"sql\"],")
    with pytest.raises(ValueError, match="cannot be read as JSON .JSONDecodeError"):
        sweep.load_grid_file(grid)
    grid.write_text(json.dumps(dict(algos=["sql"], seed=[0])))
    with pytest.raises(ValueError, match="has unknown keys seed: allowed are algos, envs"):
        sweep.load_grid_file(grid)
    grid.write_text(json.dumps(dict(seeds="0,1")))
    with pytest.raises(ValueError, match="seeds is \"0,1\": give a list of non-negative"):
        sweep.load_grid_file(grid)


def test_out_dir_with_other_settings_is_refused_and_untouched(tmp_path):
    trial, = sweep.make_grid(tmp_path, ("sql",), (BANDIT,), (0,), 300, overrides=SMALL)
    run = experiment.prepare(BANDIT, "sql", 300, 0, trial.logdir, SMALL)
    os.makedirs(trial.logdir)
    write_json_atomic(os.path.join(trial.logdir, "config.json"), run.to_json())
    before = file_states([trial])
    result = cli("--algos=sql", f"--envs={BANDIT}", "--seeds=0", "--total_steps=400",
                 f"--out_dir={tmp_path}", *(f"--override={o}" for o in SMALL),
                 "--override=hidden_sizes=32")
    assert_bad_input(result, f"{trial.logdir} holds a run made with other settings: "
                             "hidden_sizes is [16] there, [32] here; pick another out_dir")
    assert file_states([trial]) == before and sorted(os.listdir(tmp_path)) == ["runs"]
    sweep.check_trials([trial])  # the same settings are accepted


def test_a_finished_trial_is_continued_to_a_larger_total(tmp_path):
    short, = sweep.make_grid(tmp_path, ("ddpg",), (BANDIT,), (0,), 100, overrides=SMALL)
    assert sweep.run_sweep([short])[0].status == "finished"
    longer, = sweep.make_grid(tmp_path, ("ddpg",), (BANDIT,), (0,), 200, overrides=SMALL)
    assert not sweep.is_done(longer) and sweep.is_done(short)
    result, = sweep.run_sweep([longer])
    assert result.status == "finished" and result.steps == 200, result
    assert progress_steps(longer.logdir) == [50, 100, 150, 200]  # every step once
    config = json.loads(open(os.path.join(longer.logdir, "config.json")).read())
    assert config["loop"]["total_steps"] == 200 and config["total_steps_history"] == [100, 200]
    with open(os.path.join(longer.logdir, "train.log")) as f:
        attempts = f.read().split("--- softq_tf.sweep ")[1:]
    assert len(attempts) == 2 and "--resume --" not in attempts[1] and (
        "--total_steps=200" in attempts[1].splitlines()[0]
        and attempts[1].splitlines()[0].endswith("--resume"))
    assert f"resumed from {longer.logdir}/checkpoints/ckpt-100" in attempts[1]
    assert sweep.run_sweep([longer])[0].status == "reused"
    with pytest.raises(ValueError, match=r"holds a run made with other settings: 200 steps "
                                         r"done there, total_steps 100 here"):
        sweep.check_trials([short])  # fewer steps than done: refused, not restarted


@pytest.mark.parametrize("kwargs,message", [
    (dict(algos=("sql", "a2c")), "algo 'a2c' is unknown: allowed are sql, ddpg"),
    (dict(env_ids=("softq_tf/NoSuchEnv-v0",)), "env 'softq_tf/NoSuchEnv-v0' is not registered"),
    (dict(seeds=()), "seeds is empty: give one or more, e.g. 0,1,2"),
    (dict(seeds=(0, 2, 2)), "seeds [0, 2, 2] repeat 2: give each once"),
    (dict(seeds=(0, -1)), "seed -1 is invalid: seeds must be non-negative integers"),
    (dict(algos=()), "algos is empty"),
    (dict(overrides=("kernel_particles=abc",)), "--override kernel_particles='abc' is invalid"),
    (dict(env_kwargs={"softq_tf/MultiGoal-v0": {}}),
     f"names env 'softq_tf/MultiGoal-v0', which is not in the grid: allowed are {BANDIT}"),
    (dict(env_kwargs={BANDIT: {"bogus": 1}}), "--env_kwargs={\"bogus\": 1} is invalid for"),
])
def test_make_grid_rejects_bad_input(tmp_path, kwargs, message):
    args = dict(algos=("sql",), env_ids=(BANDIT,), seeds=(0,), total_steps=100) | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        sweep.make_grid(tmp_path, **args)


def test_run_sweep_rejects_bad_input_before_starting_anything(tmp_path):
    trials = sweep.make_grid(tmp_path, ("sql",), (BANDIT,), (0,), 100)
    with pytest.raises(ValueError, match="parallel=0 is invalid"):
        sweep.run_sweep(trials, parallel=0)
    with pytest.raises(ValueError, match="'a2c' is invalid: allowed are sql, ddpg"):
        sweep.run_sweep([dataclasses.replace(trials[0], algo="a2c")])
    with pytest.raises(ValueError, match="repeat"):
        sweep.run_sweep(trials * 2)
    assert not os.listdir(tmp_path)


def test_fine_tuning_trials_start_from_a_finished_run_in_their_own_folder(history, tmp_path):
    pretrained, ddpg_run = history["trials"][0], history["trials"][2]  # both finished
    trial, = sweep.make_grid(tmp_path, ("sql",), (BANDIT,), (0,), 100, overrides=SMALL,
                             algo_overrides={"sql": SQL_SMALL}, variant="finetuned")
    assert trial.logdir == str(tmp_path / "runs" / "sql-finetuned" / "ContinuousBandit-v0"
                               / "seed0")
    with pytest.raises(ValueError, match="not a finished run: run the pretraining first"):
        sweep.check_trials([dataclasses.replace(trial, init_from=str(tmp_path / "nowhere"))])
    fine_tuning = dataclasses.replace(trial, init_from=pretrained.logdir)
    result, = sweep.run_sweep([fine_tuning])
    assert result.status == "finished", result.error
    with open(os.path.join(trial.logdir, "config.json")) as f:
        assert json.load(f)["init_from"] == os.path.normpath(pretrained.logdir)
    with pytest.raises(ValueError, match="init_from is"):  # the folder started elsewhere
        sweep.check_trials([dataclasses.replace(trial, init_from=ddpg_run.logdir)])


def test_a_trial_stopped_by_a_signal_fails_with_the_stop_as_its_reason(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("--- softq_tf.sweep attempt 1\nerror: an earlier attempt's error\n")
    offset = log.stat().st_size
    stop = "stopped by SIGTERM at step 73; checkpoint written, continue with --resume"
    with open(log, "a") as f:
        f.write(f"--- softq_tf.sweep attempt 2\nI step 50/300\nerror: {stop}\n")
    assert sweep_local._failure_reason(str(log), offset, 3) == stop


def test_stopping_the_sweep_terminates_its_trials_then_kills_those_that_linger(monkeypatch):
    monkeypatch.setattr(sweep_local, "_STOP_GRACE_SEC", 2.0)
    script = ("import signal, sys, time; signal.signal(signal.SIGTERM, {}); "
              "print('ready', flush=True); time.sleep(60)")
    clean, stubborn = (subprocess.Popen([sys.executable, "-c", script.format(handler)],
                                        stdout=subprocess.PIPE, text=True)
                       for handler in ("lambda *_: sys.exit(3)", "signal.SIG_IGN"))
    for process in (clean, stubborn):
        assert process.stdout.readline() == "ready\n"
    sweep_local._stop([sweep_local._Process(process, "", 0, 0.0) for process in (clean, stubborn)])
    assert clean.returncode == 3  # as the training CLI does after its checkpoint
    assert stubborn.returncode == -signal.SIGKILL
    for process in (clean, stubborn):
        process.stdout.close()


@contextlib.contextmanager
def adopting_orphans():
    """Makes this process, inside the block, the reaper of its descendants' orphans (Linux
    ``PR_SET_CHILD_SUBREAPER``), so that a test can wait for the trials of a sweep it killed and
    read their exit codes."""
    libc = ctypes.CDLL(None, use_errno=True)
    set_child_subreaper = 36  # from <linux/prctl.h>
    assert libc.prctl(set_child_subreaper, 1, 0, 0, 0) == 0, ctypes.get_errno()
    try:
        yield
    finally:
        libc.prctl(set_child_subreaper, 0, 0, 0, 0)


def exit_code_within(pid, seconds):
    """The exit code of child ``pid`` once it ends (None if it runs ``seconds`` longer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.1)
    return None


def paused_at_their_first_row(driver, logdirs):
    """Waits until each trial of the sweep ``driver`` has a progress row, pausing (SIGSTOP) each
    one that has, so that none runs to its end while another one starts; returns their pids."""
    pids, deadline = {}, time.monotonic() + 240
    while len(pids) < len(logdirs):
        assert time.monotonic() < deadline and driver.poll() is None
        for logdir in logdirs:
            if logdir not in pids and (logdir / "progress.csv").exists() and progress_steps(
                    logdir):
                pids[logdir] = int((logdir / LOCK_FILE).read_text())
                os.kill(pids[logdir], signal.SIGSTOP)
        time.sleep(0.1)
    return [pids[logdir] for logdir in logdirs]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_trials_stop_with_a_killed_sweep_and_the_rerun_resumes_them(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "softq_tf.sweep", "--algos=ddpg", f"--envs={BANDIT}",
               "--seeds=0,1", "--total_steps=300", f"--out_dir={out}", "--parallel=2",
               "--threads_per_trial=1", *[f"--override={o}" for o in SMALL]]
    logdirs = [out / "runs" / "ddpg" / "ContinuousBandit-v0" / f"seed{s}" for s in (0, 1)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with adopting_orphans(), open(tmp_path / "first.log", "w") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        trial_pids = paused_at_their_first_row(driver, logdirs)
        for pid in trial_pids:
            os.kill(pid, signal.SIGCONT)
        driver.kill()  # SIGKILL: the sweep gets no chance to stop its trials itself
        driver.wait()
        # Their parent gone, the trials get SIGTERM from the kernel: checkpoint, exit 3.
        assert [exit_code_within(pid, 60) for pid in trial_pids] == [3, 3]
    for logdir in logdirs:
        stop = re.findall(r"error: stopped by SIGTERM at step (\d+)", (logdir / "train.log")
                          .read_text())
        assert len(stop) == 1 and int(stop[0]) < 300
        assert (logdir / "checkpoints" / f"ckpt-{stop[0]}.index").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert [(r["seed"], r["status"]) for r in summary_rows(out / "sweep_summary.csv")] == [
        ("0", "finished"), ("1", "finished")]
    for logdir in logdirs:
        assert "resumed from" in (logdir / "train.log").read_text()
        assert progress_steps(logdir) == LOG_STEPS  # every step exactly once


_HOLD = """import sys, time
from softq_tf.training.files import hold_run_folder
with hold_run_folder(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_trial_whose_folder_a_live_process_holds_waits_for_it(tmp_path):
    trial, = sweep.make_grid(tmp_path, ("ddpg",), (BANDIT,), (0,), 100, overrides=SMALL)
    os.makedirs(trial.logdir)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, trial.logdir, "3"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "holding\n"
    absl_logger, handler = logging.getLogger("absl"), _Lines()
    absl_logger.addHandler(handler)
    try:
        result, = sweep.run_sweep([trial], summary_path=tmp_path / "summary.csv")
    finally:
        absl_logger.removeHandler(handler)
    assert holder.wait() == 0 and holder.stdout.read() == ""
    holder.stdout.close()
    assert result.status == "finished" and result.steps == 100, result
    assert summary_rows(tmp_path / "summary.csv")[0]["status"] == "finished"
    waits = [line for line in handler.lines if "waiting for it to end" in line]
    assert len(waits) == 1 and f"{trial.logdir} is in use by process {holder.pid}" in waits[0]
    with open(os.path.join(trial.logdir, "train.log")) as f:
        assert f.read().count("--- softq_tf.sweep ") == 1  # started once, after the release
