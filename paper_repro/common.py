"""Shared pieces of the figure scripts that train: flags, run-or-reuse of per-seed runs, their logs.

Every figure script takes ``--profile=smoke|quick|long|paper --out_dir=DIR [--seeds=0,1,2]
[--engine=local|ray] [--plot_only]`` and writes ``DIR/figN.png``, ``DIR/figN.pdf``,
``DIR/figN.json`` and per-run folders ``DIR/runs/<algo>[-<variant>]/<env>/seed<k>/`` in the
training CLI's format, trained by :mod:`softq_tf.sweep` (a row per run of every sweep into DIR in
``DIR/sweep_summary.csv``). A finished run (one with an exported ``policy/``) is reused; an
interrupted one resumes from its checkpoint. The output folder and the figure's files are
:mod:`paper_repro.figure_files`'s.
"""
import os

import numpy as np
from absl import flags

from paper_repro import figure_files, profiles
from softq_tf import sweep
from softq_tf.running import cli
from softq_tf.training.progress import read_progress

flags.DEFINE_string("profile", "quick", "Run lengths and settings: smoke (seconds, checks the "
                    "pipeline), quick (minutes to hours on a laptop CPU), long (Figures 3 and 6: "
                    "the quick runs continued, for a day in stages) or paper (the paper's "
                    "Appendix D.1 budget); each preset is in paper_repro/profiles.py.")
flags.DEFINE_list("seeds", None, "Comma-separated non-negative seeds, e.g. 0,1,2 (default: the "
                  "profile's).")
flags.DEFINE_string("engine", "local", "Where runs train: local (softq_tf.sweep: one process per "
                    "run, one run per core) or ray (Ray Tune trials on this machine or the cluster "
                    "at --ray_address; needs the ray extra).")
flags.DEFINE_string("ray_address", "", "With --engine=ray: the Ray cluster's address (host:port, "
                    "ray://host:port or auto); empty = a Ray instance on this machine.")
flags.DEFINE_bool("plot_only", False, "Never train: draw from finished runs in --out_dir.")
flags.adopt_module_key_flags(figure_files)  # --out_dir, so a script's --help lists it
FLAGS = flags.FLAGS


def seeds(preset):
    """Seeds from --seeds or the preset; ValueError for anything but non-negative integers."""
    if FLAGS.seeds is None:
        return tuple(preset["seeds"])
    try:
        values = tuple(int(s) for s in FLAGS.seeds)
    except ValueError:
        values = (-1,)
    if not values or min(values) < 0:
        raise ValueError(f"--seeds={','.join(FLAGS.seeds)!r} is invalid: give non-negative "
                         "integers separated by commas, e.g. 0,1,2")
    return values


def trials(root, preset, seed_list, tasks, algos=("sql", "ddpg")):
    """The figure's runs as :class:`softq_tf.running.trials.Trial` lists, one per (algorithm, task).

    Args:
      root: the figure's output folder; runs go to ``root/runs/<algo>/<env name>/seed<k>``.
      preset: the profile's preset (shared and per-algorithm overrides).
      seed_list: the seeds.
      tasks: {task name: dict(env=id, total_steps=n, env_kwargs={...}, overrides=(...))}, the last
        two optional.
      algos: the algorithms to run.

    Returns:
      {(algo, task name): [Trial per seed, in seed order]}.
    """
    grid = {}
    for name, task in tasks.items():
        made = sweep.make_grid(
            root, algos, [task["env"]], seed_list, task["total_steps"],
            overrides=tuple(preset["overrides"]) + tuple(task.get("overrides", ())),
            algo_overrides=preset.get("algo_overrides"),
            env_kwargs={task["env"]: task.get("env_kwargs", {})})
        for algo in algos:
            grid[algo, name] = [t for t in made if t.algo == algo]
    return grid


