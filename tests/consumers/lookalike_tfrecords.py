"""Reads lookalike-prepare's TFRecords with an independent reader: the
`tfrecord` package's record iterator and tf.train.Example protobuf, and the
`crc32c` package to check every masked CRC. Prints one JSON object per
record, its features as lists (integers, or UTF-8 strings), in file order,
each with the file it came from relative to the folder.

Usage: lookalike_tfrecords.py TFRECORDS_DIR
"""

import json
import os
import struct
import sys

import crc32c
from tfrecord import example_pb2
from tfrecord.reader import tfrecord_iterator


def masked(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def check_crcs(path):
    """Walks the framing itself; raises on any bad length or CRC."""
    with open(path, "rb") as f:
        data = f.read()
    at, records = 0, 0
    while at < len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        (length_crc,) = struct.unpack_from("<I", data, at + 8)
        assert length_crc == masked(data[at : at + 8]), f"{path}: bad length CRC at byte {at}"
        payload = data[at + 12 : at + 12 + length]
        (payload_crc,) = struct.unpack_from("<I", data, at + 12 + length)
        assert payload_crc == masked(payload), f"{path}: bad data CRC at byte {at}"
        at += 12 + length + 4
        records += 1
    return records


def values(feature):
    kind = feature.WhichOneof("kind")
    if kind == "int64_list":
        return list(feature.int64_list.value)
    if kind == "bytes_list":
        return [v.decode("utf-8") for v in feature.bytes_list.value]
    raise AssertionError(f"unexpected feature kind {kind}")


def main(folder):
    files = sorted(
        os.path.relpath(os.path.join(d, f), folder)
        for d, _, names in os.walk(folder)
        for f in names
        if f.endswith(".tfrecord")
    )
    for rel in files:
        path = os.path.join(folder, rel)
        framed = check_crcs(path)
        read = 0
        for record in tfrecord_iterator(path):
            example = example_pb2.Example()
            example.ParseFromString(bytes(record))
            row = {name: values(f) for name, f in example.features.feature.items()}
            row["_file"] = rel
            print(json.dumps(row, sort_keys=True))
            read += 1
        assert read == framed, f"{path}: {framed} framed records but the reader read {read}"


if __name__ == "__main__":
    main(sys.argv[1])
