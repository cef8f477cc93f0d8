r"""Compose skills: add the soft Q-functions of finished soft Q-learning runs into a policy for
the task paid the weighted sum of their rewards, with no new environment step (paper Sec. 6;
Haarnoja et al. 2018, "Composable Deep Reinforcement Learning for Robotic Manipulation").

    python -m softq_tf.compose --runs=runs/northeast,runs/southeast [--weights=0.5,0.5] \
        [--steps=5000] [--init_sampler=0] --logdir=runs/composed [--resume]
    python -m softq_tf.evaluate --policy=runs/composed/policy \
        --env=softq_tf/MultiGoalNorthEastSouthEast-v0

The constituents must share spaces, alpha (1 / reward_scale) and discount, and their tasks the
dynamics (only the reward may differ; env ids cannot tell, so that is yours to know). The composed
soft Q-function is sum_i w_i Q_i, which approximates the soft Q of the reward sum_i w_i r_i
(the closer, the more the constituents' policies agree); its policy exp(sum_i w_i Q_i / alpha) is
fit by a sampling network trained by SQL's amortized SVGD (eq. 13-14) on states from the
constituents' replay pools. The weights must sum to one (``--normalize`` divides them by their
sum): then equal weights are the mean of the rewards, and the composed policy keeps the
constituents' alpha; a sum s would act as alpha / s.

Writes config.json, progress.csv (``step`` = SVGD updates, ``env_steps`` = 0), tensorboard/,
checkpoints/ and, at the end, policy/ and q_function/ SavedModels with the signatures of any
run's (``softq_tf.load_policy`` and ``python -m softq_tf.evaluate`` take them) into --logdir, which
it holds for the whole fit (a ``.lock`` file). A killed composition continues with ``--resume``
(flags left out take the saved values) to the same result as an uninterrupted one, bit for bit.

Exit codes: 0 success, 2 bad input (one ``error:`` line, found before TensorFlow is imported: a
--runs folder that is not a finished soft Q-learning run, e.g. a DDPG run, whose Q-function is not
energy-based; runs with other spaces, alpha or discount; weights of the wrong count, negative,
non-finite or not summing to one without --normalize; a --logdir already holding a run without
--resume, or holding another composition with it; and, after the import, a --logdir another live
process holds, or no loadable checkpoint), 1 failure during the fit (a file that cannot be
written, e.g. on a full disk, is one line naming the newest complete checkpoint), 3 stopped by
SIGTERM or SIGINT (a checkpoint is written first; continue with ``--resume``).
"""
import os

from absl import app, flags

from softq_tf.running import cli, compose_request

FLAGS = flags.FLAGS
flags.DEFINE_list("runs", None, "Folders of finished soft Q-learning runs to compose, "
                  "comma-separated (two or more; same spaces, alpha and discount).")
flags.DEFINE_list("weights", None, "Weights w_i >= 0 of the runs' Q-functions, comma-separated, "
                  "one per run, summing to 1 (default: equal, the mean).")
flags.DEFINE_bool("normalize", False, "Divide --weights by their sum instead of requiring that "
                  "they sum to 1.")
flags.DEFINE_integer("steps", 5000, "SVGD updates of the composed policy's sampler.")
flags.DEFINE_integer("batch_size", 128, "States per update, from the runs' replay pools.")
flags.DEFINE_integer("init_sampler", 0, "Start from the sampler of the N-th run of --runs "
                     "(1-based); 0: a fresh sampler seeded by --seed.")
flags.DEFINE_integer("seed", 0, "Seed (>= 0): the fresh sampler's weights, the states and noise "
                     "of every update.")
flags.DEFINE_integer("log_every", 500, "Updates between progress rows.")
flags.DEFINE_integer("checkpoint_every", 1000, "Updates between checkpoints (0: at the end only).")
flags.DEFINE_string("logdir", "runs/compose", "Folder for config.json, progress.csv, "
                    "tensorboard/, checkpoints/ and the exported policy/ and q_function/.")
flags.DEFINE_bool("resume", False, "Continue the composition in --logdir from its newest "
                  "checkpoint; flags given must match its saved settings.")
flags.DEFINE_integer("threads", 0, "TensorFlow threads (intra- and inter-op pools); 0 = one per "
                     "core.")

CONFIG_FLAGS = ("steps", "batch_size", "init_sampler", "log_every", "checkpoint_every")


def main(argv):
    """Checks every flag and the runs, then imports TensorFlow and fits; see the module doc for
    the exit codes."""
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    try:
        if FLAGS.threads < 0:
            raise ValueError(f"--threads={FLAGS.threads} is invalid: must be >= 0")
        if not FLAGS.resume and not FLAGS.runs:
            raise ValueError("--runs is required: give the folders of two or more finished soft "
                             "Q-learning runs, comma-separated")
        # With --resume only the flags given are compared with the saved ones.
        given = {name: FLAGS[name].value for name in CONFIG_FLAGS
                 if FLAGS[name].present or not FLAGS.resume}
        request = compose_request.check_request(
            FLAGS.runs, FLAGS.weights, FLAGS.logdir,
            FLAGS.seed if FLAGS["seed"].present or not FLAGS.resume else None,
            FLAGS.normalize, FLAGS.resume, **given)
    except ValueError as e:
        cli.fail(2, e)  # before TensorFlow is imported: bad input fails within a second
    compose_run(request)


def compose_run(request):
    """Imports TensorFlow and fits ``request``, ending the process on an error with its exit
    code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
    from softq_tf.running import composition, experiment

    experiment.set_up_process(request.seed, FLAGS.threads)
    print(composition.outputs_line(request, finished=False), flush=True)
    experiment.execute_or_exit(lambda stop: composition.execute(request, stop),
                               "composition failed", "update", (composition.ConstituentError,))
    print(composition.outputs_line(request, finished=True))


def run():
    """Console entry point."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
