"""Evaluation: episodes run with a policy's ``action_from_noise`` and noise from a seeded
generator, outside training (the loop's evaluations, the paper figures' rollouts)."""
import numpy as np


def rollout(env, policy, rng, seed=None):
    """Runs one episode with ``policy.action_from_noise`` and noise from ``rng``.

    Returns:
      dict with ``observations`` [T + 1, O], ``actions`` [T, A] (env bounds), ``rewards`` [T],
      ``terminated`` (bool), ``infos`` (the reset's info dict, then every step's: T + 1, beside
      the observations) and ``final_info`` (the last step's info dict).
    """
    obs, info = env.reset(seed=seed)
    observations, actions, rewards, infos = [obs], [], [], [info]
    done, terminated = False, False
    act_dim = env.action_space.shape[0]
    while not done:
        xi = rng.standard_normal((1, act_dim)).astype(np.float32)
        action = policy.action_from_noise(np.asarray(obs, np.float32)[None], xi).numpy()[0]
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return dict(observations=np.asarray(observations), actions=np.asarray(actions),
                rewards=np.asarray(rewards, np.float64), terminated=bool(terminated),
                infos=infos, final_info=info)


def evaluate(env, policy, episodes, seed):
    """Mean undiscounted return and length of ``episodes`` rollouts (episode i is reset with
    seed + i)."""
    rng = np.random.default_rng(seed)
    runs = [rollout(env, policy, rng, seed + i) for i in range(episodes)]
    return (float(np.mean([r["rewards"].sum() for r in runs])),
            float(np.mean([len(r["rewards"]) for r in runs])))


def centre_of_mass_path(rollout_record):
    """The centre of mass (x, y) after the reset and after every step of a :func:`rollout`
    ([T + 1, 2]), from the infos of the tasks that report it (``com_x`` and ``com_y``: the swimmer
    and the quadruped tasks); None for an env whose infos do not."""
    infos = rollout_record["infos"]
    if not all("com_x" in info and "com_y" in info for info in infos):
        return None
    return np.array([[info["com_x"], info["com_y"]] for info in infos], np.float64)


def straightness(path):
    """How straight a path of positions ([T + 1, 2], e.g. :func:`centre_of_mass_path`) is: the
    distance from its start to its end over its length. Near 1 for swimming or walking one way,
    near 0 for shaking in place or a random walk (which a reward for speed in any direction can
    pay as well); 0 without motion."""
    length = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
    return float(np.linalg.norm(path[-1] - path[0]) / length) if length > 0 else 0.0


def motion_text(path):
    """Where a centre-of-mass ``path`` (:func:`centre_of_mass_path`) went, as text: its net
    move along x and y and its :func:`straightness`."""
    moved_x, moved_y = path[-1] - path[0]
    return (f"centre of mass moved {moved_x:+.2f} m in x, {moved_y:+.2f} m in y (straightness "
            f"{straightness(path):.2f})")
