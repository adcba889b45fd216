"""Builds a TensorFlow SavedModel with the lookalike DIN model's served
signature (spec lookalike.md §8.3), with weights drawn from a seed, in TF
Serving's layout (MODEL_DIR/1/saved_model.pb).

usage: din_model.py MODEL_DIR [--seed S] [--items N] [--dim D]

Signature `serving_default`: inputs u, i, j (int32 [B]), hist_i (int32 [B, T]),
sl (int32 [B]); output pred (float32 [B, 1]) = sigmoid(item_bias[i] +
attention-pooled history · item embedding + user bias), a probability in
(0, 1). Keyword indices and users are taken modulo the table sizes, so any
index is served. Building is skipped when MODEL_DIR/1 exists.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(model_dir, seed, items, dim, users=97):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    class Din(tf.Module):
        def __init__(self):
            self.item_emb = tf.Variable(rng.normal(0, 0.6, (items, dim)).astype("float32"))
            self.item_bias = tf.Variable(rng.normal(0, 0.5, items).astype("float32"))
            self.user_bias = tf.Variable(rng.normal(0, 0.2, users).astype("float32"))
            self.w = tf.Variable(rng.normal(0, 0.6, dim).astype("float32"))

        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.int32, name="u"),
            tf.TensorSpec([None], tf.int32, name="i"),
            tf.TensorSpec([None], tf.int32, name="j"),
            tf.TensorSpec([None, None], tf.int32, name="hist_i"),
            tf.TensorSpec([None], tf.int32, name="sl"),
        ])
        def serve(self, u, i, j, hist_i, sl):
            ei = tf.gather(self.item_emb, tf.math.floormod(i, items))  # [B, D]
            eh = tf.gather(self.item_emb, tf.math.floormod(hist_i, items))  # [B, T, D]
            mask = tf.sequence_mask(sl, maxlen=tf.shape(hist_i)[1])
            att = tf.reduce_sum(eh * ei[:, None, :], axis=2)  # [B, T]
            att = tf.where(mask, att, tf.fill(tf.shape(att), -1e9))
            att = tf.nn.softmax(att, axis=1) * tf.cast(mask, tf.float32)
            pooled = tf.reduce_sum(att[:, :, None] * eh, axis=1)  # [B, D]
            logit = (tf.gather(self.item_bias, tf.math.floormod(j, items))
                     + tf.reduce_sum(pooled * ei * self.w, axis=1)
                     + tf.gather(self.user_bias, tf.math.floormod(u, users)))
            return {"pred": tf.reshape(tf.sigmoid(logit), [-1, 1])}

    model = Din()
    tf.saved_model.save(model, os.path.join(model_dir, "1"), signatures={"serving_default": model.serve})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_dir")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--items", type=int, default=64)
    p.add_argument("--dim", type=int, default=8)
    a = p.parse_args()
    if os.path.isdir(os.path.join(a.model_dir, "1")):
        return
    build(a.model_dir, a.seed, a.items, a.dim)
    print(f"built {a.model_dir}/1", file=sys.stderr)


if __name__ == "__main__":
    main()
