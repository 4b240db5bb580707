"""The main job: train an MLP on the bundled handwritten digits, with a progress bar.

    python examples/demo.py

Prints how this dlcore was built, trains the 64-128-64-10 MLP of examples/digits_mlp.py with
dlcore.train.fit (progress bar on a terminal, one line per epoch otherwise), then prints the
test accuracy and the training throughput in samples/s.
"""
import os
import sys

import dlcore

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_mlp  # noqa: E402

if __name__ == "__main__":
    print("dlcore build:", dlcore.build_info())
    res = digits_mlp.main()
    print(f"RESULT test accuracy {100 * res['test_accuracy']:.2f}%, "
          f"training {res['samples_per_s']:,.0f} samples/s")
