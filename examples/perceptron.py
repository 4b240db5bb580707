"""Rosenblatt's perceptron on AND, OR and XOR — written with dlcore tensor ops, no nn/optim.

    python examples/perceptron.py

A perceptron computes y = step(w . x + b) with step(a) = 1 if a > 0 else 0, and learns with
Rosenblatt's rule, applied one sample at a time:

    w += lr * (t - y) * x        b += lr * (t - y)

The weights change only when the sample is misclassified (t - y is then +1 or -1). The
perceptron convergence theorem says this stops after finitely many updates when the classes
are linearly separable — AND and OR are. XOR is not (no line puts (0,1), (1,0) on one side
and (0,0), (1,1) on the other), so the rule cycles forever: every epoch still makes mistakes.
That limitation (Minsky & Papert, 1969) is what the hidden layer of examples/mlp_xor.py fixes.
"""
import dlcore

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = {"AND": [0.0, 0.0, 0.0, 1.0], "OR": [0.0, 1.0, 1.0, 1.0], "XOR": [0.0, 1.0, 1.0, 0.0]}


def step(a):
    """Heaviside step as a float tensor: 1.0 where a > 0, else 0.0."""
    return (a > 0).float()


def train_perceptron(X, t, lr=0.1, max_epochs=100):
    """Online perceptron learning. Returns (w, b, errors per epoch, converged)."""
    n, d = X.shape
    w = dlcore.zeros(d)
    b = dlcore.zeros(1)
    errors = []
    for _ in range(max_epochs):
        mistakes = 0
        for i in range(n):                      # the rule is online: one sample at a time
            x = X[i]
            y = step((w * x).sum() + b)
            delta = t[i] - y                    # 0 when right, +-1 when wrong
            w += lr * delta * x                 # Rosenblatt's rule
            b += lr * delta
            mistakes += int(delta.abs().item() > 0)
        errors.append(mistakes)
        if mistakes == 0:                       # a full clean pass: converged
            return w, b, errors, True
    return w, b, errors, False


def predict(w, b, X):
    return step(X @ w + b)


def main(fast=False):
    """Trains on AND, OR, XOR; returns {name: {"converged", "epochs", "accuracy", "w", "b"}}."""
    X = dlcore.tensor(INPUTS)
    max_epochs = 20 if fast else 100
    results = {}
    for name, targets in TARGETS.items():
        t = dlcore.tensor(targets)
        w, b, errors, ok = train_perceptron(X, t, lr=0.1, max_epochs=max_epochs)
        acc = (predict(w, b, X) == t).float().mean().item()
        results[name] = {"converged": ok, "epochs": len(errors), "accuracy": acc,
                         "w": w.tolist(), "b": b.item(), "errors": errors}
        verdict = (f"converged after {len(errors)} epochs" if ok else
                   f"did NOT converge in {len(errors)} epochs (mistakes per epoch, last 5: {errors[-5:]})")
        print(f"{name:>3}: {verdict}; w = [{w[0].item():+.2f}, {w[1].item():+.2f}], b = {b.item():+.2f}, "
              f"accuracy {acc:.2f}")
    print("XOR is not linearly separable: a single perceptron cannot learn it (see examples/mlp_xor.py).")
    return results


if __name__ == "__main__":
    main()
