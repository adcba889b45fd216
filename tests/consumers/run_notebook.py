"""Runs a Jupyter notebook's code cells in order in one namespace, printing
what Jupyter would show for each cell's last expression, without Jupyter.

usage: run_notebook.py NOTEBOOK.ipynb
"""

import ast
import json
import sys


def run(path):
    with open(path) as f:
        notebook = json.load(f)
    assert notebook["nbformat"] == 4, f"{path}: nbformat {notebook['nbformat']}, expected 4"
    namespace = {"__name__": "__main__", "display": print}
    for number, cell in enumerate(notebook["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse(source, f"{path} cell {number}")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"{path} cell {number}", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"{path} cell {number}", "eval"), namespace)
            if value is not None:
                print(value)


if __name__ == "__main__":
    run(sys.argv[1])
