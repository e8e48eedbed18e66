#!/usr/bin/env python3
"""Builds data/fashion-mnist-subset: a class-balanced subset of Fashion-MNIST in the original IDX format.

    apt-get install dataset-fashion-mnist          # the full set, in /usr/share/datasets/fashion-mnist
    python3 tools/make_fashion_mnist_subset.py     # writes data/fashion-mnist-subset/*.gz

Selection: for each class k in 0..9, the first TRAIN_PER_CLASS images of class k in the official training
file and the first TEST_PER_CLASS of class k in the official test file, kept in their original order.
No randomness, so the output is the same every time; the gzip files carry no name or time stamp, so they
are byte-identical across runs. Standard library only.
"""
import argparse
import gzip
import os
import struct

TRAIN_PER_CLASS = 1200   # 12,000 training images
TEST_PER_CLASS = 200     # 2,000 test images
NUM_CLASSES = 10


def read_idx(path, expected_dims):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != 0x0800 | expected_dims:
        raise ValueError(f"{path}: wrong magic number 0x{magic:08X}")
    sizes = struct.unpack(">" + "I" * expected_dims, data[4:4 + 4 * expected_dims])
    body = data[4 + 4 * expected_dims:]
    record = 1
    for s in sizes[1:]:
        record *= s
    if len(body) != sizes[0] * record:
        raise ValueError(f"{path}: {len(body)} data bytes, expected {sizes[0] * record}")
    return sizes, body, record


def write_idx_gz(path, sizes, body):
    header = struct.pack(">I", 0x0800 | len(sizes)) + struct.pack(">" + "I" * len(sizes), *sizes)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header + body)


def subset(source, prefix, per_class, out_dir):
    sizes, images, record = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"), 3)
    _, labels, _ = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    taken = [0] * NUM_CLASSES
    keep = []
    for i, label in enumerate(labels):
        if taken[label] < per_class:
            taken[label] += 1
            keep.append(i)
    if min(taken) < per_class:
        raise ValueError(f"{prefix}: only {taken} images per class, wanted {per_class}")
    out_images = b"".join(images[i * record:(i + 1) * record] for i in keep)
    out_labels = bytes(labels[i] for i in keep)
    write_idx_gz(os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz"), (len(keep), sizes[1], sizes[2]), out_images)
    write_idx_gz(os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"), (len(keep),), out_labels)
    print(f"{prefix}: {len(keep)} images, {per_class} per class")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist", help="folder with the full Fashion-MNIST .gz files")
    parser.add_argument("--out", default=os.path.join(repo, "data", "fashion-mnist-subset"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    subset(args.source, "train", TRAIN_PER_CLASS, args.out)
    subset(args.source, "t10k", TEST_PER_CLASS, args.out)


if __name__ == "__main__":
    main()
