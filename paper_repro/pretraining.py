"""The pretraining runs Figures 5 and 7 share: SQL on the arena at each alpha of Fig. 7, and DDPG.

Folders (``softq_tf.sweep.trial_dir``): ``runs/sql-alpha<alpha>/<env>/seed<k>`` and
``runs/ddpg/<env>/seed<k>``. Figure 5 fine-tunes from ``sql-alpha<finetune_alpha>`` and ``ddpg``.
"""
from softq_tf import sweep


def variant(alpha):
    """The folder label of SQL pretrained at ``alpha``, e.g. ``alpha0.1``."""
    return f"alpha{alpha:g}"


def trials(root, preset, seed_list, alphas):
    """The pretraining runs as :class:`softq_tf.running.trials.Trial` lists.

    Args:
      root: the figure's output folder.
      preset: a :data:`paper_repro.profiles.FIG5` preset.
      seed_list: the seeds.
      alphas: the entropy weights of the SQL runs (reward_scale = 1/alpha); DDPG runs once.

    Returns:
      {("sql", alpha): [Trial per seed], ("ddpg", None): [Trial per seed]}.
    """
    pretrain = preset["pretrain"]
    grid = {}
    for algo, alpha in [("sql", alpha) for alpha in alphas] + [("ddpg", None)]:
        overrides = tuple(preset["overrides"])
        if alpha is not None:
            overrides += (f"reward_scale={1.0 / alpha:g}",)  # alpha weighs the entropy (eq. 2)
        grid[algo, alpha] = sweep.make_grid(
            root, [algo], [pretrain["env"]], seed_list, pretrain["total_steps"],
            overrides=overrides, algo_overrides=preset.get("algo_overrides"),
            variant=variant(alpha) if alpha is not None else "")
    return grid
