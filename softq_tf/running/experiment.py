"""One training run end to end: validate the request, build env and learner, train, export.

This is the library side of ``python -m softq_tf.train`` and of the figure scripts, which call it
for every (algorithm, env, seed). A run folder holds ``config.json``, ``progress.csv``,
``tensorboard/``, ``checkpoints/``, ``.lock`` (held while a process trains in it) and,
once finished, ``policy/`` and ``q_function/`` SavedModels.

A run can start from another finished run's networks (fine-tuning, paper Sec. 5.3):
:func:`load_pretrained`, or ``init_from`` of :func:`prepare`.

The request itself (configs, env, ``config.json``) is :mod:`softq_tf.running.runs`, which needs no
TensorFlow.
"""
import contextlib
import json
import os
import shlex

from absl import logging

import keras
import tensorflow as tf

from softq_tf.learners import ddpg, sql
from softq_tf.running import cli, xla_cpu
from softq_tf.training import checkpoint, export, files, loop
from softq_tf.training.progress import checkpoint_steps
# The request's TensorFlow-free side (softq_tf.running.runs), also known here by its old names.
from softq_tf.running.runs import (
    CONFIGS, Run, build_configs, check_settings, is_finished,  # noqa: F401
    load_run, make_env)
from softq_tf.learners.specs import EnvSpec

# Each algorithm's config class and learner class.
ALGOS = {"sql": (CONFIGS["sql"], sql.SoftQLearner), "ddpg": (CONFIGS["ddpg"], ddpg.DDPGLearner)}


def _finished_run(run_dir):
    """The :class:`Run` of the finished run in ``run_dir`` and its newest checkpoint's prefix.

    Raises:
      ValueError: ``run_dir`` is not a run folder, or the run did not finish (naming what is
        missing).
    """
    flag = f"--init_from={run_dir!r}"
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        raise ValueError(f"{flag} is not a run: it has no config.json (give the --logdir of a "
                         "finished training run)")
    run = load_run(config_path)
    if not is_finished(run_dir):
        raise ValueError(f"{flag} is not a finished run: it has no exported policy/ (resume it "
                         "to the end first)")
    steps = checkpoint_steps(os.path.join(run_dir, "checkpoints"))
    if not steps:
        raise ValueError(f"{flag} is not a finished run: checkpoints/ holds no checkpoint")
    return run, os.path.join(run_dir, "checkpoints", f"ckpt-{steps[0]}")


def _algo_of(learner):
    return next(name for name, (_, cls) in ALGOS.items() if isinstance(learner, cls))


def load_pretrained(learner, run_dir):
    """Starts ``learner`` from the networks of the finished run in ``run_dir`` (fine-tuning,
    paper Sec. 5.3): SQL's Q-function, target Q and sampler, DDPG's critic, actor and their
    targets, as saved in the run's last checkpoint. Everything else stays as it is, so a new
    learner keeps fresh optimizers, step counter and generators; the replay pool is the loop's.

    Args:
      learner: a :class:`softq_tf.learners.sql.SoftQLearner` or
        :class:`softq_tf.learners.ddpg.DDPGLearner`.
      run_dir: the folder of a finished run of the same algorithm on an env with the same spaces
        (e.g. pretrained on ``softq_tf/QuadrupedPretrain-v1``, fine-tuned on a hallway).

    Raises:
      ValueError: one line: ``run_dir`` is not a finished run, was trained with another algorithm
        or on other spaces, or a network weight has another shape (both shapes named).
    """
    source_run, prefix = _finished_run(run_dir)
    flag, algo = f"--init_from={run_dir!r}", _algo_of(learner)
    if source_run.algo != algo:
        raise ValueError(f"{flag} is a {source_run.algo} run; this run is {algo}: fine-tuning "
                         "needs a run of the same algorithm")
    with make_env(source_run.env_id, source_run.env_kwargs) as source_env:
        source_spec = EnvSpec.from_env(source_env)
    if source_spec != learner.spec:
        raise ValueError(f"{flag} was trained on {source_run.env_id} with {source_spec}; this "
                         f"run's env has {learner.spec}: fine-tuning needs the same spaces")
    source = ALGOS[algo][1](source_spec, source_run.learner_config, source_run.seed)
    try:
        restored = tf.train.Checkpoint(**source.networks()).restore(prefix)
        restored.expect_partial()  # optimizers, counters and generators stay behind
        restored.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise ValueError(f"{flag}: {prefix} does not hold every weight of its networks "
                         f"({str(e).strip().splitlines()[0]}); checkpoints written before "
                         "softq-tf saved hidden layers by name cannot be fine-tuned from") from None
    pretrained_networks = source.networks()
    for name, network in learner.networks().items():
        pretrained = pretrained_networks[name]
        shapes = [tuple(w.shape) for w in pretrained.weights]
        wanted = [tuple(w.shape) for w in network.weights]
        if shapes != wanted:
            at = next((i for i, (a, b) in enumerate(zip(shapes, wanted)) if a != b),
                      min(len(shapes), len(wanted)))
            raise ValueError(
                f"{flag}: network {name!r} does not fit: weight {at} has shape "
                f"{shapes[at] if at < len(shapes) else 'none'} there and "
                f"{wanted[at] if at < len(wanted) else 'none'} here (hidden_sizes "
                f"{source_run.learner_config.hidden_sizes} there, "
                f"{learner.config.hidden_sizes} here)")
        network.set_weights(pretrained.get_weights())


