r"""Roll out an exported policy: each episode's return and length, their mean, optionally videos.
On the swimmer and quadruped tasks each episode's line also says how far the centre of mass moved
from the start and how straight (start-to-end distance over path length: near 0 for a policy that
shakes in place).

    python -m softq_tf.evaluate --policy=runs/multigoal/policy [--env=softq_tf/MultiGoal-v0] \
        [--episodes=10] [--seed=0] [--video=DIR] [--env_kwargs=JSON]

The policy is a run's ``policy/`` (``softq_tf.train`` exports it at the end), loaded with
:func:`softq_tf.training.export.load_policy`. Without ``--env`` the episodes run on the env (and
constructor arguments) the policy was trained on, as its export records them. The episodes act as
the training loop's evaluations do (:func:`softq_tf.training.evaluation.evaluate`): a = f(xi; s)
through the policy's ``action_from_noise``, xi ~ N(0, I) from a numpy generator seeded with
``--seed`` (a DDPG policy is deterministic and ignores xi), episode i reset with seed + i; so the
mean printed is what ``evaluation.evaluate(env, policy, episodes, seed)`` returns. Returns are
undiscounted sums of the env's rewards (not scaled by ``reward_scale``).

``--video=DIR`` writes ``DIR/eval-episode-<i>.mp4`` per episode (:mod:`softq_tf.running.video`: a
replay of the episodes' actions in a process without TensorFlow); it needs moviepy
(``pip install moviepy``) and an env that renders images, such as the MuJoCo tasks.

Exit codes: 0 success, 2 bad input (one line: a missing folder or one that is not an exported
policy, an unknown env, an env whose spaces differ from the policy's, a bad flag, --video without
moviepy or on an env that cannot render), 1 the video recording failed. The flags and whether
--policy holds a SavedModel are checked before TensorFlow is imported, so such bad input fails
within about a second.
"""
import os

import numpy as np
from absl import app, flags

from softq_tf.learners.specs import EnvSpec
from softq_tf.running import cli, runs, video
from softq_tf.training import evaluation

FLAGS = flags.FLAGS
flags.DEFINE_string("policy", "", "Exported policy folder: a finished run's policy/ (required).")
flags.DEFINE_string("env", "", "Gymnasium env id to run the episodes on; its spaces must match "
                    "the policy's (default: the env the policy was trained on).")
flags.DEFINE_string("env_kwargs", "", "JSON object of keyword arguments for the env's "
                    "constructor (default: the training run's when --env is not given, else {}).")
flags.DEFINE_integer("episodes", 10, "Episodes to roll out (>= 1).")
flags.DEFINE_integer("seed", 0, "Seed (>= 0): episode i resets with seed + i, and the policy's "
                     "noise comes from a generator seeded with it.")
flags.DEFINE_string("video", "", "Folder for one MP4 per episode (eval-episode-<i>.mp4); needs "
                    "moviepy and an env that renders images. Empty: no video.")


def check_flags():
    """Checks the flags and that --policy holds a SavedModel, without TensorFlow.

    Returns:
      the --env_kwargs object, None when not given.

    Raises:
      ValueError: one line naming the bad flag.
    """
    if FLAGS.episodes < 1:
        raise ValueError(f"--episodes={FLAGS.episodes} is invalid: must be >= 1")
    if FLAGS.seed < 0:
        raise ValueError(f"--seed={FLAGS.seed} is invalid: must be >= 0")
    if not FLAGS.policy:
        raise ValueError("--policy is required: give the policy/ folder of a finished run, "
                         "e.g. --policy=runs/multigoal/policy")
    path = FLAGS.policy
    if not os.path.isdir(path):
        raise ValueError(f"--policy={path!r} does not exist: give the policy/ folder of a "
                         "finished training run")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        inner = os.path.join(path, "policy")
        hint = (f" (it holds a run: give its policy/ folder, --policy={inner})"
                if os.path.isfile(os.path.join(inner, "saved_model.pb")) else "")
        raise ValueError(f"--policy={path!r} is not an exported policy: it holds no SavedModel "
                         f"(no saved_model.pb){hint}")
    return cli.parse_env_kwargs(FLAGS.env_kwargs) if FLAGS.env_kwargs else None


def load(path):
    """Imports TensorFlow and loads the exported policy in ``path``; ValueError (one line) when
    it is not one softq_tf exported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
    from softq_tf.training import export

    try:
        return export.load_policy(path)
    except ValueError as e:
        raise ValueError(f"--policy={path!r} is not an exported policy: {e}") from None


def episodes(env, policy, count, seed):
    """Rolls out ``count`` episodes as :func:`softq_tf.training.evaluation.evaluate` does (same
    generator, same reset seeds); returns each one's reset seed, actions, return and length, and,
    on the tasks that report their centre of mass, its path
    (:func:`softq_tf.training.evaluation.centre_of_mass_path`; else None)."""
    rng = np.random.default_rng(seed)
    rollouts = [(seed + i, evaluation.rollout(env, policy, rng, seed + i)) for i in range(count)]
    return [{"seed": reset_seed, "actions": run["actions"], "return": float(run["rewards"].sum()),
             "length": len(run["rewards"]), "path": evaluation.centre_of_mass_path(run)}
            for reset_seed, run in rollouts]


def episode_line(i, result):
    """One episode's printed line; on a task with a centre of mass also where it moved and how
    straight (:func:`softq_tf.training.evaluation.motion_text`: a policy that scores by shaking
    in place shows as such)."""
    line = (f"episode {i} (reset seed {result['seed']}): return {result['return']!r}, "
            f"length {result['length']}")
    return line if result["path"] is None else f"{line}, {evaluation.motion_text(result['path'])}"


def main(argv):
    cli.drop_info_of("tensorflow", "keras")  # SavedModel's INFO lines at load
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    try:
        given_env_kwargs = check_flags()  # before TensorFlow: bad input fails within a second
        policy = load(FLAGS.policy)
        trained_on = policy.config or {}
        env_id = FLAGS.env or trained_on.get("env")
        if not env_id:
            raise ValueError(f"--env is required: the export in {FLAGS.policy!r} does not name "
                             "the env it was trained on")
        env_kwargs = (given_env_kwargs if given_env_kwargs is not None
                      else {} if FLAGS.env else trained_on.get("env_kwargs", {}))
        env = runs.make_env(env_id, env_kwargs)
        if EnvSpec.from_env(env) != policy.spec:
            raise ValueError(f"--env={env_id} has {EnvSpec.from_env(env)}, the policy "
                             f"{policy.spec}: give the env it was trained on "
                             f"({trained_on.get('env', 'not recorded')})")
        if FLAGS.video:
            video.check_can_record(env)
    except ValueError as e:
        cli.fail(2, e)
    with env:
        results = episodes(env, policy, FLAGS.episodes, FLAGS.seed)
    for i, result in enumerate(results):
        print(episode_line(i, result))
    print(f"mean over {len(results)} episodes on {env_id}: return "
          f"{float(np.mean([r['return'] for r in results]))!r}, length "
          f"{float(np.mean([r['length'] for r in results]))!r}")
    if FLAGS.video:
        try:
            paths = video.record(env_id, env_kwargs, results, FLAGS.video)
        except RuntimeError as e:
            cli.fail(1, e)
        print(f"videos in {FLAGS.video}: {', '.join(os.path.basename(p) for p in paths)}")


def run():
    """Console entry point."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
