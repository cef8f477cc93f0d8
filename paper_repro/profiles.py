"""Per-figure presets: ``smoke`` (seconds: proves the pipeline in tests and CI, not the claim),
``quick`` (a laptop run that shows the paper's claim; the default), ``long`` (Figures 3 and 6 only:
the quick settings run longer, continuing the quick runs in the same out_dir, in stages across
days) and ``paper`` (Appendix D.1 values).

Each preset gives ``tasks`` (per task: ``env``, ``total_steps`` and optionally ``env_kwargs`` and
task-specific ``overrides``), ``seeds``, ``overrides`` (``key=value`` for any
:class:`softq_tf.LoopConfig` field and the learner fields SQL and DDPG share) and ``algo_overrides``
(per algorithm: fields of :class:`softq_tf.SQLConfig` or :class:`softq_tf.DDPGConfig` alone).
Citations: "D.1" is the paper's Appendix D.1 table as summarized in docs/REPRODUCTION.md; "later
code" is the authors' later, faster scripts described there.
"""

MULTIGOAL = "softq_tf/MultiGoal-v0"

FIG1 = {
    "smoke": dict(tasks=dict(multigoal=dict(env=MULTIGOAL, total_steps=300)), seeds=(0,),
        overrides=(
        "min_pool=100", "batch_size=32", "hidden_sizes=16,16", "reward_scale=0.1",
        "log_every=100", "checkpoint_every=0"),
        algo_overrides=dict(sql=("kernel_particles=8", "value_particles=8"), ddpg=()),
        eval_episodes=10),
    "quick": dict(tasks=dict(multigoal=dict(env=MULTIGOAL, total_steps=15_000)), seeds=(0,),
        overrides=(
        "reward_scale=0.1",        # alpha = 10 for multigoal (D.1)
        "hidden_sizes=128,128",    # later code: 2 x 128
        "q_lr=3e-4", "policy_lr=3e-4",  # later code
        "batch_size=128",          # later code
        "min_pool=1000", "log_every=1000", "checkpoint_every=5000"),
        algo_overrides=dict(sql=(
            "kernel_particles=32",  # later code: K = 32 for multigoal
            "value_particles=16",   # later code: K_V = 16
        ), ddpg=()),  # OU noise sigma 0.3, theta 0.15 (D.1): DDPGConfig's defaults
        eval_episodes=100),
    "paper": dict(tasks=dict(multigoal=dict(env=MULTIGOAL, total_steps=100 * 10_000)),  # 100 epochs
        seeds=(0,), overrides=(
        "reward_scale=0.1",        # alpha = 10 for multigoal (D.1)
        "hidden_sizes=200,200",    # two layers of 200 ReLU (D.1)
        "q_lr=1e-3", "policy_lr=1e-4",  # Adam (D.1), SQL and DDPG alike
        "batch_size=64",           # D.1
        "min_pool=10000",          # training starts at 1e4 transitions (D.1)
        "replay_capacity=1000000",  # D.1
        "target_update_period=1000",  # hard copy every 1000 steps (D.1)
        "discount=0.99",           # authors' code
        "log_every=10000", "checkpoint_every=100000"),  # one epoch = 10,000 steps, 100 epochs (D.1)
        algo_overrides=dict(sql=(
            "kernel_particles=100",  # K = 100 for multigoal (D.1)
            "value_particles=50",    # K_V = 50 (D.1)
        ), ddpg=("noise_sigma=0.3",)),  # OU noise, sigma 0.3 (D.1)
        eval_episodes=100),
}


# Beyond the paper (its Sec. 6 names it as future work): composing the soft Q-functions of two
# multi-goal tasks that share the east goal (paper_repro/compose.py). ``tasks`` are the
# constituents, trained by SQL and by DDPG; ``combined`` is the task paid the mean of their
# rewards, trained by SQL from scratch for as many updates as the composition's ``steps``.
COMPOSE = {
    "smoke": dict(FIG1["smoke"], tasks=dict(
        northeast=dict(env="softq_tf/MultiGoalNorthEast-v0", total_steps=200),
        southeast=dict(env="softq_tf/MultiGoalSouthEast-v0", total_steps=200)),
        combined="softq_tf/MultiGoalNorthEastSouthEast-v0",
        overrides=FIG1["smoke"]["overrides"] + ("jit_compile=false",),  # no XLA compile to wait for
        compose=dict(steps=40, batch_size=32, log_every=20, checkpoint_every=0)),
    "quick": dict(FIG1["quick"], tasks=dict(
        northeast=dict(env="softq_tf/MultiGoalNorthEast-v0", total_steps=15_000),
        southeast=dict(env="softq_tf/MultiGoalSouthEast-v0", total_steps=15_000)),
        combined="softq_tf/MultiGoalNorthEastSouthEast-v0",
        compose=dict(steps=3000, batch_size=128, log_every=500, checkpoint_every=1000)),
}


