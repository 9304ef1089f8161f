"""cartpole: reinforcement learning on Gymnasium's CartPole-v1 with micrograd_c nets.

    python -m micrograd_c cartpole                  # REINFORCE, until solved
    python -m micrograd_c cartpole --algo dqn       # deep Q-learning

A pole stands on a cart; each step the agent pushes the cart left or right and gets a
reward of 1 while the pole stays up (an episode ends when it falls, or after 500 steps).
The task counts as solved, by CartPole-v0's criterion, when the mean return of the last 100
episodes is at least 195.

reinforce (the default): a policy net MLP(4, [hidden, 2]) gives the logits of the two
actions; an episode is played by sampling from its softmax, then every step's log-probability
is pushed up in proportion to how much better than usual the return from that step was
(the discounted returns, normalised over the episode: their mean is the baseline). Adam, one
update per episode.

dqn: a Q-net MLP(4, [hidden, hidden, 2]) estimates each action's discounted return; actions
are epsilon-greedy, steps go into a replay buffer, and after every step a random minibatch of
them is regressed onto r + gamma * max Q_target(s'), the target net being a copy of the Q-net
made every few hundred steps.

Either stops as soon as the task is solved, or after --episodes. The losses are compiled
(micrograd_c.compile): a whole episode, or a minibatch, is one C call forward and one
backward. Needs gymnasium (pip install 'micrograd-c[rl]').
"""
import os

import numpy as np

from . import compile, nn, optim, viz
from ._tasks import Clock, need, progress, seed_all
from .losses import cross_entropy

HELP = "reinforcement learning on Gymnasium's CartPole-v1: REINFORCE (default) or DQN"
SEED = 0
SOLVED = 195.0  # CartPole-v0's criterion, on the mean return of 100 consecutive episodes
WINDOW = 100
PLOTS = ("returns", "grad_scatter", "grad_flow", "grad_norms")  # what --plot-dir saves
DEFAULTS = {  # per algorithm: episodes at most (training stops once solved), Adam's lr
    "reinforce": {"episodes": 2000, "lr": 0.01},
    "dqn": {"episodes": 500, "lr": 0.001},
}


def make_env(seed):
    """CartPole-v1, seeded: its first reset draws the start state from seed, later ones
    continue from there, so a run repeats exactly."""
    gym = need("gymnasium", "rl", "the cartpole task")
    env = gym.make("CartPole-v1")
    env.reset(seed=seed)
    return env


def mean_return(returns):
    """The mean of the last WINDOW episodes' returns (of all of them, if fewer)."""
    return float(np.mean(returns[-WINDOW:])) if returns else 0.0


def is_solved(returns):
    """CartPole-v0's criterion: 100 episodes at least, the last 100 of them 195 on average."""
    return len(returns) >= WINDOW and mean_return(returns) >= SOLVED


def play(env, act):
    """Play one episode, choosing each action with act(obs); yield each step's transition
    (obs, action, reward, next obs, terminated: whether the pole fell, not a time-out)."""
    obs, _ = env.reset()
    done = False
    while not done:
        action = act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        yield obs, action, reward, next_obs, terminated
        obs, done = next_obs, terminated or truncated


# ---- reinforce ----

def discounted_returns(rewards, gamma):
    """G_t = r_t + gamma * G_{t+1}: the discounted return from each step to the episode's end."""
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def advantages(returns):
    """The returns less their mean (the baseline), over their spread: how much better than
    usual each step turned out, on a scale that does not grow with the episode's length."""
    return (returns - returns.mean()) / (returns.std() + 1e-8)


