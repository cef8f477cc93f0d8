r"""Many training trials (algorithm x env x seed) from one command,
on this machine or a Ray cluster.

    python -m softq_tf.sweep --algos=sql,ddpg --envs=softq_tf/MultiGoal-v0 --seeds=0,1,2 \
        --total_steps=15000 --out_dir=runs/sweep [--override=reward_scale=0.1 ...]

Every trial trains in ``<out_dir>/runs/<algo>/<env>/seed<k>/``: with ``--engine=local`` (the
default) as a ``python -m softq_tf.train`` process on this machine
(:mod:`softq_tf.running.sweep_local`: finished trials reused, interrupted ones resumed, shorter
ones continued to ``--total_steps``), with ``--engine=ray`` as a Ray Tune trial
(:mod:`softq_tf.running.sweep_ray`). The grid and its checks are :mod:`softq_tf.running.trials`.
``<out_dir>/sweep_summary.csv`` gets one row per trial (rows of earlier sweeps' other runs stay).
The CLI ends with the command that plots the trials' learning curves (:mod:`softq_tf.plot`).

Exit codes of the CLI: 0 every trial finished or was reused, 1 some trial failed (one line per
failed trial naming its folder and error), 2 bad input (one ``error:`` line; nothing started). The
sweep never imports TensorFlow (its trials do), so bad input fails within about a second.
"""
import json
import os
import sys

from absl import app, flags

from softq_tf.running import cli
# The sweep's library API, for scripts such as the figure scripts: ``sweep.make_grid(...)``,
# ``sweep.run_with_engine(...)``.
from softq_tf.running.sweep_local import run_sweep  # noqa: F401
from softq_tf.running.trials import (Trial, TrialResult, check_trials, is_done,  # noqa: F401
                                     make_grid, resources_for, trial_dir, write_summary)

ENGINES = ("local", "ray")
GRID_KEYS = ("algos", "envs", "seeds", "total_steps", "overrides", "algo_overrides", "env_kwargs")