# The locomotion tasks (swimmer and quadruped: Figures 3, 5, 6 and 7) share these settings.
SMOKE_LOCOMOTION = dict(
    overrides=("reward_scale=10", "min_pool=100", "batch_size=32", "hidden_sizes=16,16",
               "log_every=100", "checkpoint_every=0"),
    algo_overrides=dict(sql=("kernel_particles=4", "value_particles=4"), ddpg=()))
QUICK_LOCOMOTION = dict(
    overrides=(
        "reward_scale=10",          # alpha = 0.1 for swimmer, maze and pretraining (D.1)
        "hidden_sizes=128,128",    # later code: 2 x 128
        "q_lr=3e-4", "policy_lr=3e-4",  # later code
        "batch_size=128",          # later code
        "target_update_period=1000",  # later code (D.1: 1000; swimmer 5000)
        "min_pool=1000", "log_every=1000", "checkpoint_every=10000"),
    algo_overrides=dict(sql=(
        "kernel_particles=16", "value_particles=16",  # later code: K = K_V = 16
    ), ddpg=()))  # OU noise sigma 0.3, theta 0.15 (D.1): DDPGConfig's defaults
PAPER_LOCOMOTION = dict(
    overrides=(
        "reward_scale=10",          # alpha = 0.1 for swimmer, maze and pretraining (D.1)
        "hidden_sizes=200,200",    # two layers of 200 ReLU (D.1)
        "q_lr=1e-3", "policy_lr=1e-4",  # Adam (D.1), SQL and DDPG alike
        "batch_size=64",           # D.1
        "min_pool=10000",          # training starts at 1e4 transitions (D.1)
        "replay_capacity=1000000",  # D.1
        "discount=0.99",           # authors' code
        "log_every=10000", "checkpoint_every=100000"),  # one epoch = 10,000 steps (D.1)
    algo_overrides=dict(sql=(
        "kernel_particles=32",  # K = 32 (D.1)
        "value_particles=50",   # K_V = 50 (D.1)
    ), ddpg=("noise_sigma=0.3",)))  # OU noise, sigma 0.3 (D.1)

# Figures 3 and 6 share their runs. Each task names its env, its length and, for the quick maze, the
# constructor arguments of a smaller maze of the same topology (``docs/ENVIRONMENTS.md``, Maze).
FIG3 = {
    "smoke": dict(SMOKE_LOCOMOTION, seeds=(0,),
        tasks=dict(swimmer=dict(env="softq_tf/SwimmerFinish-v1", total_steps=300),
                   maze=dict(env="softq_tf/QuadrupedMaze-v1", total_steps=300,
                             env_kwargs=dict(island_length=2.0)))),
    "quick": dict(QUICK_LOCOMOTION, seeds=(0, 1, 2, 3),
        tasks=dict(swimmer=dict(env="softq_tf/SwimmerFinish-v1", total_steps=200_000,
                                overrides=("policy_lr=1e-4",  # D.1, SQL and DDPG alike
                                           "target_update_period=5000")),  # swimmer: 5000 (D.1)
                   # The maze with a 2 m island instead of 8 m: same two passages and barrier,
                   # target 5 m from the start instead of 11 m, threshold 2.5 m (as with 8 m).
                   maze=dict(env="softq_tf/QuadrupedMaze-v1", total_steps=60_000,
                             env_kwargs=dict(island_length=2.0)))),
}
# The quick runs continued (python -m softq_tf.train --resume --total_steps): every setting but
# the length is the quick profile's, so a long sweep into the quick out_dir extends those runs.
FIG3["long"] = dict(FIG3["quick"], tasks=dict(
    swimmer=dict(FIG3["quick"]["tasks"]["swimmer"], total_steps=500_000),
    maze=dict(FIG3["quick"]["tasks"]["maze"], total_steps=300_000)))
FIG3["paper"] = dict(PAPER_LOCOMOTION, seeds=(0, 1, 2, 3, 4), tasks=dict(
    swimmer=dict(env="softq_tf/SwimmerFinish-v1", total_steps=500 * 10_000,  # 500 epochs
                 overrides=("target_update_period=5000",)),  # swimmer: 5000 (D.1)
    maze=dict(env="softq_tf/QuadrupedMaze-v1", total_steps=500 * 10_000,
              overrides=("target_update_period=1000",))))  # D.1


def overrides_for(preset, algo):
    """The preset's ``key=value`` overrides for ``algo``: the shared ones, then the algorithm's."""
    return tuple(preset["overrides"]) + tuple(preset.get("algo_overrides", {}).get(algo, ()))


