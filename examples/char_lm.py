"""A character-level LSTM language model on tiny Shakespeare, trained with truncated BPTT.

    python examples/char_lm.py [--minutes 9] [--hidden 256] [--layers 2]

The corpus (1,115,394 characters, 65 distinct; bundled with dlcore) is split 90% / 10% into
training and validation text. The training text is cut into B parallel streams (B = batch
size), each a contiguous 1/B of it read left to right, so batch row b of chunk k continues
exactly where row b of chunk k-1 stopped. That is what makes truncated
backpropagation through time work:

    state = None
    for x, y in chunks:                      # x, y: (B, k) characters and next characters
        out, state = model(x, state)         # forward k steps from the carried state
        loss = cross_entropy(out, y)
        loss.backward()                      # backprop k steps, not to the start of the text
        opt.step()
        state = detach(state)                # keep the values, cut the graph

(k1 = k2 = k: k steps forward between updates, k steps of backpropagation.) The model is an
embedding, a stacked LSTM and a linear read-out over the vocabulary; gradients are clipped to
norm 5 and Adam's learning rate decays by a cosine over the time budget. After each epoch it
prints the validation loss in nats per character and its perplexity exp(loss), and tokens/s;
at the end it samples text at two temperatures (0.5: conservative, 1.0: the model's own
distribution). On 2 cores it reaches a validation loss below 1.6 nats/char within the default
9-minute budget.
"""
import argparse
import math
import sys
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore.data import load_tinyshakespeare


class CharLM(nn.Module):
    def __init__(self, vocab, emb=64, hidden=256, layers=2, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.lstm(self.embed(x), state)
        return self.head(h), state


def encode(text):
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text)), chars


def streams(ids, batch):
    """(batch, L) array: the text cut into `batch` contiguous rows of equal length."""
    L = len(ids) // batch
    return ids[: L * batch].reshape(batch, L)


def detach(state):
    return tuple(s.detach() for s in state)


def evaluate(model, data, bptt):
    """Mean cross-entropy (nats/char) over every position of the (B, L) stream array."""
    model.eval()
    total, count, state = 0.0, 0, None
    with dlcore.no_grad():
        for s in range(0, data.shape[1] - 1, bptt):
            k = min(bptt, data.shape[1] - 1 - s)
            x = dlcore.from_numpy(np.ascontiguousarray(data[:, s:s + k]))
            y = dlcore.from_numpy(np.ascontiguousarray(data[:, s + 1:s + 1 + k]))
            out, state = model(x, state)
            total += F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    model.train()
    return total / max(count, 1)


def sample(model, chars, prompt="ROMEO:\n", n=300, temperature=1.0, seed=0):
    g = np.random.default_rng(seed)
    index = {c: i for i, c in enumerate(chars)}
    model.eval()
    out_chars, state = list(prompt), None
    x = dlcore.tensor([[index[c] for c in prompt]])
    with dlcore.no_grad():
        for _ in range(n):
            logits, state = model(x, state)
            p = F.softmax(logits[0, -1] / temperature, dim=0).numpy().astype(np.float64)
            nxt = int(g.choice(len(chars), p=p / p.sum()))
            out_chars.append(chars[nxt])
            x = dlcore.tensor([[nxt]])
    model.train()
    return "".join(out_chars)


def main(minutes=9.0, hidden=256, layers=2, batch=64, bptt=100, lr=3e-3, seed=0, max_epochs=100,
         fast=False, progress=None):
    """Trains within the time budget; returns {"val_loss", "history", "tokens_per_s", "samples"}."""
    dlcore.manual_seed(seed)
    text = load_tinyshakespeare()
    ids, chars = encode(text)
    split = int(0.9 * len(ids))
    if fast:                                   # the test suite's few-second version
        ids = np.concatenate([ids[:200_000], ids[split:split + 20_000]])
        split, batch, bptt = 200_000, 32, 50
    train, val = streams(ids[:split], batch), streams(ids[split:], batch)
    model = CharLM(len(chars), hidden=hidden, layers=layers)
    opt = optim.Adam(model.parameters(), lr=lr)
    budget = minutes * 60.0
    progress = sys.stdout.isatty() if progress is None else progress
    steps_per_epoch = (train.shape[1] - 1) // bptt
    print(f"tiny shakespeare: {split:,} training / {len(ids) - split:,} validation characters, "
          f"vocabulary {len(chars)}; {batch} streams x {bptt} steps per update; "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; budget {minutes:g} min")
    history, t_start, tokens, done = [], time.perf_counter(), 0, False
    for epoch in range(max_epochs):
        state, t0, ep_loss, ep_n = None, time.perf_counter(), 0.0, 0
        for i in range(steps_per_epoch):
            s = i * bptt
            x = dlcore.from_numpy(np.ascontiguousarray(train[:, s:s + bptt]))
            y = dlcore.from_numpy(np.ascontiguousarray(train[:, s + 1:s + 1 + bptt]))
            out, state = model(x, state)
            loss = F.cross_entropy(out.reshape(-1, len(chars)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            elapsed = time.perf_counter() - t_start
            for group in opt.param_groups:          # cosine decay over the time budget
                group["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(elapsed / budget, 1.0))))
            opt.step()
            state = detach(state)
            tokens += x.numel()
            ep_loss += loss.item()
            ep_n += 1
            if progress and (i % 10 == 0 or i == steps_per_epoch - 1):
                rate = tokens / (time.perf_counter() - t_start)
                bar = "#" * int(30 * (i + 1) / steps_per_epoch)
                print(f"\repoch {epoch + 1} [{bar:<30}] {i + 1}/{steps_per_epoch} loss {ep_loss / ep_n:.3f} "
                      f"{rate:,.0f} tokens/s", end="", flush=True)
            if elapsed > budget:
                done = True
                break
        if progress:
            print()
        val_loss = evaluate(model, val, bptt)
        rate = tokens / (time.perf_counter() - t_start)
        history.append({"epoch": epoch + 1, "train_loss": ep_loss / max(ep_n, 1), "val_loss": val_loss,
                        "perplexity": math.exp(val_loss), "tokens_per_s": rate,
                        "time": time.perf_counter() - t_start})
        print(f"epoch {epoch + 1}: train {ep_loss / max(ep_n, 1):.4f}  validation {val_loss:.4f} nats/char "
              f"(perplexity {math.exp(val_loss):.2f})  {rate:,.0f} tokens/s  "
              f"[{time.perf_counter() - t_start:.0f} s{', budget reached' if done else ''}]")
        if done:
            break
    samples = {}
    for temp in (0.5, 1.0):
        samples[temp] = sample(model, chars, n=200 if fast else 400, temperature=temp, seed=seed)
        print(f"\n---- sample at temperature {temp} ----\n{samples[temp]}")
    return {"val_loss": history[-1]["val_loss"], "history": history,
            "tokens_per_s": history[-1]["tokens_per_s"], "samples": samples}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=9.0, help="training time budget")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--bptt", type=int, default=100, help="truncation length k1 = k2")
    p.add_argument("--lr", type=float, default=3e-3)
    a = p.parse_args()
    main(minutes=a.minutes, hidden=a.hidden, layers=a.layers, batch=a.batch, bptt=a.bptt, lr=a.lr)
