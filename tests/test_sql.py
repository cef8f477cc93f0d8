"""SoftQLearner: its update's math (the XLA step, schedules, SVGD) and learning the paper's
targets on known problems (what every learner promises: tests/test_learner_contract.py)."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import keras
from conftest import make_batch
from softq_tf import EnvSpec, SoftQLearner, SQLConfig
from softq_tf.learners import networks, sql
from softq_tf.envs import bandit


@pytest.mark.parametrize("squash_correction", ["eps", "bijector"])
def test_xla_step_computes_the_same_update(tiny_spec, tiny_config, squash_correction):
    """XLA and the plain graph draw different random numbers, so both get the same draws here."""
    config = dataclasses.replace(tiny_config, squash_correction=squash_correction)
    learners = [SoftQLearner(tiny_spec, config, seed=5) for _ in range(2)]
    updates = [tf.function(learner.update_from_noise, jit_compile=jit)
               for learner, jit in zip(learners, (False, True))]
    rng = np.random.default_rng(0)
    for i in range(3):
        batch = make_batch(tiny_spec, 32, seed=i)
        uniform = rng.uniform(-1, 1, (32, tiny_config.value_particles, 2)).astype(np.float32)
        xi = rng.normal(size=(32, tiny_config.kernel_particles, 2)).astype(np.float32)
        graph_stats, xla_stats = (update(batch, uniform, xi) for update in updates)
        for key in graph_stats:
            np.testing.assert_allclose(xla_stats[key], graph_stats[key], rtol=1e-4, atol=1e-5)
    graph, xla = learners
    for a, b in zip(graph.q.weights + graph.sampler.weights, xla.q.weights + xla.sampler.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)


def test_bijector_update_is_finite_and_trains_the_sampler_through_its_pre_squash_output(
        tiny_spec, tiny_config):
    config = dataclasses.replace(tiny_config, squash_correction="bijector")
    learner = SoftQLearner(tiny_spec, config, seed=0)
    before = [w.numpy() for w in learner.sampler.weights]
    for i in range(3):
        stats = learner.train_step(make_batch(tiny_spec, 32, seed=i))
        assert bool(stats["finite"]) and all(np.isfinite(float(v)) for v in stats.values())
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, learner.sampler.weights))


@pytest.mark.parametrize("squash_correction", ["eps", "bijector"])
def test_saturated_sampler_recovers_only_with_the_bijector(tiny_spec, tiny_config,
                                                           squash_correction):
    """Output bias 50: every action is tanh(~50) = 1 in float32. Through the actions (eps form)
    d a / d u = 0, so the sampler gets no gradient at all; in u (bijector) the log-det-Jacobian's
    gradient -2 tanh(u) pulls u back toward the box's interior."""
    config = dataclasses.replace(tiny_config, squash_correction=squash_correction)
    learner = SoftQLearner(tiny_spec, config, seed=0)
    bias = learner.sampler.out_layer.bias
    bias.assign(tf.fill(bias.shape, 50.0))
    before = [w.numpy() for w in learner.sampler.weights]
    for i in range(5):
        assert bool(learner.train_step(make_batch(tiny_spec, 32, seed=i))["finite"])
    if squash_correction == "eps":
        for a, b in zip(before, learner.sampler.weights):
            np.testing.assert_array_equal(a, b.numpy())
    else:
        assert np.all(bias.numpy() < 50.0 - 1e-3), bias.numpy()


