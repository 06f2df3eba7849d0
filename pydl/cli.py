"""The `pydl` command line: `pydl train`, `pydl info`, `pydl bench ...`."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _cmd_info(args: argparse.Namespace) -> int:
    from pydl import show_config

    show_config()
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    if args.suite == "gemm" and importlib.util.find_spec("threadpoolctl") is None:
        print("pydl bench gemm: needs threadpoolctl (to report and limit numpy's BLAS threads); "
              "install it with: pip install 'pydl[bench]'  (or: pip install threadpoolctl)",
              file=sys.stderr)
        return 2
    from pydl import get_num_threads
    from pydl.benchmarks import run

    threads = args.threads if args.threads is not None else get_num_threads()
    return run(args.suite, threads=threads, quick=args.quick, repeat=args.repeat)


def _cmd_train(args: argparse.Namespace) -> int:
    from pydl import train

    return train.main(args, args.parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pydl", description="pydl: fast deep-learning kernels for the CPU")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser("train", help="train a model on the bundled digits (or Fashion-MNIST) "
                                         "and report test accuracy, precision/recall/F1, "
                                         "the confusion matrix and speed",
                           description="Train a small CNN (or LeNet-5, or an MLP) and evaluate "
                                       "it: one stratified train/test split, or K-fold "
                                       "cross-validation with --cv K.")
    from pydl.train import add_arguments

    add_arguments(train)
    train.set_defaults(func=_cmd_train, parser=train)

    info = sub.add_parser("info", help="print version, compiler, OpenMP, CPU features, "
                                       "kernel path and threads")
    info.set_defaults(func=_cmd_info)

    bench = sub.add_parser("bench", help="benchmark pydl against its peers on this machine")
    bench.add_argument("suite", nargs="?", default="gemm",
                       choices=["gemm", "conv", "pool", "train"],
                       help="what to benchmark (default: gemm)")
    bench.add_argument("--threads", type=int, default=None,
                       help="threads for pydl and the peer (default: pydl.get_num_threads())")
    bench.add_argument("--quick", action="store_true", help="fewer, smaller cases")
    bench.add_argument("--repeat", type=int, default=7,
                       help="timed samples per case and library (median reported)")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's parser, whose usage lists its options
        getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    threads = getattr(args, "threads", None)
    if (threads is not None and threads < 1) or getattr(args, "repeat", 1) < 1:
        parser.error("--threads and --repeat must be >= 1")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
