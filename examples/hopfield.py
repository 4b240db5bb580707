"""A Hopfield network as associative memory: Hebbian storage, recall from noisy patterns, energy.

    python examples/hopfield.py

N = 100 binary neurons s_i in {-1, +1} (10 x 10 letter bitmaps). Hebbian storage of P patterns
xi^mu: W = (1/N) sum_mu xi^mu xi^mu^T with a zero diagonal (no self-coupling). Recall:
asynchronous updates, one neuron at a time in random order, s_i <- sign(sum_j W_ij s_j). With
symmetric W and zero diagonal the energy E(s) = -1/2 s^T W s can only fall or stay at each
update (an update changes E by -|h_i| |delta s_i| <= 0), so the state slides into a local
minimum: ideally the stored pattern nearest the cue.

Shown: each stored letter recalled from a copy with 12% of its pixels flipped; the energy after
every single update (never increasing); and the capacity limit: P random patterns stored in the
same 100 neurons, recall degrading as P grows past about 0.14 N.
"""
import pathlib
import sys

import numpy as np

import dlcore

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # examples/_pictures.py
from _pictures import picture_writer  # noqa: E402

LETTERS = {
    "H": ["##......##", "##......##", "##......##", "##......##", "##########",
          "##########", "##......##", "##......##", "##......##", "##......##"],
    "T": ["##########", "##########", "....##....", "....##....", "....##....",
          "....##....", "....##....", "....##....", "....##....", "....##...."],
    "O": ["..######..", ".##....##.", "##......##", "##......##", "##......##",
          "##......##", "##......##", "##......##", ".##....##.", "..######.."],
    "L": ["##........", "##........", "##........", "##........", "##........",
          "##........", "##........", "##........", "##########", "##########"],
    "X": ["##......##", ".##....##.", "..##..##..", "...####...", "....##....",
          "....##....", "...####...", "..##..##..", ".##....##.", "##......##"],
}


def letter_patterns(names=None):
    names = list(LETTERS) if names is None else names
    return np.array([[1 if c == "#" else -1 for row in LETTERS[n] for c in row] for n in names], dtype=np.float32)


def hebbian_weights(patterns):
    """W = (1/N) P^T P with zero diagonal, computed with dlcore's matmul."""
    P = dlcore.from_numpy(np.ascontiguousarray(patterns, dtype=np.float32))
    W = (P.t() @ P).numpy() / patterns.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def energy(W, s):
    return float(-0.5 * s @ W @ s)


def recall(W, s, rng, max_sweeps=20):
    """Asynchronous updates in random order until a sweep changes nothing. Returns the final
    state and the energy after every single-neuron update."""
    s = s.copy()
    energies = [energy(W, s)]
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(len(s)):
            h = W[i] @ s
            new = 1.0 if h > 0 else (-1.0 if h < 0 else s[i])
            if new != s[i]:
                s[i] = new
                changed = True
            energies.append(energy(W, s))
        if not changed:
            break
    return s, np.array(energies)


def flip(p, frac, rng):
    s = p.copy()
    idx = rng.choice(len(p), size=int(round(frac * len(p))), replace=False)
    s[idx] *= -1
    return s


def capacity_curve(N, counts, trials, noise, rng):
    """Fraction of stored random patterns recalled exactly from a noisy cue, per pattern count."""
    out = []
    for P in counts:
        ok = total = 0
        for _ in range(trials):
            pats = rng.choice([-1.0, 1.0], size=(P, N)).astype(np.float32)
            W = hebbian_weights(pats)
            for p in pats[:min(P, 5)]:
                s, _ = recall(W, flip(p, noise, rng), rng)
                ok += int(np.array_equal(s, p))
                total += 1
        out.append(ok / total)
    return np.array(out)


def main(fast=False, seed=0, out_dir="hopfield_out", noise=0.12):
    """Returns {"recalled": {letter: bool}, "flipped", "energy_monotone", "capacity": (counts, rates)}."""
    rng = np.random.default_rng(seed)
    names = list(LETTERS)
    pats = letter_patterns(names)
    W = hebbian_weights(pats)
    recalled, cues, finals, monotone = {}, [], [], True
    for name, p in zip(names, pats):
        cue = flip(p, noise, rng)
        s, e = recall(W, cue, rng)
        recalled[name] = bool(np.array_equal(s, p))
        monotone &= bool(np.all(np.diff(e) <= 1e-9))
        cues.append(cue)
        finals.append(s)
        print(f"letter {name}: {int((cue != p).sum())} of 100 pixels flipped; recalled "
              f"{'exactly' if recalled[name] else f'with {int((s != p).sum())} wrong pixels'}; energy "
              f"{e[0]:.2f} -> {e[-1]:.2f} over {len(e) - 1} updates, never rising: {bool(np.all(np.diff(e) <= 1e-9))}")
    counts = [2, 5, 10, 14, 20, 30] if not fast else [2, 5, 20, 30]
    rates = capacity_curve(100, counts, 3 if fast else 20, noise, rng)
    print("capacity, N = 100 neurons, random patterns, cue with 12% flipped: exact recall rate")
    for c, r in zip(counts, rates):
        print(f"  P = {c:2d} (P/N = {c / 100:.2f}): {100 * r:5.1f}%")
    viz = picture_writer(out_dir, "hopfield")
    if viz is not None:
        imgs = np.concatenate([pats, np.array(cues), np.array(finals)]).reshape(-1, 10, 10)
        viz.save_image_grid(imgs, f"{out_dir}/recall.png", nrow=len(names), value_range=(-1, 1))
        viz.plot_curves({"exact recall": (np.array(counts) / 100, rates)}, f"{out_dir}/capacity.png",
                        xlabel="P / N", ylabel="fraction recalled")
        print(f"pictures in {out_dir}/ (rows: stored, cue, recalled)")
    return {"recalled": recalled, "energy_monotone": monotone, "capacity": (counts, rates),
            "stored": pats, "cues": np.array(cues), "finals": np.array(finals)}


if __name__ == "__main__":
    main()