def run_with_engine(engine, trials, out_dir, parallel=None, threads_per_trial=None,
                    ray_address="", summary_path=None):
    """Runs ``trials`` with ``engine``: ``"local"`` (:func:`softq_tf.running.sweep_local.run_sweep`)
    or ``"ray"`` (:func:`softq_tf.running.sweep_ray.run_sweep_ray`, Tune's experiment under
    ``<out_dir>/tune``, one CPU per trial unless ``threads_per_trial``; ``parallel`` is then Ray's
    to decide). Writes the summary table to ``summary_path`` either way.

    Raises:
      ValueError: bad input, e.g. an unknown engine or ``--engine=ray`` without Ray installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"--engine={engine!r} is invalid: allowed are {', '.join(ENGINES)}")
    if engine == "local":
        return run_sweep(trials, parallel, threads_per_trial, summary_path)
    from softq_tf.running import sweep_ray  # imports Ray: only when asked for
    results = sweep_ray.run_sweep_ray(trials, os.path.join(out_dir, "tune"),
                                      threads_per_trial or 1, ray_address or None)
    if summary_path:
        write_summary(results, summary_path)
    return results


# --- command line -------------------------------------------------------------------------------

FLAGS = flags.FLAGS


def _define_flags():
    """The CLI's flags, defined only when it runs: the figure scripts import this module and
    define flags of the same names (--seeds, --out_dir, --engine)."""
    flags.DEFINE_list("algos", ["sql"], "Algorithms, comma-separated: sql, ddpg.")
    flags.DEFINE_list("envs", ["softq_tf/MultiGoal-v0"], "Gymnasium env ids, comma-separated.")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "Non-negative integer seeds, comma-separated.")
    flags.DEFINE_integer("total_steps", 100_000, "Environment steps per trial.")
    flags.DEFINE_multi_string("override", [], "key=value for any field of the algorithm's "
                              "config or of LoopConfig, for every trial (repeatable).")
    flags.DEFINE_string("env_kwargs", "{}", "JSON object {env id: {constructor argument: "
                        "value}}, e.g. '{\"softq_tf/QuadrupedMaze-v1\": "
                        "{\"island_length\": 2.0}}'.")
    flags.DEFINE_string("out_dir", "runs/sweep", "Output folder: runs/<algo>/<env>/seed<k>/ and "
                        "sweep_summary.csv.")
    flags.DEFINE_integer("parallel", 0, "Trials at once; 0 = one per core (at most one per "
                         "trial).")
    flags.DEFINE_integer("threads_per_trial", 0, "TensorFlow threads per trial; 0 = the cores "
                         "divided among the trials running at once.")
    flags.DEFINE_string("grid", None, "JSON file with any of the keys " + ", ".join(GRID_KEYS) +
                        " (overrides: list of key=value; algo_overrides: {algo: [key=value]}); "
                        "flags give the rest. A key may not also be given as a flag.")
    flags.DEFINE_enum("engine", "local", ENGINES, "Where trials run: local (one process per "
                      "trial on this machine) or ray (Ray Tune trials on a local Ray instance or "
                      "the cluster at --ray_address; needs the ray extra).")
    flags.DEFINE_string("ray_address", "", "With --engine=ray: the Ray cluster's address "
                        "(host:port, ray://host:port or auto); empty = start a Ray instance on "
                        "this machine (dashboard off).")


# Grid-file key -> (flag it replaces, type check, what is allowed).
_GRID_TYPES = {
    "algos": ("algos", lambda v: _is_list_of(v, str), "a list of algorithm names"),
    "envs": ("envs", lambda v: _is_list_of(v, str), "a list of env ids"),
    "seeds": ("seeds", lambda v: _is_list_of(v, int), "a list of non-negative integers"),
    "total_steps": ("total_steps", lambda v: isinstance(v, int) and not isinstance(v, bool),
                    "an integer"),
    "overrides": ("override", lambda v: _is_list_of(v, str), "a list of \"key=value\" strings"),
    "algo_overrides": (None, lambda v: isinstance(v, dict) and all(
        _is_list_of(x, str) for x in v.values()), "an object {algo: [\"key=value\", ...]}"),
    "env_kwargs": ("env_kwargs", lambda v: isinstance(v, dict) and all(
        isinstance(x, dict) for x in v.values()), "an object {env id: {argument: value}}"),
}


def _is_list_of(value, kind):
    return isinstance(value, list) and all(
        isinstance(x, kind) and not isinstance(x, bool) for x in value)


def load_grid_file(path):
    """The grid file's settings as a dict with keys among :data:`GRID_KEYS`.

    Raises:
      ValueError: the file is unreadable, not a JSON object, has unknown keys or ill-typed values.
    """
    try:
        with open(path) as f:
            grid = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"--grid={path!r} cannot be read as JSON ({type(e).__name__}: "
                         f"{str(e).splitlines()[0]}): give a JSON object with any of the keys "
                         f"{', '.join(GRID_KEYS)}") from None
    if not isinstance(grid, dict):
        # Bad file content is bad input (exit 2), not a caller's TypeError.
        raise ValueError(f"--grid={path!r} holds {type(grid).__name__}: give a JSON object with "
                         f"any of the keys {', '.join(GRID_KEYS)}")
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"--grid={path!r} has unknown keys {', '.join(unknown)}: allowed are "
                         f"{', '.join(GRID_KEYS)}")
    for key, value in grid.items():
        if not _GRID_TYPES[key][1](value):
            raise ValueError(f"--grid={path!r}: {key} is {json.dumps(value)}: give "
                             f"{_GRID_TYPES[key][2]}")
    return grid


def _settings_from_flags():
    """The grid's settings: the --grid file's values, the flags for the keys it lacks."""
    grid = load_grid_file(FLAGS.grid) if FLAGS.grid else {}
    for key in grid:
        flag = _GRID_TYPES[key][0]
        if flag and FLAGS[flag].present:
            raise ValueError(f"--{flag} is given and --grid={FLAGS.grid!r} sets {key} too: "
                             "give it in one place")
    if "seeds" not in grid:
        try:
            grid["seeds"] = [int(s) for s in FLAGS.seeds]
        except ValueError:
            raise ValueError(f"--seeds={','.join(FLAGS.seeds)!r} is invalid: give non-negative "
                             "integers separated by commas, e.g. 0,1,2") from None
    if "env_kwargs" not in grid:
        try:
            grid["env_kwargs"] = json.loads(FLAGS.env_kwargs)
        except json.JSONDecodeError:
            grid["env_kwargs"] = None
        if not _GRID_TYPES["env_kwargs"][1](grid["env_kwargs"]):
            raise ValueError(f"--env_kwargs={FLAGS.env_kwargs!r} is invalid: give a JSON object "
                             "{env id: {argument: value}}")
    grid.setdefault("algos", FLAGS.algos)
    grid.setdefault("envs", FLAGS.envs)
    grid.setdefault("total_steps", FLAGS.total_steps)
    grid.setdefault("overrides", FLAGS.override)
    return grid


def print_table(results):
    """Prints the summary table (one line per trial) to stdout."""
    header = ("algo", "env", "seed", "status", "steps", "final_return", "wall_sec")
    rows = [(r.trial.algo, r.trial.env_id, r.trial.seed, r.status, r.steps,
             f"{r.final_return:.4g}", f"{r.wall_sec:.0f}") for r in results]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def main(argv):
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    try:
        grid = _settings_from_flags()
        trials = make_grid(FLAGS.out_dir, grid["algos"], grid["envs"], grid["seeds"],
                           grid["total_steps"], grid["overrides"], grid.get("algo_overrides"),
                           grid["env_kwargs"])
        check_trials(trials)
        for name in ("parallel", "threads_per_trial"):
            if FLAGS[name].value < 0:
                raise ValueError(f"--{name}={FLAGS[name].value} is invalid: give an integer >= 1, "
                                 "or 0 for the default (the cores shared among the trials)")
    except ValueError as e:
        cli.fail(2, e)
    summary_path = os.path.join(FLAGS.out_dir, "sweep_summary.csv")
    try:
        results = run_with_engine(FLAGS.engine, trials, FLAGS.out_dir, FLAGS.parallel or None,
                                  FLAGS.threads_per_trial or None, FLAGS.ray_address, summary_path)
    except ValueError as e:
        cli.fail(2, e)
    except KeyboardInterrupt:
        cli.fail(3, "sweep stopped (Ctrl-C or SIGTERM); the running trials wrote checkpoints: "
                 "rerun the same command to resume them")
    print_table(results)
    print(f"wrote {summary_path}")
    print(cli.plot_hint(FLAGS.out_dir))
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"failed: {r.trial.logdir}: {r.error}", file=sys.stderr)
    sys.exit(1 if failed else 0)


def run():
    """Console entry point."""
    _define_flags()
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