def softmax(logits):
    """The probabilities of logits (numpy, along the last axis; the max subtracted first)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def train_reinforce(args, env, rng):
    """Yield (policy, episode return, grad norms) after each episode's update."""
    policy = nn.MLP(4, [args.hidden, 2])
    # The output layer starts at 0, so the first policy is a fair coin: with micrograd's
    # uniform(-1, 1) weights it can start (and stay) nearly sure of one action, where the
    # log-probabilities' gradients vanish.
    for p in policy.layers[-1].parameters():
        p.data = 0.0
    opt = optim.Adam(policy.parameters(), lr=args.lr)
    # -advantage * log pi(action | obs): minimising it makes better-than-usual actions likelier
    loss_fn = compile(lambda obs, onehot, adv: adv * cross_entropy(policy(obs), onehot))

    def act(obs):  # sample from the policy (eager: for one sample, a single C call)
        p = softmax(np.array([v.data for v in policy(obs.tolist())]))
        return int(rng.random() < p[1])

    while True:
        observations, actions, rewards, _, _ = map(np.array, zip(*play(env, act)))
        adv = advantages(discounted_returns(rewards, args.gamma))
        loss = loss_fn.batch(observations, np.eye(2)[actions], adv, reduce="mean")
        opt.zero_grad()
        loss.backward()
        norms = viz.grad_norms(policy)
        opt.step()
        yield policy, float(rewards.sum()), norms


# ---- dqn ----

BUFFER = 10_000  # transitions the replay buffer keeps (the oldest go first)
BATCH = 64
TARGET_EVERY = 250  # steps between copies of the Q-net into the target net
EPSILON = (1.0, 0.05, 5_000)  # exploration falls linearly from 1.0 to 0.05 over 5k steps


class ReplayBuffer:
    """The last `size` transitions (obs, action, reward, next obs, terminated), as arrays."""

    def __init__(self, size):
        self.obs, self.next_obs = np.zeros((size, 4)), np.zeros((size, 4))
        self.action, self.reward, self.terminated = (np.zeros(size, int), np.zeros(size),
                                                     np.zeros(size))
        self.size, self.count = size, 0  # count: transitions added so far (steps played)

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.count % self.size  # (a ring: the newest overwrites the oldest)
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.count += 1

    def sample(self, n, rng):
        i = rng.integers(min(self.count, self.size), size=n)
        return self.obs[i], self.action[i], self.reward[i], self.next_obs[i], self.terminated[i]


def copy_into(target, source):
    """Set target's parameters to source's numbers (nets of the same shape)."""
    for t, s in zip(target.parameters(), source.parameters()):
        t.data = s.data


def epsilon(step):
    """The chance of a random action at this step."""
    start, end, steps = EPSILON
    return max(end, start + (end - start) * step / steps)


def train_dqn(args, env, rng):
    """Yield (q-net, episode return, grad norms of its last update) after each episode."""
    qnet, target = (nn.MLP(4, [args.hidden, args.hidden, 2]) for _ in range(2))
    copy_into(target, qnet)
    opt = optim.Adam(qnet.parameters(), lr=args.lr)
    target_q = compile(lambda obs: target(obs))  # (batch: many observations' Q-values at once)
    # (Q(obs, action) - y)^2, the action picked from Q's outputs by its one-hot row
    loss_fn = compile(lambda obs, onehot, y: (sum(q * o for q, o in zip(qnet(obs), onehot)) - y) ** 2)
    buffer, norms = ReplayBuffer(BUFFER), {}

    def update():
        obs, action, reward, next_obs, terminated = buffer.sample(BATCH, rng)
        # the target: no future reward after the pole fell (a time-out is not an end, though)
        y = reward + args.gamma * (1 - terminated) * target_q.batch(next_obs).max(axis=1)
        loss = loss_fn.batch(obs, np.eye(2)[action], y, reduce="mean")
        opt.zero_grad()
        loss.backward()
        opt.step()

    def act(obs):  # epsilon-greedy: a random action, or Q's best
        if rng.random() < epsilon(buffer.count):
            return int(rng.integers(2))
        return int(np.argmax([v.data for v in qnet(obs.tolist())]))

    while True:
        total = 0.0
        for transition in play(env, act):  # (learning as it plays)
            buffer.add(*transition)
            total += transition[2]
            if buffer.count >= BATCH:
                update()
            if buffer.count % TARGET_EVERY == 0:
                copy_into(target, qnet)
        if buffer.count >= BATCH:
            norms = viz.grad_norms(qnet)  # (the grads of the episode's last update)
        yield qnet, total, norms


# ---- the command: python -m micrograd_c cartpole ----

