"""Fits scikit-learn's LogisticRegression(penalty="l1", solver="liblinear")
on the training matrix pflip-train wrote (--write-matrix) and compares what
an L1 optimum makes unique with fletch's model: the regularised objective,
the decision scores and the labels at the ROC threshold, the training AUC,
the threshold itself, and the weights summed over identical columns (the
matrix repeats columns, so single weights may differ).

usage: pflip_sklearn.py MODEL_JSON MATRIX_JSON   prints a one-line summary
"""

import json
import sys
from collections import defaultdict

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import auc, roc_curve

model = json.load(open(sys.argv[1]))
m = json.load(open(sys.argv[2]))
rows, columns = m["shape"]
X = csr_matrix((np.ones(len(m["indices"])), m["indices"], m["indptr"]), shape=(rows, columns))
y = np.array(m["y"], dtype=int)
p = model["parameters"]
C = p["C"]
# liblinear at the original's tol=1e-4 stops up to 0.1 % above the optimum, where
# its unseeded shuffling decides; solved tightly, the optimum is what compares.
lr = LogisticRegression(penalty="l1", C=C, solver="liblinear", max_iter=100_000, tol=1e-10, class_weight={0: 1, 1: 1}, random_state=0)
lr.fit(X, y)
w_sk, b_sk = lr.coef_[0], lr.intercept_[0]

w_fl = np.zeros(columns)
for j, v in model["weights"].items():
    w_fl[int(j)] = v
b_fl = model["intercept"]


def objective(w, b):
    z = X @ w + b
    return np.abs(w).sum() + abs(b) + C * np.logaddexp(0, -(2 * y - 1) * z).sum()


obj_sk, obj_fl = objective(w_sk, b_sk), objective(w_fl, b_fl)
assert abs(obj_fl - model["objective"]) <= 1e-9 * abs(obj_fl), f"fletch's objective {model['objective']} recomputed {obj_fl}"
assert abs(obj_fl - obj_sk) <= 1e-4 * abs(obj_sk), f"objective: fletch {obj_fl}, scikit-learn {obj_sk}"

s_sk, s_fl = lr.decision_function(X), np.array(m["scores"])
assert np.allclose(s_fl, X @ w_fl + b_fl), "the matrix's scores are not the model's"


def threshold(scores):
    fpr, tpr, thr = roc_curve(y, scores)
    i = np.argmin(np.abs(fpr - p["crh_fp_rate"]))
    return thr[i], auc(fpr, tpr)


t_sk, auc_sk = threshold(s_sk)
agree = np.mean((s_fl > model["threshold"]) == (s_sk > t_sk))
assert agree >= 0.999, f"labels agree on {agree:.4%} of rows"
assert abs(model["training"]["auc"] - auc_sk) <= 1e-3, f"training auc: fletch {model['training']['auc']}, scikit-learn {auc_sk}"
spread = max(1.0, float(np.abs(s_sk).max()))
assert abs(model["threshold"] - t_sk) <= 1e-2 * spread, f"threshold: fletch {model['threshold']}, scikit-learn {t_sk}"
assert np.max(np.abs(s_fl - s_sk)) <= 1e-2 * spread, f"scores differ by up to {np.max(np.abs(s_fl - s_sk))}"

groups = defaultdict(list)
X_csc = X.tocsc()
for j in range(columns):
    groups[X_csc.indices[X_csc.indptr[j]:X_csc.indptr[j + 1]].tobytes()].append(j)
worst = max(abs(w_fl[g].sum() - w_sk[g].sum()) for g in groups.values())
assert worst <= 1e-2 * max(1.0, float(np.abs(w_sk).max())), f"weights summed over identical columns differ by up to {worst}"
print(f"rows {rows} columns {columns} groups {len(groups)} objective {obj_fl:.6f}/{obj_sk:.6f} auc {model['training']['auc']:.4f}/{auc_sk:.4f} threshold {model['threshold']:.4f}/{t_sk:.4f} agree {agree:.4f}")