def test_target_is_hard_copied_every_period(tiny_spec):
    config = SQLConfig(hidden_sizes=(8,), kernel_particles=4, value_particles=4,
                       target_update_period=3, jit_compile=False)
    learner = SoftQLearner(tiny_spec, config, seed=0)
    initial = [w.numpy() for w in learner.target_q.weights]
    for i in range(2):
        learner.train_step(make_batch(tiny_spec, 16, seed=i))
    for a, b in zip(initial, learner.target_q.weights):
        np.testing.assert_array_equal(a, b.numpy())
    learner.train_step(make_batch(tiny_spec, 16, seed=2))
    for a, b in zip(learner.q.weights, learner.target_q.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("field,value", [
    ("kernel_update_ratio", 0.0), ("kernel_update_ratio", 1.0), ("kernel_particles", 0),
    ("value_particles", -3), ("hidden_sizes", ()), ("discount", 1.5), ("tau", 0.0),
    ("q_lr", -1e-3), ("squash_correction", "exact")])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        SQLConfig(**{field: value})


def test_kernel_update_ratio_is_the_fraction_updated_as_in_the_authors_code():
    assert SQLConfig(kernel_particles=3, kernel_update_ratio=0.5).num_fixed == 2  # 1 updated
    assert SQLConfig(kernel_particles=16, kernel_update_ratio=0.25).num_fixed == 12  # 4 updated
    with pytest.raises(ValueError, match="2 fixed"):
        SQLConfig(kernel_particles=3, kernel_update_ratio=0.9)  # 2 updated, 1 fixed


@pytest.mark.parametrize("fields,field", [
    (dict(anneal_steps=-1), "anneal_steps"), (dict(noise_set_steps=-5), "noise_set_steps"),
    (dict(reward_scale=10.0, anneal_steps=100, final_reward_scale=5.0), "final_reward_scale"),
    (dict(noise_set_size=0, noise_set_steps=100), "noise_set_steps"),
    (dict(noise_set_size=-2), "noise_set_size")])
def test_config_rejects_bad_schedules(fields, field):
    with pytest.raises(ValueError, match=field):
        SQLConfig(**fields)


def test_annealed_reward_scale_reaches_the_bellman_target_without_a_retrace(tiny_spec,
                                                                           tiny_config):
    """alpha from 1 to 1/16 over 4 updates: the reward scale doubles each update, then stays at
    16, and each update equals one of a learner with that reward scale held constant."""
    config = dataclasses.replace(tiny_config, reward_scale=1.0, anneal_steps=4,
                                 final_reward_scale=16.0)
    annealed = SoftQLearner(tiny_spec, config, seed=2)
    scales = [annealed.train_step(make_batch(tiny_spec, 16, seed=i))["schedule/reward_scale"]
              for i in range(6)]
    np.testing.assert_allclose(scales, [1, 2, 4, 8, 16, 16], rtol=1e-6)
    assert annealed.train_step.experimental_get_tracing_count() == 1
    assert "schedule/reward_scale" in annealed.stat_names

    annealed, constant = (SoftQLearner(tiny_spec, c, seed=2) for c in (
        config, dataclasses.replace(tiny_config, reward_scale=4.0)))
    annealed.step.assign(2)  # the schedule's reward scale 4 (see above)
    batch = make_batch(tiny_spec, 16, seed=9)
    rng = np.random.default_rng(0)
    uniform = rng.uniform(-1, 1, (16, config.value_particles, 2)).astype(np.float32)
    xi = rng.normal(size=(16, config.kernel_particles, 2)).astype(np.float32)
    losses = [float(learner.update_from_noise(batch, uniform, xi)["loss/q"])
              for learner in (annealed, constant)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


def test_noise_set_makes_acting_deterministic_once_it_has_shrunk(tiny_spec, tiny_config):
    """K_xi = 4 vectors shrinking to 1 over 6 updates: at first acting draws from 4 noise vectors
    (4 distinct actions at one state), at the end always from the first one."""
    config = dataclasses.replace(tiny_config, noise_set_size=4, noise_set_steps=6)
    learner = SoftQLearner(tiny_spec, config, seed=0)
    obs = tf.ones([400, tiny_spec.obs_dim])
    assert len(np.unique(learner.collect_action(obs).numpy(), axis=0)) == 4
    assert int(learner.noise_set_in_use()) == 4
    learner.step.assign(3)
    assert int(learner.noise_set_in_use()) == 3  # 4 - floor(3 * 3 / 6)
    learner.step.assign(6)
    actions = learner.collect_action(obs).numpy()
    expected = learner.sampler((obs[:1], learner.noise_set[:1])).numpy()
    # The same noise vector for every row; a batch of 400 and one of 1 may take different matmul
    # kernels, which round differently (seen: TensorFlow 2.21 on an Intel Xeon).
    np.testing.assert_allclose(actions, np.repeat(expected, 400, axis=0), rtol=1e-5, atol=1e-6)
    stats = learner.train_step(make_batch(tiny_spec, 16))
    assert float(stats["schedule/noise_set_size"]) == 1.0
    assert "noise_set" in learner.checkpoint_items()


MODES = np.array([[0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [-0.5, -0.5]], np.float32)
MODE_SIGMA = 0.25  # modes 4 sigma apart: the density has four separate peaks (checked below)


def four_bump_log_density(obs, actions):
    sq = tf.reduce_sum(tf.square(actions[:, :, None, :] - MODES), axis=-1)  # [B, K, 4]
    return tf.reduce_logsumexp(-sq / (2 * MODE_SIGMA ** 2), axis=-1)


def train_sampler_on_four_bumps(repulsive, steps=1500, seed=0):
    keras.utils.set_random_seed(seed)
    sampler = networks.sampling_network(EnvSpec(1, 2, (-1, -1), (1, 1)), (64, 64))
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(sampler.trainable_variables)
    noise = tf.random.Generator.from_seed(seed)

    @tf.function
    def step():
        grads, _, _ = sql.amortized_svgd_gradients(
            sampler, tf.zeros([16, 1]), noise.normal([16, 32, 2]), four_bump_log_density,
            num_fixed=16, repulsive=repulsive)
        optimizer.apply_gradients(zip(grads, sampler.trainable_variables))

    for _ in range(steps):
        step()
    samples = sampler((tf.zeros([1000, 1]), noise.normal([1000, 2]))).numpy()
    nearest = np.argmin(np.sum((samples[:, None] - MODES) ** 2, axis=-1), axis=1)
    return np.bincount(nearest, minlength=4) / 1000.0


def test_svgd_learns_all_modes_and_collapses_without_repulsion():
    saddle = four_bump_log_density(None, tf.constant([[[0.5, 0.0]]])).numpy()
    peak = four_bump_log_density(None, tf.constant([[[0.5, 0.5]]])).numpy()
    assert peak - saddle > 1.0  # really multimodal: a valley between neighbouring modes
    with_repulsion = train_sampler_on_four_bumps(repulsive=True)
    assert np.all(with_repulsion >= 0.10), with_repulsion
    without_repulsion = train_sampler_on_four_bumps(repulsive=False)
    assert np.sum(without_repulsion >= 0.10) < 4, without_repulsion


def test_bandit_samples_match_max_ent_policy_by_quadrature():
    """Discount 0: Q = r / alpha, so samples follow exp(r(a)/alpha)(1 - a^2)/Z (squash
    correction)."""
    alpha = 0.1
    config = SQLConfig(hidden_sizes=(64, 64), discount=0.0, reward_scale=1.0 / alpha,
                       kernel_particles=32, q_lr=1e-3, policy_lr=1e-3)
    learner = SoftQLearner(EnvSpec(1, 1, (-1.0,), (1.0,)), config, seed=0)
    rng = np.random.default_rng(0)
    zeros = np.zeros((128, 1), np.float32)
    for _ in range(1500):
        action = rng.uniform(-1, 1, (128, 1)).astype(np.float32)  # uniform q_a of eq. 11
        learner.train_step(dict(obs=zeros, action=action, next_obs=zeros,
                                reward=bandit.bandit_reward(action[:, 0]).astype(np.float32),
                                terminated=np.ones(128, np.float32)))
    samples = learner.policy.normalized_action(
        np.zeros((20000, 1), np.float32), rng.standard_normal((20000, 1)).astype(np.float32))
    samples = samples.numpy()[:, 0]
    grid = np.linspace(-1, 1, 4001)
    density = bandit.target_density(grid, alpha)
    mean = np.trapezoid(grid * density, grid)
    std = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    right_mass = np.trapezoid(density * (grid > 0), grid)
    assert 0.1 < right_mass < 0.9  # both wells carry mass: the target is bimodal
    assert abs(samples.mean() - mean) < 0.03, (samples.mean(), mean)
    assert abs(samples.std() - std) < 0.03, (samples.std(), std)
    assert abs(np.mean(samples > 0) - right_mass) < 0.04


# One SQL update by hand (TF-Agents style): obs 1, act 1, one hidden layer of 2 units, M = K_V = 2
# value particles, K = 3 sampler particles (2 fixed, 1 updated: the fewest the config allows).
HAND_Q = dict(obs_kernel=[[0.5, -0.4]], obs_bias=[0.1, 0.3], x_kernel=[[0.8, 0.6]],
              out_kernel=[[0.7], [-0.5]], out_bias=[0.2])
HAND_TARGET_Q = dict(obs_kernel=[[0.3, 0.2]], obs_bias=[-0.1, 0.4], x_kernel=[[-0.6, 0.9]],
                     out_kernel=[[0.5], [0.8]], out_bias=[-0.3])
HAND_SAMPLER = dict(obs_kernel=[[0.4, -0.7]], obs_bias=[0.2, 0.1], x_kernel=[[0.9, 0.5]],
                    out_kernel=[[0.6], [-0.8]], out_bias=[0.1])
HAND_BATCH = dict(obs=[[0.5], [-1.0]], action=[[0.3], [-0.6]], reward=[1.0, -0.5],
                  next_obs=[[0.2], [0.8]], terminated=[0.0, 1.0])
HAND_UNIFORM = [[[-0.5], [0.7]], [[0.2], [-0.9]]]  # [B, M, A] value particles (eq. 10)
HAND_XI = [[[0.3], [-1.2], [0.8]], [[1.5], [-0.4], [0.1]]]  # [B, K, A] sampler noise (eq. 13)


def layer_variables(model):
    """The variables of a two-input MLP with one hidden layer, by the names of HAND_Q."""
    return dict(obs_kernel=model.obs_layer.kernel, obs_bias=model.obs_layer.bias,
                x_kernel=model.x_layer.kernel, out_kernel=model.out_layer.kernel,
                out_bias=model.out_layer.bias)


def hand_mlp(p, obs, x):
    """The two-input MLP in numpy: (pre-activations, hidden units, output) for obs [B, O] and
    x [B, K, D]; output [B, K, 1] before any squashing."""
    pre = (obs @ np.array(p["obs_kernel"]) + p["obs_bias"])[:, None, :] + x @ np.array(
        p["x_kernel"])
    hidden = np.maximum(pre, 0.0)
    return pre, hidden, hidden @ np.array(p["out_kernel"]) + p["out_bias"]


def test_one_update_on_constant_layers_matches_the_papers_equations_by_hand():
    """Q loss (eq. 10-11) and the sampler's step (eq. 13-14, RBF kernel with the median bandwidth
    of softq_tf.learners.kernels) of one update, computed here in numpy, against the learner's; SGD
    with learning rate 1 in place of Adam makes the sampler's weight change minus its gradient."""
    reward_scale, discount, eps, h_min = 2.0, 0.9, 1e-6, 1e-3
    config = SQLConfig(hidden_sizes=(2,), value_particles=2, kernel_particles=3,
                       reward_scale=reward_scale, discount=discount, squash_eps=eps,
                       kernel_h_min=h_min, jit_compile=False)
    learner = SoftQLearner(EnvSpec(1, 1, (-1.0,), (1.0,)), config, seed=0)
    for model, values in ((learner.q, HAND_Q), (learner.target_q, HAND_TARGET_Q),
                          (learner.sampler, HAND_SAMPLER)):
        for name, variable in layer_variables(model).items():
            variable.assign(np.array(values[name], np.float32))
    learner.q_optimizer = keras.optimizers.SGD(1.0)
    learner.policy_optimizer = keras.optimizers.SGD(1.0)
    batch = {k: np.array(v, np.float32) for k, v in HAND_BATCH.items()}
    uniform, xi = np.array(HAND_UNIFORM, np.float32), np.array(HAND_XI, np.float32)
    obs = batch["obs"].astype(np.float64)
    sampler_before = {k: np.array(v, np.float64) for k, v in HAND_SAMPLER.items()}

    # eq. 10: V(s') = log E_{a~U[-1,1]}[exp(Q_target(s', a)) / q(a)], q(a) = 2^-A, over M draws.
    next_q = hand_mlp(HAND_TARGET_Q, batch["next_obs"], uniform)[2][..., 0]  # [B, M]
    v_next = np.log(np.mean(np.exp(next_q) / 2.0 ** -1, axis=1))  # A = 1
    # eq. 11: J_Q = 1/2 mean (y - Q(s, a))^2, y = r / alpha + gamma (1 - done) V(s').
    y = reward_scale * batch["reward"] + discount * (1 - batch["terminated"]) * v_next
    q_pred = hand_mlp(HAND_Q, obs, batch["action"][:, None, :])[2][:, 0, 0]
    expected_loss = 0.5 * np.mean((y - q_pred) ** 2)

    # eq. 13: particles a = tanh(f(xi; s)), the first 2 fixed, the last one updated.
    pre, hidden, out = hand_mlp(HAND_SAMPLER, obs, xi)
    particles = np.tanh(out)  # [B, K, 1]
    fixed, updated = particles[:, :2], particles[:, 2:]
    # grad_a log p(a) = dQ(s, a)/da + d/da log(1 - a^2 + eps) at the fixed particles.
    q_pre = hand_mlp(HAND_Q, obs, fixed)[0]  # [B, 2, H]
    dq_da = ((q_pre > 0) * np.array(HAND_Q["x_kernel"])[0] * np.array(HAND_Q["out_kernel"])[:, 0]
             ).sum(-1, keepdims=True)
    grad_log_p = dq_da - 2 * fixed / (1 - fixed ** 2 + eps)  # [B, 2, 1]
    sq = ((fixed - updated) ** 2).sum(-1)  # [B, 2]: fixed i to the updated particle
    h = np.maximum(np.min(sq, axis=1) / np.log(2), h_min)  # lower median of 2 values: the smaller
    kappa = np.exp(-sq / h[:, None])[..., None]  # [B, 2, 1]
    kappa_grad = -2 * (fixed - updated) / h[:, None, None] * kappa  # d kappa / d a_i
    phi = np.mean(kappa * grad_log_p + kappa_grad, axis=1)  # [B, 1] at the updated particle
    # eq. 14: ascend sum phi * d a / d w through the updated particle (index 2).
    back = phi * (1 - updated[:, 0] ** 2)  # [B, 1]: phi * dtanh
    unit = back * np.array(HAND_SAMPLER["out_kernel"])[:, 0] * (pre[:, 2] > 0)  # [B, H]
    ascent = dict(out_kernel=(hidden[:, 2, :, None] * back[:, None, :]).sum(0),
                  out_bias=back.sum(0),
                  obs_kernel=(obs[:, :, None] * unit[:, None, :]).sum(0),
                  obs_bias=unit.sum(0),
                  x_kernel=(xi[:, 2, :, None] * unit[:, None, :]).sum(0))

    stats = learner.update_from_noise(batch, uniform, xi)
    assert bool(stats["finite"]) and int(learner.step) == 1
    assert float(stats["loss/q"]) == pytest.approx(expected_loss, rel=1e-5)
    assert float(stats["v_next/mean"]) == pytest.approx(v_next.mean(), rel=1e-5)
    assert float(stats["kernel/bandwidth"]) == pytest.approx(h.mean(), rel=1e-5)
    assert float(stats["svgd/phi_norm"]) == pytest.approx(np.abs(phi).mean(), rel=1e-5)
    for name, value in layer_variables(learner.sampler).items():
        np.testing.assert_allclose(value.numpy() - sampler_before[name], ascent[name],
                                   rtol=1e-4, atol=1e-6, err_msg=name)