def add_arguments(p):
    p.add_argument("--algo", choices=["reinforce", "dqn"], default="reinforce",
                   help="reinforce: policy gradient with a baseline (default); dqn: deep Q-learning")
    p.add_argument("--episodes", type=int, help=(
        "episodes to train at most, stopping once solved (default 2000 reinforce, 500 dqn)"))
    p.add_argument("--lr", type=float, help="Adam's learning rate (default 0.01 reinforce, 0.001 dqn)")
    p.add_argument("--hidden", type=int, default=32, help="hidden layer width (default 32)")
    p.add_argument("--gamma", type=float, default=0.99, help="discount factor (default 0.99)")


def check_arguments(args, error):
    for name, value in DEFAULTS[args.algo].items():  # the algorithm's defaults for unset flags
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.episodes < 1:
        error("--episodes must be >= 1")
    if args.hidden < 1:
        error("--hidden must be >= 1")
    if not args.lr > 0:
        error("--lr must be > 0")
    if not 0 <= args.gamma <= 1:
        error("--gamma must be between 0 and 1")


def run(args):
    """Train the chosen algorithm; print the result, save the pictures; return the numbers."""
    env = make_env(args.seed)
    seed_all(args.seed)  # the weights (micrograd's init draws from Python's random)
    rng = np.random.default_rng(args.seed)  # the actions, the minibatches
    train = {"reinforce": train_reinforce, "dqn": train_dqn}[args.algo]
    print(f"micrograd_c cartpole: {args.algo}, hidden {args.hidden}, lr {args.lr}, gamma {args.gamma}, "
          f"up to {args.episodes} episodes", flush=True)
    returns, history, model, clock = [], [], None, Clock()
    with progress(args.episodes, "episode") as bar:
        episodes = train(args, env, rng)
        while len(returns) < args.episodes:
            with clock:
                model, total, norms = next(episodes)
            returns.append(total)
            if norms:
                history.append({"step": len(returns), "grad_norms": norms})
            bar.set_postfix_str(f"mean return {mean_return(returns):.1f}", refresh=False)
            bar.update()
            if is_solved(returns):
                break
    env.close()
    solved = is_solved(returns)
    print(f"{len(returns)} episodes, mean return of the last {min(WINDOW, len(returns))} "
          f"{mean_return(returns):.1f}: {'solved' if solved else 'not solved'} "
          f"(>= {SOLVED:g} over {WINDOW})")
    print(f"time {clock.seconds:.2f} s")
    if args.plot_dir:
        save_plots(args, model, returns, history)
    return {"algo": args.algo, "episodes": len(returns), "mean_return_100": mean_return(returns),
            "solved": solved, "train_seconds": clock.seconds, "returns": returns,
            "hidden": args.hidden, "lr": args.lr, "gamma": args.gamma, "seed": args.seed}


def plot_returns(returns, path, title):
    """Each episode's return, their running 100-episode mean, and the line to be solved."""
    figure = need("matplotlib.figure", "viz", "--plot-dir")
    fig = figure.Figure(figsize=(7, 4), dpi=150, layout="constrained")
    ax = fig.subplots()
    episodes = np.arange(1, len(returns) + 1)
    means = [mean_return(returns[:k]) for k in episodes]
    ax.plot(episodes, returns, color="#9ecae1", linewidth=0.8, label="episode return")
    ax.plot(episodes, means, color="#08519c", linewidth=2, label=f"mean of the last {WINDOW}")
    ax.axhline(SOLVED, color="#c44e52", linestyle="--", linewidth=1, label=f"solved ({SOLVED:g})")
    ax.set(title=title, xlabel="episode", ylabel="return (steps the pole stayed up)")
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.legend(loc="upper left")
    fig.savefig(path)


def save_plots(args, model, returns, history):
    paths = {name: os.path.join(args.plot_dir, name + ".png") for name in PLOTS}
    net = "policy" if args.algo == "reinforce" else "Q-net"
    plot_returns(returns, paths["returns"], f"CartPole-v1, {args.algo}: episode returns")
    viz.plot_grad_scatter(model, path=paths["grad_scatter"], title=f"{net} gradients, last update")
    viz.plot_grad_flow(model, path=paths["grad_flow"], title=f"{net} gradient flow, last update")
    viz.plot_grad_norms(history, path=paths["grad_norms"], title=f"{net} gradient norms per episode")
    for path in paths.values():
        print(f"saved {path}")
