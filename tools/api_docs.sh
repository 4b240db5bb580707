#!/usr/bin/env bash
# Builds the HTML API reference from the docstrings and type annotations (pdoc) into build/api-docs/.
#
#   bash tools/api_docs.sh [output dir]      # then open build/api-docs/index.html
#
# Documents the checkout's python/dlcore when its extension is built there (the README's developer
# build), else the installed dlcore. Installs pdoc when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/api-docs}
py=${PYTHON:-python3}
if ! "$py" -c "import pdoc" 2>/dev/null; then
  "$py" -m pip install --quiet pdoc
fi
if ls python/dlcore/_C*.so >/dev/null 2>&1; then
  export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
fi
"$py" -c "import dlcore" || { echo "api_docs: dlcore does not import: build it first (see README)" >&2; exit 1; }
rm -rf "$out"

"$py" - "$out" <<'PY'
import sys
from pathlib import Path

import pdoc
import pdoc.doc
import pdoc.render

# Tensor's methods are functions of dlcore.ops, dlcore.views, dlcore.tensor_api... installed on the
# class: their annotations name module-level types (int, float, dtype), never the Tensor methods
# of the same names, so they are resolved in their module alone.
_eval_type = pdoc.doc.safe_eval_type


def _eval_outside_tensor(t, globalns, localns, module, fullname):
    if fullname.startswith(("dlcore.tensor.Tensor.", "dlcore.nn.module.Parameter.")):
        localns = None
    return _eval_type(t, globalns, localns, module, fullname)


pdoc.doc.safe_eval_type = _eval_outside_tensor
pdoc.render.configure(docformat="markdown", search=True, show_source=True)
# Every public module, the lazily loaded ones (optim, data, utils, models, viz) included: pdoc
# walks the package on disk. The benchmark harness and the private modules stay out.
pdoc.pdoc("dlcore", "!dlcore\\.bench.*", "!dlcore\\._.*", output_directory=Path(sys.argv[1]))
PY

# The reference must hold the entry points a user looks for first.
for page_name in "nn/conv.html Conv2d" "nn/linear.html Linear" "optim.html Adam" "data.html DataLoader" \
                 "optim/lr_scheduler.html CosineAnnealingLR" "nn/functional.html cross_entropy" \
                 "tensor.html Tensor" "utils/data.html DataLoader" "models.html resnet18"; do
  set -- $page_name
  grep -q "$2" "$out/dlcore/$1" || { echo "api_docs: $2 missing from $out/dlcore/$1" >&2; exit 1; }
done
echo "API reference: $out/index.html ($(find "$out" -name '*.html' | wc -l) pages)"
