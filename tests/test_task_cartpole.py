"""The cartpole task (python -m micrograd_c cartpole): its returns and baseline, tiny runs of
both algorithms, its pictures, and the one-line message when gymnasium is missing."""
import json
import subprocess
import sys

import numpy as np
import pytest

from micrograd_c import cartpole
from micrograd_c.__main__ import main


def cartpole_command(*args, timeout=120):
    """python -m micrograd_c cartpole with args: the finished process (stdout, stderr as text)."""
    return subprocess.run([sys.executable, "-m", "micrograd_c", "cartpole", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_discounted_returns_are_the_discounted_sums_of_the_rewards_to_come():
    rewards, gamma = np.array([1.0, 0.5, -2.0, 3.0, 1.0]), 0.9
    direct = [sum(gamma ** (k - t) * rewards[k] for k in range(t, len(rewards)))
              for t in range(len(rewards))]
    assert cartpole.discounted_returns(rewards, gamma) == pytest.approx(direct, rel=1e-12)


def test_with_gamma_one_the_return_is_the_steps_left():
    assert cartpole.discounted_returns(np.ones(4), 1.0).tolist() == [4.0, 3.0, 2.0, 1.0]


def test_advantages_are_the_returns_less_their_mean_over_their_spread():
    returns = cartpole.discounted_returns(np.ones(30), 0.99)
    adv = cartpole.advantages(returns)
    mean = sum(returns) / len(returns)
    spread = (sum((g - mean) ** 2 for g in returns) / len(returns)) ** 0.5
    # (1e-8: the guard against a spread of 0)
    assert adv.tolist() == pytest.approx([(g - mean) / (spread + 1e-8) for g in returns], rel=1e-12)
    assert adv.mean() == pytest.approx(0, abs=1e-12) and adv.std() == pytest.approx(1)


def test_one_step_gives_a_zero_advantage_not_a_division_by_zero():
    assert cartpole.advantages(np.array([1.0])).tolist() == [0.0]


@pytest.mark.parametrize("algo", ["reinforce", "dqn"])
def test_a_tiny_run_gives_its_numbers_and_repeats_for_a_seed(algo, tmp_path):
    pytest.importorskip("gymnasium")
    out = cartpole_command("--algo", algo, "--episodes", "5", "--seed", "3",
                           "--json", str(tmp_path / "a.json"))
    assert out.returncode == 0, out.stderr
    assert "5 episodes" in out.stdout
    results = json.loads((tmp_path / "a.json").read_text())
    assert results["algo"] == algo and results["episodes"] == 5
    returns = results["returns"]
    assert len(returns) == 5 and all(type(r) is float and 1 <= r <= 500 for r in returns)
    assert results["mean_return_100"] == pytest.approx(sum(returns) / 5)
    assert results["solved"] is False  # (100 episodes at least are needed)
    assert type(results["train_seconds"]) is float
    # the same seed again, in this process: the same episodes, to the bit
    main(["cartpole", "--algo", algo, "--episodes", "5", "--seed", "3",
          "--json", str(tmp_path / "b.json")])
    assert json.loads((tmp_path / "b.json").read_text())["returns"] == returns
    main(["cartpole", "--algo", algo, "--episodes", "5", "--seed", "4",
          "--json", str(tmp_path / "c.json")])
    assert json.loads((tmp_path / "c.json").read_text())["returns"] != returns


def test_plot_dir_saves_the_returns_and_the_gradient_pictures(tmp_path):
    pytest.importorskip("gymnasium")
    pytest.importorskip("matplotlib")
    main(["cartpole", "--episodes", "3", "--plot-dir", str(tmp_path / "plots")])
    for name in cartpole.PLOTS:
        path = tmp_path / "plots" / f"{name}.png"
        assert path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_gymnasium_the_error_is_one_line_naming_the_rl_extra():
    code = ("import sys; sys.modules['gymnasium'] = None\n"
            "from micrograd_c.__main__ import main; main(['cartpole', '--episodes', '1'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "micrograd-c[rl]" in out.stderr and "gymnasium" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.parametrize("flag", [["--episodes", "0"], ["--hidden", "0"], ["--lr", "0"],
                                  ["--gamma", "1.5"]])
def test_bad_arguments_are_refused_before_training(flag, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["cartpole", *flag])
    assert stopped.value.code == 2 and flag[0] in capsys.readouterr().err