def set_up_process(seed, threads=0):
    """What an entry point does once, before it trains in this process: sizes TensorFlow's intra-
    and inter-op thread pools to ``threads`` (before any op runs; 0 keeps one per core), keeps
    TensorFlow's INFO lines out of the progress lines, and seeds Python's, numpy's and TensorFlow's
    global generators with ``seed``. The learners seed only their own generators and weights; what
    else draws at random (the exported policy's sampling ops) follows the global seed."""
    tf.get_logger().setLevel("ERROR")  # SavedModel's INFO chatter
    cli.drop_info_of("tensorflow", "keras")  # and what TensorFlow logs through absl
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        logging.info("TensorFlow threads: intra-op %d, inter-op %d",
                     tf.config.threading.get_intra_op_parallelism_threads(),
                     tf.config.threading.get_inter_op_parallelism_threads())
    keras.utils.set_random_seed(seed)


def prepare(env_id, algo="sql", total_steps=None, seed=0, logdir="runs/default", overrides=(),
            resume=False, env_kwargs=None, init_from=""):
    """Validates a training request without side effects: its settings
    (:func:`softq_tf.running.runs.check_settings`, see there for the arguments) and, for a new run,
    its env (built once) and, with ``init_from``, that those networks load
    (:func:`check_init_from`).

    Raises:
      ValueError: with a one-line message naming the bad value and what is allowed.
    """
    run = check_settings(env_id, algo, total_steps, seed, logdir, overrides, resume, env_kwargs,
                         init_from)
    if not run.resume:
        with make_env(run.env_id, run.env_kwargs) as env:
            EnvSpec.from_env(env)  # rejects bad ids and spaces early
        check_init_from(run)
    return run


def check_init_from(run):
    """For a new :class:`softq_tf.running.runs.Run` with ``init_from``: loads those networks once
    into a learner of this run (:func:`load_pretrained`), which is then dropped. A resumed run
    starts from its own checkpoint, so nothing is checked then.

    Raises:
      ValueError: one line (see :func:`load_pretrained`).
    """
    if not run.init_from or run.resume:
        return
    with make_env(run.env_id, run.env_kwargs) as env:
        spec = EnvSpec.from_env(env)
    load_pretrained(ALGOS[run.algo][1](spec, run.learner_config, run.seed), run.init_from)