def ensure_runs(root, grid):
    """Makes sure every run of ``grid`` (from :func:`trials`) is finished: reuse, resume or train,
    through :func:`softq_tf.sweep.run_sweep` (separate processes, the machine's cores shared).

    With --plot_only nothing trains; a missing run is a ValueError. Runs already in the folder must
    have been made with the same settings (otherwise a ValueError naming the differing keys, so
    results of different profiles never mix).

    Raises:
      ValueError: bad input (engine, plot_only without runs, other settings).
      RuntimeError: a run failed; the others were finished first.
    """
    if FLAGS.engine not in sweep.ENGINES:
        raise ValueError(f"--engine={FLAGS.engine!r} is invalid: allowed are "
                         f"{', '.join(sweep.ENGINES)}")
    every = [trial for runs in grid.values() for trial in runs]
    if FLAGS.plot_only:
        for trial in every:
            if not sweep.is_done(trial):
                raise ValueError(f"--plot_only: no finished run at {trial.logdir}; run without "
                                 "--plot_only first")
        return
    sweep.check_trials(every)
    results = sweep.run_with_engine(FLAGS.engine, every, root, ray_address=FLAGS.ray_address,
                                    summary_path=os.path.join(root, "sweep_summary.csv"))
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise RuntimeError("; ".join(f"{r.trial.logdir} failed: {r.error}" for r in failed))


def runs_or_exit(presets, folder, task_names=None, grid_of=None):
    """The figure's preset, output folder and finished runs, or a one-line error and exit.

    Reads --profile, --out_dir (default ``out/<folder>``) and --seeds, then trains, resumes or
    reuses every run of the grid with :func:`ensure_runs` (through :func:`or_exit`: bad input exits
    with code 2, a failed run with code 1).

    Args:
      presets: the figure's presets, e.g. :data:`paper_repro.profiles.FIG3`.
      folder: the default output folder's name.
      task_names: without ``grid_of``, only these of the preset's tasks (default: all).
      grid_of: ``(root, preset, seeds) -> {key: [Trial per seed]}`` for runs that are not the
        preset's ``tasks`` (e.g. :func:`paper_repro.pretraining.trials`); default :func:`trials`
        of the preset's tasks.

    Returns:
      (preset, root folder, the grid: e.g. {(algo, task name): [Trial per seed]}).
    """
    return or_exit(_runs, presets, folder, task_names, grid_of)


def _runs(presets, folder, task_names, grid_of):
    """:func:`runs_or_exit` without the exit: its errors propagate."""
    preset = profiles.get(presets, FLAGS.profile)
    root = figure_files.out_dir(folder)
    if grid_of is None:
        tasks = {name: task for name, task in preset["tasks"].items()
                 if task_names is None or name in task_names}
        grid = trials(root, preset, seeds(preset), tasks)
    else:
        grid = grid_of(root, preset, seeds(preset))
    ensure_runs(root, grid)
    return preset, root, grid


def or_exit(function, *args):
    """``function(*args)``, or a one-line error and exit: a ValueError (bad input) exits with code
    2, a RuntimeError (a run failed, from :func:`ensure_runs`) with code 1, Ctrl-C or SIGTERM
    (the sweep has stopped its runs, which wrote checkpoints) with code 3, as the sweep CLI does."""
    try:
        return function(*args)
    except ValueError as e:
        fail(e)
    except RuntimeError as e:
        fail(e, code=1)
    except KeyboardInterrupt:
        fail("stopped (Ctrl-C or SIGTERM); the running trials wrote checkpoints: rerun the same "
             "command to resume them", code=3)


def progress(trial):
    """The run's ``progress.csv`` as {column: numpy array} (see
    softq_tf.training.progress.read_progress)."""
    return {k: np.asarray(v) for k, v in read_progress(trial.logdir).items()}


def fail(message, code=2):
    """Prints a one-line error and exits with ``code`` (2: bad input, 1: a run failed)."""
    cli.fail(code, message)