def get(figure_presets, profile):
    """The preset named ``profile``; ValueError naming the allowed profiles otherwise."""
    if profile not in figure_presets:
        raise ValueError(f"--profile={profile!r} is invalid: allowed are "
                         f"{', '.join(figure_presets)}")
    return figure_presets[profile]


# Figures 5 and 7 share their pretraining runs (fig7 reads fig5's out_dir by default). Each preset:
# ``pretrain`` (the arena, its length, the alphas of Fig. 7's columns; Fig. 5 starts from
# ``finetune_alpha``), ``finetune`` (the three tasks, their length, overrides of every fine-tuning
# run and SQL's fine-tuning schedule), the shared and per-algorithm overrides, the seeds and
# Fig. 7's evaluation episodes.
PRETRAIN = "softq_tf/QuadrupedPretrain-v1"
FINETUNE_TASKS = dict(wide=dict(env="softq_tf/QuadrupedHallwayWide-v1"),
                      narrow=dict(env="softq_tf/QuadrupedHallwayNarrow-v1"),
                      umaze=dict(env="softq_tf/QuadrupedUMaze-v1"))
# The smaller profiles pay the arena and the hallways for the distance gained from the start
# ("outward") instead of the paper's speed: speed pays a policy that shakes in place, and in
# 100,000 steps (400,000 tried) the speed-trained policies' traces stayed jittery random walks.
PRETRAIN_OUTWARD = "softq_tf/QuadrupedPretrainOutward-v1"
# The same U with 2 m arms: about 10 m along the corridor to the target instead of 21 m.
QUICK_UMAZE = dict(env="softq_tf/QuadrupedUMaze-v1", env_kwargs=dict(arm_length=2.0))
QUICK_FINETUNE_TASKS = dict(wide=dict(env="softq_tf/QuadrupedHallwayWideOutward-v1"),
                            narrow=dict(env="softq_tf/QuadrupedHallwayNarrowOutward-v1"),
                            umaze=QUICK_UMAZE)
# Every fine-tuning run (and DDPG from scratch beside them) acts with its policy from the first
# step, as the authors' code collects: uniform warm-up actions would replace the pretrained policy's
# exploration by noise for the first min_pool steps.
FINETUNE_LOOP = ("random_warmup=false",)
FIG5 = {
    "smoke": dict(SMOKE_LOCOMOTION, seeds=(0,),
        pretrain=dict(env=PRETRAIN_OUTWARD, total_steps=300, alphas=(1.0, 0.1)), finetune_alpha=0.1,
        finetune=dict(total_steps=300, tasks=QUICK_FINETUNE_TASKS,
                      overrides=FINETUNE_LOOP,
                      sql_overrides=("anneal_steps=100", "final_reward_scale=1000",
                                     "noise_set_size=4", "noise_set_steps=100")),
        eval_episodes=2),
    "quick": dict(QUICK_LOCOMOTION, seeds=(0, 1),
        pretrain=dict(env=PRETRAIN_OUTWARD, total_steps=100_000,
                      alphas=(10.0, 1.0, 0.1, 0.01)),  # Fig. 7's columns
        finetune_alpha=0.1,         # D.1: pretrained at alpha 0.1
        finetune=dict(total_steps=50_000, tasks=QUICK_FINETUNE_TASKS,
                      overrides=FINETUNE_LOOP,
                      sql_overrides=(
                          # D.1 anneals alpha 100-fold, to 0.001, and K_xi to 1 over 200,000
                          # steps (10% of fine-tuning). D.1's 10% of 50,000 steps would ask Q to
                          # grow 100-fold in 5,000 Adam steps; here alpha falls 10-fold, to 0.01,
                          # over 20,000 steps (a choice, not compared side by side). The size of
                          # the noise set is not published.
                          "anneal_steps=20000", "final_reward_scale=100",
                          "noise_set_size=16", "noise_set_steps=20000")),
        eval_episodes=10),
    "paper": dict(PAPER_LOCOMOTION, seeds=tuple(range(10)),  # Fig. 5: 10 seeds
        overrides=PAPER_LOCOMOTION["overrides"] + ("target_update_period=1000",),  # D.1
        pretrain=dict(env=PRETRAIN, total_steps=500 * 10_000,  # 500 epochs (D.1)
                      alphas=(10.0, 1.0, 0.1, 0.01)),
        finetune_alpha=0.1,
        finetune=dict(total_steps=200 * 10_000,  # fine-tuning: 200 epochs (D.1)
                      tasks=FINETUNE_TASKS, overrides=FINETUNE_LOOP,
                      sql_overrides=(
                          "anneal_steps=200000", "final_reward_scale=1000",  # D.1: 20 epochs
                          "noise_set_size=32",  # K_xi: not published; K's value (D.1)
                          "noise_set_steps=200000")),  # D.1: 20 epochs
        eval_episodes=10),
}
