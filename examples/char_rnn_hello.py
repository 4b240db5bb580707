"""The smallest character-level language model: learn "hello" one character at a time.

    python examples/char_rnn_hello.py

The vocabulary is the four letters h, e, l, o, each fed as a one-hot vector. The input
sequence is "hell" and the target at every step is the next character, "ello" — the example
of Karpathy's "The Unreasonable Effectiveness of Recurrent Neural Networks". Note why a
recurrent state is needed: after the first "l" the next character is "l", after the second it
is "o", so the current input alone cannot decide; the hidden state has to remember how far
into the word it is.

An nn.RNN with 3 hidden units (tanh) and a linear read-out learns it to 100% next-character
accuracy in a few hundred Adam steps; the same with an nn.LSTM of 3 units. The script prints
the predicted string and the per-step probabilities of the right character.
"""
import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim

VOCAB = "helo"


def one_hot(text):
    x = np.zeros((len(text), 1, len(VOCAB)), dtype=np.float32)     # (T, N=1, features)
    for t, ch in enumerate(text):
        x[t, 0, VOCAB.index(ch)] = 1.0
    return dlcore.from_numpy(x)


class CharModel(nn.Module):
    def __init__(self, cell="rnn", hidden=3):
        super().__init__()
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        self.rnn = layer(len(VOCAB), hidden)
        self.out = nn.Linear(hidden, len(VOCAB))

    def forward(self, x):
        h, _ = self.rnn(x)                   # (T, 1, hidden)
        return self.out(h.reshape(-1, h.shape[-1]))


def train(cell, steps=500, seed=0, verbose=True):
    dlcore.manual_seed(seed)
    x, target = one_hot("hell"), dlcore.tensor([VOCAB.index(c) for c in "ello"])
    model = CharModel(cell)
    opt = optim.Adam(model.parameters(), lr=0.05)
    for step in range(steps):
        loss = F.cross_entropy(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"  {cell} step {step:4d}  loss {loss.item():.4f}")
    with dlcore.no_grad():
        probs = F.softmax(model(x), dim=1).numpy()
    pred = "".join(VOCAB[i] for i in probs.argmax(1))
    right = probs[np.arange(4), target.numpy()]
    acc = float(np.mean([p == t for p, t in zip(pred, "ello")]))
    if verbose:
        print(f"  {cell}: input 'hell' -> predicted '{pred}' (target 'ello'), accuracy {100 * acc:.0f}%, "
              f"p(right char) per step {np.round(right, 3).tolist()}")
    return {"prediction": pred, "accuracy": acc, "loss": float(loss.item())}


def main(fast=False, seed=0):
    steps = 300 if fast else 500
    results = {}
    for cell in ("rnn", "lstm"):
        print(f"{cell.upper()} with 3 hidden units:")
        results[cell] = train(cell, steps=steps, seed=seed)
    return results


if __name__ == "__main__":
    main()
