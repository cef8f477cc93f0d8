r"""Train soft Q-learning (or the DDPG baseline) on any Gymnasium env with a bounded Box action
space.

    python -m softq_tf.train --env=softq_tf/MultiGoal-v0 --total_steps=20000 --seed=0 \
        --logdir=runs/multigoal [--override=reward_scale=0.1 ...] [--resume] [--init_from=RUN_DIR]

Writes config.json, progress.csv, tensorboard/, checkpoints/ and, at the end, the policy/ and
q_function/ SavedModels into --logdir, which it holds for the whole run (a ``.lock`` file): one
process trains in a run folder at a time.

SIGTERM or SIGINT (a cluster preempting the job, Ctrl-C) stops the run cleanly: the step in flight
finishes, a checkpoint at that step is written, and the process exits with code 3 and one line
``error: stopped by SIGTERM at step N; ...``; ``--resume`` continues from exactly that step. A
second signal does not interrupt the checkpoint being written (SIGKILL does; the run then resumes
from its previous checkpoint). A signal after the last step lets the export finish (exit code 0).
A process started with ``SOFTQ_TF_STOP_WITH_PARENT=<pid>`` (the local sweep's trials) gets that
SIGTERM when its parent dies, however it dies (:func:`softq_tf.running.cli.stop_with_parent`).

``--resume --total_steps=N`` continues a finished or interrupted run to N steps: the same learner,
optimizer state, replay pool and generators, ``progress.csv`` going on with every step once, and
``config.json`` recording N and ``total_steps_history`` (every total the run was given).

Bad flags, overrides, env ids and env arguments are found before TensorFlow is imported, so they
fail within about a second. TensorFlow's own INFO logs (through absl: "Sharding callback duration"
at every checkpoint, SavedModel's notes) are kept out of the progress lines.

Exit codes: 0 success, 2 bad input (one line, no traceback: bad flags or overrides, an unknown env,
a damaged config.json or no loadable checkpoint on --resume, a --resume with a --total_steps below
the steps done or with any other setting unlike the run's, an --init_from that is not a finished
run of the same algorithm and spaces, a --logdir another live process is training in, naming its
pid), 1 failure during training (a checkpoint, progress row or export that cannot be written, e.g.
on a full disk, is one line naming the newest complete checkpoint to continue from with --resume
once there is space; what the failed write left is removed), 3
stopped by SIGTERM or SIGINT (checkpointed; resume with --resume).
"""
import os

from absl import app, flags

from softq_tf.running import cli, runs

FLAGS = flags.FLAGS
flags.DEFINE_string("env", "softq_tf/MultiGoal-v0", "Gymnasium env id with a bounded Box action "
                    "space: a softq_tf/... task (README) or e.g. Pendulum-v1.")
flags.DEFINE_string("algo", "sql", "Algorithm: sql (soft Q-learning) or ddpg (the baseline).")
flags.DEFINE_integer("total_steps", 100_000, "Environment steps to train for.")
flags.DEFINE_integer("seed", 0, "Random seed (>= 0): networks, minibatches, noise, env resets.")
flags.DEFINE_string("logdir", "runs/default", "Run folder for config.json, progress.csv, "
                    "tensorboard/, checkpoints/ and the exported policy/ and q_function/.")
flags.DEFINE_multi_string(
    "override", [], "key=value for any field of the algorithm's config (SQLConfig or DDPGConfig) "
    "or of LoopConfig; repeat the flag for several. Keys: " + "; ".join(
        f"{name}: {', '.join(keys)}" for name, keys in runs.override_keys().items()) + ".")
flags.DEFINE_bool("resume", False, "Continue from the newest valid checkpoint in --logdir, to "
                  "the run's total or, with --total_steps, to that total (extending a finished "
                  "run); any other setting given must match the run's.")
flags.DEFINE_string("env_kwargs", "{}", "JSON object of keyword arguments for the env's "
                    "constructor, e.g. '{\"island_length\": 2.0}' (recorded in config.json).")
flags.DEFINE_string("init_from", "", "Fine-tuning: start from the networks of this finished "
                    "run (same algorithm and spaces) with fresh optimizers and an empty replay "
                    "pool; recorded in config.json. --resume continues from the run's own "
                    "checkpoint.")
flags.DEFINE_integer("threads", 0, "TensorFlow threads (intra- and inter-op pools); 0 = "
                     "TensorFlow's default, one per core. Give parallel runs a share each.")


def check_threads(threads):
    """Raises ValueError for a negative ``--threads`` count."""
    if threads < 0:
        raise ValueError(f"--threads={threads} is invalid: must be >= 0 (0 = one per core)")


def main(argv):
    """Checks every flag, the env and the configs, then imports TensorFlow and trains; see the
    module doc for the exit codes."""
    cli.stop_with_parent()
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    try:
        check_threads(FLAGS.threads)
        given = {name: FLAGS[name].present for name in ("total_steps", "env", "algo", "seed",
                                                           "override", "env_kwargs", "init_from")}
        env_kwargs = cli.parse_env_kwargs(FLAGS.env_kwargs)
        run = runs.check_request(FLAGS.env, FLAGS.algo,
                                 FLAGS.total_steps if given["total_steps"] else None, FLAGS.seed,
                                 FLAGS.logdir, FLAGS.override, FLAGS.resume, env_kwargs,
                                 FLAGS.init_from)
        if FLAGS.resume:  # what else was typed must agree with the run being continued
            runs.check_unchanged(
                run, env_id=FLAGS.env if given["env"] else None,
                algo=FLAGS.algo if given["algo"] else None,
                seed=FLAGS.seed if given["seed"] else None,
                overrides=FLAGS.override if given["override"] else None,
                env_kwargs=env_kwargs if given["env_kwargs"] else None,
                init_from=FLAGS.init_from if given["init_from"] else None)
    except ValueError as e:
        cli.fail(2, e)  # before TensorFlow is imported: bad input fails within a second
    train_run(run)


def train_run(run):
    """Imports TensorFlow, seeds the global generators with the run's seed, checks ``init_from``
    and trains ``run`` (a validated :class:`softq_tf.running.runs.Run`), ending the process on an
    error with its exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
    from softq_tf.running import experiment

    experiment.set_up_process(run.seed, FLAGS.threads)
    try:
        experiment.check_init_from(run)
    except ValueError as e:
        cli.fail(2, e)
    print(experiment.outputs_line(run, finished=False), flush=True)
    experiment.execute_or_exit(lambda stop: experiment.execute(run, stop), "training failed",
                               "step")
    print(experiment.outputs_line(run, finished=True))


def run():
    """Console entry point."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
