"""Videos of evaluated episodes, recorded by replaying their actions in a TensorFlow-free process.

A policy loads with TensorFlow, and MuJoCo's offscreen rendering through Mesa's software GL
(llvmpipe: ``MUJOCO_GL=egl`` or ``osmesa`` on a machine without a GPU) crashes in a process that
has imported TensorFlow, whose library exports its own copy of LLVM (see ``paper_repro/fig2.py``).
So :mod:`softq_tf.evaluate` rolls the episodes out itself and :func:`record` hands each one's reset
seed and actions to a child process, ``python -m softq_tf.running.video REQUEST.json``, which makes
the env with ``render_mode="rgb_array"`` wrapped in Gymnasium's ``RecordVideo``, replays the actions
and writes ``eval-episode-<i>.mp4`` per episode. The replay is the evaluated episode when the env is
deterministic given its reset seed and actions; the child checks each episode's return against
the rollout's and prints a warning where they differ.

Needs moviepy (``pip install moviepy``, or ``pip install -e ".[video]"``), which softq-tf does not
install by default.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import gymnasium as gym
import numpy as np

from softq_tf import envs

PREFIX = "eval"  # RecordVideo's file names: eval-episode-<i>.mp4


def check_can_record(env):
    """Raises ValueError (one line) unless episodes of ``env`` can be recorded: moviepy must be
    installed and the env must render to an image (``rgb_array``)."""
    if importlib.util.find_spec("moviepy") is None:
        raise ValueError("--video needs moviepy, which is not installed: pip install moviepy "
                         "(or pip install -e \".[video]\")")
    modes = env.metadata.get("render_modes", [])
    if "rgb_array" not in modes:
        raise ValueError(f"--video: env {env.spec.id if env.spec else env} cannot render images "
                         f"(its render modes: {', '.join(modes) or 'none'}); leave out --video")


def record(env_id, env_kwargs, episodes, folder):
    """Writes one MP4 per episode into ``folder`` by replaying the episodes in a child process.

    Args:
      env_id, env_kwargs: the env, as for ``gym.make(env_id, **env_kwargs)``.
      episodes: per episode a dict with ``seed`` (its reset seed), ``actions`` ([T, A], env
        bounds) and ``return`` (the rollout's, to compare the replay with).
      folder: where the videos go (created).

    Returns:
      the paths of the videos written.

    Raises:
      RuntimeError: the child failed (e.g. no offscreen OpenGL), with its last error line.
    """
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        request = os.path.join(scratch, "request.json")
        with open(request, "w", encoding="utf-8") as f:
            json.dump(dict(env_id=env_id, env_kwargs=env_kwargs, folder=folder,
                           episodes=[dict(seed=e["seed"], actions=[list(map(float, a))
                                                                   for a in e["actions"]],
                                          expected_return=float(e["return"]))
                                     for e in episodes]), f)
        # MuJoCo's default (glfw) needs a display; egl renders offscreen, as in paper_repro.fig2.
        child = subprocess.run([sys.executable, "-m", "softq_tf.running.video", request],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl")))
    sys.stderr.write(child.stdout)  # the replay's warnings
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines() or [f"exit code {child.returncode}"]
        raise RuntimeError(f"--video: recording failed: {lines[-1]}")
    return [os.path.join(folder, f"{PREFIX}-episode-{i}.mp4") for i in range(len(episodes))]


def replay(request):
    """The child's work: replays ``request``'s episodes under ``RecordVideo`` and prints a warning
    for each whose return differs from the rollout's."""
    envs.register_envs()
    env = gym.make(request["env_id"], render_mode="rgb_array", **request["env_kwargs"])
    with gym.wrappers.RecordVideo(env, request["folder"], episode_trigger=lambda _: True,
                                  name_prefix=PREFIX) as recorder:
        for i, episode in enumerate(request["episodes"]):
            recorder.reset(seed=episode["seed"])
            rewards = []
            for action in episode["actions"]:
                _, reward, terminated, truncated, _ = recorder.step(np.asarray(action, np.float32))
                rewards.append(reward)
                if terminated or truncated:  # the rollout's last step, unless the replay differs
                    break
            total = float(np.sum(np.asarray(rewards, np.float64)))  # as the rollout sums them
            if total != episode["expected_return"]:
                print(f"warning: the video of episode {i} replays to return {total!r}, not "
                      f"{episode['expected_return']!r}: the env is not deterministic given its "
                      "reset seed and actions")


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as request_file:
        replay(json.load(request_file))
