"""Shared pieces of the figure scripts: flags, run-or-reuse of per-seed runs, result files.

Every figure script takes ``--profile=smoke|quick|paper --out_dir=DIR [--seeds=0,1,2]
[--engine=local|ray] [--plot_only]`` and writes ``DIR/figN.png``, ``DIR/figN.pdf``, ``DIR/figN.json``
and per-run folders ``DIR/runs/<algo>/<env>/seed<k>/`` in the training CLI's format. A finished run
(one with an exported ``policy/``) is reused; an interrupted one resumes from its checkpoint.
"""
import os
import sys

from absl import flags, logging

from paper_repro import profiles
from softq_tf import experiment
from softq_tf.checkpoint import write_json_atomic

flags.DEFINE_string("profile", "quick", "smoke (seconds), quick (laptop, default) or paper.")
flags.DEFINE_string("out_dir", None, "Output folder (default: out/<figure>).")
flags.DEFINE_list("seeds", None, "Comma-separated seeds (default: the profile's).")
flags.DEFINE_string("engine", "local", "Where runs execute: local (in this process) or ray.")
flags.DEFINE_bool("plot_only", False, "Never train: draw from finished runs in --out_dir.")
FLAGS = flags.FLAGS

ENGINES = ("local", "ray")


def fail(message):
    """Prints a one-line error and exits with code 2 (bad input)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def out_dir(figure):
    """The output folder from --out_dir, defaulting to ``out/<figure>``."""
    return FLAGS.out_dir or os.path.join("out", figure)


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


def run_dir(root, algo, env_id, seed):
    """``root/runs/<algo>/<env name>/seed<k>`` (the env name without its ``softq_tf/`` prefix)."""
    return os.path.join(root, "runs", algo, env_id.split("/")[-1], f"seed{seed}")


def is_finished(path):
    return os.path.exists(os.path.join(path, "policy", "saved_model.pb"))


def ensure_runs(root, algo, env_id, seed_list, preset):
    """Makes sure a finished run exists for every seed: reuse, resume or train.

    With --plot_only nothing trains; a missing run is a ValueError. Runs already in the folder
    must have been made with the same settings (another profile is a ValueError, so results of
    different profiles never mix).

    Returns:
      the run folders, in seed order.
    """
    if FLAGS.engine not in ENGINES:
        raise ValueError(f"--engine={FLAGS.engine!r} is invalid: allowed are {', '.join(ENGINES)}")
    if FLAGS.engine == "ray":
        raise ValueError("--engine=ray is not available yet (the Ray Tune sweep is a later "
                         "issue); use --engine=local")
    paths = []
    for seed in seed_list:
        path = run_dir(root, algo, env_id, seed)
        paths.append(path)
        if FLAGS.plot_only:
            if not is_finished(path):
                raise ValueError(f"--plot_only: no finished run at {path}; run without "
                                 "--plot_only first")
            continue
        if os.path.exists(os.path.join(path, "config.json")):
            request = experiment.prepare(env_id, algo, preset["total_steps"], seed, path,
                                         resume=True)
            _check_same_settings(request, algo, preset)
            if is_finished(path):
                logging.info("reusing finished run %s", path)
                continue
        else:
            request = experiment.prepare(env_id, algo, preset["total_steps"], seed, path,
                                         profiles.overrides_for(preset, algo))
        experiment.execute(request)
    return paths


def _check_same_settings(request, algo, preset):
    wanted = experiment.build_configs(algo, preset["total_steps"],
                                      profiles.overrides_for(preset, algo))
    if (request.learner_config, request.loop_config) != wanted:
        raise ValueError(f"{request.logdir} holds a run with other settings (another "
                         "--profile?); pick another --out_dir")


def save_figure(fig, root, figure):
    """Writes ``root/<figure>.png`` and ``.pdf``."""
    os.makedirs(root, exist_ok=True)
    for ext in ("png", "pdf"):
        fig.savefig(os.path.join(root, f"{figure}.{ext}"), dpi=120, bbox_inches="tight")


def save_results(results, root, figure):
    """Writes the numbers behind the figure to ``root/<figure>.json`` (atomically)."""
    os.makedirs(root, exist_ok=True)
    write_json_atomic(os.path.join(root, f"{figure}.json"), results)