def execute(run, stop=None, callbacks=()):
    """Trains ``run`` (from the networks of ``run.init_from`` unless it resumes from a checkpoint of
    its own) and exports ``policy/`` and ``q_function/`` into its logdir.

    The run folder is held (:func:`softq_tf.training.files.hold_run_folder`) from before its
    first write to the end, so a second process cannot train into it meanwhile. The environments
    are closed at the end, also on an error.

    Args:
      run: a :class:`Run` from :func:`prepare`.
      stop: passed to :func:`softq_tf.training.loop.train`: a callable polled before every
        environment step; once it returns true, training writes a checkpoint and raises
        :class:`softq_tf.training.loop.StopRequested` (nothing is exported).
      callbacks: :class:`softq_tf.training.loop.LoopCallback` objects, told of each progress row and
        checkpoint as training writes them (e.g. the Ray Tune engine's reporter).

    Returns:
      the training summary of :func:`softq_tf.training.loop.train`.

    Raises:
      softq_tf.training.files.RunFolderBusyError: another process holds the run folder (nothing is
        written).
    """
    os.makedirs(run.logdir, exist_ok=True)
    with files.hold_run_folder(run.logdir), contextlib.ExitStack() as envs_to_close:
        config_path = os.path.join(run.logdir, "config.json")
        # A resumed run keeps its file as is, but for a new total when it is extended.
        if not (run.resume and os.path.exists(config_path)
                and load_run(config_path).to_json() == run.to_json()):
            files.write_json_atomic(config_path, run.to_json())
        env = envs_to_close.enter_context(make_env(run.env_id, run.env_kwargs))
        eval_env = (envs_to_close.enter_context(make_env(run.env_id, run.env_kwargs))
                    if run.loop_config.eval_every else None)
        xla_cpu.use_xnn_fusions()  # before the learner's first XLA compile
        learner = ALGOS[run.algo][1](EnvSpec.from_env(env), run.learner_config, run.seed)
        if run.init_from and not checkpoint_steps(os.path.join(run.logdir, "checkpoints")):
            load_pretrained(learner, run.init_from)  # a resumed run continues from its checkpoint
        summary = loop.train(env, learner, run.loop_config, run.logdir, run.seed, eval_env,
                             resume=run.resume, env_id=run.env_id, stop=stop,
                             callbacks=callbacks)
        export.export_run(run.logdir, learner.policy, learner.q, learner.spec, run.to_json())
    logging.info("finished %s on %s (seed %d): %d steps, %d episodes; exported to %s", run.algo,
                 run.env_id, run.seed, summary["steps"], summary["episodes"], run.logdir)
    return summary


def outputs_line(run, finished):
    """One line telling where ``run``'s files are and how to look at them: at its start
    (``finished`` False) or once it has exported its policy."""
    folder = shlex.quote(run.logdir)
    outputs = "config.json, progress.csv, tensorboard/, checkpoints/"
    watch = f"watch with: tensorboard --logdir {folder}"
    if not finished:
        return f"outputs in {run.logdir}: {outputs}; policy/ and q_function/ at the end; {watch}"
    env_kwargs = (f" --env_kwargs={shlex.quote(json.dumps(run.env_kwargs))}"
                  if run.env_kwargs else "")
    return (f"outputs in {run.logdir}: {outputs}, policy/ and q_function/ (SavedModels); "
            "evaluate the policy with: python -m softq_tf.evaluate "
            f"--policy={shlex.quote(os.path.join(run.logdir, 'policy'))} "
            f"--env={shlex.quote(run.env_id)}{env_kwargs}; {watch}; {cli.plot_hint(run.logdir)}")


def execute_or_exit(execute, failure, unit, bad_input=()):
    """Runs ``execute(stop)`` (a training run's or a composition's) with SIGTERM and SIGINT as a
    clean stop (:class:`softq_tf.running.cli.SignalStop`), ending the process on an error with the
    project's exit codes and one ``error:`` line: 3 stopped (a checkpoint was written; the line
    names the ``unit``, "step" or "update", it stopped at), 2 no loadable checkpoint, a folder
    another process holds or an error of the ``bad_input`` types, 1 a non-finite value, a file
    that cannot be written, or any other failure (logged with its traceback, the line starting
    with ``failure``)."""
    stop = cli.SignalStop()
    try:
        with stop:
            execute(stop)
    except loop.StopRequested as e:
        cli.fail(3, f"stopped by {stop.signal_name} at {unit} {e.step}; checkpoint written, "
                 "continue with --resume")
    except (checkpoint.NoUsableCheckpointError, files.RunFolderBusyError, *bad_input) as e:
        cli.fail(2, e)
    except (loop.NonFiniteError, files.RunWriteError) as e:
        cli.fail(1, e)
    except Exception as e:  # noqa: BLE001 - report any failure as exit 1 with its cause
        logging.exception(failure)
        cli.fail(1, f"{failure}: {type(e).__name__}: {e}")
